//===- Passes.h - kvant passes on upstream dialects ------------------------------------===//
#ifndef KVANT_TRANSFORMS_PASSES_H
#define KVANT_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Pass/Pass.h"

namespace kvant {

#define GEN_PASS_DECL
#include "kvant/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kvant/Transforms/Passes.h.inc"

} // namespace kvant

#endif // KVANT_TRANSFORMS_PASSES_H
