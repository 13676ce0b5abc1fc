//===- QuantumOps.td - ops of the `quantum` dialect ---------------------*- tablegen -*-===//
//
// Operand/attribute names are part of the contract with the Python frontend, which builds these
// ops generically (`Operation.create`): rename nothing without changing it too.
//
// None of these ops is marked Pure: after lowering each one is a call that mutates the simulator,
// so CSE/DCE must not merge or drop them even when their SSA results look unused.
//
//===----------------------------------------------------------------------------------===//

#ifndef KVANT_QUANTUM_OPS_TD
#define KVANT_QUANTUM_OPS_TD

include "kvant/Quantum/IR/QuantumDialect.td"
include "kvant/Quantum/IR/QuantumTypes.td"
include "kvant/Quantum/IR/QuantumAttrs.td"
include "kvant/Quantum/IR/QuantumInterfaces.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/CommonAttrConstraints.td"

def Quantum_ComplexMatrix : RankedTensorOf<[Complex<F64>]>;

//===----------------------------------------------------------------------------------===//
// Registers and qubits
//===----------------------------------------------------------------------------------===//

def Quantum_AllocOp : Quantum_Op<"alloc"> {
  let summary = "Allocate a register of `nqubits` qubits in |0...0>";
  let description = [{
    With `record_tape`, every gate applied to the register afterwards is recorded for
    `quantum.adjoint_jacobian` (the gradient passes set it on circuits they differentiate).
  }];
  let arguments = (ins I64Attr:$nqubits, UnitAttr:$record_tape);
  let results = (outs Quantum_RegType:$reg);
  let assemblyFormat = "`(` $nqubits `)` attr-dict";
  let hasVerifier = 1;
}

def Quantum_DeallocOp : Quantum_Op<"dealloc"> {
  let summary = "Free a register (and every observable created on it)";
  let arguments = (ins Quantum_RegType:$reg);
  let assemblyFormat = "$reg attr-dict";
}

def Quantum_ExtractOp : Quantum_Op<"extract"> {
  let summary = "Take qubit `idx` (dynamic operand or static attribute) out of a register";
  let arguments = (ins Quantum_RegType:$reg, Optional<I64>:$idx,
                       OptionalAttr<I64Attr>:$idx_attr);
  let results = (outs Quantum_BitType:$qubit);
  let assemblyFormat = "$reg `[` custom<QubitIndex>($idx, $idx_attr) `]` attr-dict";
  let hasVerifier = 1;
}

