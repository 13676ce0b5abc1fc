"""``pure_callback``: a Python function that compiled code calls while it runs.

>>> @kvant.pure_callback
... def host_sin(x) -> float:
...     return np.sin(x)          # any Python: NumPy, SciPy, I/O, ...
>>> @kvant.qjit
... def f(x):
...     return jnp.cos(host_sin(x**2))

or ``kvant.pure_callback(fn, jax.ShapeDtypeStruct((3,), jnp.float64))(x)``. Result types are
given as the second argument or as the function's return annotation: ``float`` / ``int`` /
``bool`` / ``complex`` (scalars of kvant's dtypes), ``jax.ShapeDtypeStruct``, or pytrees of them.
Outside ``qjit`` the function is simply called.

A callback is differentiable when given ``fwd`` and ``bwd`` functions, as ``jax.custom_vjp``:
``fwd(*args) -> (output, residuals)``, ``bwd(residuals, output_cotangent) -> tuple`` with one
cotangent per positional argument (``None`` for zero). Set them with the decorators
``@f.fwd`` / ``@f.bwd``; both may use callbacks themselves. Without them, ``kvant.grad`` of a
value that flows through the callback is refused (``kvant.UnsupportedError``, naming it).
"""

from __future__ import annotations

import functools
import inspect
import threading

import jax
import jax.numpy as jnp
import numpy as np
from jax._src import core as jax_core
from jax.tree_util import tree_flatten, tree_map, tree_structure, tree_unflatten

from kvant.errors import UnsupportedError
from kvant.tracing.callbacks import CallbackVJP, HostFunction, host_callback_p
from kvant.tracing.context import TracingContext

_SCALAR_TYPES = {
    float: np.dtype(np.float64),
    int: np.dtype(np.int64),
    bool: np.dtype(np.bool_),
    complex: np.dtype(np.complex128),
}


def _as_aval(spec, name: str):
    """A result type as given by the user, as a ShapedArray."""
    if isinstance(spec, type) and spec in _SCALAR_TYPES:
        return jax_core.ShapedArray((), _SCALAR_TYPES[spec])
    if isinstance(spec, (type, np.dtype)) and not isinstance(spec, jax.ShapeDtypeStruct):
        try:
            return jax_core.ShapedArray((), jnp.dtype(spec))
        except TypeError:
            pass
    if hasattr(spec, "shape") and hasattr(spec, "dtype"):
        return jax_core.ShapedArray(tuple(spec.shape), np.dtype(spec.dtype))
    raise TypeError(
        f"kvant.pure_callback: the result type of '{name}' has {spec!r}; give float, int, bool, "
        "complex or jax.ShapeDtypeStruct(shape, dtype) (or tuples, lists, dicts of them)"
    )


def _is_type_leaf(x) -> bool:
    return isinstance(x, (type, np.dtype, jax.ShapeDtypeStruct, jax_core.ShapedArray))


def pure_callback(callback_fn, result_type=None):
    """``callback_fn`` as a function compiled code calls back; see the module docstring."""
    if not callable(callback_fn):
        raise TypeError(f"kvant.pure_callback needs a callable, got {type(callback_fn).__name__}")
    if result_type is None:
        try:
            annotation = inspect.signature(callback_fn).return_annotation
        except (TypeError, ValueError):
            annotation = inspect.Signature.empty
        if annotation is inspect.Signature.empty:
            raise TypeError(
                f"kvant.pure_callback: '{getattr(callback_fn, '__name__', 'callback')}' needs "
                "its result type: pass it (pure_callback(fn, jax.ShapeDtypeStruct(...))) or "
                "annotate the function's return (def fn(x) -> float)"
            )
        result_type = annotation
    return PureCallback(callback_fn, result_type)


