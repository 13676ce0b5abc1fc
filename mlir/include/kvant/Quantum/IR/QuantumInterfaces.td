//===- QuantumInterfaces.td - gate interfaces ---------------------------*- tablegen -*-===//
//
// Passes that transform circuits (parameter-shift, adjoint, ...) talk to gates through these
// interfaces and never switch on gate names or op kinds.
//
//===----------------------------------------------------------------------------------===//

#ifndef KVANT_QUANTUM_INTERFACES_TD
#define KVANT_QUANTUM_INTERFACES_TD

include "mlir/IR/OpBase.td"

def QuantumGateInterface : OpInterface<"QuantumGate"> {
  let cppNamespace = "::kvant::quantum";
  let description = [{
    A unitary acting on target qubits, optionally controlled on further qubits having given
    values, optionally adjointed. Inputs map one to one onto results, in order.
  }];
  let methods = [
    InterfaceMethod<"Target qubits consumed by the gate.",
      "::mlir::OperandRange", "getTargetQubits", (ins), [{}],
      [{ return $_op.getInQubits(); }]>,
    InterfaceMethod<"Target qubits produced by the gate (same order as the inputs).",
      "::mlir::ResultRange", "getTargetResults", (ins), [{}],
      [{ return $_op.getOutQubits(); }]>,
    InterfaceMethod<"Control qubits consumed by the gate.",
      "::mlir::OperandRange", "getControlQubits", (ins), [{}],
      [{ return $_op.getInCtrlQubits(); }]>,
    InterfaceMethod<"i1 values the control qubits must have for the gate to act.",
      "::mlir::OperandRange", "getControlValues", (ins), [{}],
      [{ return $_op.getInCtrlValues(); }]>,
    InterfaceMethod<"Control qubits produced by the gate.",
      "::mlir::ResultRange", "getControlResults", (ins), [{}],
      [{ return $_op.getOutCtrlQubits(); }]>,
    InterfaceMethod<"Whether the gate applies U^dagger instead of U.",
      "bool", "isAdjoint", (ins), [{}], [{ return $_op.getAdjoint(); }]>,
    InterfaceMethod<"Set or clear the adjoint flag.",
      "void", "setAdjointFlag", (ins "bool":$value), [{}],
      [{ $_op.setAdjoint(value); }]>,
  ];
}

def DifferentiableGateInterface : OpInterface<"DifferentiableGate"> {
  let cppNamespace = "::kvant::quantum";
  let description = [{
    A gate whose real (f64) parameters can be differentiated. Gradient passes shift or record
    these operands without knowing which gate they belong to.
  }];
  let methods = [
    InterfaceMethod<"The differentiable f64 parameters.",
      "::mlir::OperandRange", "getDiffParams", (ins), [{}],
      [{ return $_op.getParams(); }]>,
    InterfaceMethod<"The differentiable parameters as mutable operands (to shift them).",
      "::mlir::MutableOperandRange", "getDiffParamsMutable", (ins), [{}],
      [{ return $_op.getParamsMutable(); }]>,
    InterfaceMethod<[{The parameter-shift rule of parameter `index`; nullopt when the gate has
      no known rule.}],
      "std::optional<::kvant::quantum::ShiftRule>", "getShiftRule", (ins "unsigned":$index)>,
  ];
}

#endif // KVANT_QUANTUM_INTERFACES_TD
