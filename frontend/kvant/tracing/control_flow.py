"""Tracing of kvant's control flow (``for_loop``, ``while_loop``, ``cond``) into primitives
with sub-JAXPR regions, inside or outside QNodes. Nothing is unrolled: each region is traced
once and lowered to ``scf``.

Inside a QNode, a region gets its own operation queue: the gates its body creates are emitted
inside the region's JAXPR, and the operations queued before the control flow are emitted first.
"""

from __future__ import annotations

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
from jax._src import core as jax_core
from jax.tree_util import tree_flatten, tree_unflatten

from kvant.tracing.primitives import cond_p, for_p, quantum_effect, while_p
from kvant.tracing.qnode import current_scope
from kvant.tracing.subjaxpr import trace_subjaxpr


def _aval(x):
    aval = jax_core.get_aval(x)
    # Loop state keeps its dtype across iterations; weak types only decide promotion in JAX.
    return jax_core.ShapedArray(aval.shape, aval.dtype)


def _acts_on_state(scope, *jaxprs) -> bool:
    """Whether a region traced inside a QNode applies gates or measures: only then does its
    lowering thread the register through it. A purely classical region inside a QNode (a
    ``qml.cond`` picking an angle) stays classical, so its results are ordinary values that
    derivatives flow through."""
    return scope is not None and any(quantum_effect in j.effects for j in jaxprs)


def _region(fn, scope):
    """``fn`` traced with its own operation queue when inside a QNode."""
    if scope is None:
        return fn

    def in_region(*args):
        with scope.region():
            out = fn(*args)
            scope.flush()
        return out

    return in_region


def _match_state(kind, new_leaves, new_tree, avals, tree):
    if new_tree != tree:
        raise TypeError(
            f"{kind}: the body must return the loop state with the structure it received "
            f"({tree}), got {new_tree}"
        )
    out = []
    for leaf, aval in zip(new_leaves, avals):
        leaf = jnp.asarray(leaf)
        if leaf.shape != aval.shape:
            raise TypeError(
                f"{kind}: a loop-state value changed shape from {aval.shape} to {leaf.shape}"
            )
        out.append(leaf.astype(aval.dtype))
    return out


def _state_leaves(kind, new, init, avals, tree):
    """A body's returned loop state, checked against the initial state and flattened. With one
    state value the body returns it bare; with none, nothing."""
    if len(init) == 0:
        new = ()
    elif len(init) == 1:
        new = (new,)
    leaves, new_tree = tree_flatten(tuple(new) if isinstance(new, list) else new)
    return _match_state(kind, leaves, new_tree, avals, tree)


def _pack_state(values, single: bool):
    return values[0] if single else tuple(values)


def trace_for(lower, upper, step, body, init, classical=False):
    """``classical``: the body applies no gates even inside a QNode (kvant's own region
    transforms use it for the classical part of a quantum region)."""
    scope = None if classical else current_scope()
    if scope is not None:
        scope.flush()
    bounds = [jnp.asarray(v, dtype=jnp.int64) for v in (lower, upper, step)]
    for name, b in zip(("lower", "upper", "step"), bounds):
        if b.shape != ():
            raise TypeError(f"for_loop: {name} must be an integer scalar")
    if isinstance(step, (int, np.integer)) and step == 0:
        raise ValueError("for_loop: step must not be zero")
    single = len(init) == 1
    flat_init, tree = tree_flatten(init)
    avals = [_aval(x) for x in flat_init]

    def body_flat(i, *carry):
        return _state_leaves("for_loop", body(i, *tree_unflatten(tree, carry)), init, avals, tree)

    index_aval = jax_core.ShapedArray((), np.dtype("int64"))
    jaxpr, consts = trace_subjaxpr(
        _region(body_flat, scope),
        [bounds[0]] + flat_init,
        "for_loop_body",
        in_avals=[index_aval] + avals,
    )
    outs = for_p.bind(
        *bounds,
        *consts,
        *flat_init,
        body=jaxpr,
        num_consts=len(consts),
        quantum=_acts_on_state(scope, jaxpr),
    )
    result = tree_unflatten(tree, outs)
    return None if len(init) == 0 else _pack_state(list(result), single)