class PureCallback:
    """A Python function compiled code calls; ``fwd`` / ``bwd`` set its derivative."""

    def __init__(self, fn, result_type):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = getattr(fn, "__name__", "callback")
        avals = tree_map(lambda s: _as_aval(s, self.name), result_type, is_leaf=_is_type_leaf)
        self.result_avals, self.out_tree = tree_flatten(
            avals, is_leaf=lambda x: isinstance(x, jax_core.ShapedArray)
        )
        self._fwd = None
        self._bwd = None
        # per argument signature: the host function and the traced derivative
        self._functions: dict = {}
        self._vjps: dict = {}
        self._tracing_derivative = threading.local()

    def fwd(self, fwd_fn):
        """Set the forward function: ``fwd(*args) -> (output, residuals)``."""
        self._fwd = fwd_fn
        self._vjps.clear()  # traced with the previous pair
        return fwd_fn

    def bwd(self, bwd_fn):
        """Set the backward function: ``bwd(residuals, output_cotangent) -> tuple`` of one
        cotangent per positional argument."""
        self._bwd = bwd_fn
        self._vjps.clear()
        return bwd_fn

    def __call__(self, *args, **kwargs):
        if not TracingContext.is_tracing():
            return self.fn(*args, **kwargs)
        if bool(self._fwd) != bool(self._bwd):
            missing = "bwd" if self._fwd else "fwd"
            raise TypeError(
                f"kvant.pure_callback: '{self.name}' has a "
                f"{'fwd' if self._fwd else 'bwd'} function but no {missing}; a derivative needs "
                "both"
            )
        flat, in_tree = tree_flatten((args, kwargs))
        flat = [jnp.asarray(x) for x in flat]
        in_avals = tuple((tuple(jnp.shape(x)), jnp.result_type(x)) for x in flat)
        key = (in_tree, in_avals)
        function = self._functions.get(key)
        if function is None:
            function = self._functions[key] = HostFunction(self._flat_call(in_tree), self.name)
        vjp = None
        # Inside its own fwd or bwd, the callback is called plainly: its derivative there would
        # be the one being traced.
        if self._fwd is not None and not getattr(self._tracing_derivative, "active", False):
            vjp = self._vjps.get(key)
            if vjp is None:
                vjp = self._vjps[key] = self._trace_vjp(args, kwargs, flat, in_tree)
        outs = host_callback_p.bind(
            *flat, function=function, result_avals=tuple(self.result_avals), vjp=vjp
        )
        return tree_unflatten(self.out_tree, outs)

    def _flat_call(self, in_tree):
        fn, out_tree, name = self.fn, self.out_tree, self.name

        def call(*flat_args):
            args, kwargs = tree_unflatten(in_tree, list(flat_args))
            out = fn(*args, **kwargs)
            leaves, tree = tree_flatten(out)
            if tree != out_tree and out_tree.num_leaves == 1 and len(leaves) == 1:
                tree = out_tree  # a 0-d array or a number for a declared scalar
            if tree != out_tree:
                raise TypeError(
                    f"the callback returned a value of structure {tree}, declared {out_tree}"
                )
            return leaves

        call.__name__ = name
        return call

    # -- the derivative ---------------------------------------------------------------------------
    def _trace_vjp(self, args, kwargs, flat, in_tree) -> CallbackVJP:
        specs = [jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)) for x in flat]
        num_results = len(self.result_avals)
        residual_box = []

        def fwd_flat(*flat_args):
            a, kw = tree_unflatten(in_tree, list(flat_args))
            out = self._fwd(*a, **kw)
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise TypeError(
                    f"kvant.pure_callback: the fwd function of '{self.name}' must return a pair "
                    "(output, residuals)"
                )
            primal, residuals = out
            leaves = tree_flatten(primal)[0]
            if len(leaves) != num_results:
                raise TypeError(
                    f"kvant.pure_callback: the fwd function of '{self.name}' returned an output "
                    f"of {len(leaves)} array(s); the callback declares {num_results}"
                )
            res_leaves, res_tree = tree_flatten(residuals)
            res_leaves = [jnp.asarray(r) for r in res_leaves]
            residual_box.append(
                (res_tree, [jax.ShapeDtypeStruct(r.shape, r.dtype) for r in res_leaves])
            )
            primal = [
                jnp.asarray(p).astype(aval.dtype).reshape(aval.shape)
                for p, aval in zip(leaves, self.result_avals)
            ]
            return primal + res_leaves

        num_args = len(args)
        arg_trees = [tree_structure(a) for a in args]
        out_avals = self.result_avals

        def bwd_flat(*flat_in):
            res_tree, res_specs = residual_box[0]
            residuals = tree_unflatten(res_tree, list(flat_in[: len(res_specs)]))
            cts = [_from_kvant_cotangent(c) for c in flat_in[len(res_specs) :]]
            out = self._bwd(residuals, tree_unflatten(self.out_tree, cts))
            if not isinstance(out, (tuple, list)):
                out = (out,) if num_args == 1 else out
            if not isinstance(out, (tuple, list)) or len(out) != num_args:
                raise TypeError(
                    f"kvant.pure_callback: the bwd function of '{self.name}' must return a tuple "
                    f"of {num_args} cotangent(s), one per positional argument"
                )
            flat_cts = []
            for i, (ct, tree) in enumerate(zip(out, arg_trees)):
                if ct is None:
                    flat_cts.extend([None] * tree.num_leaves)
                    continue
                leaves, got = tree_flatten(ct)
                if got != tree:
                    raise TypeError(
                        f"kvant.pure_callback: the bwd function of '{self.name}' returned a "
                        f"cotangent of structure {got} for argument {i}, of structure {tree}"
                    )
                flat_cts.extend(leaves)
            flat_cts.extend([None] * tree_structure(kwargs).num_leaves)
            result = []
            for ct, spec in zip(flat_cts, specs):
                if ct is None or not jnp.issubdtype(spec.dtype, jnp.inexact):
                    result.append(jnp.zeros(spec.shape, spec.dtype))
                    continue
                ct = jnp.asarray(ct)
                if ct.shape != spec.shape:
                    raise TypeError(
                        f"kvant.pure_callback: the bwd function of '{self.name}' returned a "
                        f"cotangent of shape {ct.shape} for an argument of shape {spec.shape}"
                    )
                result.append(_to_kvant_cotangent(ct.astype(spec.dtype)))
            return result

        self._tracing_derivative.active = True
        try:
            fwd = jax.make_jaxpr(fwd_flat)(*specs)
            res_specs = residual_box[0][1]
            ct_specs = [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in out_avals]
            bwd = jax.make_jaxpr(bwd_flat)(*res_specs, *ct_specs)
        finally:
            self._tracing_derivative.active = False
        for what, jaxpr in (("fwd", fwd), ("bwd", bwd)):
            if any(isinstance(c, jax_core.Tracer) for c in jaxpr.consts):
                raise UnsupportedError(
                    f"kvant.pure_callback: the {what} function of '{self.name}' uses a value "
                    "computed by the compiled program outside it; pass it as an argument of the "
                    "callback (or through the residuals)"
                )
        return CallbackVJP(fwd, bwd)


def _from_kvant_cotangent(ct):
    """kvant's cotangent of a complex value is the conjugate of JAX's (ReverseMode.h)."""
    return jnp.conj(ct) if jnp.iscomplexobj(ct) else ct


_to_kvant_cotangent = _from_kvant_cotangent
