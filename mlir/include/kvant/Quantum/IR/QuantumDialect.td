//===- QuantumDialect.td - the `quantum` dialect ------------------------*- tablegen -*-===//
//
// Qubits are SSA values (value semantics): every gate consumes its input qubits and produces new
// ones, so data flow orders the gates of one register. The registers/observables are opaque
// handles that the runtime lowering turns into i64.
//
//===----------------------------------------------------------------------------------===//

#ifndef KVANT_QUANTUM_DIALECT_TD
#define KVANT_QUANTUM_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Quantum_Dialect : Dialect {
  let name = "quantum";
  let summary = "Qubit registers, gates, observables and measurements";
  let description = [{
    The quantum part of a kvant program. Gate and observable names come from the tables shared
    with the runtime (`runtime/include/kvant/gates.def`, `observables.def`), so the verifier,
    the lowering and the simulator agree on arities and ids.
  }];
  let cppNamespace = "::kvant::quantum";
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  // `quantum.node` on functions (QuantumAttrs.td)
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// The discardable attribute marking a QNode's function (a #quantum.node).
    static ::llvm::StringRef getNodeAttrName() { return "quantum.node"; }
  }];
}

class Quantum_Op<string mnemonic, list<Trait> traits = []>
    : Op<Quantum_Dialect, mnemonic, traits>;

#endif // KVANT_QUANTUM_DIALECT_TD