def trace_while(cond_fn, body, init, classical=False):
    scope = None if classical else current_scope()
    if scope is not None:
        scope.flush()
    single = len(init) == 1
    flat_init, tree = tree_flatten(init)
    avals = [_aval(x) for x in flat_init]

    def cond_flat(*carry):
        pred = jnp.asarray(cond_fn(*tree_unflatten(tree, carry)))
        if pred.shape != () or not (
            pred.dtype == jnp.bool_ or jnp.issubdtype(pred.dtype, jnp.integer)
        ):
            raise TypeError(
                "while_loop: the condition must return a boolean scalar, got "
                f"{pred.dtype}{list(pred.shape)}"
            )
        return [pred.astype(jnp.bool_)]

    def body_flat(*carry):
        return _state_leaves("while_loop", body(*tree_unflatten(tree, carry)), init, avals, tree)

    cond_jaxpr, cond_consts = trace_subjaxpr(
        cond_flat, flat_init, "while_loop_cond", in_avals=avals
    )
    body_jaxpr, body_consts = trace_subjaxpr(
        _region(body_flat, scope), flat_init, "while_loop_body", in_avals=avals
    )
    outs = while_p.bind(
        *cond_consts,
        *body_consts,
        *flat_init,
        cond=cond_jaxpr,
        body=body_jaxpr,
        num_cond_consts=len(cond_consts),
        num_body_consts=len(body_consts),
        quantum=_acts_on_state(scope, body_jaxpr),
    )
    result = tree_unflatten(tree, outs)
    return None if len(init) == 0 else _pack_state(list(result), single)


def trace_cond(
    predicates, branches, otherwise, args, kwargs, classical=False, promote=True, roles=None
):
    """``branches[k]`` runs if ``predicates[k]`` is the first true one; else ``otherwise``.

    Branches that return different dtypes for one output are promoted to their common dtype
    (``jnp.promote_types``: bool < int < float < complex, as Catalyst's ``cond`` does) when
    ``promote``; else (``jax.lax.cond``'s rule) they must agree. ``roles``: what errors call
    the branches (default: kvant.cond's ``cond`` / ``else_if`` / ``otherwise``)."""
    scope = None if classical else current_scope()
    if scope is not None:
        scope.flush()
    preds = []
    for p in predicates:
        p = jnp.asarray(p)
        if p.shape != ():
            raise TypeError(f"cond: the predicate must be a scalar, got shape {p.shape}")
        preds.append(p.astype(jnp.bool_))
    leaves, in_tree = tree_flatten((args, kwargs))
    # Python numbers among the arguments stay static (qml.cond(p, qml.RX)(x, wires=1) keeps its
    # wire static); arrays and tracers become operands of the branches.
    is_dynamic = [isinstance(x, (jax.Array, np.ndarray, jax_core.Tracer)) for x in leaves]
    flat_args = [x for x, d in zip(leaves, is_dynamic) if d]
    avals = [_aval(x) for x in flat_args]
    out_trees = []

    def flat_branch(fn):
        def run(*flat):
            values = iter(flat)
            merged = [next(values) if d else x for x, d in zip(leaves, is_dynamic)]
            a, kw = tree_unflatten(in_tree, merged)
            out = fn(*a, **kw)
            if scope is not None and isinstance(out, qml.operation.Operator):
                out = None  # qml.cond(p, qml.PauliX)(wires=0) returns the operator it queued
            leaves_out, out_tree = tree_flatten(out)
            out_trees.append(out_tree)
            return [jnp.asarray(x) for x in leaves_out]

        return run

    functions = list(branches) + [otherwise if otherwise is not None else (lambda *a, **k: None)]
    traced = [
        trace_subjaxpr(
            _region(flat_branch(fn), scope), flat_args, f"cond_branch_{k}", in_avals=avals
        )
        for k, fn in enumerate(functions)
    ]
    if roles is None:
        roles = ["the cond branch", *(f"else_if branch {k}" for k in range(1, len(branches)))]
        roles.append("the otherwise branch")

    def names():  # for messages only: finding the source lines reads files
        return [f"{role}{_function_name(fn)}" for role, fn in zip(roles, functions)]

    if any(t != out_trees[0] for t in out_trees):
        if otherwise is None:
            raise TypeError(
                "cond: a branch returns a value, so an otherwise branch is needed (the result "
                "must be defined whichever branch runs)"
            )
        k = next(k for k, t in enumerate(out_trees) if t != out_trees[0])
        raise TypeError(
            f"cond: branches return different structures: {names()[0]} returns "
            f"{out_trees[0]}, {names()[k]} returns {out_trees[k]}"
        )
    traced = _unify_output_types(traced, out_trees[0], names, promote)
    consts = [c for _, cs in traced for c in cs]
    outs = cond_p.bind(
        *preds,
        *consts,
        *flat_args,
        branches=tuple(j for j, _ in traced),
        const_counts=tuple(len(cs) for _, cs in traced),
        quantum=_acts_on_state(scope, *(j for j, _ in traced)),
    )
    return tree_unflatten(out_trees[0], outs)


