//===- Passes.td - kvant passes on upstream dialects ---------------------*- tablegen -*-===//

#ifndef KVANT_TRANSFORMS_PASSES_TD
#define KVANT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerStridedCopiesPass : Pass<"kvant-lower-strided-copies"> {
  let summary = "Turn memref.copy between non-contiguous memrefs into linalg.copy";
  let description = [{
    finalize-memref-to-llvm lowers a memref.copy whose operands are not both contiguous to a
    call of `memrefCopy` from MLIR's C runner-utils library. Compiled kvant programs link only
    the kvant runtime, so such copies become linalg.copy here and loops later
    (convert-linalg-to-loops). Contiguous copies stay memref.copy (an llvm.memcpy).
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def ScalarizeRankZeroPass : Pass<"kvant-scalarize-rank0"> {
  let summary = "Rewrite elementwise ops on rank-0 tensors as scalar ops";
  let description = [{
    Every JAX scalar is a rank-0 tensor in kvant's IR. An elementwise-mappable op whose operands
    and results are all rank-0 tensors becomes tensor.extract -> scalar op -> tensor.from_elements,
    so that canonicalization removes the tensors between scalar computations before
    bufferization.

    A tensor.extract of a tensor.extract_slice, or of a tensor.collapse_shape that only drops
    unit dimensions, reads its source at the corresponding index instead (JAX's `p[k]` is
    slice + squeeze): thousands of slices of one tensor made one-shot-bufferize's alias analysis
    quadratic in the length of the program.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::tensor::TensorDialect"];
}

def GatherElementsPass : Pass<"kvant-gather-elements"> {
  let summary = "Turn tensor.from_elements of elements of one tensor into that tensor or a loop";
  let description = [{
    A tensor.from_elements of at least 16 scalars, all tensor.extract ops of one tensor at
    constant indices, is replaced by that tensor when it reads all of it in its own order and
    shape, else (one-dimensional results) by a tensor.generate that reads the source at a
    constant table of the indices. Differentiated QNodes pack their gate parameters this way
    (p[k] = x[i_k]) and put the parameters' cotangents back together element by element: one
    load and one store per gate in straight-line code for every later stage, where one loop
    (or nothing) does.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::tensor::TensorDialect"];
}

def LoadTensorElementsPass : Pass<"kvant-load-tensor-elements"> {
  let summary = "Read tensors read only by many tensor.extract ops from a buffer";
  let description = [{
    One-shot-bufferize's analysis looks, for every use of a tensor, at every other use of it
    and of its aliases: a tensor read by N tensor.extract ops (a QNode's gate parameters, one
    per gate) costs O(N^2), 3 s of a 4,000-gate program. A tensor whose uses are only
    tensor.extract, at least 16 of them, is read instead through one
    `bufferization.to_buffer ... read_only` and memref.load ops, which the analysis does not
    visit. That is safe where nothing can write the buffer while the loads run: a function's
    argument or the result of tensor.from_elements, with no other uses. Any other such tensor
    defined in a function's entry block is first copied (bufferization.alloc_tensor), once per
    call, and the copy is read.
  }];
  let dependentDialects = ["mlir::bufferization::BufferizationDialect",
                           "mlir::memref::MemRefDialect"];
}

def DistinctReturnedBuffersPass : Pass<"kvant-distinct-returned-buffers"> {
  let summary = "Give every returned buffer of a function its own allocation";
  let description = [{
    A func.return naming one memref in two positions becomes a return of that memref and of a
    fresh copy of it. Upstream buffer-results-to-out-params, which runs next, crashes on a
    buffer returned twice (MLIR 22.1.8): it rewrites the buffer's allocation into one
    out-parameter per result. Results must have the identity layout; others are left alone.
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect"];
}

def LowerDeallocationsPass : Pass<"kvant-lower-deallocations"> {
  let summary = "Lower bufferization.dealloc with scalar alias checks (no i1 memrefs)";
  let description = [{
    Replaces upstream bufferization-lower-deallocations, whose general case keeps alias checks
    in memref<?xi1> buffers that MLIR 22.1.8 cannot lower (an assertion aborts the process).
    Ownership of retained values and the conditional frees are computed with i1 scalars and
    scf.if around memref.dealloc.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

#endif // KVANT_TRANSFORMS_PASSES_TD
