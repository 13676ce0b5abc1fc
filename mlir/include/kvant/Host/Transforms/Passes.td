//===- Passes.td - passes of the `host` dialect -------------------------*- tablegen -*-===//

#ifndef KVANT_HOST_PASSES_TD
#define KVANT_HOST_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertHostToRuntimePass : Pass<"convert-host-to-runtime", "mlir::ModuleOp"> {
  let summary = "Lower host ops to calls into the kvant runtime C API (runtime.h)";
  let description = [{
    Every `host.callback` becomes a call of
    `kvant_rt_host_callback(callback, num_args, args, num_results, results, result_bytes)`:
    each operand is read in place through `bufferization.to_buffer` (contiguous, row-major),
    each result is a `memref.alloc` the host fills, handed back to tensors by
    `bufferization.to_tensor restrict writable`. The address arrays are stack buffers hoisted
    to the entry block of the function (no stack growth in loops). The `fwd`/`bwd` functions
    of differentiable callbacks are no longer referenced afterwards.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::bufferization::BufferizationDialect",
    "mlir::func::FuncDialect",
    "mlir::LLVM::LLVMDialect",
    "mlir::memref::MemRefDialect",
  ];
}

#endif // KVANT_HOST_PASSES_TD
