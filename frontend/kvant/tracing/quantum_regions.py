"""``adjoint`` and ``ctrl`` of quantum functions: transforms of a traced region.

A quantum function may hold control flow (``for_loop``, ``while_loop``, ``cond``, ``jax.lax``
loops). Those are traced into region primitives whose gates never reach PennyLane's queue, so
PennyLane's own ``qml.adjoint(fn)`` / ``qml.ctrl(fn)`` (which invert or control the *queued*
operations) would miss them. Inside a QNode traced by kvant the function is therefore traced once
into a sub-JAXPR, and that JAXPR is re-emitted transformed, one rule per primitive (as JAX
transforms a JAXPR):

* **control** (``ctrl``): every gate gets the extra control wires; regions are re-traced with
  their bodies controlled; classical equations are kept as they are.
* **adjoint**: the region's classical values are computed first, in program order (they cannot
  depend on the quantum state, since measurements are refused inside an adjoint); then the gates
  are emitted in reverse order, each inverted. A ``for`` loop runs its iterations backwards; a
  ``while`` loop is first run classically to count its iterations, then run backwards as a
  ``for`` loop; a ``cond`` takes the same branch, with each branch's gates inverted. When the
  gates of a loop body depend on the loop state, the state of iteration ``k`` is recomputed from
  the initial state by a classical loop of ``k`` steps (classical work is negligible next to a
  state-vector sweep, and this needs no buffer of run-time size).

A measurement inside either is refused: a measurement has no inverse, and a controlled
measurement is not an operation of the circuit model.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax._src import core as jax_core
from jax.tree_util import tree_flatten, tree_unflatten

from kvant.errors import UnsupportedError
from kvant.tracing.primitives import (
    basis_state_p,
    cond_p,
    for_p,
    gate_p,
    measure_p,
    quantum_effect,
    state_prep_p,
    unitary_p,
    while_p,
)
from kvant.tracing.subjaxpr import trace_subjaxpr

_GATES = (gate_p, unitary_p)
_REGIONS = (for_p, while_p, cond_p)


# ---------------------------------------------------------------------------------------------
# Tracing the user's function into a region
# ---------------------------------------------------------------------------------------------


def trace_quantum_function(fn, args, kwargs, scope, what: str):
    """``fn(*args, **kwargs)`` traced into a closed JAXPR inside the QNode ``scope``.

    Returns ``(jaxpr, operands)``: the JAXPR's inputs are the region's constants followed by the
    dynamic leaves of the arguments (Python values stay static, as for ``cond``). The value
    ``fn`` returns is dropped: ``adjoint``/``ctrl`` of a function apply its operations.
    """
    scope.flush()
    leaves, in_tree = tree_flatten((args, kwargs))
    is_dynamic = [
        isinstance(x, (jax.Array, np.ndarray, np.generic, jax_core.Tracer)) for x in leaves
    ]
    flat = [x for x, d in zip(leaves, is_dynamic) if d]

    def body(*values):
        values = iter(values)
        merged = [next(values) if d else x for x, d in zip(leaves, is_dynamic)]
        a, kw = tree_unflatten(in_tree, merged)
        with scope.region(), scope.gates_as_written():
            fn(*a, **kw)
            scope.flush()
        return []

    avals = [jax_core.ShapedArray(jnp.shape(x), jnp.result_type(x)) for x in flat]
    jaxpr, consts = trace_subjaxpr(body, flat, what, in_avals=avals)
    return jaxpr, list(consts) + list(flat)


# ---------------------------------------------------------------------------------------------
# A small JAXPR interpreter
# ---------------------------------------------------------------------------------------------


class JaxprEnv:
    def __init__(self, jaxpr: jax_core.Jaxpr, invals):
        self.values = {}
        for var, val in zip(jaxpr.invars, invals):
            self.values[var] = val

    def read(self, atom):
        if isinstance(atom, jax_core.Literal):
            return atom.val
        return self.values[atom]

    def write(self, outvars, outs):
        for var, val in zip(outvars, outs):
            self.values[var] = val


def bind_eqn(eqn, invals):
    subfuns, params = eqn.primitive.get_bind_params(eqn.params)
    outs = eqn.primitive.bind(*subfuns, *invals, **params)
    return outs if eqn.primitive.multiple_results else [outs]


def acts_on_state(eqn) -> bool:
    return quantum_effect in eqn.effects


def _refuse_inside(eqn, what: str):
    if eqn.primitive is measure_p:
        raise UnsupportedError(
            f"a mid-circuit measurement inside {what}: a measurement has no inverse and cannot "
            "be controlled; measure outside the adjoint/ctrl"
        )
    if eqn.primitive in (basis_state_p, state_prep_p):
        raise UnsupportedError(f"a state preparation inside {what} is not supported")
    raise UnsupportedError(
        f"the operation '{eqn.primitive.name}' acts on the quantum state inside {what}, which "
        "kvant cannot transform"
    )


def _pack(values):
    """A loop state in ``trace_for``/``trace_while``'s convention: bare when there is one."""
    return values[0] if len(values) == 1 else tuple(values)


