//===- GradientDialect.h - the `gradient` dialect --------------------------------------===//
#ifndef KVANT_GRADIENT_IR_GRADIENTDIALECT_H
#define KVANT_GRADIENT_IR_GRADIENTDIALECT_H

#include "mlir/IR/Dialect.h"

#include "kvant/Gradient/IR/GradientDialect.h.inc"

#endif // KVANT_GRADIENT_IR_GRADIENTDIALECT_H
