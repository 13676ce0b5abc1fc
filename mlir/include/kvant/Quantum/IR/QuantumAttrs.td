//===- QuantumAttrs.td - attributes of the `quantum` dialect ------------*- tablegen -*-===//

#ifndef KVANT_QUANTUM_ATTRS_TD
#define KVANT_QUANTUM_ATTRS_TD

include "kvant/Quantum/IR/QuantumDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

def Quantum_NodeAttr : AttrDef<Quantum_Dialect, "Node"> {
  let mnemonic = "node";
  let summary = "marks a function as a QNode: a circuit on one device, returning measurements";
  let description = [{
    Set by the frontend on the function a QNode lowers to, as the discardable attribute
    `quantum.node` (the name `QuantumDialect::getNodeAttrName()`); the derivative passes read
    the QNode's properties from it, and the dialect verifies it wherever it appears.

    - `device`: the PennyLane device's short name (informative; kvant's simulator runs every
      supported device);
    - `diffMethod`: the QNode's `diff_method` ("best" when absent): "best", "adjoint",
      "parameter-shift", "finite-diff", "device", "spsa", "hadamard" or "None";
    - `measurements`: what each result measures ("expval", "var", "probs", "sample", "counts",
      "state", "other"), one entry per result;
    - `shots`: the number of shots; absent (0) for exact results.

    ```mlir
    func.func private @qnode_circuit(%x: tensor<f64>) -> tensor<f64>
        attributes {quantum.node = #quantum.node<device = "kvant.qubit",
                                                  diffMethod = "adjoint",
                                                  measurements = ["expval"]>}
    ```
  }];
  let parameters = (ins
    StringRefParameter<"the device's short name", "\"\"">:$device,
    StringRefParameter<"the QNode's diff_method", "\"best\"">:$diffMethod,
    OptionalParameter<"::mlir::ArrayAttr">:$measurements,
    DefaultValuedParameter<"int64_t", "0", "the number of shots; 0: exact results">:$shots
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// What result `index` measures ("unknown" when the attribute does not say).
    ::llvm::StringRef getMeasurement(unsigned index) const;
    /// Whether the results are estimates from samples.
    bool isSampled() const { return getShots() != 0; }
  }];
}

#endif // KVANT_QUANTUM_ATTRS_TD
