"""``@qjit``: trace a hybrid function, compile it, cache it per signature, and call it."""

from __future__ import annotations

import functools
import inspect
import operator
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import tree_flatten, tree_flatten_with_path, tree_unflatten

from kvant import _gc
from kvant.errors import CompileError, UnsupportedError
from kvant.execution.library import jax_cpu_device, to_jax
from kvant.tracing import distributed
from kvant.tracing.context import TracingContext


@dataclass
class CompiledProgram:
    """One compiled specialisation of a qjit function (one input signature)."""

    entry: str
    library_path: Any
    jaxpr: Any
    mlir_bytecode: bytes
    mlir_lowered: str | None
    llvm_ir: str | None
    library: Any
    out_tree: Any
    from_cache: bool
    #: seconds spent in each stage of this program's compilation: trace, lower (to MLIR),
    #: bytecode, then the compiler worker's (``driver.CompiledArtifact.timings``: parse, one
    #: entry per stage of the pass pipeline, codegen, link) and ``compile``, the client's wait
    #: for the worker; only the first three for a library from the disk cache
    timings: dict = field(default_factory=dict)

    @functools.cached_property
    def mlir(self) -> str:
        """The program in kvant's dialects, as text; printed only when asked for (printing a
        large module costs more than the bytecode the compiler is given)."""
        from kvant import _mlir

        return _mlir.bytecode_to_text(self.mlir_bytecode)


#: Typed PRNG key arrays (``jax.random.key``) live inside compiled code only.
_KEY_BOUNDARY = (
    "a typed PRNG key array; compiled functions take and return keys as their key data: pass "
    "jax.random.key_data(key) (or a jax.random.PRNGKey) and use jax.random.wrap_key_data inside"
)


def _is_key(leaf) -> bool:
    dtype = getattr(leaf, "dtype", None)
    return dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)


def _abstract_leaf(x):
    """The static type of one argument leaf: what a compiled specialisation depends on; ``None``
    when the leaf is not something compiled code can take."""
    if _is_key(x):
        return None
    if isinstance(x, (jax.Array, np.ndarray, np.generic, jax.ShapeDtypeStruct)):
        shape, dtype = tuple(x.shape), np.dtype(x.dtype)
    elif isinstance(x, bool):
        return (), np.dtype(np.bool_)
    elif isinstance(x, int):
        return (), np.dtype(np.int64)
    elif isinstance(x, float):
        return (), np.dtype(np.float64)
    elif isinstance(x, complex):
        return (), np.dtype(np.complex128)
    else:
        try:
            array = np.asarray(x)
        except Exception:
            return None
        shape, dtype = array.shape, array.dtype
    # bool, signed/unsigned integers, floats, complex: what JAX computes with
    return (shape, dtype) if dtype.kind in "biufc" else None


def _argument_types(flat_with_paths, describe_path):
    types = []
    for path, leaf in flat_with_paths:
        abstract = _abstract_leaf(leaf)
        if abstract is None:
            what = type(leaf).__name__
            if _is_key(leaf):
                raise UnsupportedError(f"kvant.qjit: {describe_path(path)} is {_KEY_BOUNDARY}")
            if isinstance(leaf, (np.ndarray, np.generic)):
                what = f"array of dtype {leaf.dtype}"
            raise TypeError(
                f"kvant.qjit: {describe_path(path)} is {what}; compiled code takes numbers and "
                "numeric arrays (mark other arguments static with static_argnums or "
                "static_argnames)"
            )
        types.append(abstract)
    return tuple(types)


def _start_compiler_worker() -> None:
    """Start the compiler worker when a function is decorated: a compilation is coming, and the
    worker's start-up (an interpreter, the MLIR and LLVM libraries: ~0.15 s, on another core)
    then overlaps whatever the program does before its first call instead of only that call's
    tracing and lowering. A worker that cannot start is reported by the first compilation."""
    from kvant.compiler import driver

    try:
        driver.start_worker()
    except (CompileError, OSError):
        pass


