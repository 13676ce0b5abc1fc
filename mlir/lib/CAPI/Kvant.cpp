//===- Kvant.cpp - C API of kvant's MLIR library --------------------------------------===//

#include "kvant-c/Kvant.h"

#include "kvant/Registration/Registration.h"
#include "kvant/Target/LLVMIR.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Support.h"
#include "mlir/IR/BuiltinOps.h"

void kvantRegisterDialects(MlirContext context) {
  kvant::registerAndLoadKvantDialects(*unwrap(context));
  kvant::registerKvantPasses();
}

void kvantRegisterPasses(void) { kvant::registerKvantPasses(); }

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
