"""JAXPR → MLIR: walks equations and applies the rule registered for each primitive.

One ``ModuleLowering`` builds one module. The traced program becomes a public entry function;
sub-JAXPRs that kvant calls (QNodes, differentiated functions, nested ``pjit``) become private
functions of the same module, lowered once each.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import jax
import numpy as np
from jax._src import core as jax_core
from jax.extend import core as jex_core
from mlir import ir
from mlir.dialects import arith, func

from kvant.errors import KvantError, UnsupportedError, source_position, user_location
from kvant.lowering import types
from kvant.lowering.registry import RULES


@dataclasses.dataclass
class RuleContext:
    """What a lowering rule may use besides its operands."""

    lowering: ModuleLowering
    eqn: Any
    #: the quantum state of the QNode being lowered (``None`` outside QNode bodies)
    quantum: Any

    @property
    def avals_in(self):
        return [v.aval for v in self.eqn.invars]

    @property
    def avals_out(self):
        return [v.aval for v in self.eqn.outvars]

    @property
    def where(self) -> str:
        loc = user_location(self.eqn.source_info)
        return f" (at {loc})" if loc else ""

    def inline(self, fn, operands, avals=None):
        """Lowers the JAX function ``fn`` applied to ``operands`` in place: a rule written as
        other primitives (their rules then apply). ``avals`` default to the equation's inputs;
        returns one value for one output, else the list."""
        avals = self.avals_in if avals is None else avals
        specs = [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in avals]
        closed = jax.make_jaxpr(fn)(*specs)
        outs = self.lowering.lower_jaxpr(closed.jaxpr, closed.consts, list(operands), self.quantum)
        return outs[0] if len(outs) == 1 else outs


#: a user source location already in a message: " (at file.py:12)"
_LOCATED = re.compile(r" \(at [^()]+:\d+\)")


def constant(value, aval=None) -> ir.Value:
    """An ``arith.constant`` holding a NumPy/JAX array or Python scalar."""
    array = np.asarray(value)
    if aval is not None:
        array = array.astype(aval.dtype).reshape(aval.shape)
    ttype = ir.RankedTensorType.get(list(array.shape), types.element_type(array.dtype))
    if array.dtype == np.bool_:
        array = array.astype(np.int8)  # booleans are i8 tensors (see types.element_type)
    attr = ir.DenseElementsAttr.get(np.ascontiguousarray(array), type=ttype)
    return arith.ConstantOp(ttype, attr).result


def location(eqn) -> ir.Location:
    from jax._src import source_info_util

    frame = source_info_util.user_frame(eqn.source_info.traceback) if eqn.source_info else None
    if frame is None:
        return ir.Location.name(eqn.primitive.name)
    file_name, line, column = source_position(
        frame.file_name, frame.start_line, max(frame.start_column, 0)
    )
    inner = ir.Location.file(file_name, line, column)
    return ir.Location.name(eqn.primitive.name, childLoc=inner)


# A private function, with internal linkage in the shared library: a function named like a C
# library one (JAX names nested jits after their Python functions, e.g. `remainder`) must not
# bind to libm's symbol of that name at load time. Parsed rather than built with its linkage
# attribute: an attribute of the llvm dialect created in Python imports the bindings'
# mlir.dialects.llvm package (to find a Python class for it), ~25 ms of CPU, 60% of lowering a
# small program on a process's first compilation. Name and type are set after parsing.
_PRIVATE_FUNCTION = (
    "func.func private @function() attributes {llvm.linkage = #llvm.linkage<internal>}"
)


class ModuleLowering:
    """Builds one module; its methods run inside the module's context and a default location."""

    def __init__(self):
        self.module = ir.Module.create()
        self._symbols: set[str] = set()
        self._lowered: dict[tuple, str] = {}
        #: external declarations of the runtime's functions (rules/linalg.py), by symbol
        self.runtime_functions: set[str] = set()
        #: the host functions the program calls (``host.callback`` numbers index this list), each
        #: with the abstract values of its operands and results
        self.host_functions: list[tuple] = []
        self._host_numbers: dict[tuple, int] = {}
        self._host_wrappers: dict[int, tuple] = {}

    def host_function(self, function, in_avals, out_avals) -> int:
        """The number of ``function`` called with these operand and result types in this
        module's table of host functions, added on first use."""
        key = (id(function), tuple(in_avals), tuple(out_avals))
        number = self._host_numbers.get(key)
        if number is None:
            number = self._host_numbers[key] = len(self.host_functions)
            self.host_functions.append((function, list(in_avals), list(out_avals)))
        return number

    def host_function_for(self, callback, make):
        """One ``HostFunction`` per callback object of JAX's primitives (``make()`` builds it),
        so that a function called at several places takes one entry of the table."""
        entry = self._host_wrappers.get(id(callback))
        if entry is None:
            entry = self._host_wrappers[id(callback)] = (callback, make())
        return entry[1]

    def unique_symbol(self, base: str) -> str:
        base = "".join(c if c.isalnum() or c == "_" else "_" for c in base) or "f"
        name, k = base, 0
        while name in self._symbols:
            k += 1
            name = f"{base}_{k}"
        self._symbols.add(name)
        return name

    def function(
        self, key, base_name: str, closed_jaxpr, *, public=False, attributes=None, body=None
    ) -> str:
        """Lower ``closed_jaxpr`` into a function once per ``key``; return its symbol name.

        ``body(block_arguments) -> results`` overrides how the body is built (QNodes wrap the
        equations between an allocation and a deallocation of their register).
        """
        if key is not None and key in self._lowered:
            return self._lowered[key]
        name = self.unique_symbol(base_name)
        if key is not None:
            self._lowered[key] = name
        jaxpr = closed_jaxpr.jaxpr
        in_types = [types.tensor_type(v.aval) for v in jaxpr.invars]
        out_types = [types.tensor_type(v.aval) for v in jaxpr.outvars]
        with ir.InsertionPoint.at_block_begin(self.module.body) as module_begin:
            if not public:
                fn = ir.Operation.parse(_PRIVATE_FUNCTION)
                fn.attributes["sym_name"] = ir.StringAttr.get(name)
                fn.attributes["function_type"] = ir.TypeAttr.get(
                    ir.FunctionType.get(in_types, out_types)
                )
                module_begin.insert(fn)
            else:
                fn = func.FuncOp(name, (in_types, out_types))
                # The caller's arrays are inputs only: bufferization must copy before writing.
                read_only = ir.DictAttr.get({"bufferization.writable": ir.BoolAttr.get(False)})
                fn.arg_attrs = ir.ArrayAttr.get([read_only] * len(in_types))
            for attr_name, attr in (attributes or {}).items():
                fn.attributes[attr_name] = attr
            block = fn.add_entry_block()
            with ir.InsertionPoint(block):
                args = list(block.arguments)
                if body is None:
                    results = self.lower_jaxpr(jaxpr, closed_jaxpr.consts, args)
                else:
                    results = body(args)
                func.ReturnOp(results)
        return name

    def lower_jaxpr(self, jaxpr, consts, args, quantum=None) -> list[ir.Value]:
        env: dict = {}

        def read(v):
            if isinstance(v, jex_core.Literal):
                return constant(v.val, v.aval)
            return env[v]

        for var, value in zip(jaxpr.constvars, consts):
            env[var] = constant(value, var.aval)
        for var, value in zip(jaxpr.invars, args):
            env[var] = value
        for eqn in jaxpr.eqns:
            name = eqn.primitive.name
            rule = RULES.get(name)
            ctx = RuleContext(self, eqn, quantum)
            if rule is None:
                raise UnsupportedError(
                    f"kvant cannot compile the JAX primitive '{name}' yet{ctx.where}"
                )
            operands = [read(v) for v in eqn.invars]
            if name in _KEY_DATA_PRIMITIVES and _has_keys(eqn):
                rule = _per_key_word(rule)
            try:
                with location(eqn):
                    outs = rule(ctx, *operands, **eqn.params)
            except KvantError as exc:
                # the innermost equation's line is the most precise: regions (loops, conds,
                # QNodes) around it add none of their own
                if ctx.where and not _LOCATED.search(str(exc)):
                    raise type(exc)(f"{exc}{ctx.where}") from exc
                raise
            if not isinstance(outs, (list, tuple)):
                outs = [outs]
            if len(outs) != len(eqn.outvars):
                raise AssertionError(f"lowering rule for '{name}' returned {len(outs)} values")
            for var, value in zip(eqn.outvars, outs):
                if not isinstance(var, jax_core.DropVar):
                    env[var] = value
        return [read(v) for v in jaxpr.outvars]