def Quantum_InsertOp : Quantum_Op<"insert"> {
  // Only one operand group is optional, so ODS derives its size: no operandSegmentSizes here.
  let summary = "Put a qubit back into a register at `idx`";
  let arguments = (ins Quantum_RegType:$in_reg, Optional<I64>:$idx,
                       Quantum_BitType:$qubit, OptionalAttr<I64Attr>:$idx_attr);
  let results = (outs Quantum_RegType:$out_reg);
  let assemblyFormat =
      "$in_reg `[` custom<QubitIndex>($idx, $idx_attr) `]` `,` $qubit attr-dict";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------------------===//
// Gates
//===----------------------------------------------------------------------------------===//

def Quantum_CustomOp : Quantum_Op<"custom", [
    AttrSizedOperandSegments, AttrSizedResultSegments,
    QuantumGateInterface, DeclareOpInterfaceMethods<DifferentiableGateInterface, ["getShiftRule"]>]> {
  let summary = "A named gate from gates.def";
  let description = [{
    Applies `gate_name` (a PennyLane name listed in `gates.def`) with `params` to `in_qubits`,
    controlled on `in_ctrl_qubits` having the values `in_ctrl_values`, as U^dagger when
    `adjoint` is set. Results are the updated qubits in input order.

    ```mlir
    %q1 = quantum.custom "RX"(%theta) %q0 : !quantum.bit
    %a1, %b1 = quantum.custom "CNOT"() %a0, %b0 : !quantum.bit, !quantum.bit
    %t1, %c1 = quantum.custom "RY"(%x) %t0 adj ctrls(%c0) ctrlvals(%true)
                 : !quantum.bit ctrls !quantum.bit
    quantum.custom "GlobalPhase"(%phi) ()
    ```
    An empty target list is written `()`: a bare empty list would make the parser read the
    result of the next op as a target qubit.
  }];
  let arguments = (ins Variadic<F64>:$params,
                       Variadic<Quantum_BitType>:$in_qubits,
                       Variadic<Quantum_BitType>:$in_ctrl_qubits,
                       Variadic<I1>:$in_ctrl_values,
                       StrAttr:$gate_name,
                       UnitAttr:$adjoint);
  let results = (outs Variadic<Quantum_BitType>:$out_qubits,
                      Variadic<Quantum_BitType>:$out_ctrl_qubits);
  let assemblyFormat = [{
    $gate_name `(` $params `)` custom<GateQubits>($in_qubits) (`adj` $adjoint^)?
    (`ctrls` `(` $in_ctrl_qubits^ `)`)? (`ctrlvals` `(` $in_ctrl_values^ `)`)?
    attr-dict (`:` type($out_qubits)^)? (`ctrls` type($out_ctrl_qubits)^)?
  }];
  let hasVerifier = 1;
}

def Quantum_UnitaryOp : Quantum_Op<"unitary", [
    AttrSizedOperandSegments, AttrSizedResultSegments, QuantumGateInterface]> {
  let summary = "A gate given by its 2^k x 2^k matrix (row-major, wire 0 most significant)";
  let arguments = (ins Quantum_ComplexMatrix:$matrix,
                       Variadic<Quantum_BitType>:$in_qubits,
                       Variadic<Quantum_BitType>:$in_ctrl_qubits,
                       Variadic<I1>:$in_ctrl_values,
                       UnitAttr:$adjoint);
  let results = (outs Variadic<Quantum_BitType>:$out_qubits,
                      Variadic<Quantum_BitType>:$out_ctrl_qubits);
  let assemblyFormat = [{
    `(` $matrix `:` type($matrix) `)` custom<GateQubits>($in_qubits) (`adj` $adjoint^)?
    (`ctrls` `(` $in_ctrl_qubits^ `)`)? (`ctrlvals` `(` $in_ctrl_values^ `)`)?
    attr-dict (`:` type($out_qubits)^)? (`ctrls` type($out_ctrl_qubits)^)?
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------------------===//
// Observables
//===----------------------------------------------------------------------------------===//

def Quantum_NamedObsOp : Quantum_Op<"namedobs"> {
  let summary = "A named single-qubit observable from observables.def";
  let arguments = (ins Quantum_BitType:$qubit, StrAttr:$type);
  let results = (outs Quantum_ObsType:$obs);
  let assemblyFormat = "$type $qubit attr-dict";
  let hasVerifier = 1;
}

def Quantum_TensorObsOp : Quantum_Op<"tensorobs"> {
  let summary = "Tensor product of observables";
  let arguments = (ins Variadic<Quantum_ObsType>:$terms);
  let results = (outs Quantum_ObsType:$obs);
  let assemblyFormat = "$terms attr-dict";
  let hasVerifier = 1;
}

def Quantum_HermitianOp : Quantum_Op<"hermitian"> {
  let summary = "A Hermitian observable given by its 2^k x 2^k matrix";
  let arguments = (ins Quantum_ComplexMatrix:$matrix, Variadic<Quantum_BitType>:$qubits);
  let results = (outs Quantum_ObsType:$obs);
  let assemblyFormat = "`(` $matrix `:` type($matrix) `)` $qubits attr-dict";
  let hasVerifier = 1;
}

def Quantum_HamiltonianOp : Quantum_Op<"hamiltonian"> {
  let summary = "sum_i coeffs[i] * terms[i]";
  let arguments = (ins 1DTensorOf<[F64]>:$coeffs, Variadic<Quantum_ObsType>:$terms);
  let results = (outs Quantum_ObsType:$obs);
  let assemblyFormat = "`(` $coeffs `:` type($coeffs) `)` $terms attr-dict";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------------------===//
// Measurements
//===----------------------------------------------------------------------------------===//

def Quantum_ExpvalOp : Quantum_Op<"expval"> {
  let summary = "Expectation value of an observable in the current state";
  let arguments = (ins Quantum_ObsType:$obs);
  let results = (outs F64:$expval);
  let assemblyFormat = "$obs attr-dict";
}

def Quantum_VarOp : Quantum_Op<"var"> {
  let summary = "Variance of an observable in the current state";
  let arguments = (ins Quantum_ObsType:$obs);
  let results = (outs F64:$variance);
  let assemblyFormat = "$obs attr-dict";
}

def Quantum_ProbsOp : Quantum_Op<"probs"> {
  let summary = "Probabilities of the 2^k basis states of `qubits` (first qubit most significant)";
  let arguments = (ins Variadic<Quantum_BitType>:$qubits);
  let results = (outs 1DTensorOf<[F64]>:$probabilities);
  let assemblyFormat = "$qubits attr-dict `:` type($probabilities)";
  let hasVerifier = 1;
}

def Quantum_StateOp : Quantum_Op<"state"> {
  let summary = "The 2^n amplitudes of the register; `qubits` are all of its qubits";
  let arguments = (ins Variadic<Quantum_BitType>:$qubits);
  let results = (outs 1DTensorOf<[Complex<F64>]>:$state);
  let assemblyFormat = "$qubits attr-dict `:` type($state)";
  let hasVerifier = 1;
}

def Quantum_AdjointJacobianOp : Quantum_Op<"adjoint_jacobian", [AttrSizedOperandSegments]> {
  let summary = "d(measurement entries)/dtheta_p of the gates recorded since a `record_tape` alloc";
  let description = [{
    Row k, column p: the derivative of the k-th measurement entry with respect to the p-th gate
    parameter recorded on the register (in the order the gates were applied, each gate's
    parameters in its own order), by one adjoint backward sweep over the recorded gates
    (Jones & Gacon) carrying one vector per row. Must follow every gate of the register; the
    state is not changed.

    Without `kinds`, row k is <obs[k]>. With `kinds`, one entry per measurement: 0 <O>, 1 var O
    (each taking the next of `obs`), 2 probs (taking the next `probs_wires[i]` of `qubits`,
    2^probs_wires[i] rows). When the number of parameters is only known at run time (gates
    inside loops), `num_params` gives it; the runtime checks it against the tape.
  }];
  let arguments = (ins Variadic<Quantum_ObsType>:$obs, Variadic<Quantum_BitType>:$qubits,
                       Optional<Index>:$num_params, OptionalAttr<DenseI64ArrayAttr>:$kinds,
                       OptionalAttr<DenseI64ArrayAttr>:$probs_wires);
  let results = (outs 2DTensorOf<[F64]>:$jacobian);
  let assemblyFormat = [{
    $obs (`probs` `(` $qubits^ `)`)? (`params` `(` $num_params^ `)`)? attr-dict `:` type($jacobian)
  }];
  let hasVerifier = 1;
}

def Quantum_AdjointVJPOp : Quantum_Op<"adjoint_vjp", [AttrSizedOperandSegments]> {
  let summary = "sum_k cotangent[k] d(measurement entry k)/dtheta_p by one adjoint sweep";
  let description = [{
    The vector-Jacobian product of the measurement entries described as for
    `quantum.adjoint_jacobian` (`obs`, `qubits`, `kinds`, `probs_wires`; one cotangent entry
    per row of that op's Jacobian) with respect to the gate parameters recorded on the register.
    One backward sweep carries two vectors whatever the number of entries: the cotangent
    weights the measurements into one observable. Must follow every gate of the register; the
    state is not changed. `num_params` gives the number of parameters when it is dynamic.
  }];
  let arguments = (ins Variadic<Quantum_ObsType>:$obs, Variadic<Quantum_BitType>:$qubits,
                       1DTensorOf<[F64]>:$cotangent, Optional<Index>:$num_params,
                       OptionalAttr<DenseI64ArrayAttr>:$kinds,
                       OptionalAttr<DenseI64ArrayAttr>:$probs_wires);
  let results = (outs 1DTensorOf<[F64]>:$gradient);
  let assemblyFormat = [{
    $obs (`probs` `(` $qubits^ `)`)? `cotangent` `(` $cotangent `:` type($cotangent) `)`
    (`params` `(` $num_params^ `)`)? attr-dict `:` type($gradient)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------------------===//
// State preparation, sampling and mid-circuit measurement
//===----------------------------------------------------------------------------------===//

def Quantum_SetSeedOp : Quantum_Op<"set_seed"> {
  let summary = "Seed the generator behind sample, counts and measure (this thread)";
  let arguments = (ins I64Attr:$seed);
  let assemblyFormat = "`(` $seed `)` attr-dict";
}

def Quantum_BasisStateOp : Quantum_Op<"basis_state"> {
  let summary = "Prepare the basis state `bits` (0/1 bytes, one per qubit) on `in_qubits`";
  let description = [{
    Like PennyLane's BasisState at the start of a circuit: the previous state of the register is
    discarded; every other qubit is |0>.
  }];
  let arguments = (ins 1DTensorOf<[I8]>:$bits, Variadic<Quantum_BitType>:$in_qubits);
  let results = (outs Variadic<Quantum_BitType>:$out_qubits);
  let assemblyFormat = "`(` $bits `:` type($bits) `)` $in_qubits attr-dict `:` type($out_qubits)";
  let hasVerifier = 1;
}

def Quantum_StatePrepOp : Quantum_Op<"state_prep"> {
  let summary = "Prepare the normalised state `amplitudes` (2^k of them) on `in_qubits`";
  let description = [{
    Like PennyLane's StatePrep at the start of a circuit: the previous state of the register is
    discarded; every other qubit is |0>; the first qubit is the most significant bit.
  }];
  let arguments = (ins 1DTensorOf<[Complex<F64>]>:$amplitudes,
                       Variadic<Quantum_BitType>:$in_qubits);
  let results = (outs Variadic<Quantum_BitType>:$out_qubits);
  let assemblyFormat = [{
    `(` $amplitudes `:` type($amplitudes) `)` $in_qubits attr-dict `:` type($out_qubits)
  }];
  let hasVerifier = 1;
}

def Quantum_MeasureOp : Quantum_Op<"measure"> {
  let summary = "Mid-circuit measurement in the computational basis";
  let description = [{
    The state collapses to the outcome (`mres`). `reset` returns the qubit to |0> afterwards;
    `postselect` (0 or 1) forces that outcome, renormalising the state.
  }];
  let arguments = (ins Quantum_BitType:$in_qubit, UnitAttr:$reset,
                       OptionalAttr<I64Attr>:$postselect);
  let results = (outs I1:$mres, Quantum_BitType:$out_qubit);
  let assemblyFormat = "$in_qubit (`reset` $reset^)? attr-dict";
  let hasVerifier = 1;
}

def Quantum_SampleOp : Quantum_Op<"sample"> {
  let summary = "`shots` samples of the basis values (0/1) of `qubits`: tensor<shots x k x i64>";
  let arguments = (ins Variadic<Quantum_BitType>:$qubits, I64Attr:$shots);
  let results = (outs 2DTensorOf<[I64]>:$samples);
  let assemblyFormat = "$qubits attr-dict `:` type($samples)";
  let hasVerifier = 1;
}

def Quantum_CountsOp : Quantum_Op<"counts"> {
  let summary = "How many of `shots` samples gave each of the 2^k outcomes of `qubits`";
  let arguments = (ins Variadic<Quantum_BitType>:$qubits, I64Attr:$shots);
  let results = (outs 1DTensorOf<[I64]>:$counts);
  let assemblyFormat = "$qubits attr-dict `:` type($counts)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------------------===//
// Parameter-shift batches (docs/distributed.md, "Parameter-shift batches over ranks")
//===----------------------------------------------------------------------------------===//

def Quantum_ShiftsBeginOp : Quantum_Op<"shifts_begin"> {
  let summary = "Open a batch of shifted-circuit evaluations";
  let description = [{
    Opens a parameter-shift batch: the shifted evaluations of one Jacobian, each guarded by
    `quantum.owns_shift`, closed by the `quantum.combine_shifts` of their linear combination.
    A program run with MPI in shift mode deals the evaluations of the outermost open batch out
    over the ranks; otherwise every evaluation is this process's. A batch opened inside an
    evaluation belongs wholly to the rank evaluating it.
  }];
  let assemblyFormat = "attr-dict";
}

def Quantum_OwnsShiftOp : Quantum_Op<"owns_shift"> {
  let summary = "Whether this process evaluates the next shifted circuit of the open batch";
  let description = [{
    Always true outside shift mode. In shift mode, evaluation i of the outermost batch is rank
    (i mod P)'s, and the runtime seeds the random draws of an owned evaluation from (batch, i).
    Each call counts one evaluation, so it must be called once per evaluation in the same order
    on every rank.
  }];
  let results = (outs I1:$owns);
  let assemblyFormat = "attr-dict";
}

def Quantum_CombineShiftsOp : Quantum_Op<"combine_shifts"> {
  let summary = "Close the open batch: its partial result summed over the ranks";
  let description = [{
    `partial` is a linear combination of the batch's evaluations in which the evaluations this
    process did not own are zero; the result is the sum of `partial` over the ranks (one
    allreduce) in shift mode, `partial` itself otherwise.
  }];
  let arguments = (ins RankedTensorOf<[F64]>:$partial);
  let results = (outs RankedTensorOf<[F64]>:$combined);
  let assemblyFormat = "$partial attr-dict `:` type($partial) `->` type($combined)";
  let hasVerifier = 1;
}

#endif // KVANT_QUANTUM_OPS_TD
