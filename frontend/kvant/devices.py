"""The ``kvant.qubit`` PennyLane device.

Inside ``qjit`` every supported device (this one, ``default.qubit``, ``lightning.qubit``) is
replaced by kvant's compiled state-vector simulator; the device only fixes the wires, the shots
(a QNode without its own takes the device's) and, for ``kvant.qubit``, the sampling seed.
Outside ``qjit`` a QNode on ``kvant.qubit`` runs as on ``default.qubit``, so the same program
can be checked without compiling.
"""

from __future__ import annotations

from pennylane.devices import DefaultQubit


class KvantQubit(DefaultQubit):
    """``seed`` (an int) makes sampling inside ``qjit`` reproducible: every execution of a QNode
    on this device starts its random generator from it."""

    def __init__(self, wires=None, shots=None, seed="global", **kwargs):
        super().__init__(wires=wires, shots=shots, seed=seed, **kwargs)
        self.kvant_seed = (
            int(seed) if isinstance(seed, int) and not isinstance(seed, bool) else None
        )

    @property
    def name(self):
        return "kvant.qubit"