def _unpack(state, n):
    if n == 0:
        return []
    return [state] if n == 1 else list(state)


def _for_bounds(eqn, env):
    lower, upper, step = (env.read(v) for v in eqn.invars[:3])
    rest = [env.read(v) for v in eqn.invars[3:]]
    num_consts = eqn.params["num_consts"]
    return lower, upper, step, rest[:num_consts], rest[num_consts:]


def _while_parts(eqn, env):
    operands = [env.read(v) for v in eqn.invars]
    nc, nb = eqn.params["num_cond_consts"], eqn.params["num_body_consts"]
    return operands[:nc], operands[nc : nc + nb], operands[nc + nb :]


def _cond_parts(eqn, env):
    return cond_operands(eqn, [env.read(v) for v in eqn.invars])


def cond_operands(eqn, operands):
    """A ``cond`` equation's operands split into (predicates, constants of each branch, args)."""
    counts = eqn.params["const_counts"]
    num_preds = len(counts) - 1
    preds, rest = operands[:num_preds], operands[num_preds:]
    consts, start = [], 0
    for c in counts:
        consts.append(rest[start : start + c])
        start += c
    return preds, consts, rest[start:]


# ---------------------------------------------------------------------------------------------
# Classical part of a region: its values without its gates
# ---------------------------------------------------------------------------------------------


def _loop(lower, upper, step, body, init, classical):
    """A ``for`` loop over list-valued states: ``body(i, *state) -> list``."""
    from kvant.tracing import control_flow

    state = control_flow.trace_for(
        lower, upper, step, lambda i, *c: _pack(body(i, *c)), tuple(init), classical=classical
    )
    return _unpack(state, len(init))


def _while(cond, body, init, classical):
    from kvant.tracing import control_flow

    state = control_flow.trace_while(
        cond, lambda *c: _pack(body(*c)), tuple(init), classical=classical
    )
    return _unpack(state, len(init))


def _cond(preds, branch_fns, operands, classical):
    """A ``cond`` whose k-th branch is ``branch_fns[k](*operands)`` (the last one is the
    ``otherwise`` branch); returns the flat outputs."""
    from kvant.tracing import control_flow

    *branches, otherwise = branch_fns
    result = control_flow.trace_cond(
        preds, branches, otherwise, tuple(operands), {}, classical=classical
    )
    return tree_flatten(result)[0]


def eval_classical(jaxpr: jax_core.ClosedJaxpr, invals, what: str):
    """The outputs of ``jaxpr`` computed with every gate left out. Valid because nothing
    classical inside an adjoint region may depend on the quantum state."""
    j = jaxpr.jaxpr
    env = JaxprEnv(j, list(jaxpr.consts) + list(invals))
    for eqn in j.eqns:
        if eqn.primitive in _GATES:
            continue
        env.write(eqn.outvars, _classical_outputs(eqn, env, what))
    return [env.read(v) for v in j.outvars]


