//===- Kvant.cpp - C API of kvant's MLIR library --------------------------------------===//

#include "kvant-c/Kvant.h"

#include "kvant/Quantum/IR/QuantumDialect.h"
#include "kvant/Registration/Registration.h"
#include "kvant/Target/LLVMIR.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Support.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"

void kvantRegisterDialects(MlirContext context) {
  kvant::registerAndLoadKvantDialects(*unwrap(context));
  kvant::registerKvantPasses();
}

void kvantRegisterPasses(void) { kvant::registerKvantPasses(); }

MlirAttribute kvantQuantumNodeAttrGet(MlirContext context, MlirStringRef device,
                                      MlirStringRef diffMethod, intptr_t numMeasurements,
                                      MlirStringRef const *measurements, int64_t shots,
                                      MlirStringCallback errorCallback, void *userData) {
  mlir::MLIRContext *ctx = unwrap(context);
  llvm::SmallVector<mlir::Attribute> kinds;
  for (intptr_t i = 0; i < numMeasurements; ++i)
    kinds.push_back(mlir::StringAttr::get(ctx, unwrap(measurements[i])));
  std::string message;
  auto emitError = [&]() { return mlir::emitError(mlir::UnknownLoc::get(ctx)); };
  // The verifier's diagnostic goes to the callback, not to the context's handlers.
  mlir::ScopedDiagnosticHandler capture(ctx, [&](mlir::Diagnostic &diagnostic) {
    message = diagnostic.str();
    return mlir::success();
  });
  auto node = kvant::quantum::NodeAttr::getChecked(
      emitError, ctx, unwrap(device), unwrap(diffMethod), mlir::ArrayAttr::get(ctx, kinds), shots);
  if (!node) {
    errorCallback(mlirStringRefCreate(message.data(), message.size()), userData);
    return MlirAttribute{nullptr};
  }
  return wrap(mlir::Attribute(node));
}

MlirLogicalResult kvantTranslateToLLVMIR(MlirModule module, MlirStringCallback callback,
                                         void *userData) {
  std::string text, error;
  bool ok = kvant::translateToLLVMIR(unwrap(module).getOperation(), text, error);
  const std::string &message = ok ? text : error;
  callback(mlirStringRefCreate(message.data(), message.size()), userData);
  return ok ? mlirLogicalResultSuccess() : mlirLogicalResultFailure();
}

MlirLogicalResult kvantEmitObject(MlirModule module, MlirStringRef path, int optLevel,
                                  MlirStringRef cpu, MlirStringCallback errorCallback,
                                  void *userData) {
  std::string error;
  if (kvant::emitObjectFile(unwrap(module).getOperation(), std::string(path.data, path.length),
                            optLevel, std::string(cpu.data, cpu.length), error))
    return mlirLogicalResultSuccess();
  errorCallback(mlirStringRefCreate(error.data(), error.size()), userData);
  return mlirLogicalResultFailure();
}