class QJIT:
    """A function compiled by kvant; see :func:`qjit`."""

    def __init__(
        self,
        fn: Callable,
        *,
        static_argnums=(),
        static_argnames=(),
        keep_intermediate: bool = False,
        opt_level: int = 2,
        autograph: bool = False,
        seed: int | None = None,
        mpi: bool | str = False,
    ):
        if not callable(fn):
            raise TypeError(f"qjit needs a callable, got {type(fn).__name__}")
        functools.update_wrapper(self, fn)
        self.autograph = autograph
        if autograph:
            from kvant.tracing import autograph as _autograph

            fn = _autograph.convert(fn)
        self.original_function = fn
        static_argnums = _index_tuple(static_argnums, "static_argnums")
        if isinstance(static_argnames, str):
            static_argnames = (static_argnames,)
        self.static_argnames = frozenset(static_argnames)
        # A name in static_argnames also makes its parameter static when passed by position.
        try:
            parameters = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            parameters = None
        positional = [
            p.name
            for p in parameters or ()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        self._positional_names = positional
        self._named_positions = {positional.index(n) for n in static_argnames if n in positional}
        if parameters is not None and not any(p.kind == p.VAR_POSITIONAL for p in parameters):
            # As jax.jit: checked against the signature when it fixes the positional count.
            for i in static_argnums:
                if not -len(positional) <= i < len(positional):
                    raise ValueError(
                        f"kvant.qjit: static_argnums={i} is out of range: "
                        f"'{getattr(fn, '__name__', 'function')}' takes {len(positional)} "
                        "positional argument(s)"
                    )
        # As given (a negative index counts from the last argument of each call, as in jax.jit);
        # resolved per call by _static_positions.
        self.static_argnums = static_argnums
        self.keep_intermediate = keep_intermediate
        self.opt_level = opt_level
        # The CPU the code is generated for: this machine's ("native"), or a named one for a
        # library that runs elsewhere (the ahead-of-time command sets it).
        self.target_cpu = "native"
        self.seed = _check_seed(seed)
        self.mpi = distributed.check_option(mpi, "kvant.qjit")
        self._programs: dict = {}
        self._under_jax: dict = {}  # signature -> (JAX-callable program, output structure)
        self._last: CompiledProgram | None = None
        self._declared = None  # the signature compiled ahead of time from annotations
        _start_compiler_worker()
        specs = _annotated_specs(fn)
        if specs is not None:
            # Ahead of time: every parameter is annotated with a shape and dtype.
            self.compile(*specs)
            (self._declared,) = self._programs

    # -- stages of the last compilation -------------------------------------------------------
    @property
    def jaxpr(self):
        return self._last.jaxpr if self._last else None

    @property
    def mlir(self) -> str | None:
        return self._last.mlir if self._last else None

    @property
    def mlir_lowered(self) -> str | None:
        return self._last.mlir_lowered if self._last else None

    @property
    def llvm_ir(self) -> str | None:
        return self._last.llvm_ir if self._last else None

    # -- calling ------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if TracingContext.is_tracing():
            # A qjit function called from another one is traced into its caller.
            return self.original_function(*args, **kwargs)
        if any(isinstance(x, jax.core.Tracer) for x in tree_flatten((args, kwargs))[0]):
            return self._call_under_jax(args, kwargs)
        program, flat = self._program_for(args, kwargs)
        outputs = program.library(*flat, seed=self.seed)
        return tree_unflatten(program.out_tree, [to_jax(o) for o in outputs])

    # -- under JAX transformations ---------------------------------------------------------------
    def _call_under_jax(self, args, kwargs):
        """``jax.jit`` / ``jax.grad`` / ``jax.vmap`` of a compiled function: the compiled program
        runs as a host callback, and its derivative is kvant's own compiled VJP (a custom_vjp),
        so JAX never traces the circuits."""
        static, dynamic = self._split_static(args)
        static_kwargs = {k: v for k, v in kwargs.items() if k in self.static_argnames}
        kwargs = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        flat, in_tree = tree_flatten((dynamic, kwargs))
        specs = [jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)) for x in flat]
        key = (
            in_tree,
            static,
            tuple(sorted(static_kwargs.items())),
            tuple((spec.shape, spec.dtype) for spec in specs),
        )
        if key not in self._under_jax:
            self._under_jax[key] = self._jax_callable(static, static_kwargs, in_tree, specs)
        call, out_tree = self._under_jax[key]
        return tree_unflatten(out_tree, list(call(*flat)))

    def _jax_callable(self, static, static_kwargs, in_tree, specs):
        """The compiled program (and, on demand, its compiled VJP) as a JAX-callable function of
        the flat dynamic arguments; built once per signature."""

        def flat_fn(*leaves):
            dyn, kw = tree_unflatten(in_tree, list(leaves))
            return self.original_function(*self._merge_static(static, dyn), **kw, **static_kwargs)

        # messages about the program name the user's function
        flat_fn.__name__ = flat_fn.__qualname__ = getattr(
            self.original_function, "__name__", "function"
        )

        forward = QJIT(
            flat_fn,
            keep_intermediate=self.keep_intermediate,
            opt_level=self.opt_level,
            mpi=self.mpi,
        )
        seed = self.seed
        program = forward.compile(*specs)
        out_specs = [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in program.library.out_avals]
        differentiable = [
            i for i, spec in enumerate(specs) if jnp.issubdtype(spec.dtype, jnp.floating)
        ]

        def run(*leaves):
            return jax.pure_callback(
                lambda *xs: [np.asarray(o) for o in program.library(*xs, seed=seed)],
                out_specs,
                *leaves,
                vmap_method="sequential",
            )

        @jax.custom_vjp
        def call(*leaves):
            return run(*leaves)

        def call_fwd(*leaves):
            return run(*leaves), leaves

        pullbacks = []  # compiled on the first backward pass

        def call_bwd(leaves, cts):
            from kvant.api.differentiation import vjp

            if not pullbacks:
                pullback = QJIT(
                    lambda xs, ys: vjp(flat_fn, list(xs), list(ys), argnums=differentiable)[1],
                    opt_level=self.opt_level,
                    mpi=self.mpi,
                )
                pullbacks.append(pullback.compile(tuple(specs), tuple(out_specs)))
            pullback_program = pullbacks[0]
            grad_specs = [specs[i] for i in differentiable]
            bars = jax.pure_callback(
                lambda *xs: [np.asarray(o) for o in pullback_program.library(*xs, seed=seed)],
                grad_specs,
                *leaves,
                *cts,
                vmap_method="sequential",
            )
            result, k = [], 0
            for i, spec in enumerate(specs):
                if i in differentiable:
                    result.append(bars[k])
                    k += 1
                else:  # integer and boolean inputs have no cotangent
                    result.append(np.zeros(spec.shape, dtype=jax.dtypes.float0))
            return tuple(result)

        call.defvjp(call_fwd, call_bwd)
        return call, program.out_tree

    def compile(self, *args, **kwargs) -> CompiledProgram:
        """Compile for these arguments (arrays, or ``jax.ShapeDtypeStruct`` for types only)
        without running; later calls with the same signature use the result."""
        return self._program_for(args, kwargs)[0]

    def _program_for(self, args, kwargs):
        static, dynamic = self._split_static(args)
        static_kwargs = tuple(
            sorted((k, v) for k, v in kwargs.items() if k in self.static_argnames)
        )
        kwargs = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        static = (static, static_kwargs)
        try:
            hash(static)
        except TypeError:
            raise TypeError("static arguments must be hashable") from None
        flat_with_paths, in_tree = tree_flatten_with_path((dynamic, kwargs))
        flat = [leaf for _, leaf in flat_with_paths]
        positions = tuple(i for i, _ in static[0])
        signature = (
            in_tree,
            static,
            _argument_types(flat_with_paths, lambda path: self._describe_path(path, positions)),
        )
        program = self._programs.get(signature)
        if program is None and self._declared is not None:
            promoted = self._promote_to_declared(signature, flat, flat_with_paths)
            if promoted is not None:
                self._last = self._programs[self._declared]
                return self._last, promoted
        if program is None:
            program = self._compile(static, dynamic, kwargs, flat, in_tree)
            self._programs[signature] = program
        self._last = program
        return program, flat

    def _promote_to_declared(self, signature, flat, flat_with_paths):
        """The arguments converted to the signature declared by annotations when that loses
        nothing (same structure and shapes, dtypes cast safely: int to float, float32 to
        float64, ...); else ``None``, after a warning that a new signature gets compiled."""
        in_tree, static, types = signature
        declared_tree, declared_static, declared_types = self._declared
        mismatch = None
        if (
            in_tree != declared_tree
            or static != declared_static
            or len(types) != len(declared_types)
        ):
            mismatch = "their structure differs"
        else:
            for (path, _), (shape, dtype), (want_shape, want_dtype) in zip(
                flat_with_paths, types, declared_types
            ):
                if shape != want_shape or not np.can_cast(dtype, want_dtype, casting="safe"):
                    positions = tuple(i for i, _ in static[0])
                    mismatch = (
                        f"{self._describe_path(path, positions)} is {dtype}{list(shape)}, declared "
                        f"{want_dtype}{list(want_shape)}"
                    )
                    break
        if mismatch is None:
            return [np.asarray(x, dtype=want) for x, (_, want) in zip(flat, declared_types)]
        warnings.warn(
            f"kvant.qjit: the arguments do not match the signature declared by the annotations of "
            f"'{getattr(self.original_function, '__name__', 'function')}' ({mismatch}); "
            "compiling it again for them",
            UserWarning,
            stacklevel=4,
        )
        return None

    def _describe_path(self, path, static_positions=()) -> str:
        """'argument x[0]['a']' for a key path into ``(dynamic_args, kwargs)``;
        ``static_positions``: the positions of this call's static arguments."""
        from jax.tree_util import keystr

        group, first, *rest = path
        if group.idx == 0:  # positional: back to the position before static ones were removed
            dynamic_positions = [
                i for i in range(first.idx + len(static_positions) + 1) if i not in static_positions
            ]
            position = dynamic_positions[first.idx]
            name = (
                self._positional_names[position]
                if position < len(self._positional_names)
                else str(position)
            )
        else:
            name = str(first.key)
        return f"argument {name}{keystr(tuple(rest))}"

    def _static_positions(self, num_args: int) -> tuple[int, ...]:
        """The positions of the static arguments of a call with ``num_args`` positional
        arguments: negative indices count from the end; an index past the last argument names
        one left to its default (as in jax.jit), which is static anyway."""
        positions = set(self._named_positions)
        for i in self.static_argnums:
            if i < 0:
                if i < -num_args:
                    raise ValueError(
                        f"kvant.qjit: static_argnums={i} is out of range for a call with "
                        f"{num_args} positional argument(s)"
                    )
                i += num_args
            positions.add(i)
        return tuple(sorted(i for i in positions if i < num_args))

    def _split_static(self, args):
        positions = self._static_positions(len(args))
        static = tuple((i, args[i]) for i in positions)
        dynamic = tuple(a for i, a in enumerate(args) if i not in positions)
        return static, dynamic

    def _merge_static(self, static, dynamic):
        args = list(dynamic)
        for i, value in static:
            args.insert(i, value)
        return args

    def _compile(self, static, dynamic, kwargs, flat, in_tree) -> CompiledProgram:
        # None is an empty pytree to JAX: the function gets it as is, which is fine until the
        # function computes with it -- then the error should name the argument.
        nones = [
            self._describe_path(path)
            for path, leaf in tree_flatten_with_path(
                (dynamic, kwargs), is_leaf=lambda x: x is None
            )[0]
            if leaf is None
        ]
        # Tracing allocates ~10^5 short-lived objects, enough to trigger a full collection over
        # the ~2·10^5 objects JAX and PennyLane keep alive: ~100 ms, landing on one compilation
        # in five of a 480-gate circuit (with the collector paused the spikes went away).
        with _compiling, _gc.paused():
            return self._trace_and_compile(static, kwargs, flat, in_tree, nones)

    def _trace_and_compile(self, static, kwargs, flat, in_tree, nones=()) -> CompiledProgram:
        from kvant.compiler import driver

        # The worker starts first, so that its start-up overlaps all of this process's work on
        # the first compilation: loading the MLIR bindings and the lowering rules, which are
        # imported here rather than with kvant (a process that never compiles does not pay for
        # them), then tracing and lowering.
        driver.start_worker()
        from kvant import _mlir
        from kvant.execution.library import CompiledLibrary
        from kvant.lowering import lower_program

        specs = [jax.ShapeDtypeStruct(*_abstract_leaf(x)) for x in flat]  # checked by the caller
        out_tree_box = []

        static_args, static_kwargs = static

        function_name = getattr(self.original_function, "__name__", "function")

        def flat_fn(*flat_args):
            dyn, kw = tree_unflatten(in_tree, flat_args)
            result = self.original_function(
                *self._merge_static(static_args, dyn), **kw, **dict(static_kwargs)
            )
            leaves, out_tree = tree_flatten(result)
            for path, leaf in tree_flatten_with_path(result)[0]:
                if _is_key(leaf):
                    from jax.tree_util import keystr

                    where = "output" + keystr(path) if path else "its output"
                    raise UnsupportedError(
                        f"kvant.qjit: '{function_name}' returned {_KEY_BOUNDARY} ({where})"
                    )
                if not _is_numeric(leaf):
                    from jax.tree_util import keystr

                    from kvant.errors import describe_value

                    raise TypeError(
                        f"kvant.qjit: '{function_name}' returned {describe_value(leaf)} as "
                        f"{'output' + keystr(path) if path else 'its output'}; compiled functions "
                        "return numbers and numeric arrays (in tuples, lists or dicts)"
                    )
            out_tree_box.append(out_tree)
            return leaves

        timings = {}
        t0 = time.perf_counter()
        try:
            with TracingContext.tracing(), distributed.collect() as mpi_requests:
                closed_jaxpr = jax.make_jaxpr(flat_fn)(*specs)
        except (TypeError, ValueError, AttributeError) as exc:
            if not nones or str(exc).startswith("kvant.qjit:"):
                raise
            raise TypeError(
                f"kvant.qjit: {' and '.join(nones)} {'is' if len(nones) == 1 else 'are'} None, "
                f"and '{function_name}' failed with it ({type(exc).__name__}: "
                f"{str(exc).replace('DynamicJaxprTracer', 'array')}); pass a "
                "number or an array, or mark the argument static (static_argnums or "
                "static_argnames)"
            ) from exc
        name = "jit_" + function_name
        entry = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
        host_functions = []  # the Python functions the program calls back
        t1 = time.perf_counter()
        timings["trace"] = t1 - t0
        module = lower_program(closed_jaxpr, entry, _mlir.shared_context(), host_functions)
        t0 = time.perf_counter()
        timings["lower"] = t0 - t1
        bytecode = _mlir.to_bytecode(module)
        t1 = time.perf_counter()
        timings["bytecode"] = t1 - t0
        artifact = driver.compile_mlir(
            bytecode,
            keep_stages=self.keep_intermediate,
            opt_level=self.opt_level,
            cpu=self.target_cpu,
            # JAX's CPU client, on which the results are returned, is created (~10 ms, once per
            # process) while the worker compiles rather than after
            while_waiting=jax_cpu_device,
        )
        timings.update(artifact.timings)
        if not artifact.from_cache:
            timings["compile"] = time.perf_counter() - t1
        library = CompiledLibrary(
            artifact.library,
            entry,
            [v.aval for v in closed_jaxpr.jaxpr.invars],
            [v.aval for v in closed_jaxpr.jaxpr.outvars],
            host_functions,
        )
        library.locate_error = functools.partial(_locate_runtime_error, closed_jaxpr.jaxpr)
        # asked for by qjit(mpi=...) or a QNode's device (kvant.qubit with mpi=...)
        library.distributed = distributed.program_mode(self.mpi, mpi_requests)
        return CompiledProgram(
            entry,
            artifact.library,
            closed_jaxpr,
            bytecode,
            artifact.mlir_lowered,
            artifact.llvm_ir,
            library,
            out_tree_box[0],
            artifact.from_cache,
            timings,
        )


