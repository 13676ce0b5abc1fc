"""``m0 + m1`` of mid-circuit measurement outcomes adds them as integers, as PennyLane does.

Inside a QNode kvant traces, ``qml.measure`` returns its outcome as a traced bool (what
``qml.cond`` and Catalyst's programs expect). JAX adds booleans as a logical or and refuses to
subtract them, while PennyLane's ``MeasurementValue`` computes ``m0 + m1`` on the outcomes as
the integers 0 and 1 (``qml.expval(m0 + m1)`` is the expected number of ones; with JAX's rule
it was the probability of at least one, a silently wrong value). So, while a QNode is traced,
``+`` and ``-`` between two booleans convert both to integers first; every other operator
keeps JAX's meaning (``&``, ``|``, ``~`` of outcomes are PennyLane's logical operations already;
on integers they stay bitwise, as under PennyLane's program capture). Outside QNodes JAX's
rules apply unchanged.

The operators of JAX's tracers are forwarded to their abstract value's class
(``ShapedArray._add`` and so on); the four are wrapped there once, and check per call whether
this thread is tracing a QNode.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax._src import core as jax_core

_installed = False


def _is_boolean(value) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return True
    dtype = getattr(value, "dtype", None)
    return dtype is not None and np.dtype(dtype) == np.bool_


def install(in_qnode) -> None:
    """Wrap ``+`` and ``-`` of JAX's traced arrays; ``in_qnode()`` says whether this thread is
    tracing a QNode's body."""
    global _installed
    if _installed:
        return
    shaped = jax_core.ShapedArray
    for name in ("_add", "_radd", "_sub", "_rsub"):
        jax_op = getattr(shaped, name)

        def op(self, other, _jax_op=jax_op):
            if in_qnode() and _is_boolean(self) and _is_boolean(other):
                self, other = jnp.asarray(self, jnp.int64), jnp.asarray(other, jnp.int64)
            return _jax_op(self, other)

        setattr(shaped, name, staticmethod(op))
    _installed = True
