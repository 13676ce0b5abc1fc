"""The ``kvant.qubit`` PennyLane device.

Inside ``qjit`` every supported device (this one, ``default.qubit``, ``lightning.qubit``) is
replaced by kvant's compiled state-vector simulator; the device only fixes the wires (and, later,
shots). Outside ``qjit`` a QNode on ``kvant.qubit`` runs as on ``default.qubit``, so the same
program can be checked without compiling.
"""

from __future__ import annotations

from pennylane.devices import DefaultQubit


class KvantQubit(DefaultQubit):
    @property
    def name(self):
        return "kvant.qubit"