#: Primitives that move whole elements: on PRNG key arrays (held as their uint32 key data with a
#: trailing key dimension, ``types.physical_aval``) each word of the keys moves like an element.
_KEY_DATA_PRIMITIVES = frozenset(
    {
        "slice",
        "squeeze",
        "expand_dims",
        "reshape",
        "broadcast_in_dim",
        "concatenate",
        "transpose",
        "rev",
        "select_n",
        "dynamic_slice",
        "dynamic_update_slice",
        "gather",
        "copy",
        "copy_p",
        "device_put",
    }
)


def _has_keys(eqn) -> bool:
    return any(types.is_key(v.aval.dtype) for v in (*eqn.invars, *eqn.outvars))


@dataclasses.dataclass
class _WordVar:
    aval: Any


@dataclasses.dataclass
class _WordEquation:
    """An equation as the rule of one key word sees it: key avals replaced by uint32 ones."""

    primitive: Any
    params: dict
    invars: list
    outvars: list
    source_info: Any


def _word_aval(aval):
    if not types.is_key(aval.dtype):
        return aval
    return jax_core.ShapedArray(aval.shape, np.dtype(np.uint32))


def _per_key_word(rule):
    """``rule`` applied to each word of the key data separately (key operands split along their
    trailing key dimension, key results stacked along it); other operands are shared."""
    from mlir.dialects import tensor

    from kvant.lowering import builders

    def apply(ctx, *operands, **params):
        eqn = ctx.eqn
        key_avals = [v.aval for v in (*eqn.invars, *eqn.outvars) if types.is_key(v.aval.dtype)]
        words = int(np.prod(types.physical_aval(key_avals[0]).shape[key_avals[0].ndim :]))
        word_eqn = _WordEquation(
            eqn.primitive,
            eqn.params,
            [_WordVar(_word_aval(v.aval)) for v in eqn.invars],
            [_WordVar(_word_aval(v.aval)) for v in eqn.outvars],
            eqn.source_info,
        )
        word_ctx = RuleContext(ctx.lowering, word_eqn, ctx.quantum)
        per_word = []
        for w in range(words):
            word_operands = []
            for var, value in zip(eqn.invars, operands):
                if not types.is_key(var.aval.dtype):
                    word_operands.append(value)
                    continue
                shape = list(var.aval.shape)
                data = types.physical_aval(var.aval)
                flat = (
                    builders.reshape(value, [*shape, words])
                    if data.ndim != len(shape) + 1
                    else value
                )
                piece_type = ir.RankedTensorType.get(
                    [*shape, 1], builders.ranked(value).element_type
                )
                piece = tensor.ExtractSliceOp(
                    piece_type,
                    flat,
                    [],
                    [],
                    [],
                    [0] * len(shape) + [w],
                    [*shape, 1],
                    [1] * (len(shape) + 1),
                ).result
                word_operands.append(builders.reshape(piece, shape))
            outs = rule(word_ctx, *word_operands, **params)
            per_word.append(outs if isinstance(outs, (list, tuple)) else [outs])
        results = []
        for k, var in enumerate(eqn.outvars):
            if not types.is_key(var.aval.dtype):
                results.append(per_word[0][k])
                continue
            shape = list(var.aval.shape)
            columns = [builders.reshape(outs[k], [*shape, 1]) for outs in per_word]
            stacked = tensor.ConcatOp(
                ir.RankedTensorType.get([*shape, words], builders.ranked(columns[0]).element_type),
                len(shape),
                columns,
            ).result
            results.append(builders.reshape(stacked, types.physical_aval(var.aval).shape))
        return results if eqn.primitive.multiple_results or len(results) != 1 else results[0]

    return apply
