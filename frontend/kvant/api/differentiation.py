"""``grad`` and ``jacobian``: inside ``qjit`` they emit a ``kvant_grad`` equation (compiled to a
``gradient.grad`` op); outside, they evaluate eagerly with JAX.

Argument conventions follow ``docs/grad-semantics.md``: ``argnums`` (or the older
spelling ``argnum``) is ``None`` (argument 0), an ``int`` (the result is unpacked) or a sequence
(the result is a tuple); each differentiated argument may be a pytree of float arrays.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax._src.interpreters import partial_eval as pe
from jax.tree_util import tree_flatten, tree_structure, tree_unflatten

from kvant.errors import UnsupportedError, describe_value
from kvant.tracing import grad_recipes
from kvant.tracing.context import TracingContext
from kvant.tracing.primitives import grad_p, jvp_p
from kvant.tracing.subjaxpr import trace_subjaxpr

METHODS = ("auto", "fd")
#: The step h of method="fd" when none is given, for both paths: the frontend writes it into
#: every `gradient.grad "fd"` op (finiteDiffParam, which the op requires), so the compiler has
#: no default of its own.
DEFAULT_FD_STEP = 1e-7


def _check_options(fn, argnums, argnum, method, h):
    if not callable(fn):
        raise TypeError(f"the function to differentiate must be callable, got {type(fn).__name__}")
    if argnum is not None and argnums is not None:
        raise TypeError("pass either argnums or argnum, not both")
    if argnums is None:
        argnums = argnum
    if argnums is not None and not isinstance(argnums, int):
        if (
            not isinstance(argnums, Sequence)
            or isinstance(argnums, str)
            or not all(isinstance(a, int) and not isinstance(a, bool) for a in argnums)
        ):
            raise ValueError("argnums should be an integer or a Sequence of integers")
        argnums = tuple(argnums)
    if isinstance(argnums, bool):
        raise ValueError("argnums should be an integer or a Sequence of integers")
    method = "auto" if method is None else method
    if method not in METHODS:
        raise ValueError(
            f"invalid differentiation method {method!r}; valid methods are {list(METHODS)}"
        )
    if h is not None:
        if isinstance(h, bool) or not isinstance(h, numbers.Real) or not np.isfinite(h) or h <= 0:
            raise ValueError(
                f"invalid finite-difference step h={h!r}: it must be a positive real number"
            )
        if method != "fd":
            warnings.warn("h has no effect unless method='fd'", stacklevel=3)
    return argnums, method, h


class _Derivative:
    """Shared machinery of ``grad`` and ``jacobian``."""

    scalar_output = False
    kind = "jacobian"

    def __init__(self, fn, argnums=None, method=None, h=None, *, argnum=None, has_aux=False):
        self.fn = fn
        self.argnums, self.method, self.h = _check_options(fn, argnums, argnum, method, h)
        self.has_aux = bool(has_aux)
        # The function's value at the last eager evaluation (None before the first): a report
        # for the user, written when a call returns and never read back, so calls that overlap
        # (threads, or a function that calls this object again) each keep their own value.
        self.forward = None

    # -- argument selection -------------------------------------------------------------------
    def _selected(self, num_args):
        selected = (
            (0,)
            if self.argnums is None
            else ((self.argnums,) if isinstance(self.argnums, int) else self.argnums)
        )
        for i in selected:
            if not -num_args <= i < num_args:
                raise ValueError(
                    f"argnums={i} is out of range: the function was called with {num_args} "
                    "positional argument(s)"
                )
        return tuple(i % num_args for i in selected)

    def _pack(self, per_arg):
        """Per differentiated argument results → int argnums: unpacked; sequence: tuple."""
        if self.argnums is None or isinstance(self.argnums, int):
            return per_arg[0]
        return tuple(per_arg)

    def __call__(self, *args, **kwargs):
        if TracingContext.is_tracing():
            return self._traced(args, kwargs)
        derivative, self.forward = self._eager(args, kwargs)
        return derivative

    # -- inside qjit ------------------------------------------------------------------------------
    def _traced(self, args, kwargs, with_values=False):
        """The derivative inside qjit; with_values: (the function's value, the derivative),
        both from one compiled evaluation."""
        selected = self._selected(len(args))
        leaves_per_arg = [tree_flatten(a)[0] for a in args]
        flat_args, in_tree = tree_flatten((args, kwargs))
        diff_leaves = _differentiated_leaves(self.kind, leaves_per_arg, selected)
        flat_args = [jnp.asarray(x) for x in flat_args]
        out_tree_box, aux_tree_box = [], []

        def flat_fn(*flat):
            a, kw = tree_unflatten(in_tree, flat)
            out, aux_leaves = self._split_aux(self.fn(*a, **kw), aux_tree_box)
            leaves, out_tree = tree_flatten(out)
            out_tree_box.append(out_tree)
            return [jnp.asarray(x) for x in leaves + aux_leaves]

        name = getattr(self.fn, "__name__", "function")
        jaxpr, consts = trace_subjaxpr(flat_fn, flat_args, name=name)
        num_out = out_tree_box[0].num_leaves
        # Auxiliary outputs come after the differentiated ones: values only.
        out_avals = jaxpr.out_avals[:num_out]
        if self.method == "fd":
            _check_qnodes_for_fd(jaxpr, self.kind)
        if self.method == "auto":  # QNode problems first: they explain a complex state result
            # QNodes that only feed auxiliary outputs are not differentiated: not checked.
            used = [True] * num_out + [False] * (len(jaxpr.out_avals) - num_out)
            _check_qnodes_for_auto(
                pe.dce_jaxpr(jaxpr.jaxpr, used)[0] if self.has_aux else jaxpr, self.kind
            )
            from kvant.lowering.rules.linalg import refuse_missing_derivatives

            refuse_missing_derivatives(
                jaxpr, [len(consts) + k for k in diff_leaves], f"{self.kind} (method='auto')"
            )
        for aval in out_avals:
            if not jnp.issubdtype(aval.dtype, jnp.floating):
                raise TypeError(
                    f"{self.kind}: the function returns a value of dtype {aval.dtype}; only real "
                    "floating-point results are differentiable"
                )
        if self.scalar_output and (len(out_avals) != 1 or out_avals[0].shape != ()):
            shapes = [a.shape for a in out_avals]
            raise TypeError(
                f"grad needs a function with one scalar output, got outputs of shapes {shapes}; "
                "use jacobian for vector or multiple outputs"
            )
        values_too = with_values or self.has_aux
        results = grad_p.bind(
            *consts,
            *flat_args,
            jaxpr=jaxpr,
            method=self.method,
            h=float(self._fd_step()) if self.method == "fd" else None,
            diff_args=tuple(len(consts) + k for k in diff_leaves),
            name=name,
            with_values=values_too,
            num_diff_outputs=num_out if self.has_aux else None,
        )
        out_tree = out_tree_box[0]
        num_values = len(jaxpr.out_avals) if values_too else 0
        derivative = self._assemble(
            results[num_values:], selected, args, out_tree, len(diff_leaves)
        )
        value = tree_unflatten(out_tree, results[:num_out]) if values_too else None
        if self.has_aux:
            aux = tree_unflatten(aux_tree_box[0], results[num_out:num_values])
            return ((value, aux), derivative) if with_values else (derivative, aux)
        if with_values:
            return value, derivative
        return derivative

    def _fd_step(self):
        """The step of method="fd": the one given, else the default."""
        return DEFAULT_FD_STEP if self.h is None else self.h

    def _split_aux(self, out, aux_tree_box=None):
        """(output, auxiliary leaves) of a call of the function; with has_aux it returns a pair."""
        if not self.has_aux:
            return out, []
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError(
                f"{self.kind} with has_aux=True needs a function that returns a pair "
                f"(output, auxiliary data), but it returned {describe_value(out)}"
            )
        aux_leaves, aux_tree = tree_flatten(out[1])
        if aux_tree_box is not None:
            aux_tree_box.append(aux_tree)
        return out[0], aux_leaves

    def _assemble(self, results, selected, args, out_tree, num_diff_leaves):
        """Output-major flat Jacobians → the user's structure."""
        per_output = [
            results[k * num_diff_leaves : (k + 1) * num_diff_leaves]
            for k in range(out_tree.num_leaves)
        ]
        per_output_per_arg = []
        for blocks in per_output:
            start, packed = 0, []
            for i in selected:
                arg_tree = tree_structure(args[i])
                packed.append(tree_unflatten(arg_tree, blocks[start : start + arg_tree.num_leaves]))
                start += arg_tree.num_leaves
            per_output_per_arg.append(self._pack(packed))
        if self.scalar_output:
            return per_output_per_arg[0]
        return tree_unflatten(out_tree, per_output_per_arg)

    # -- outside qjit -----------------------------------------------------------------------------
    def _eager(self, args, kwargs):
        """(the derivative, the function's value), both from this call."""
        selected = self._selected(len(args))
        jax_argnums = (
            selected[0] if (self.argnums is None or isinstance(self.argnums, int)) else selected
        )
        if self.method == "fd":
            return self._eager_fd(args, kwargs, selected)
        transform = jax.grad if self.scalar_output else jax.jacobian
        value_box = []

        def with_forward(*a):
            out = self.fn(*a, **kwargs)
            value_box.append(self._split_aux(out)[0])
            return out

        result = transform(with_forward, argnums=jax_argnums, has_aux=self.has_aux)(*args)
        forward = (
            jax.tree_util.tree_map(lambda x: getattr(x, "primal", x), value_box[-1])
            if value_box
            else None
        )
        return result, forward  # with has_aux: (derivative, aux), as JAX returns it

    def _eager_fd(self, args, kwargs, selected):
        """Forward differences evaluated at once, by the rule and step of docs/grad-semantics.md
        that gradient-expand-fd compiles inside qjit (ExpandFiniteDifference.cpp). This path
        does not compile: outside qjit, grad evaluates through JAX (the same document), so any
        function JAX can call is differentiated, as with method="auto" (jax.grad), including
        Python control flow on values that qjit cannot trace."""
        if self.has_aux:
            fn, split = self.fn, self._split_aux
            out = fn(*args, **kwargs)
            split(out)  # a pair, or the error compiled code gives
            aux = out[1]
            plain = type(self)(lambda *a, **k: split(fn(*a, **k))[0], self.argnums, "fd", self.h)
            derivative, forward = plain._eager_fd(args, kwargs, selected)
            return (derivative, aux), forward
        h = self._fd_step()
        args = [jax.tree_util.tree_map(jnp.asarray, a) for a in args]
        base = self.fn(*args, **kwargs)
        base_leaves, out_tree = tree_flatten(base)
        if self.scalar_output and (len(base_leaves) != 1 or jnp.shape(base_leaves[0]) != ()):
            raise TypeError("grad needs a function with one scalar output; use jacobian")
        per_arg = []
        for i in selected:
            leaves, arg_tree = tree_flatten(args[i])
            jac_leaves = []
            for j, leaf in enumerate(leaves):
                columns = []
                for k in range(leaf.size):
                    bumped = leaf.reshape(-1).at[k].add(h).reshape(leaf.shape)
                    new_leaves = list(leaves)
                    new_leaves[j] = bumped
                    new_args = list(args)
                    new_args[i] = tree_unflatten(arg_tree, new_leaves)
                    out = tree_flatten(self.fn(*new_args, **kwargs))[0]
                    columns.append([(o - b) / h for o, b in zip(out, base_leaves)])
                jac_leaves.append(
                    [
                        jnp.stack([c[o] for c in columns], axis=-1).reshape(
                            jnp.shape(base_leaves[o]) + leaf.shape
                        )
                        for o in range(len(base_leaves))
                    ]
                )
            per_arg.append((arg_tree, jac_leaves))
        per_output = []
        for o in range(len(base_leaves)):
            packed = [tree_unflatten(tree, [jl[o] for jl in jac]) for tree, jac in per_arg]
            per_output.append(self._pack(packed))
        if self.scalar_output:
            return per_output[0], base
        return tree_unflatten(out_tree, per_output), base


class grad(_Derivative):
    """The gradient of a function with one real scalar output; see the module docstring."""

    scalar_output = True
    kind = "grad"


class jacobian(_Derivative):
    """The Jacobian of a function: per output leaf, an array of shape ``out.shape + arg.shape``."""

    scalar_output = False
    kind = "jacobian"


def _qnode_equations(jaxpr):
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "kvant_qnode":
            yield eqn
            continue
        for value in eqn.params.values():
            for item in value if isinstance(value, (tuple, list)) else [value]:
                inner = getattr(item, "jaxpr", item)
                if hasattr(inner, "eqns"):
                    yield from _qnode_equations(inner)


def _check_qnodes_for_fd(jaxpr, kind):
    """Finite differences compare evaluations: a QNode whose mid-circuit outcomes are sampled
    (single-branch statistics, one-shot) may take other branches in each, and the differences
    would be noise over h, not a derivative."""
    from kvant.tracing.mcm import measure_eqns

    for eqn in _qnode_equations(jaxpr):
        sampled = [m for m in measure_eqns(eqn.params["jaxpr"]) if m.params["postselect"] is None]
        if sampled:
            raise UnsupportedError(
                f"{kind}: QNode '{eqn.params['name']}' samples its mid-circuit measurement "
                "outcomes, so method='fd' would difference evaluations on different branches; "
                "use the exact statistics (mcm_method='deferred', the default without shots)"
            )


#: The Python exception of each kind of refusal of method="auto"'s admissibility table. The
#: table itself is C++ (mlir/include/kvant/Gradient/QuantumDerivatives/AutoMethod.h), the one
#: gradient-expand-auto asks too; the types are the grad contract's (docs/grad-semantics.md;
#: E8, E10 and E11 of docs/acceptance-gradients.md). A sampled statistic other than an
#: expectation value or probabilities was refused by the compiler alone before the frontend
#: asked the table, and keeps the type users saw then.
_REFUSALS = {
    "non_differentiable": ValueError,
    "method_not_for_auto": ValueError,
    "state_result": TypeError,
    "grad_recipe": UnsupportedError,
    "shots_with_adjoint": ValueError,
    "sampled_statistic": UnsupportedError,
}


def _check_qnodes_for_auto(jaxpr, kind):
    """What method='auto' cannot differentiate is refused here, by QNode name, while the
    derivative is traced: each QNode's declaration (diff_method, measurements, shots, gates
    with a grad_recipe) is asked of the admissibility table, which answers a method or a
    refusal. What depends on the circuit's body is found by the compiler."""
    from kvant import _mlir

    table = _mlir.extension().auto_method
    for eqn in _qnode_equations(jaxpr):
        params = eqn.params
        _, refusal, reason = table(
            str(params["diff_method"]),  # None is spelt "None", as in #quantum.node
            list(params["measurements"]),
            params["shots"] or 0,
            sorted(grad_recipes.recorded(params["jaxpr"])),
        )
        if refusal is not None:
            raise _REFUSALS[refusal](f"{kind}: QNode '{params['name']}' {reason}")


class value_and_grad(grad):
    """``(f(x), grad f(x))`` with ``grad``'s conventions. Inside ``qjit`` the value is the
    compiled function's own result; outside, JAX's ``value_and_grad``."""

    kind = "value_and_grad"

    def __init__(self, fn, argnums=None, method=None, h=None, *, argnum=None, has_aux=False):
        super().__init__(fn, argnums, method, h, argnum=argnum, has_aux=has_aux)

    def __call__(self, *args, **kwargs):
        if TracingContext.is_tracing():
            return self._traced(args, kwargs, with_values=True)
        gradient, value = self._eager(args, kwargs)
        self.forward = value
        if self.has_aux:  # JAX's convention: ((value, aux), gradient)
            gradient, aux = gradient
            return (value, aux), gradient
        return value, gradient


def _of_selected(f, params, selected):
    """``f`` as a function of the parameters at positions ``selected``, the others fixed."""

    def partial(*diff):
        full = list(params)
        for i, d in zip(selected, diff):
            full[i] = d
        return f(*full)

    return partial


def _products_setup(kind, params, vectors, argnums):
    if not isinstance(params, (list, tuple)):
        raise TypeError(f"{kind}: params must be a list or tuple of the function's arguments")
    if kind == "jvp" and not isinstance(vectors, (list, tuple)):
        raise TypeError(
            "jvp: the tangents must be a list or tuple, one per differentiated argument"
        )
    params = list(params)
    # JAX's convention: every primal is differentiated unless argnums says otherwise.
    selected = (
        tuple(range(len(params)))
        if argnums is None
        else ((argnums,) if isinstance(argnums, int) else tuple(argnums))
    )
    for i in selected:
        if isinstance(i, bool) or not isinstance(i, int) or not -len(params) <= i < len(params):
            raise ValueError(f"{kind}: argnums={i} is out of range for {len(params)} parameter(s)")
    return params, tuple(i % len(params) for i in selected)


def jvp(f, params, tangents, method=None, h=None, argnums=None):
    """``(f(*params), J · tangents)``: the Jacobian of ``f`` with respect to the differentiated
    ``params`` (all of them unless ``argnums`` says otherwise) applied to ``tangents``, one
    tangent per differentiated parameter, of its structure and shapes."""
    params, selected = _products_setup("jvp", params, tangents, argnums)
    tangents = list(tangents)
    if len(tangents) != len(selected):
        raise TypeError(
            f"jvp: {len(tangents)} tangent(s) given for {len(selected)} differentiated "
            f"argument(s) (argnums={argnums}); the tangent count must match"
        )
    for t, i in zip(tangents, selected):
        if tree_structure(t) != tree_structure(params[i]) or any(
            jnp.shape(a) != jnp.shape(b)
            for a, b in zip(tree_flatten(t)[0], tree_flatten(params[i])[0])
        ):
            raise TypeError(
                f"jvp: the tangent of argument {i} does not match its structure and shapes"
            )
        for t_leaf, p_leaf in zip(tree_flatten(t)[0], tree_flatten(params[i])[0]):
            p_dtype, t_dtype = jnp.result_type(p_leaf), jnp.result_type(t_leaf)
            if jnp.issubdtype(p_dtype, jnp.inexact) and not jnp.issubdtype(t_dtype, jnp.inexact):
                # as jax.jvp: a tangent of a real or complex argument is of its kind
                raise TypeError(
                    f"jvp: the tangent of argument {i} has dtype {t_dtype}, the argument has "
                    f"dtype {p_dtype}; tangents of floating-point arguments must be "
                    "floating-point"
                )
    if not TracingContext.is_tracing():
        return jax.jvp(
            _of_selected(f, params, selected), tuple(params[i] for i in selected), tuple(tangents)
        )
    derivative = jacobian(f, argnums=selected, method=method, h=h)
    if derivative.method == "auto":
        forward = _forward_jvp(derivative, params, selected, tangents)
        if forward is not None:
            return forward
    # method="fd", or complex intermediate values (forward mode has no complex tangent rules
    # yet): the Jacobian, contracted with the tangents.
    out, jac = derivative._traced(tuple(params), {}, with_values=True)
    out_leaves, out_tree = tree_flatten(out)
    jac_per_output = out_tree.flatten_up_to(jac)  # per output leaf: a tuple over arguments
    results = []
    for o, out_leaf in enumerate(out_leaves):
        total = jnp.zeros(jnp.shape(out_leaf), jnp.result_type(out_leaf))
        for per_arg, t in zip(jac_per_output[o], tangents):
            for block, t_leaf in zip(tree_flatten(per_arg)[0], tree_flatten(t)[0]):
                t_leaf = jnp.asarray(t_leaf)
                total = total + jnp.tensordot(block, t_leaf, axes=t_leaf.ndim)
        results.append(total)
    return out, tree_unflatten(out_tree, results)


#: Primitives whose derivative is a reverse-mode rule only (a custom VJP in the lowering):
#: forward mode refuses them by name rather than compile a wrong tangent.
_NO_TANGENT_RULE = {
    "lu": "jnp.linalg/lax.linalg lu",
    "triangular_solve": "lax.linalg.triangular_solve",
    "cholesky": "jnp.linalg.cholesky",
    "eigh": "jnp.linalg.eigh",
    "svd": "jnp.linalg.svd",
    "qr": "jnp.linalg.qr",
    "stop_gradient": "jax.lax.stop_gradient",
    "custom_linear_solve": "jax.lax.custom_linear_solve",
    "kvant_host_callback": "a host callback (kvant.pure_callback / jax.pure_callback)",
}


def _refuse_missing_tangents(jaxpr, diff_positions):
    """Raises UnsupportedError naming the first primitive without a tangent rule that a value
    computed from the differentiated inputs reaches (inside calls and control flow every input
    counts as differentiated)."""
    from kvant.lowering.rules.linalg import dependent_equations

    for eqn in dependent_equations(jaxpr, diff_positions):
        what = _NO_TANGENT_RULE.get(eqn.primitive.name)
        if eqn.primitive is grad_p and next(_qnode_equations(eqn.params["jaxpr"].jaxpr), None):
            what = "a derivative of a QNode (second-order quantum derivatives)"
        if what:
            raise UnsupportedError(
                f"jvp: kvant's forward mode has no tangent rule for {what} yet; "
                "kvant.jacobian (reverse mode) differentiates it, or jvp with method='fd'"
            )


def _differentiated_leaves(kind, leaves_per_arg, selected) -> list[int]:
    """The flat positions of the leaves of the selected arguments (each must be floating)."""
    offsets = np.cumsum([0] + [len(leaves) for leaves in leaves_per_arg])
    positions = []
    for i in selected:
        for j, leaf in enumerate(leaves_per_arg[i]):
            dtype = jnp.result_type(leaf)
            if not jnp.issubdtype(dtype, jnp.floating):
                raise TypeError(
                    f"{kind}: argument {i} has dtype {dtype}; only floating-point arguments are "
                    "differentiable"
                )
            positions.append(int(offsets[i]) + j)
    return positions


def _has_complex_values(jaxpr) -> bool:
    """Whether an equation of ``jaxpr`` (or of a JAXPR inside one) computes a complex value."""
    from kvant.lowering.rules.linalg import _sub_jaxprs

    for eqn in jaxpr.eqns:
        if any(jnp.issubdtype(v.aval.dtype, jnp.complexfloating) for v in eqn.outvars):
            return True
        if any(_has_complex_values(sub) for sub in _sub_jaxprs(eqn.params)):
            return True
    return False


def _forward_jvp(derivative, params, selected, tangents):
    """jvp inside qjit by forward mode: one ``gradient.jvp`` that pushes the tangents through
    the program, at a small multiple of one evaluation's cost (docs/gradients.md). None when
    the program computes complex values, which forward mode has no tangent rules for yet (the
    caller then contracts the Jacobian, as before forward mode)."""
    kind = "jvp"
    leaves_per_arg = [tree_flatten(a)[0] for a in params]
    flat_args, in_tree = tree_flatten((tuple(params), {}))
    diff_leaves = _differentiated_leaves(kind, leaves_per_arg, selected)
    flat_tangents = [
        jnp.asarray(t_leaf, jnp.result_type(leaf)).reshape(jnp.shape(leaf))
        for i, t in zip(selected, tangents)
        for leaf, t_leaf in zip(leaves_per_arg[i], tree_flatten(t)[0])
    ]
    flat_args = [jnp.asarray(x) for x in flat_args]
    out_tree_box = []

    def flat_fn(*flat):
        a, kw = tree_unflatten(in_tree, flat)
        leaves, out_tree = tree_flatten(derivative.fn(*a, **kw))
        out_tree_box.append(out_tree)
        return [jnp.asarray(x) for x in leaves]

    name = getattr(derivative.fn, "__name__", "function")
    jaxpr, consts = trace_subjaxpr(flat_fn, flat_args, name=name)
    if _has_complex_values(jaxpr.jaxpr):
        return None
    _check_qnodes_for_auto(jaxpr, kind)
    from kvant.lowering.rules.linalg import refuse_missing_derivatives

    positions = [len(consts) + k for k in diff_leaves]
    refuse_missing_derivatives(jaxpr, positions, f"{kind} (method='auto')")
    _refuse_missing_tangents(jaxpr, positions)
    for aval in jaxpr.out_avals:
        if not jnp.issubdtype(aval.dtype, jnp.floating):
            raise TypeError(
                f"{kind}: the function returns a value of dtype {aval.dtype}; only real "
                "floating-point results are differentiable"
            )
    results = jvp_p.bind(
        *consts,
        *flat_args,
        *flat_tangents,
        jaxpr=jaxpr,
        diff_args=tuple(positions),
        name=name,
        num_diff_outputs=None,
    )
    out_tree = out_tree_box[0]
    num_out = out_tree.num_leaves
    return (
        tree_unflatten(out_tree, results[:num_out]),
        tree_unflatten(out_tree, results[num_out:]),
    )


def vjp(f, params, cotangents, method=None, h=None, argnums=None):
    """``(f(*params), cotangentsᵀ · J)``: one cotangent per output leaf of ``f`` (in order),
    giving per differentiated parameter an array of its structure. ``cotangents`` is a pytree
    of the output's structure (a bare array for an array output, as PennyLane documents), or a
    flat list of one array per output leaf."""
    params, selected = _products_setup("vjp", params, cotangents, argnums)
    cotangents = tree_flatten(cotangents)[0]
    if not TracingContext.is_tracing():
        out, pullback = jax.vjp(_of_selected(f, params, selected), *(params[i] for i in selected))
        out_tree = tree_structure(out)
        return out, pullback(tree_unflatten(out_tree, cotangents))
    # One reverse sweep: the gradient of the scalar <cotangents, f(params)>, with f's outputs
    # as auxiliary values of the same evaluation (each QNode call then sees one cotangent).
    num_params = len(params)

    def weighted(*params_and_cotangents):
        out = f(*params_and_cotangents[:num_params])
        cts = params_and_cotangents[num_params:]
        out_leaves = tree_flatten(out)[0]
        if len(cts) != len(out_leaves):
            raise TypeError(f"vjp: {len(cts)} cotangent(s) given for {len(out_leaves)} output(s)")
        total = jnp.zeros((), jnp.result_type(float))
        for o, (ct, leaf) in enumerate(zip(cts, out_leaves)):
            if jnp.shape(ct) != jnp.shape(leaf):
                raise TypeError(
                    f"vjp: cotangent {o} has shape {jnp.shape(ct)}, output {o} has shape "
                    f"{jnp.shape(leaf)}"
                )
            total = total + jnp.sum(jnp.asarray(ct, jnp.result_type(leaf)) * leaf)
        return total, out

    (_, out), per_arg = value_and_grad(
        weighted, argnums=selected, method=method, h=h, has_aux=True
    )._traced(tuple(params) + tuple(jnp.asarray(ct) for ct in cotangents), {}, with_values=True)
    return out, tuple(per_arg)