def _function_name(fn) -> str:
    """`` 'name' (file:line)`` of a user function, as far as Python tells."""
    name = getattr(fn, "__name__", None)
    if name is None:
        return ""
    try:
        where = f" ({inspect.getsourcefile(fn)}:{inspect.getsourcelines(fn)[1]})"
    except (TypeError, OSError):
        where = ""
    return f" '{name}'{where}"


def _describe_aval(aval) -> str:
    return f"{aval.dtype}{list(aval.shape)}"


def _unify_output_types(traced, out_tree, names, promote):
    """The traced branches with one type per output: shapes must agree (else an error naming
    the branches and the output); dtypes are promoted to their common dtype, or, without
    ``promote``, must agree."""
    from jax.tree_util import keystr, tree_flatten_with_path, tree_unflatten

    paths = [
        keystr(p)
        for p, _ in tree_flatten_with_path(
            tree_unflatten(out_tree, list(range(out_tree.num_leaves)))
        )[0]
    ]
    avals = [jaxpr.out_avals for jaxpr, _ in traced]
    targets = []
    for i in range(len(avals[0])):
        where = f"output{paths[i]}" if paths[i] else "the output"
        column = [branch[i] for branch in avals]
        for k, aval in enumerate(column[1:], start=1):
            if aval.shape != column[0].shape or (not promote and aval.dtype != column[0].dtype):
                what = "shapes" if aval.shape != column[0].shape else "dtypes"
                raise TypeError(
                    f"cond: the branches return {where} with different {what}: {names()[0]} "
                    f"returns {_describe_aval(column[0])}, {names()[k]} returns "
                    f"{_describe_aval(aval)}"
                    + (
                        ""
                        if what == "shapes"
                        else "; jax.lax.cond needs the same dtype in every branch (kvant.cond and "
                        "qml.cond promote to the common dtype)"
                    )
                )
        targets.append(functools.reduce(jnp.promote_types, [a.dtype for a in column]))
    return [
        (
            jaxpr
            if [a.dtype for a in jaxpr.out_avals] == targets
            else _converted_outputs(jaxpr, targets),
            consts,
        )
        for jaxpr, consts in traced
    ]


def _converted_outputs(closed, dtypes):
    """``closed`` (a closed JAXPR without constants) with its outputs converted to ``dtypes``."""

    def run(*args):
        outs = jax_core.eval_jaxpr(closed.jaxpr, closed.consts, *args)
        return [jax.lax.convert_element_type(o, d) for o, d in zip(outs, dtypes)]

    jaxpr, consts = trace_subjaxpr(run, closed.in_avals, "cond_branch", in_avals=closed.in_avals)
    assert not consts  # every value the branch used is already one of its inputs
    return jaxpr