def _classical_outputs(eqn, env, what):
    """The results of one equation of a quantum region, computed without gates."""
    prim = eqn.primitive
    if prim in _REGIONS and eqn.params["quantum"]:
        if prim is for_p:
            lower, upper, step, consts, init = _for_bounds(eqn, env)
            body = eqn.params["body"]
            return _loop(
                lower,
                upper,
                step,
                lambda i, *c: eval_classical(body, [*consts, i, *c], what),
                init,
                True,
            )
        if prim is while_p:
            cond_consts, body_consts, init = _while_parts(eqn, env)
            return _while(
                lambda *c: _eval(eqn.params["cond"], [*cond_consts, *c])[0],
                lambda *c: eval_classical(eqn.params["body"], [*body_consts, *c], what),
                init,
                True,
            )
        preds, consts, args = _cond_parts(eqn, env)
        return _cond(
            preds,
            [
                lambda *a, bj=bj, bc=bc: eval_classical(bj, [*bc, *a], what)
                for bj, bc in zip(eqn.params["branches"], consts)
            ],
            args,
            True,
        )
    if acts_on_state(eqn):
        _refuse_inside(eqn, what)
    return bind_eqn(eqn, [env.read(v) for v in eqn.invars])


def _eval(jaxpr: jax_core.ClosedJaxpr, invals):
    """A classical JAXPR evaluated into the current trace."""
    return jax_core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, *invals)


def _gates_depend_on(jaxpr: jax_core.ClosedJaxpr, positions) -> bool:
    """Whether a gate (or a region holding gates) of ``jaxpr`` takes a value computed from the
    inputs at ``positions``."""
    j = jaxpr.jaxpr
    tainted = {j.invars[p] for p in positions}
    for eqn in j.eqns:
        uses = any(not isinstance(v, jax_core.Literal) and v in tainted for v in eqn.invars)
        if uses and acts_on_state(eqn):
            return True
        if uses:
            tainted.update(eqn.outvars)
    return False


# ---------------------------------------------------------------------------------------------
# Adjoint
# ---------------------------------------------------------------------------------------------

_WHAT_ADJOINT = "qml.adjoint"


def emit_adjoint(jaxpr: jax_core.ClosedJaxpr, invals):
    """Apply the inverse of the region ``jaxpr`` to the state, into the current trace."""
    j = jaxpr.jaxpr
    env = JaxprEnv(j, list(jaxpr.consts) + list(invals))
    # Forward: every classical value, in program order (loop and cond results included).
    for eqn in j.eqns:
        if eqn.primitive not in _GATES:
            env.write(eqn.outvars, _classical_outputs(eqn, env, _WHAT_ADJOINT))
    # Backward: the gates, last first, each inverted.
    for eqn in reversed(j.eqns):
        prim = eqn.primitive
        if prim in _GATES:
            params = dict(eqn.params, adjoint=not eqn.params["adjoint"])
            prim.bind(*[env.read(v) for v in eqn.invars], **params)
        elif prim is for_p and eqn.params["quantum"]:
            _adjoint_for(eqn, env)
        elif prim is while_p and eqn.params["quantum"]:
            _adjoint_while(eqn, env)
        elif prim is cond_p and eqn.params["quantum"]:
            preds, consts, args = _cond_parts(eqn, env)
            _cond(
                preds,
                [
                    lambda *a, bj=bj, bc=bc: emit_adjoint(bj, [*bc, *a])
                    for bj, bc in zip(eqn.params["branches"], consts)
                ],
                args,
                False,
            )


