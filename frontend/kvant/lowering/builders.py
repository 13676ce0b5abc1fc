"""Small builders of upstream MLIR ops on tensors, shared by the lowering rules."""

from __future__ import annotations

import functools

import numpy as np
from mlir import ir
from mlir.dialects import arith, tensor
from mlir.dialects import complex as complex_dialect


def ranked(value: ir.Value) -> ir.RankedTensorType:
    return ir.RankedTensorType(value.type)


def tensor_of(shape, elt: ir.Type) -> ir.RankedTensorType:
    return ir.RankedTensorType.get(list(shape), elt)


def is_complex_type(elt: ir.Type) -> bool:
    return isinstance(elt, ir.ComplexType)


def scalar_attr(elt: ir.Type, value) -> ir.Attribute:
    if isinstance(elt, ir.IntegerType):
        return ir.IntegerAttr.get(elt, int(value))
    return ir.FloatAttr.get(elt, float(value))


def full(shape, elt: ir.Type, value) -> ir.Value:
    ttype = tensor_of(shape, elt)
    if is_complex_type(elt):
        # no splat attribute for complex numbers in the Python API: spell out the elements
        dtype = (
            np.complex128
            if ir.F64Type.isinstance(ir.ComplexType(elt).element_type)
            else np.complex64
        )
        attr = ir.DenseElementsAttr.get(np.full(list(shape), value, dtype=dtype), type=ttype)
        return arith.ConstantOp(ttype, attr).result
    return arith.ConstantOp(
        ttype, ir.DenseElementsAttr.get_splat(ttype, scalar_attr(elt, value))
    ).result


def scalar_constant(elt: ir.Type, value) -> ir.Value:
    if is_complex_type(elt):
        part = ir.ComplexType(elt).element_type
        value = complex(value)
        parts = ir.ArrayAttr.get([scalar_attr(part, value.real), scalar_attr(part, value.imag)])
        return complex_dialect.ConstantOp(elt, parts).result
    return arith.ConstantOp(elt, scalar_attr(elt, value)).result


def index_constant(value: int) -> ir.Value:
    return arith.ConstantOp(ir.IndexType.get(), int(value)).result


def to_index(value: ir.Value) -> ir.Value:
    """An integer scalar as an MLIR ``index``."""
    return arith.IndexCastOp(ir.IndexType.get(), value).result


def create(name: str, result_type: ir.Type, operands, attributes=None) -> ir.Value:
    """The single result of a generic op ``name`` (for ops picked by element type at run time)."""
    return ir.Operation.create(
        name, results=[result_type], operands=list(operands), attributes=attributes or {}
    ).result


def extract_scalar(value: ir.Value) -> ir.Value:
    """The element of a rank-0 tensor."""
    return tensor.ExtractOp(value, []).result


def is_nonzero(scalar: ir.Value) -> ir.Value:
    """i1 from a stored boolean (an i8 byte) or integer scalar: nonzero is true."""
    return arith.CmpIOp(arith.CmpIPredicate.ne, scalar, scalar_constant(scalar.type, 0)).result


def truth(predicate: ir.Value) -> ir.Value:
    """i1 from a rank-0 boolean or integer tensor, for scf conditions."""
    return is_nonzero(extract_scalar(predicate))


def from_scalar(scalar: ir.Value) -> ir.Value:
    """A rank-0 tensor holding ``scalar``."""
    return tensor.FromElementsOp(tensor_of([], scalar.type), [scalar]).result


def broadcast_scalar(value: ir.Value, shape) -> ir.Value:
    """A rank-0 tensor repeated to ``shape``."""
    elt = ranked(value).element_type
    return tensor.SplatOp(tensor_of(shape, elt), extract_scalar(value), []).result


def empty(shape, elt: ir.Type) -> ir.Value:
    return tensor.EmptyOp(list(shape), elt).result


# linalg's op classes are taken from the module generated from its ODS definitions, not from the
# ``mlir.dialects.linalg`` package: importing that package also defines each of linalg's named
# ops in Python (and creates an MLIR context to do so), ~40 ms of CPU on the first compilation
# of a process, for ops kvant does not build. The module is loaded on first use (~10 ms): a
# circuit of scalar parameters builds no linalg op. The bodies of the named ops below are
# implied by their names; the bindings build them (``fill_builtin_region``), as the package's
# helpers do.


@functools.cache
def linalg_ops():
    """The op classes of the linalg dialect."""
    from mlir.dialects import _linalg_ops_gen

    return _linalg_ops_gen


def _named_op(op) -> ir.Value:
    from mlir._mlir_libs._mlirDialectsLinalg import fill_builtin_region

    fill_builtin_region(op.operation)
    return op.results[0]


def fill(value: ir.Value, init: ir.Value) -> ir.Value:
    """``linalg.fill``: ``init``'s shape, every element ``value``."""
    return _named_op(linalg_ops().FillOp([init.type], [value], [init]))


def copy(value: ir.Value, init: ir.Value) -> ir.Value:
    """``linalg.copy`` of ``value`` into ``init`` (of the same type: its cast, by default
    signed, does nothing)."""
    return _named_op(linalg_ops().CopyOp([init.type], [value], [init]))


def broadcast(value: ir.Value, init: ir.Value, dimensions) -> ir.Value:
    """``linalg.broadcast`` of ``value`` into ``init``'s shape, adding ``dimensions``."""
    return _named_op(linalg_ops().BroadcastOp([init.type], value, init, list(dimensions)))


def transpose(value: ir.Value, init: ir.Value, permutation) -> ir.Value:
    """``linalg.transpose`` of ``value`` into ``init`` (of the permuted shape)."""
    return _named_op(linalg_ops().TransposeOp([init.type], value, init, list(permutation)))