# One compilation at a time in a process: threads that compile at once take turns. Tracing is
# per thread (TracingContext), but the frontend's MLIR context, the pause of the cyclic garbage
# collector and the worker are shared. Reentrant: compiling may compile an inner program.
_compiling = threading.RLock()


def _is_numeric(leaf) -> bool:
    if isinstance(leaf, (jax.Array, jax.core.Tracer, np.ndarray, np.generic)):
        return np.dtype(leaf.dtype).kind in "biufc"
    return isinstance(leaf, (bool, int, float, complex))


def _program_sites(jaxpr, qnode=None):
    """(primitive name, params, user's 'file:line', enclosing QNode's name) of every equation
    of ``jaxpr`` and the jaxprs nested in it."""
    from jax.extend.core import Jaxpr

    from kvant.errors import user_location

    for eqn in jaxpr.eqns:
        inner_qnode = eqn.params.get("name") if eqn.primitive.name == "kvant_qnode" else qnode
        yield eqn.primitive.name, eqn.params, user_location(eqn.source_info), qnode
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                sub = getattr(sub, "jaxpr", sub)  # a ClosedJaxpr's Jaxpr
                if isinstance(sub, Jaxpr):
                    yield from _program_sites(sub, inner_qnode)


def _locate_runtime_error(jaxpr, message: str) -> str:
    """The simulator's message with the user's source line of what failed, where the program
    tells: the gate the message names, if the program applies it at one line; else the QNode."""
    import re

    found = re.match(r"kvant_rt_(\w+): (\w+):", message)
    sites = list(_program_sites(jaxpr))
    if found and found[1] == "gate":
        gates = {
            (where, qnode)
            for prim, params, where, qnode in sites
            if prim == "kvant_gate" and params.get("name") == found[2] and where
        }
        if len(gates) == 1:
            ((where, qnode),) = gates
            return f"{where}: {message}" + (f" (in QNode '{qnode}')" if qnode else "")
    qnodes = {
        (params.get("name"), where)
        for prim, params, where, _ in sites
        if prim == "kvant_qnode" and where
    }
    if len(qnodes) == 1:
        ((qnode, where),) = qnodes
        return f"{message} (in QNode '{qnode}', called at {where})"
    return message


