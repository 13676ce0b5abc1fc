"""Which programs ask for MPI, and how (docs/distributed.md).

A QNode on ``qml.device("kvant.qubit", wires=n, mpi=True)`` (or ``mpi="shifts"``) asks while
it is traced; qjit collects the requests of one trace and marks the compiled program, whose
calls then either make every register they allocate distributed over the ranks of the MPI job
(``mpi=True``) or deal the shifted circuits of every parameter-shift gradient out over the ranks
(``mpi="shifts"``), through ``kvant_rt_set_distributed``. The compiled code itself is the same
either way: the mode is a property of a call, so a program cached on disk serves all of them.
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


#: The runtime's modes (``kvant_rt_set_distributed``), by the value of the ``mpi`` option.
MODES = {False: 0, True: 1, "shifts": 2}


def check_option(mpi, who: str):
    """``mpi`` if it is one of the option's values, else an error naming ``who``'s option."""
    if isinstance(mpi, bool) or (isinstance(mpi, str) and mpi in MODES):
        return mpi
    message = f'{who}: mpi must be True, False or "shifts", got {mpi!r}'
    raise (ValueError if isinstance(mpi, str) else TypeError)(message)


def request(qnode_name: str, mpi=True) -> None:
    """Called by the QNode capture for a QNode whose device asks for MPI (``mpi``: True or
    ``"shifts"``)."""
    requests = getattr(_state, "requests", None)
    if requests is not None:
        requests.append((qnode_name, mpi))


def program_mode(option, requests) -> int:
    """The runtime mode of a program compiled with qjit's ``mpi=option`` whose trace made
    ``requests``: one program runs in one mode, so asking for both is refused by name."""
    asked = {mpi: f"QNode {name!r}" for name, mpi in requests}
    if option:
        asked.setdefault(option, "qjit's own mpi option")
    if len(asked) > 1:
        raise ValueError(
            f"kvant.qjit: {asked[True]} asks for distributed registers (mpi=True) and "
            f'{asked["shifts"]} for parameter-shift batches over ranks (mpi="shifts"); '
            "a program runs in one MPI mode: give its devices (and qjit) the same mpi option"
        )
    return MODES[next(iter(asked), False)]