def _trip_count(lower, upper, step):
    lower, upper, step = (jnp.asarray(v, dtype=jnp.int64) for v in (lower, upper, step))
    span = jnp.where(step > 0, upper - lower, lower - upper)
    magnitude = jnp.abs(step)
    return jnp.maximum(0, (span + magnitude - 1) // magnitude)


def _backwards(n, init, step, needs_state, body_adjoint):
    """Iterations ``n-1, ..., 0`` of a loop, each ``body_adjoint(k, state_k)``. The state of
    iteration k is ``step(j, *state)`` applied k times to ``init``, recomputed classically only
    when the gates depend on it (``needs_state``)."""

    def iteration(t):
        k = n - 1 - t
        state = _loop(0, k, 1, step, init, True) if needs_state else init
        body_adjoint(k, state)
        return []

    _loop(0, n, 1, iteration, [], False)


def _adjoint_for(eqn, env):
    lower, upper, step, consts, init = _for_bounds(eqn, env)
    body = eqn.params["body"]
    lower, step = jnp.asarray(lower, jnp.int64), jnp.asarray(step, jnp.int64)
    carry_positions = range(len(consts) + 1, len(consts) + 1 + len(init))
    _backwards(
        _trip_count(lower, upper, step),
        init,
        lambda m, *c: eval_classical(body, [*consts, lower + m * step, *c], _WHAT_ADJOINT),
        bool(init) and _gates_depend_on(body, carry_positions),
        lambda k, state: emit_adjoint(body, [*consts, lower + k * step, *state]),
    )


def _adjoint_while(eqn, env):
    cond_consts, body_consts, init = _while_parts(eqn, env)
    cond_j, body_j = eqn.params["cond"], eqn.params["body"]
    num = len(init)
    # How many times the body runs: the loop again, classically, with a counter.
    counted = _while(
        lambda *c: _eval(cond_j, [*cond_consts, *c[:num]])[0],
        lambda *c: [*eval_classical(body_j, [*body_consts, *c[:num]], _WHAT_ADJOINT), c[num] + 1],
        [*init, jnp.asarray(0, jnp.int64)],
        True,
    )
    _backwards(
        counted[num],
        init,
        lambda m, *c: eval_classical(body_j, [*body_consts, *c], _WHAT_ADJOINT),
        _gates_depend_on(body_j, range(len(body_consts), len(body_consts) + num)),
        lambda k, state: emit_adjoint(body_j, [*body_consts, *state]),
    )


# ---------------------------------------------------------------------------------------------
# Control
# ---------------------------------------------------------------------------------------------

_WHAT_CTRL = "qml.ctrl"


def emit_controlled(jaxpr: jax_core.ClosedJaxpr, invals, controls, values):
    """Apply the region ``jaxpr`` controlled on ``controls`` (static ints or int64 scalars)
    being in the basis states ``values``, into the current trace. Returns its outputs."""
    j = jaxpr.jaxpr
    env = JaxprEnv(j, list(jaxpr.consts) + list(invals))
    for eqn in j.eqns:
        outs = controlled_eqn(eqn, [env.read(v) for v in eqn.invars], controls, values)
        env.write(eqn.outvars, outs)
    return [env.read(v) for v in j.outvars]


def controlled_eqn(eqn, inputs, controls, values):
    """One equation on ``inputs``, its gates controlled as in :func:`emit_controlled`."""
    prim = eqn.primitive
    values = tuple(bool(v) for v in values)
    if prim in _GATES:
        static = tuple(w if isinstance(w, int) else None for w in controls)
        dynamic = [jnp.asarray(w, dtype=jnp.int64) for w in controls if not isinstance(w, int)]
        params = dict(
            eqn.params,
            ctrl_wires=eqn.params["ctrl_wires"] + static,
            ctrl_values=eqn.params["ctrl_values"] + values,
        )
        prim.bind(*inputs, *dynamic, **params)
        return []
    if prim is for_p and eqn.params["quantum"]:
        lower, upper, step = inputs[:3]
        num_consts = eqn.params["num_consts"]
        consts, init = inputs[3 : 3 + num_consts], inputs[3 + num_consts :]
        body = eqn.params["body"]
        return _loop(
            lower,
            upper,
            step,
            lambda i, *c: emit_controlled(body, [*consts, i, *c], controls, values),
            init,
            False,
        )
    if prim is while_p and eqn.params["quantum"]:
        nc, nb = eqn.params["num_cond_consts"], eqn.params["num_body_consts"]
        cond_consts, body_consts, init = inputs[:nc], inputs[nc : nc + nb], inputs[nc + nb :]
        return _while(
            lambda *c: _eval(eqn.params["cond"], [*cond_consts, *c])[0],
            lambda *c: emit_controlled(eqn.params["body"], [*body_consts, *c], controls, values),
            init,
            False,
        )
    if prim is cond_p and eqn.params["quantum"]:
        preds, consts, args = cond_operands(eqn, inputs)
        return _cond(
            preds,
            [
                lambda *a, bj=bj, bc=bc: emit_controlled(bj, [*bc, *a], controls, values)
                for bj, bc in zip(eqn.params["branches"], consts)
            ],
            args,
            False,
        )
    if acts_on_state(eqn):
        _refuse_inside(eqn, _WHAT_CTRL)
    return bind_eqn(eqn, inputs)
