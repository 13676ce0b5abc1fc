//===- HostOps.h - ops of the `host` dialect -------------------------------------------===//
#ifndef KVANT_HOST_IR_HOSTOPS_H
#define KVANT_HOST_IR_HOSTOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "kvant/Host/IR/HostDialect.h"

#define GET_OP_CLASSES
#include "kvant/Host/IR/HostOps.h.inc"

#endif // KVANT_HOST_IR_HOSTOPS_H
