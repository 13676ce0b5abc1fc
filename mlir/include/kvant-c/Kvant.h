/*===- kvant-c/Kvant.h - C API of kvant's MLIR library ---------------------------------===*
 *
 * What the Python extension (or ctypes) needs, in terms of MLIR C API handles. Keeps every
 * MLIR C++ type out of the nanobind translation unit, which is compiled with RTTI while MLIR
 * is not.
 *
 *===----------------------------------------------------------------------------------===*/
#ifndef KVANT_C_KVANT_H
#define KVANT_C_KVANT_H

#include "mlir-c/IR.h"
#include "mlir-c/Support.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Inserts quantum + gradient (+ the upstream dialects kvant uses) into the context's registry,
 * loads quantum and gradient, and registers kvant's passes (once per process). */
MLIR_CAPI_EXPORTED void kvantRegisterDialects(MlirContext context);

/* Registers kvant's passes in the global registry; idempotent. */
MLIR_CAPI_EXPORTED void kvantRegisterPasses(void);

/* #quantum.node<device, diffMethod, measurements, shots> in `context` (shots 0: exact), or a
 * null attribute when the dialect's verifier rejects the parameters; then `errorCallback` gets
 * its message. */
MLIR_CAPI_EXPORTED MlirAttribute
kvantQuantumNodeAttrGet(MlirContext context, MlirStringRef device, MlirStringRef diffMethod,
                        intptr_t numMeasurements, MlirStringRef const *measurements, int64_t shots,
                        MlirStringCallback errorCallback, void *userData);

/* Translates an LLVM-dialect module. On success calls `callback` with the IR text and returns
 * success; on failure calls it with the error message and returns failure. */
MLIR_CAPI_EXPORTED MlirLogicalResult kvantTranslateToLLVMIR(MlirModule module,
                                                            MlirStringCallback callback,
                                                            void *userData);

/* Translates, optimises at opt_level (0-3) and writes a PIC object file for `cpu` ("native":
 * this machine's CPU; else an LLVM CPU name of the host's architecture) to `path`. On failure
 * calls `errorCallback` with the message and returns failure. */
MLIR_CAPI_EXPORTED MlirLogicalResult kvantEmitObject(MlirModule module, MlirStringRef path,
                                                     int optLevel, MlirStringRef cpu,
                                                     MlirStringCallback errorCallback,
                                                     void *userData);

#ifdef __cplusplus
}
#endif

#endif /* KVANT_C_KVANT_H */
