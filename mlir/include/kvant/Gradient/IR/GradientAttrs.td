//===- GradientAttrs.td - attributes of the `gradient` dialect ----------*- tablegen -*-===//

#ifndef KVANT_GRADIENT_ATTRS_TD
#define KVANT_GRADIENT_ATTRS_TD

include "kvant/Gradient/IR/GradientDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Gradient_CircuitRole : I32EnumAttr<"CircuitRole",
    "what a circuit function derived from a QNode computes", [
  I32EnumAttrCase<"Jacobian", 0, "jacobian">,
  I32EnumAttrCase<"Values", 1, "values">,
  I32EnumAttrCase<"VJP", 2, "vjp">,
  I32EnumAttrCase<"ShiftableJacobian", 3, "shiftable_jacobian">
]> {
  let cppNamespace = "::kvant::gradient";
  let genSpecializedAttr = 0;
}

def Gradient_CircuitAttr : AttrDef<Gradient_Dialect, "Circuit"> {
  let mnemonic = "circuit";
  let summary = "the role of a circuit function the quantum derivatives derived from a QNode";
  let description = [{
    Set as the discardable attribute `gradient.circuit` (the name
    `GradientDialect::getCircuitAttrName()`) on each function `gradient-expand-auto` builds from
    the QNode `qnode` for the reverse sweep to call; the rule of a call of such a function is
    chosen by its role. The pass drops the marks once every derivative is built: they name the
    QNode, which would otherwise stay alive for symbol-dce though nothing calls it. With p the
    vector of the QNode's gate parameters (in the order the gates run) and `args` the QNode's
    arguments:

    - `jacobian`: (p, args) -> (the QNode's results, J), J the Jacobian of the results'
      elements (flattened in order) with respect to p;
    - `values`: (p, args) -> the QNode's results; the rule of its call calls the QNode's
      function of role `vjp`;
    - `vjp`: (p, args, ȳ) -> ȳᵀJ, ȳ the flattened cotangent of the results;
    - `shiftable_jacobian`: (p, args) -> (<O> of each variance, J_F), J_F the Jacobian of the
      results with each variance replaced by <O^2>, then the <O>s: what second derivatives
      through variances shift.

    ```mlir
    func.func private @q.with_jacobian.adjoint(%p: tensor<2xf64>, %x: tensor<f64>)
        -> (tensor<f64>, tensor<1x2xf64>)
        attributes {gradient.circuit = #gradient.circuit<jacobian of @q>}
    ```
  }];
  let parameters = (ins
    EnumParameter<Gradient_CircuitRole>:$role,
    "::mlir::FlatSymbolRefAttr":$qnode
  );
  let assemblyFormat = "`<` $role `of` $qnode `>`";
}

#endif // KVANT_GRADIENT_ATTRS_TD
