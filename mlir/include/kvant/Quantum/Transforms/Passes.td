//===- Passes.td - passes of the `quantum` dialect ----------------------*- tablegen -*-===//

#ifndef KVANT_QUANTUM_PASSES_TD
#define KVANT_QUANTUM_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertQuantumToRuntimePass : Pass<"convert-quantum-to-runtime", "mlir::ModuleOp"> {
  let summary = "Lower quantum ops to calls into the kvant runtime C API (runtime.h)";
  let description = [{
    Dialect conversion: !quantum.reg and !quantum.obs become i64 handles, !quantum.bit becomes
    the i64 wire index in the active register, also in func/call/return and scf region
    signatures. Every op becomes a `func.call` to a private declaration of the C function.
    Small arrays go through stack buffers hoisted to the function entry and shared between ops
    (no stack growth in loops), complex matrices through a heap copy freed after the call; all
    are passed as !llvm.ptr. Control values are stored as i8. probs/state write into a
    memref.alloc wrapped by `bufferization.to_tensor restrict writable`.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::bufferization::BufferizationDialect",
    "mlir::func::FuncDialect",
    "mlir::LLVM::LLVMDialect",
    "mlir::memref::MemRefDialect",
    "mlir::scf::SCFDialect",
    "mlir::tensor::TensorDialect",
  ];
}

#endif // KVANT_QUANTUM_PASSES_TD
