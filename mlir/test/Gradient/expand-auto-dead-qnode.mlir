// gradient-expand-auto drops the #gradient.circuit marks once every derivative is built: a QNode
// that only a derivative called is then dead, and symbol-dce (the next pass of kvant's gradient
// stage) removes it instead of leaving a second copy of every gate to compile. A QNode that is
// still called stays.
// RUN: kvant-opt %s --gradient-expand-auto -split-input-file | FileCheck %s --check-prefix=MARKS
// RUN: kvant-opt %s --gradient-expand-auto --symbol-dce -split-input-file | FileCheck %s

// MARKS-NOT: gradient.circuit
// CHECK-NOT: func.func private @q(
// CHECK-LABEL: func.func private @q.jacobian.0(
// CHECK: call @q.with_jacobian.adjoint(
// CHECK-LABEL: func.func private @q.with_jacobian.adjoint(
// CHECK: quantum.custom "RX"
// CHECK-NOT: func.func private @q(
// CHECK-LABEL: func.func @grad_only(
// CHECK-NOT: func.func private @q(
func.func private @q(%x: tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<diffMethod = "adjoint">} {
  %r = quantum.alloc(1)
  %s = tensor.extract %x[] : tensor<f64>
  %q0 = quantum.extract %r[0]
  %q1 = quantum.custom "RX"(%s) %q0 : !quantum.bit
  %z = quantum.namedobs "PauliZ" %q1
  %e = quantum.expval %z
  %et = tensor.from_elements %e : tensor<f64>
  %r1 = quantum.insert %r[0], %q1
  quantum.dealloc %r1
  return %et : tensor<f64>
}
func.func @grad_only(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @q(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// The program calls the QNode itself too: it stays, beside its circuit function.
// CHECK-LABEL: func.func private @q2.with_jacobian.adjoint(
// CHECK-LABEL: func.func private @q2(
// CHECK: quantum.custom "RX"
// CHECK-LABEL: func.func @value_and_grad(
// CHECK: call @q2(
// CHECK: call @q2.jacobian.0(
func.func private @q2(%x: tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<diffMethod = "adjoint">} {
  %r = quantum.alloc(1)
  %s = tensor.extract %x[] : tensor<f64>
  %q0 = quantum.extract %r[0]
  %q1 = quantum.custom "RX"(%s) %q0 : !quantum.bit
  %z = quantum.namedobs "PauliZ" %q1
  %e = quantum.expval %z
  %et = tensor.from_elements %e : tensor<f64>
  %r1 = quantum.insert %r[0], %q1
  quantum.dealloc %r1
  return %et : tensor<f64>
}
func.func @value_and_grad(%x: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %v = func.call @q2(%x) : (tensor<f64>) -> tensor<f64>
  %g = gradient.grad "auto" @q2(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %v, %g : tensor<f64>, tensor<f64>
}
