//===- GradientOps.h - ops of the `gradient` dialect -----------------------------------===//
#ifndef KVANT_GRADIENT_IR_GRADIENTOPS_H
#define KVANT_GRADIENT_IR_GRADIENTOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"

#include "kvant/Gradient/IR/GradientDialect.h"

#define GET_OP_CLASSES
#include "kvant/Gradient/IR/GradientOps.h.inc"

#endif // KVANT_GRADIENT_IR_GRADIENTOPS_H
