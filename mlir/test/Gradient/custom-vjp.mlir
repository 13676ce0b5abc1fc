// gradient-expand-auto on calls of functions marked gradient.custom_vjp: the call stays in the
// forward code (its body, here an external LAPACK-like call, is not differentiated) and is
// reversed by a call of the named function.
// RUN: kvant-opt %s --gradient-expand-auto -split-input-file | FileCheck %s

// @lu returns a float and an integer result; @lu.vjp gets both operands' primal values, both
// results and the one float cotangent, and gives the float operand's cotangent.
func.func private @external(tensor<3x3xf64>) -> (tensor<3x3xf64>, tensor<3xi32>)
func.func private @lu(%a: tensor<3x3xf64>, %k: tensor<i32>) -> (tensor<3x3xf64>, tensor<3xi32>)
    attributes {gradient.custom_vjp = @lu.vjp} {
  %f:2 = func.call @external(%a) : (tensor<3x3xf64>) -> (tensor<3x3xf64>, tensor<3xi32>)
  return %f#0, %f#1 : tensor<3x3xf64>, tensor<3xi32>
}
func.func private @lu.vjp(%a: tensor<3x3xf64>, %k: tensor<i32>, %f: tensor<3x3xf64>, %p: tensor<3xi32>, %ct: tensor<3x3xf64>) -> tensor<3x3xf64> {
  %r = arith.mulf %ct, %a : tensor<3x3xf64>
  return %r : tensor<3x3xf64>
}
func.func private @cost(%a: tensor<3x3xf64>, %k: tensor<i32>) -> tensor<3x3xf64> {
  %f:2 = func.call @lu(%a, %k) : (tensor<3x3xf64>, tensor<i32>) -> (tensor<3x3xf64>, tensor<3xi32>)
  %y = math.sin %f#0 : tensor<3x3xf64>
  return %y : tensor<3x3xf64>
}
// CHECK-LABEL: func.func private @cost.jacobian.0(
// CHECK-SAME: %[[A:.*]]: tensor<3x3xf64>, %[[K:.*]]: tensor<i32>)
// CHECK: %[[F:.*]]:2 = call @lu(%[[A]], %[[K]])
// CHECK-NOT: call @external
// CHECK: scf.for
// CHECK: %[[CT:.*]] = linalg.generic
// CHECK: %[[R:.*]] = func.call @lu.vjp(%[[A]], %[[K]], %[[F]]#0, %[[F]]#1, %[[CT]])
// CHECK-SAME: -> tensor<3x3xf64>
func.func @jac(%a: tensor<3x3xf64>, %k: tensor<i32>) -> tensor<3x3x3x3xf64> {
  %j = gradient.grad "auto" @cost(%a, %k) {diffArgIndices = array<i64: 0>} : (tensor<3x3xf64>, tensor<i32>) -> tensor<3x3x3x3xf64>
  return %j : tensor<3x3x3x3xf64>
}

// -----

// A result no cotangent reaches gets zeros: the second result of @pair is not used.
func.func private @pair(%x: tensor<2xf64>) -> (tensor<2xf64>, tensor<f64>)
    attributes {gradient.custom_vjp = @pair.vjp} {
  %c = arith.constant dense<0.0> : tensor<f64>
  return %x, %c : tensor<2xf64>, tensor<f64>
}
func.func private @pair.vjp(%x: tensor<2xf64>, %y: tensor<2xf64>, %z: tensor<f64>, %cy: tensor<2xf64>, %cz: tensor<f64>) -> tensor<2xf64> {
  return %cy : tensor<2xf64>
}
func.func private @first(%x: tensor<2xf64>) -> tensor<f64> {
  %p:2 = func.call @pair(%x) : (tensor<2xf64>) -> (tensor<2xf64>, tensor<f64>)
  %e = tensor.extract_slice %p#0[0] [1] [1] : tensor<2xf64> to tensor<1xf64>
  %s = tensor.collapse_shape %e [] : tensor<1xf64> into tensor<f64>
  return %s : tensor<f64>
}
// CHECK-LABEL: func.func private @first.jacobian.0(
// CHECK: %[[P:.*]]:2 = call @pair(%[[X:[a-z0-9_]+]])
// CHECK: %[[Z:.*]] = arith.constant dense<0.000000e+00> : tensor<f64>
// CHECK: call @pair.vjp(%[[X]], %[[P]]#0, %[[P]]#1, %{{.*}}, %[[Z]])
func.func @grad_first(%x: tensor<2xf64>) -> tensor<2xf64> {
  %g = gradient.grad "auto" @first(%x) {diffArgIndices = array<i64: 0>} : (tensor<2xf64>) -> tensor<2xf64>
  return %g : tensor<2xf64>
}
