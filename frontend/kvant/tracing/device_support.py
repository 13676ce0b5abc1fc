"""Which PennyLane devices kvant compiles QNodes for, and what it compiles for each.

* ``default.qubit``, ``lightning.qubit``, ``kvant.qubit``: exact state-vector simulators, all
  replaced by kvant's own (the same values, up to rounding and sampling).
* ``null.qubit``: PennyLane's device that simulates nothing and returns fixed values (zeros;
  probabilities and the state ``[1, 0, ..., 0]``; every shot in the all-zero outcome): kvant
  returns the same values and leaves the circuit out.

Any other device, including subclasses of these, has behaviour kvant cannot reproduce (noise,
other state representations, custom execution): it is refused by name.
"""

from __future__ import annotations

import jax.numpy as jnp
from pennylane.devices import DefaultQubit, NullQubit

from kvant.devices import KvantQubit
from kvant.errors import UnsupportedError

STATE_VECTOR, NULL = "state-vector", "null"


def _lightning_qubit():
    try:
        from pennylane_lightning.lightning_qubit import LightningQubit
    except ImportError:  # lightning is optional
        return None
    return LightningQubit


def device_kind(device, qnode_name: str) -> str:
    """``STATE_VECTOR`` or ``NULL``; any other device is refused."""
    kind = type(device)
    if kind in (DefaultQubit, KvantQubit) or (kind is _lightning_qubit() and kind is not None):
        return STATE_VECTOR
    if kind is NullQubit:
        return NULL
    raise UnsupportedError(
        f"QNode '{qnode_name}' runs on the device {getattr(device, 'name', kind.__name__)!r} "
        f"({kind.__module__}.{kind.__qualname__}), which kvant cannot compile: kvant compiles "
        "QNodes on default.qubit, lightning.qubit and kvant.qubit (simulated by its own state "
        "vector) and on null.qubit"
    )


def null_values(values: list, kinds: tuple, avals: list, shots, fixed=None) -> list:
    """null.qubit's result for each measurement: ``values`` the per-measurement pytrees of the
    traced body, whose leaves index its outputs (their ``kinds`` and ``avals``); ``fixed``:
    position -> value of the measurements completed outside the body (trainable_observables)."""
    from jax.tree_util import tree_leaves, tree_map

    def leaf(k):
        aval, kind = avals[k], kinds[k]
        if kind in ("probs", "state"):
            return jnp.zeros(aval.shape, aval.dtype).at[0].set(1)
        return jnp.zeros(aval.shape, aval.dtype)

    result = []
    for position, value in enumerate(values):
        indices = tree_leaves(value)
        if fixed and position in fixed:
            result.append(fixed[position])
        elif indices and kinds[indices[0]] == "counts":  # every shot in the all-zero outcome
            first = indices[0]
            result.append(
                tree_map(lambda k: jnp.asarray(shots if k == first else 0, avals[k].dtype), value)
            )
        else:
            result.append(tree_map(leaf, value))
    return result
