"""Arithmetic on mid-circuit measurement outcomes inside a QNode, as PennyLane defines it.

Inside a QNode kvant traces, ``qml.measure`` returns its outcome as a traced bool (what
``qml.cond`` and Catalyst's programs expect), and arithmetic on outcomes is JAX arithmetic.
PennyLane's ``MeasurementValue`` defines some of it otherwise:

* ``m0 + m1`` and ``m0 - m1`` compute on the outcomes as the integers 0 and 1: JAX adds
  booleans as a logical or (``qml.expval(m0 + m1)`` was the probability of at least one, a
  silently wrong value) and refuses to subtract them. While a QNode is traced, ``+`` and ``-``
  between two booleans convert both to integers first.
* ``&``, ``|`` and ``~`` are logical (``sum(ms) & 1`` is "some outcome is 1"), where JAX's are
  bitwise on integers. On booleans both agree; on an integer computed from outcomes the logical
  operation is used. Integers that do not depend on an outcome (a loop index) keep JAX's
  bitwise operators. ``^`` stays bitwise: PennyLane's ``MeasurementValue`` computes
  ``(m0 + m1) ^ True`` bitwise too (its branch values are 1, 0, 0, 3), whatever its source
  says.

Outside QNodes JAX's rules apply unchanged. The operators of JAX's tracers are forwarded to
their abstract value's class (``ShapedArray._add`` and so on); those are wrapped there once, and
check per call whether this thread is tracing a QNode.
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


def _is_integer(value) -> bool:
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return isinstance(value, int) and not isinstance(value, bool)
    return np.issubdtype(np.dtype(dtype), np.integer)


def _from_outcomes(value, outcomes) -> bool:
    from jax.core import Tracer

    from kvant.tracing.mcm_statistics import dependence

    return isinstance(value, Tracer) and bool(dependence(value, outcomes).outcomes)


def _truth(value):
    """``value != 0``: a Python scalar's in Python (so that JAX meets a literal, whose
    dependence on nothing the outcome statistics can see), an array's as a traced comparison."""
    if isinstance(value, (bool, int, float, np.number)):
        return bool(value)
    return value != 0


def install(outcomes_of_qnode) -> None:
    """Wrap the operators of JAX's traced arrays; ``outcomes_of_qnode()`` gives the outcomes
    measured so far in the QNode this thread traces, or None outside QNodes."""
    global _installed
    if _installed:
        return
    shaped = jax_core.ShapedArray
    for name in ("_add", "_radd", "_sub", "_rsub"):
        jax_op = getattr(shaped, name)

        def arithmetic(self, other, _jax_op=jax_op):
            if outcomes_of_qnode() is not None and _is_boolean(self) and _is_boolean(other):
                self, other = jnp.asarray(self, jnp.int64), jnp.asarray(other, jnp.int64)
            return _jax_op(self, other)

        setattr(shaped, name, staticmethod(arithmetic))
    # a logical connective is JAX's bitwise one on the operands' truth values
    for name in ("_and", "_rand", "_or", "_ror"):
        jax_op = getattr(shaped, name)

        def connective(self, other, _jax_op=jax_op):
            outcomes = outcomes_of_qnode()
            if (
                outcomes
                and (_is_integer(self) or _is_integer(other))
                and (_from_outcomes(self, outcomes) or _from_outcomes(other, outcomes))
            ):
                return _jax_op(_truth(self), _truth(other))
            return _jax_op(self, other)

        setattr(shaped, name, staticmethod(connective))
    jax_invert = shaped._invert

    def invert(self):
        outcomes = outcomes_of_qnode()
        if outcomes and _is_integer(self) and _from_outcomes(self, outcomes):
            return self == 0
        return jax_invert(self)

    shaped._invert = staticmethod(invert)
    _installed = True
