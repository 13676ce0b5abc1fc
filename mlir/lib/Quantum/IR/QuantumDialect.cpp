//===- QuantumDialect.cpp - `quantum` dialect registration and types ------------------===//

#include "kvant/Quantum/IR/QuantumDialect.h"
#include "kvant/Quantum/IR/QuantumOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace kvant::quantum;

#include "kvant/Quantum/IR/QuantumDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "kvant/Quantum/IR/QuantumTypes.cpp.inc"

void QuantumDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "kvant/Quantum/IR/QuantumTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "kvant/Quantum/IR/QuantumOps.cpp.inc"
      >();
}
