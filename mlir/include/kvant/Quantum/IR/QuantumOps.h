//===- QuantumOps.h - ops and interfaces of the `quantum` dialect ----------------------===//
#ifndef KVANT_QUANTUM_IR_QUANTUMOPS_H
#define KVANT_QUANTUM_IR_QUANTUMOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"

#include "kvant/Quantum/IR/QuantumDialect.h"

#include "kvant/Quantum/IR/GateTable.h"

#include "kvant/Quantum/IR/QuantumInterfaces.h.inc"

#define GET_OP_CLASSES
#include "kvant/Quantum/IR/QuantumOps.h.inc"

#endif // KVANT_QUANTUM_IR_QUANTUMOPS_H
