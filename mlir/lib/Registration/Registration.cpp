//===- Registration.cpp - registers kvant's dialects and passes -----------------------===//

#include "kvant/Registration/Registration.h"

#include "kvant/Gradient/IR/GradientDialect.h"
#include "kvant/Gradient/Transforms/Passes.h"
#include "kvant/Host/IR/HostDialect.h"
#include "kvant/Host/Transforms/Passes.h"
#include "kvant/Quantum/IR/QuantumDialect.h"
#include "kvant/Quantum/Transforms/Passes.h"
#include "kvant/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Complex/IR/Complex.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <mutex>

void kvant::registerKvantDialects(mlir::DialectRegistry &registry) {
  registry.insert<kvant::quantum::QuantumDialect, kvant::gradient::GradientDialect,
                  kvant::host::HostDialect, mlir::arith::ArithDialect,
                  mlir::bufferization::BufferizationDialect, mlir::complex::ComplexDialect,
                  mlir::func::FuncDialect, mlir::LLVM::LLVMDialect, mlir::linalg::LinalgDialect,
                  mlir::math::MathDialect, mlir::memref::MemRefDialect, mlir::scf::SCFDialect,
                  mlir::tensor::TensorDialect>();
}

void kvant::registerKvantPasses() {
  // The pass registry is global and rejects duplicate names, while register_dialects may be
  // called once per Python context: register exactly once per process.
  static std::once_flag once;
  std::call_once(once, [] {
    kvant::gradient::registerGradientPasses();
    kvant::quantum::registerQuantumPasses();
    kvant::host::registerHostPasses();
    kvant::registerKvantTransformsPasses();
  });
}

void kvant::registerAndLoadKvantDialects(mlir::MLIRContext &context) {
  mlir::DialectRegistry registry;
  registerKvantDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadDialect<kvant::quantum::QuantumDialect, kvant::gradient::GradientDialect,
                      kvant::host::HostDialect>();
}
