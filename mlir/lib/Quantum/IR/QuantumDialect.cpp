//===- QuantumDialect.cpp - `quantum` dialect registration, types and attributes ------===//

#include "kvant/Quantum/IR/QuantumDialect.h"
#include "kvant/Quantum/IR/QuantumOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace kvant::quantum;

#include "kvant/Quantum/IR/QuantumDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "kvant/Quantum/IR/QuantumTypes.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "kvant/Quantum/IR/QuantumAttrs.cpp.inc"

void QuantumDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "kvant/Quantum/IR/QuantumTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "kvant/Quantum/IR/QuantumAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "kvant/Quantum/IR/QuantumOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------------------===//
// #quantum.node
//===----------------------------------------------------------------------------------===//

namespace {
/// The diff_method values a QNode may carry (the frontend's DIFF_METHODS; None as "None").
bool isDiffMethod(StringRef name) {
  return llvm::is_contained(
      {"best", "adjoint", "parameter-shift", "finite-diff", "device", "spsa", "hadamard", "None"},
      name);
}

bool isMeasurementKind(StringRef name) {
  return llvm::is_contained({"expval", "var", "probs", "sample", "counts", "state", "other"}, name);
}
} // namespace

LogicalResult NodeAttr::verify(function_ref<InFlightDiagnostic()> emitError, StringRef device,
                               StringRef diffMethod, ArrayAttr measurements, int64_t shots) {
  if (!isDiffMethod(diffMethod))
    return emitError() << "unknown diffMethod \"" << diffMethod << "\"";
  if (shots < 0)
    return emitError() << "shots must be positive (0 for exact results), got " << shots;
  if (measurements)
    for (Attribute kind : measurements) {
      auto name = dyn_cast<StringAttr>(kind);
      if (!name || !isMeasurementKind(name.getValue()))
        return emitError() << "unknown measurement " << kind
                           << " (expected \"expval\", \"var\", \"probs\", \"sample\", "
                              "\"counts\", \"state\" or \"other\")";
    }
  return success();
}

StringRef NodeAttr::getMeasurement(unsigned index) const {
  ArrayAttr measurements = getMeasurements();
  if (!measurements || index >= measurements.size())
    return "unknown";
  return cast<StringAttr>(measurements[index]).getValue();
}

LogicalResult QuantumDialect::verifyOperationAttribute(Operation *op, NamedAttribute attribute) {
  if (attribute.getName() != getNodeAttrName())
    return op->emitError() << "unknown attribute '" << attribute.getName().getValue()
                           << "' of the quantum dialect";
  auto node = dyn_cast<NodeAttr>(attribute.getValue());
  if (!node)
    return op->emitError() << "'" << getNodeAttrName() << "' must be a #quantum.node, got "
                           << attribute.getValue();
  auto fn = dyn_cast<FunctionOpInterface>(op);
  if (!fn)
    return op->emitError() << "'" << getNodeAttrName() << "' marks functions only";
  // One measurement per result, checked on the tensor-level func.func (bufferization turns
  // results into memref out-parameters; the LLVM dialect has functions of its own).
  ArrayRef<Type> results = fn.getResultTypes();
  bool tensorLevel =
      isa<func::FuncOp>(op) && llvm::none_of(fn.getArgumentTypes(), llvm::IsaPred<BaseMemRefType>);
  if (tensorLevel && node.getMeasurements() && node.getMeasurements().size() != results.size())
    return op->emitError() << "'" << getNodeAttrName() << "' names "
                           << node.getMeasurements().size() << " measurements for "
                           << results.size() << " results";
  return success();
}
