//===- QuantumDialect.h - the `quantum` dialect and its types --------------------------===//
#ifndef KVANT_QUANTUM_IR_QUANTUMDIALECT_H
#define KVANT_QUANTUM_IR_QUANTUMDIALECT_H

#include "mlir/IR/Dialect.h"
#include "mlir/IR/Types.h"

#include "kvant/Quantum/IR/QuantumDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "kvant/Quantum/IR/QuantumTypes.h.inc"

#endif // KVANT_QUANTUM_IR_QUANTUMDIALECT_H
