"""The pass pipeline from kvant's MLIR (tensors, ``quantum``, ``gradient``) to the LLVM dialect.

Stages, in order (each a textual pipeline that ``kvant-opt --pass-pipeline=...`` accepts too):

1. ``gradient``: expand every ``gradient.*`` op into ordinary code;
2. ``quantum``: turn ``quantum.*`` ops into calls of the runtime's C API;
   ``host``: the same for ``host.callback`` (calls of Python functions), after which the
   ``fwd``/``bwd`` functions of differentiable callbacks are dead and removed;
3. ``bufferize``: tensors → buffers, results → caller-provided out-parameters (the entry point's
   outputs are NumPy arrays kvant allocates), deallocation of temporaries;
4. ``llvm``: loops, control flow, math, memrefs → LLVM dialect.
"""

from __future__ import annotations

STAGES: dict[str, list[str]] = {
    "gradient": ["gradient-expand-fd", "gradient-expand-auto", "symbol-dce"],
    "quantum": ["convert-quantum-to-runtime"],
    "host": ["convert-host-to-runtime", "symbol-dce"],
    "bufferize": [
        # scalar JAX values are rank-0 tensors: compute them as scalars before bufferizing
        "kvant-scalarize-rank0",
        "canonicalize",
        # a differentiated QNode's gate parameters, packed and unpacked one element at a time:
        # one loop (or nothing) instead of a load and a store per gate
        "kvant-gather-elements",
        "func.func(convert-elementwise-to-linalg)",
        # a QNode reads its N gate parameters with N tensor.extract ops of one tensor, which
        # one-shot-bufferize's analysis compares pairwise: they read a buffer instead
        "kvant-load-tensor-elements",
        # loops may yield fresh tensors each iteration (scf.while bodies do)
        "one-shot-bufferize{bufferize-function-boundaries allow-return-allocs-from-loops "
        "function-boundary-type-conversion=identity-layout-map}",
        # a buffer returned twice gets a copy: buffer-results-to-out-params crashes on it
        "kvant-distinct-returned-buffers",
        "buffer-results-to-out-params{hoist-static-allocs modify-public-functions}",
        "func.func(buffer-hoisting)",
        # upstream's buffer-deallocation-pipeline, with kvant's lowering of the dealloc ops:
        # upstream's keeps alias checks in i1 memrefs, which MLIR 22.1.8 cannot lower
        "expand-realloc",
        "ownership-based-buffer-deallocation",
        "canonicalize",
        "buffer-deallocation-simplification",
        "kvant-lower-deallocations",
        "cse",
        "canonicalize",
    ],
    "llvm": [
        # before linalg-to-loops: strided copies become linalg.copy loops rather than calls of
        # memrefCopy from MLIR's runner library, which compiled programs do not link
        "kvant-lower-strided-copies",
        "convert-linalg-to-loops",
        "expand-strided-metadata",
        "lower-affine",
        "convert-scf-to-cf",
        "convert-complex-to-standard",
        "convert-math-to-llvm",
        "convert-math-to-libm",
        "finalize-memref-to-llvm",
        "convert-to-llvm",
        "reconcile-unrealized-casts",
        "canonicalize",
    ],
}


def pipeline(stages=tuple(STAGES)) -> str:
    passes = [p for stage in stages for p in STAGES[stage]]
    return "builtin.module(" + ",".join(passes) + ")"


def staged(text: str) -> list[list[str]]:
    """``text`` as the worker runs it: ``[[stage, pipeline of the stage], ...]`` when it is
    the full pipeline (the passes of each stage then run, and are timed, by themselves), else
    one stage ``passes``."""
    if text != pipeline():
        return [["passes", text]]
    return [[stage, pipeline((stage,))] for stage in STAGES]
