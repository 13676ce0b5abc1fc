"""Which programs ask for distributed registers (docs/distributed.md).

A QNode on ``qml.device("kvant.qubit", wires=n, mpi=True)`` asks while it is traced; qjit
collects the requests of one trace and marks the compiled program, whose calls then make every
register they allocate distributed over the ranks of the MPI job
(``kvant_rt_set_distributed``). The compiled code itself is the same either way: distribution
is a property of a call, so a program cached on disk serves both.
"""

from __future__ import annotations

import contextlib
import threading

_state = threading.local()


@contextlib.contextmanager
def collect():
    """The requests made while the block traces (on this thread), as a list of QNode names;
    a nested collection's requests count for the enclosing one too."""
    outer = getattr(_state, "requests", None)
    requests: list[str] = []
    _state.requests = requests
    try:
        yield requests
    finally:
        _state.requests = outer
        if outer is not None:
            outer.extend(requests)


def request(qnode_name: str) -> None:
    """Called by the QNode capture for a QNode whose device asks for MPI."""
    requests = getattr(_state, "requests", None)
    if requests is not None:
        requests.append(qnode_name)
