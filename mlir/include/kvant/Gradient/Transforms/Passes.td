//===- Passes.td - passes of the `gradient` dialect ---------------------*- tablegen -*-===//

#ifndef KVANT_GRADIENT_PASSES_TD
#define KVANT_GRADIENT_PASSES_TD

include "mlir/Pass/PassBase.td"

def ExpandFiniteDifferencePass : Pass<"gradient-expand-fd", "mlir::ModuleOp"> {
  let summary = "Expand gradient.grad with method \"fd\" into forward differences";
  let description = [{
    Replaces every `gradient.grad "fd"` by (f(x + h e_i) - f(x)) / h, h = `finiteDiffParam`
    (docs/grad-semantics.md): one base call of the callee shared by all derivatives, then for each
    differentiated argument an `scf.for` over its flattened elements that perturbs one element,
    calls the callee and writes column i of a flat [#result elements, #argument elements]
    Jacobian, reshaped to [result shape..., argument shape...] at the end. Tensor-level IR only.
    Ops with method "auto" are left untouched.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::func::FuncDialect",
    "mlir::scf::SCFDialect",
    "mlir::tensor::TensorDialect",
  ];
}

def ExpandAutoDiffPass : Pass<"gradient-expand-auto", "mlir::ModuleOp"> {
  let summary = "Expand gradient.grad \"auto\" and gradient.jvp into derivative code";
  let description = [{
    For each (callee, differentiated arguments) pair, builds a private function
    `@<callee>.jacobian.<indices>` that runs the callee once (classical callees inlined) and
    then one reverse sweep per output element, seeded with a one-hot cotangent, filling the
    Jacobians row by row; the `gradient.grad "auto"` op becomes a call to it. Derivative rules
    are per op (ReverseMode.h). When the differentiated arguments have fewer elements than the
    differentiated results, the Jacobian is built in forward mode instead
    (`@<callee>.jacfwd.<indices>`: one tangent sweep per input element, JAX's jacfwd choice),
    falling back to the reverse sweeps when an op has no tangent rule.

    Each `gradient.jvp` becomes a call of `@<callee>.jvp.<indices>`: the callee's code with, after
    each op, the ops that push the tangents forward (one tangent rule per op, ForwardMode.h;
    loops and branches carry the tangents beside their values; a QNode call's tangent is J_Q ṗ).
    What has no tangent rule is refused by name. Gradient ops inside a callee are expanded
    first, so derivatives nest. Tensor-level IR only.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::func::FuncDialect",
    "mlir::linalg::LinalgDialect",
    "mlir::LLVM::LLVMDialect",
    "mlir::math::MathDialect",
    "mlir::scf::SCFDialect",
    "mlir::tensor::TensorDialect",
    "kvant::quantum::QuantumDialect",
  ];
}

#endif // KVANT_GRADIENT_PASSES_TD
