"""Values crossing the boundary of an scf region (loop-carried values, branch results).

JAX gives scalars rank-0 tensor types. Carried as tensors, every loop iteration would allocate a
one-element buffer and the deallocation pipeline would track its ownership through the loop;
carried as their element, they stay in registers. Every control-flow rule (kvant's own and
JAX's) converts at the region boundary with these two functions.
"""

from __future__ import annotations

from mlir import ir

from kvant.lowering import builders as b


def _is_scalar_tensor_type(t: ir.Type) -> bool:
    return isinstance(t, ir.RankedTensorType) and t.rank == 0


def to_carried(values):
    """Rank-0 tensors as their element; other values unchanged."""
    return [b.extract_scalar(v) if _is_scalar_tensor_type(v.type) else v for v in values]


def carried_type(t: ir.Type) -> ir.Type:
    """The type ``to_carried`` gives a value of type ``t``."""
    return ir.RankedTensorType(t).element_type if _is_scalar_tensor_type(t) else t


def from_carried(values, like):
    """Inverse of ``to_carried``, given the original values or their types."""
    out = []
    for value, ref in zip(values, like):
        ref_type = ref if isinstance(ref, ir.Type) else ref.type
        out.append(b.from_scalar(value) if _is_scalar_tensor_type(ref_type) else value)
    return out
