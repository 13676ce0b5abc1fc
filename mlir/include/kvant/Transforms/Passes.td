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

#endif // KVANT_TRANSFORMS_PASSES_TD
