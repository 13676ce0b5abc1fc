"""``jax.vmap`` over kvant's call primitives.

A circuit runs one parameter set at a time, so a batched QNode call becomes a compiled loop over
the batch (a ``kvant_for``, lowered to ``scf.for``), not one circuit per element in the IR.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax._src.interpreters import batching

from kvant.tracing.primitives import qnode_p


def _qnode_batch_rule(args, dims, **params):
    from kvant.tracing.control_flow import trace_for

    is_mapped = [d is not batching.not_mapped for d in dims]
    args = [jnp.moveaxis(a, d, 0) if m else a for a, d, m in zip(args, dims, is_mapped)]
    size = next(a.shape[0] for a, m in zip(args, is_mapped) if m)

    def element(i, *results):
        call_args = [jax.lax.dynamic_index_in_dim(a, i, keepdims=False) if m else a
                     for a, m in zip(args, is_mapped)]
        values = qnode_p.bind(*call_args, **params)
        return tuple(jax.lax.dynamic_update_index_in_dim(r, v, i, 0) for r, v in zip(results, values))

    init = tuple(jnp.zeros((size,) + a.shape, a.dtype) for a in params["jaxpr"].out_avals)
    outs = trace_for(0, size, 1, element, init)
    outs = [outs] if len(init) == 1 else list(outs)
    return outs, [0] * len(outs)


batching.primitive_batchers[qnode_p] = _qnode_batch_rule
