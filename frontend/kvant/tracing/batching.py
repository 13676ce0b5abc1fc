"""``jax.vmap`` over kvant's call and control-flow primitives.

A circuit runs one parameter set at a time, so a batched QNode call becomes a compiled loop over
the batch (a ``kvant_for``, lowered to ``scf.for``), not one circuit per element in the IR. The
same rule serves kvant's classical control flow, gradients and host callbacks (one call of the
Python function per element, as ``jax.pure_callback``'s ``vmap_method="sequential"``), so vmaps
nest (the outer vmap then batches the inner one's loop).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax._src.interpreters import batching

from kvant.tracing.callbacks import host_callback_p
from kvant.tracing.primitives import cond_p, for_p, grad_p, jvp_p, qnode_p, while_p


def _loop_over_batch(primitive):
    def rule(args, dims, **params):
        from kvant.tracing.control_flow import trace_for

        if params.get("quantum"):
            # A region inside a circuit acts on that one circuit's state: there is no batch of
            # circuits to loop over at this level.
            raise NotImplementedError(
                f"jax.vmap over '{primitive.name}' inside a QNode is not supported; vmap the QNode"
            )
        is_mapped = [d is not batching.not_mapped for d in dims]
        args = [jnp.moveaxis(a, d, 0) if m else a for a, d, m in zip(args, dims, is_mapped)]
        size = next(a.shape[0] for a, m in zip(args, is_mapped) if m)

        def unbatched(i):
            return [
                jax.lax.dynamic_index_in_dim(a, i, keepdims=False) if m else a
                for a, m in zip(args, is_mapped)
            ]

        # from types only: an empty batch has no element 0 to index
        element_types = [
            jax.ShapeDtypeStruct(a.shape[1:], a.dtype) if m else a for a, m in zip(args, is_mapped)
        ]
        out_shapes = jax.eval_shape(lambda *a: primitive.bind(*a, **params), *element_types)

        def element(i, *results):
            values = primitive.bind(*unbatched(i), **params)
            updated = tuple(
                jax.lax.dynamic_update_index_in_dim(r, v, i, 0) for r, v in zip(results, values)
            )
            return updated[0] if len(updated) == 1 else updated  # trace_for's loop-state convention

        init = tuple(jnp.zeros((size,) + s.shape, s.dtype) for s in out_shapes)
        if not init:
            return [], []
        if size == 0:  # as jax.vmap: empty results, nothing runs
            return list(init), [0] * len(init)
        outs = trace_for(0, size, 1, element, init)
        outs = [outs] if len(init) == 1 else list(outs)
        return outs, [0] * len(outs)

    return rule


for _primitive in (qnode_p, for_p, while_p, cond_p, grad_p, jvp_p, host_callback_p):
    batching.primitive_batchers[_primitive] = _loop_over_batch(_primitive)
