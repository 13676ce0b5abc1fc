//===- Registration.h - one place that registers everything kvant adds to MLIR ---------===//
#ifndef KVANT_REGISTRATION_REGISTRATION_H
#define KVANT_REGISTRATION_REGISTRATION_H

namespace mlir {
class DialectRegistry;
class MLIRContext;
} // namespace mlir

namespace kvant {

/// Inserts `quantum`, `gradient` and `host` plus the upstream dialects the frontend emits and our
/// passes create (func, arith, math, tensor, linalg, scf, bufferization, memref, complex, llvm).
/// Interface external models (bufferization, inlining, ...) are NOT included: kvant-opt gets
/// them from registerAllExtensions, the Python bindings have them already.
void registerKvantDialects(mlir::DialectRegistry &registry);

/// Registers kvant's passes (`gradient-expand-fd`, `convert-quantum-to-runtime`) into the global
/// pass registry. Idempotent and thread-safe. Registers only kvant's own passes: calling
/// upstream registerAllPasses in a process that also runs the Python bindings aborts.
void registerKvantPasses();

/// registerKvantDialects into the context's registry, then loads quantum, gradient and host.
void registerAndLoadKvantDialects(mlir::MLIRContext &context);

} // namespace kvant

#endif // KVANT_REGISTRATION_REGISTRATION_H
