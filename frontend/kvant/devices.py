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
    on this device starts its random generator from it.

    ``mpi=True``: inside ``qjit`` the state vector is distributed over the ranks of the MPI job
    the program runs in (``mpirun -n 4 python prog.py``; a power of 2 of ranks, each holding
    1/P of the amplitudes); every rank runs the program and gets the same results
    (docs/distributed.md). Outside an MPI job it runs on one rank. Outside ``qjit`` the option
    changes nothing.

    ``mpi="shifts"``: inside ``qjit`` every rank holds the whole state vector, and the shifted
    circuits of each parameter-shift gradient are dealt out over the ranks (any number of them);
    the Jacobian is summed over the ranks, so every rank gets the same results."""

    def __init__(self, wires=None, shots=None, seed="global", mpi=False, **kwargs):
        from kvant.tracing import distributed

        distributed.check_option(mpi, "kvant.qubit")
        super().__init__(wires=wires, shots=shots, seed=seed, **kwargs)
        self.kvant_mpi = mpi
        self.kvant_seed = (
            int(seed) if isinstance(seed, int) and not isinstance(seed, bool) else None
        )

    @property
    def name(self):
        return "kvant.qubit"
