//===- LLVMIR.h - LLVM-dialect module -> LLVM IR text / host object file ---------------===//
//
// Used by the Python extension. Errors are returned as strings (never abort), so the caller can
// turn them into Python exceptions.
//
//===----------------------------------------------------------------------------------===//
#ifndef KVANT_TARGET_LLVMIR_H
#define KVANT_TARGET_LLVMIR_H

#include <string>

namespace mlir {
class Operation;
} // namespace mlir

namespace kvant {

/// Translates `module` (LLVM dialect only) to LLVM IR text. Registers the builtin and LLVM
/// translation interfaces into the module's context. Returns false and sets `error` on failure.
bool translateToLLVMIR(mlir::Operation *module, std::string &irText, std::string &error);

/// Translates `module`, optimises at `optLevel` (0-3, new pass manager) for `cpu` and writes a
/// position-independent object file to `path`. `cpu` is "native" (this machine's CPU and its
/// features: what the JIT's cache holds, keyed by the CPU) or an LLVM CPU name of the host's
/// architecture ("x86-64", "x86-64-v3", "skylake", ...: what a library shipped elsewhere needs).
bool emitObjectFile(mlir::Operation *module, const std::string &path, int optLevel,
                    const std::string &cpu, std::string &error);

} // namespace kvant

#endif // KVANT_TARGET_LLVMIR_H
