//===- QuantumDialect.h - the `quantum` dialect and its types --------------------------===//
#ifndef KVANT_QUANTUM_IR_QUANTUMDIALECT_H
#define KVANT_QUANTUM_IR_QUANTUMDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Types.h"

#include "kvant/Quantum/IR/QuantumDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "kvant/Quantum/IR/QuantumTypes.h.inc"

#define GET_ATTRDEF_CLASSES
#include "kvant/Quantum/IR/QuantumAttrs.h.inc"

namespace kvant::quantum {
/// The #quantum.node of `op` (a function), null when it is not a QNode.
inline NodeAttr getQNodeAttr(mlir::Operation *op) {
  return op->getAttrOfType<NodeAttr>(QuantumDialect::getNodeAttrName());
}
} // namespace kvant::quantum

#endif // KVANT_QUANTUM_IR_QUANTUMDIALECT_H
