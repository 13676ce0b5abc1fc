// The derivative rule of host.callback (mlir/lib/Gradient/HostDerivatives): the reverse sweep
// calls the callback's fwd for the residuals and its bwd for the operand cotangents.
// RUN: kvant-opt %s --gradient-expand-auto -split-input-file | FileCheck %s

// f(x) = cb(x) * 3 with cb's derivative given by fwd/bwd: the cotangent of cb's result (3) goes
// to bwd with fwd's residual, and bwd's result is x's cotangent. The forward code keeps the
// callback as written.
func.func private @cb_fwd(%x: tensor<2xf64>) -> (tensor<f64>, tensor<2xf64>) {
  %y = host.callback 0 "cb" (%x) : (tensor<2xf64>) -> tensor<f64>
  return %y, %x : tensor<f64>, tensor<2xf64>
}
func.func private @cb_bwd(%r: tensor<2xf64>, %ct: tensor<f64>) -> tensor<2xf64> {
  %d = host.callback 1 "cb_vjp" (%r, %ct) : (tensor<2xf64>, tensor<f64>) -> tensor<2xf64>
  return %d : tensor<2xf64>
}
func.func private @f(%x: tensor<2xf64>) -> tensor<f64> {
  %y = host.callback 0 "cb" (%x) {fwd = @cb_fwd, bwd = @cb_bwd} : (tensor<2xf64>) -> tensor<f64>
  %three = arith.constant dense<3.0> : tensor<f64>
  %z = arith.mulf %y, %three : tensor<f64>
  return %z : tensor<f64>
}
// CHECK-LABEL: func.func private @f.jacobian.0(
// CHECK-SAME: %[[X:.*]]: tensor<2xf64>) -> (tensor<f64>, tensor<2xf64>)
// CHECK: %[[Y:.*]] = host.callback 0 "cb"(%[[X]]) {bwd = @cb_bwd, fwd = @cb_fwd}
// CHECK: %[[Z:.*]] = arith.mulf %[[Y]]
// CHECK: %[[FWD:.*]]:2 = call @cb_fwd(%[[X]]) : (tensor<2xf64>) -> (tensor<f64>, tensor<2xf64>)
// CHECK: %[[CT:.*]] = call @cb_bwd(%[[FWD]]#1, %{{.*}}) : (tensor<2xf64>, tensor<f64>) -> tensor<2xf64>
// CHECK: %[[ROW:.*]] = tensor.expand_shape %[[CT]]
// CHECK: %[[J:.*]] = tensor.collapse_shape %[[ROW]]
// CHECK: return %[[Z]], %[[J]]
func.func @grad_f(%x: tensor<2xf64>) -> tensor<2xf64> {
  %g = gradient.grad "auto" @f(%x) {diffArgIndices = array<i64: 0>} : (tensor<2xf64>) -> tensor<2xf64>
  return %g : tensor<2xf64>
}

// -----

// An integer result's cotangent is zeros of its type for bwd; an integer operand's cotangent
// from bwd is dropped.
func.func private @cb_fwd(%x: tensor<f64>, %n: tensor<i64>) -> (tensor<f64>, tensor<i64>) {
  %y:2 = host.callback 0 "cb" (%x, %n) : (tensor<f64>, tensor<i64>) -> (tensor<f64>, tensor<i64>)
  return %y#0, %y#1 : tensor<f64>, tensor<i64>
}
func.func private @cb_bwd(%ct: tensor<f64>, %ctn: tensor<i64>) -> (tensor<f64>, tensor<i64>) {
  return %ct, %ctn : tensor<f64>, tensor<i64>
}
func.func private @g(%x: tensor<f64>, %n: tensor<i64>) -> tensor<f64> {
  %y:2 = host.callback 0 "cb" (%x, %n) {fwd = @cb_fwd, bwd = @cb_bwd} : (tensor<f64>, tensor<i64>) -> (tensor<f64>, tensor<i64>)
  return %y#0 : tensor<f64>
}
// CHECK-LABEL: func.func private @g.jacobian.0(
// CHECK: %[[FWD:.*]]:2 = call @cb_fwd(
// CHECK: %[[ZERO:.*]] = arith.constant dense<0> : tensor<i64>
// CHECK: %[[CT:.*]]:2 = call @cb_bwd(%{{.*}}, %[[ZERO]])
// CHECK: tensor.expand_shape %[[CT]]#0
func.func @grad_g(%x: tensor<f64>, %n: tensor<i64>) -> tensor<f64> {
  %d = gradient.grad "auto" @g(%x, %n) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<i64>) -> tensor<f64>
  return %d : tensor<f64>
}