def filled(shape, elt: ir.Type, value) -> ir.Value:
    """A tensor to accumulate into (``tensor.empty`` + ``linalg.fill``)."""
    return fill(scalar_constant(elt, value), empty(shape, elt))


def reshape(value: ir.Value, new_shape) -> ir.Value:
    """Reshape a static tensor (row-major order preserved) with collapse/expand_shape."""
    src = ranked(value)
    old_shape = list(src.shape)
    new_shape = list(new_shape)
    if old_shape == new_shape:
        return value
    elt = src.element_type
    if int(np.prod(old_shape)) != int(np.prod(new_shape)):
        raise ValueError(f"cannot reshape {old_shape} to {new_shape}")
    if len(old_shape) == 0:
        return _expand(value, new_shape, [])
    if len(new_shape) == 0:
        return tensor.CollapseShapeOp(tensor_of([], elt), value, ir.ArrayAttr.get([])).result
    flat = value
    if len(old_shape) != 1:
        flat = tensor.CollapseShapeOp(
            tensor_of([int(np.prod(old_shape))], elt),
            value,
            _reassociation([list(range(len(old_shape)))]),
        ).result
    if len(new_shape) == 1:
        return flat
    return _expand(flat, new_shape, [list(range(len(new_shape)))])


def _reassociation(groups) -> ir.ArrayAttr:
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get(
        [ir.ArrayAttr.get([ir.IntegerAttr.get(i64, d) for d in g]) for g in groups]
    )


def _expand(value, new_shape, groups):
    elt = ranked(value).element_type
    return tensor.ExpandShapeOp(
        tensor_of(new_shape, elt), value, _reassociation(groups), [], new_shape
    ).result


def iterator_types(kinds) -> ir.ArrayAttr:
    # parsed as one array: an attribute of the linalg dialect parsed on its own comes back
    # through the bindings' attribute casters, which import the mlir.dialects.linalg package
    return ir.ArrayAttr(
        ir.Attribute.parse("[" + ", ".join(f"#linalg.iterator_type<{k}>" for k in kinds) + "]")
    )


def affine_map(num_dims: int, results) -> ir.AffineMapAttr:
    return ir.AffineMapAttr.get(
        ir.AffineMap.get(num_dims, 0, [ir.AffineDimExpr.get(d) for d in results])
    )


def broadcast_to(value: ir.Value, shape) -> ir.Value:
    """NumPy-style broadcast of an operand of equal rank (or rank 0) to ``shape``."""
    src = list(ranked(value).shape)
    shape = list(shape)
    if src == shape:
        return value
    if not src:
        return broadcast_scalar(value, shape)
    if len(src) != len(shape):
        raise ValueError(f"cannot broadcast {src} to {shape}")
    kept = [d for d in range(len(src)) if src[d] == shape[d]]
    squeezed = reshape(value, [src[d] for d in kept])
    if not kept:
        return broadcast_scalar(squeezed, shape)
    added = [d for d in range(len(shape)) if d not in kept]
    return broadcast(squeezed, empty(shape, ranked(value).element_type), added)


def value_of(built) -> ir.Value:
    """The single result of an op builder that may return a value, an op or a result list."""
    if isinstance(built, ir.Value):
        return built
    if isinstance(built, ir.OpResultList):
        return built[0]
    return built.results[0]  # ops with variadic results give a list even from `.result`


def elementwise(result_type, inputs, body):
    """A parallel ``linalg.generic`` over same-shaped tensors; ``body(*scalars) -> scalar``.

    On rank-0 tensors (JAX scalars, e.g. gate angles) the body is built as plain scalar code
    between ``tensor.extract`` and ``tensor.from_elements``, which canonicalization folds
    away: no loop and no buffer per operation."""
    rank = len(result_type.shape)
    if rank == 0:
        return from_scalar(body(*[extract_scalar(v) for v in inputs]))
    init = empty(result_type.shape, result_type.element_type)
    maps = [affine_map(rank, range(rank))] * (len(inputs) + 1)

    def full_body(*args):
        return body(*args[:-1])

    return generic(result_type, inputs, init, maps, ["parallel"] * rank, full_body)


def generic(result_type, inputs, init, maps, iterators, body):
    """A ``linalg.generic`` with one output; ``body(*block_args) -> yielded value``."""
    (result,) = generic_multi([result_type], inputs, [init], maps, iterators, lambda *a: [body(*a)])
    return result


def generic_multi(result_types, inputs, inits, maps, iterators, body) -> list:
    """A ``linalg.generic`` with several outputs; ``body(*block_args) -> list of yielded values``
    (block arguments: one scalar per input, then one per output's current value)."""
    linalg = linalg_ops()
    op = linalg.GenericOp(
        list(result_types),
        list(inputs),
        list(inits),
        ir.ArrayAttr.get(maps),
        iterator_types(iterators),
    )
    elts = [ranked(v).element_type for v in list(inputs) + list(inits)]
    block = op.regions[0].blocks.append(*elts)
    with ir.InsertionPoint(block):
        linalg.YieldOp(list(body(*block.arguments)))
    return list(op.results)


def loop_index(dim: int) -> ir.Value:
    """Inside a ``linalg.generic`` body: the current value of loop dimension ``dim``."""
    return linalg_ops().IndexOp(ir.IntegerAttr.get(ir.IntegerType.get_signless(64), dim)).result


def affine_map_exprs(num_dims: int, exprs) -> ir.AffineMapAttr:
    """An affine map from ``num_dims`` loop dims to the given results (ints are loop dims)."""
    exprs = [ir.AffineDimExpr.get(e) if isinstance(e, int) else e for e in exprs]
    return ir.AffineMapAttr.get(ir.AffineMap.get(num_dims, 0, exprs))
