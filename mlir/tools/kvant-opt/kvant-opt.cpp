//===- kvant-opt.cpp - mlir-opt with kvant's dialects and passes ----------------------===//
//
// Own process, links libMLIR.so: here (and only here) registering every upstream pass is safe.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Registration/Registration.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  kvant::registerKvantPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  kvant::registerKvantDialects(registry);

  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "kvant modular optimizer driver\n", registry));
}