def _check_seed(seed):
    """The seed of a qjit function's random choices: None, or an int in [0, 2**64)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"kvant.qjit: seed must be an int, got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**64:
        raise ValueError(f"kvant.qjit: seed must be in [0, 2**64), got {seed}")
    return int(seed)


def _index_tuple(value, what: str) -> tuple[int, ...]:
    """An int or a sequence of ints as a tuple of ints."""
    items = (value,) if not isinstance(value, (tuple, list, set, frozenset, range)) else value
    result = []
    for item in items:
        if isinstance(item, bool):
            raise TypeError(f"kvant.qjit: {what} must be ints, got {item!r}")
        try:
            result.append(operator.index(item))
        except TypeError:
            raise TypeError(
                f"kvant.qjit: {what} must be an int or a sequence of ints, got {value!r}"
            ) from None
    return tuple(result)


def _annotated_specs(fn):
    """Argument types from annotations, when every parameter has a ``jax.ShapeDtypeStruct``
    (or ``ShapedArray``) annotation; else ``None``."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    specs = []
    for p in params:
        ann = p.annotation
        if not (hasattr(ann, "shape") and hasattr(ann, "dtype")):
            return None
        specs.append(jax.ShapeDtypeStruct(tuple(ann.shape), ann.dtype))
    return specs or None


