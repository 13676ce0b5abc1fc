//===- GradientOps.td - ops of the `gradient` dialect -------------------*- tablegen -*-===//
//
// Attribute/operand names are the contract with the Python frontend
// (frontend/kvant/lowering/rules/calls.py builds the op).
//
// `gradient.grad` covers grad, jacobian, value_and_grad and vjp (`withValues`, and
// `numDiffResults` for auxiliary results), the frontend forming the products with cotangents
// around it; `gradient.jvp` is forward mode (one Jacobian-vector product, no Jacobian).
//
//===----------------------------------------------------------------------------------===//

#ifndef KVANT_GRADIENT_OPS_TD
#define KVANT_GRADIENT_OPS_TD

include "kvant/Gradient/IR/GradientDialect.td"
include "kvant/Gradient/IR/GradientAttrs.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/CommonAttrConstraints.td"

def Gradient_GradOp : Gradient_Op<"grad", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Jacobians of a function with respect to some of its arguments";
  let description = [{
    Differentiates `callee` at `operands` with respect to the arguments listed in
    `diffArgIndices`. `method` is "auto" (AD passes) or "fd" (forward differences with step
    `finiteDiffParam`, which "fd" requires and "auto" does not take: the default step is the
    frontend's, written into every op).

    Results are result-major: for each callee result r, for each differentiated argument a (in
    `diffArgIndices` order), one Jacobian `tensor<[shape(r)..., shape(a)...] x elt(a)>` (the
    argument's element type, as JAX). With
    `withValues`, the callee's results at `operands` come first: the derivative computes them
    anyway, so value_and_grad, jvp and vjp need no second evaluation. With `numDiffResults`
    = n, only the first n callee results are differentiated (Jacobians for those only); the
    others are auxiliary values, returned with `withValues` (JAX's `has_aux`).

    ```mlir
    %j = gradient.grad "fd" @f(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-7 : f64}
           : (tensor<3xf64>) -> tensor<3xf64>
    ```
  }];
  let arguments = (ins StrAttr:$method,
                       FlatSymbolRefAttr:$callee,
                       DenseI64ArrayAttr:$diffArgIndices,
                       OptionalAttr<F64Attr>:$finiteDiffParam,
                       UnitAttr:$withValues,
                       OptionalAttr<I64Attr>:$numDiffResults,
                       Variadic<AnyType>:$operands);
  let results = (outs Variadic<AnyRankedTensor>:$jacobians);
  let extraClassDeclaration = [{
    /// How many leading results are the callee's values (0 without `withValues`).
    unsigned getNumValues();
    /// How many of the callee's results are differentiated (all without `numDiffResults`).
    unsigned getNumDifferentiated();
    /// The results that are Jacobians.
    ::mlir::ResultRange getJacobianResults() {
      return getResults().drop_front(getNumValues());
    }
  }];
  let assemblyFormat = [{
    $method $callee `(` $operands `)` attr-dict `:` functional-type($operands, results)
  }];
  let hasVerifier = 1;
}

def Gradient_JVPOp : Gradient_Op<"jvp", [
    AttrSizedOperandSegments, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Forward mode: a function's values and one Jacobian-vector product";
  let description = [{
    Differentiates `callee` at `args` in forward mode: `tangents` holds one tangent per
    argument listed in `diffArgIndices` (of that argument's type), and the results are the
    callee's results at `args` followed by the tangents of its first `numDiffResults`
    results (all without it), each of its result's type: J · t, where J is the Jacobian with
    respect to the differentiated arguments. `gradient-expand-auto` pushes the tangents forward
    through the callee, one tangent rule per op (docs/gradients.md), so the cost is a small
    multiple of one evaluation whatever the number of arguments, where `gradient.grad` builds
    the whole Jacobian.

    ```mlir
    %y, %dy = gradient.jvp @f(%x) tangents(%t) {diffArgIndices = array<i64: 0>}
                : (tensor<3xf64>), (tensor<3xf64>) -> (tensor<3xf64>, tensor<3xf64>)
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$callee,
                       DenseI64ArrayAttr:$diffArgIndices,
                       OptionalAttr<I64Attr>:$numDiffResults,
                       Variadic<AnyType>:$args,
                       Variadic<AnyRankedTensor>:$tangents);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let extraClassDeclaration = [{
    /// How many of the callee's results are differentiated (all without `numDiffResults`).
    unsigned getNumDifferentiated();
  }];
  let assemblyFormat = [{
    $callee `(` $args `)` `tangents` `(` $tangents `)` attr-dict `:`
    `(` type($args) `)` `,` `(` type($tangents) `)` `->` `(` type($results) `)`
  }];
  let hasVerifier = 1;
}

#endif // KVANT_GRADIENT_OPS_TD