# ---------------------------------------------------------------------------------------------
# jax.lax control flow inside QNodes
#
# JAX traces a lax.fori_loop body once into its own sub-JAXPR, but the gates the body creates go
# to PennyLane's queue, outside that sub-JAXPR: they would be applied once, after the loop. Inside
# a QNode the lax functions are therefore routed to kvant's own regions (same semantics, gates
# included); everywhere else they stay JAX's.
# ---------------------------------------------------------------------------------------------

_lax_originals = {
    "fori_loop": jax.lax.fori_loop,
    "while_loop": jax.lax.while_loop,
    "cond": jax.lax.cond,
    "switch": jax.lax.switch,
    "scan": jax.lax.scan,
}


def _lax_fori_loop(lower, upper, body_fun, init_val, **kwargs):
    if current_scope() is None:
        return _lax_originals["fori_loop"](lower, upper, body_fun, init_val, **kwargs)
    return trace_for(lower, upper, 1, body_fun, (init_val,))


def _lax_while_loop(cond_fun, body_fun, init_val):
    if current_scope() is None:
        return _lax_originals["while_loop"](cond_fun, body_fun, init_val)
    return trace_while(cond_fun, body_fun, (init_val,))


def _lax_cond(pred, true_fun, false_fun, *operands, **kwargs):
    if current_scope() is None or kwargs:
        return _lax_originals["cond"](pred, true_fun, false_fun, *operands, **kwargs)
    return trace_cond(
        [pred],
        [true_fun],
        false_fun,
        operands,
        {},
        promote=False,
        roles=["true_fun", "false_fun"],
    )


def _lax_switch(index, branches, *operands):
    """``branches[clamp(index)]``: a chain of conditions on the clamped index, as lax.switch."""
    if current_scope() is None:
        return _lax_originals["switch"](index, branches, *operands)
    branches = list(branches)
    if not branches:
        raise ValueError("switch: at least one branch is needed")
    k = jnp.clip(jnp.asarray(index, dtype=jnp.int64), 0, len(branches) - 1)
    preds = [k == j for j in range(len(branches) - 1)]
    return trace_cond(
        preds,
        branches[:-1],
        branches[-1],
        operands,
        {},
        promote=False,
        roles=[f"branches[{k}]" for k in range(len(branches))],
    )


def _lax_scan(f, init, xs=None, length=None, reverse=False, unroll=1, **kwargs):
    """lax.scan as a kvant for_loop that carries the scan's carry and the stacked outputs."""
    scope = current_scope()
    if scope is None:
        return _lax_originals["scan"](
            f, init, xs, length=length, reverse=reverse, unroll=unroll, **kwargs
        )
    x_leaves = tree_flatten(xs)[0]
    lengths = {int(jnp.shape(x)[0]) for x in x_leaves}
    if length is not None:
        lengths.add(int(length))
    if len(lengths) != 1:
        raise ValueError(f"scan: the scanned arrays and length disagree: lengths {sorted(lengths)}")
    (n,) = lengths
    row = lambda i: jax.tree_util.tree_map(lambda x: x[i], xs)
    # The shapes of the per-step outputs, from an abstract evaluation that queues no gates.
    scope.flush()
    with qml.QueuingManager.stop_recording():
        _, y_shapes = jax.eval_shape(f, init, row(0) if x_leaves else None)
    ys0 = jax.tree_util.tree_map(lambda a: jnp.zeros((n, *a.shape), a.dtype), y_shapes)

    def body(i, carry, ys):
        position = n - 1 - i if reverse else i
        carry, y = f(carry, row(position) if x_leaves else None)
        ys = jax.tree_util.tree_map(lambda buf, v: buf.at[position].set(v), ys, y)
        return carry, ys

    return trace_for(0, n, 1, body, (init, ys0))


LAX_REPLACEMENTS = {
    "fori_loop": _lax_fori_loop,
    "while_loop": _lax_while_loop,
    "cond": _lax_cond,
    "switch": _lax_switch,
    "scan": _lax_scan,
}
