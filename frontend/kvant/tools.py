"""Console-script launcher for the ``kvant-opt`` binary built with the package."""

from __future__ import annotations

import os
import sys


def kvant_opt_main() -> None:
    from kvant._paths import kvant_opt

    exe = str(kvant_opt())
    os.execv(exe, [exe, *sys.argv[1:]])
