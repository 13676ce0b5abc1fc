"""The runtime's gate table, read from ``runtime/include/kvant/gates.def`` (its one source).

``GATES[name] = (num_params, num_wires)``, num_wires == -1 meaning any number of wires.
"""

from __future__ import annotations


def _load():
    from kvant._paths import gate_table

    return {name: (nparams, nwires) for name, nparams, nwires in gate_table()}


GATES: dict[str, tuple[int, int]] = _load()