def qjit(
    fn=None,
    *,
    static_argnums=(),
    static_argnames=(),
    keep_intermediate: bool = False,
    opt_level: int = 2,
    autograph: bool = False,
    seed: int | None = None,
    mpi: bool | str = False,
    **unsupported,
):
    """Compile a hybrid quantum-classical function with kvant.

    Usable as ``@qjit``, ``@qjit(static_argnums=...)`` and ``qjit(fn=f)`` (PennyLane's
    ``qml.qjit(compiler="kvant")`` calls it that way).

    ``autograph=True`` converts the function's Python control flow -- ``if``/``elif``/``else``,
    ``for`` over ``range``, arrays or ``enumerate``, ``while`` -- and that of the functions and
    QNodes it calls, into compiled control flow (``cond``, ``for_loop``, ``while_loop``) when it
    depends on traced values, with PennyLane's AutoGraph (``qml.capture.autograph``).

    ``seed`` (an int): every call starts the simulator's random generator from it, so samples,
    counts, estimates with shots and mid-circuit outcomes are the same at every call and in
    every process (a device's own seed, ``qml.device("kvant.qubit", seed=s)``, still restarts
    it for that device's QNodes). Without it each call draws fresh random numbers.

    ``mpi=True``: every quantum register of the program is distributed over the ranks of the MPI
    job the program runs in, as for QNodes on ``qml.device("kvant.qubit", wires=n, mpi=True)``
    (docs/distributed.md): run the script as ``mpirun -n 4 python prog.py``; every rank runs the
    program (SPMD) and returns the same results. ``mpi="shifts"``: registers stay whole on
    every rank and the shifted circuits of parameter-shift gradients are dealt out over the
    ranks instead (as ``qml.device("kvant.qubit", ..., mpi="shifts")``).
    """
    if unsupported:
        raise TypeError(f"kvant.qjit got unsupported options: {', '.join(sorted(unsupported))}")
    options = dict(
        static_argnums=static_argnums,
        static_argnames=static_argnames,
        keep_intermediate=keep_intermediate,
        opt_level=opt_level,
        autograph=autograph,
        seed=seed,
        mpi=mpi,
    )
    if fn is None:
        return lambda f: QJIT(f, **options)
    return QJIT(fn, **options)
