// gradient-expand-auto in forward mode around calls: a QNode call's tangent is J_Q ṗ from the
// Jacobian its circuit call returns; a Jacobian with fewer input than output elements is
// built by forward sweeps, one per input element (@f.jacfwd).
// RUN: kvant-opt %s --gradient-expand-auto -split-input-file | FileCheck %s

func.func private @q(%x: tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<diffMethod = "adjoint">} {
  %r = quantum.alloc(1)
  %two = arith.constant dense<2.0> : tensor<f64>
  %a = arith.mulf %x, %two : tensor<f64>
  %s = tensor.extract %a[] : tensor<f64>
  %q0 = quantum.extract %r[0]
  %q1 = quantum.custom "RX"(%s) %q0 : !quantum.bit
  %z = quantum.namedobs "PauliZ" %q1
  %e = quantum.expval %z
  %et = tensor.from_elements %e : tensor<f64>
  %r1 = quantum.insert %r[0], %q1
  quantum.dealloc %r1
  return %et : tensor<f64>
}
func.func private @cost(%x: tensor<f64>) -> tensor<f64> {
  %y = func.call @q(%x) : (tensor<f64>) -> tensor<f64>
  %s = math.sin %y : tensor<f64>
  return %s : tensor<f64>
}
func.func @jvp_cost(%x: tensor<f64>, %t: tensor<f64>) -> tensor<f64> {
  %r:2 = gradient.jvp @cost(%x) tangents(%t) {diffArgIndices = array<i64: 0>} : (tensor<f64>), (tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %r#1 : tensor<f64>
}
// The skeleton's tangent (ṗ = 2 ẋ) meets the circuit's Jacobian after the circuit call.
// CHECK-LABEL: func.func private @cost.jvp.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>, %[[T:[^:]+]]: tensor<f64>)
// CHECK:         %[[DA:.*]] = tensor.from_elements %{{.*}} : tensor<f64>
// CHECK:         %[[EDA:.*]] = tensor.extract %[[DA]][]
// CHECK:         %[[P:.*]] = tensor.from_elements %{{.*}} : tensor<1xf64>
// CHECK:         %[[DP:.*]] = tensor.from_elements %[[EDA]] : tensor<1xf64>
// CHECK:         %[[C:.*]]:2 = call @q.with_jacobian.adjoint(%[[P]], %[[X]])
// CHECK:         %[[JP:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[C]]#1, %[[DP]] : tensor<1x1xf64>, tensor<1xf64>)
// CHECK:         %[[SL:.*]] = tensor.extract_slice %[[JP]][0] [1] [1]
// CHECK:         %[[DY:.*]] = tensor.collapse_shape %[[SL]]
// CHECK:         %[[S:.*]] = math.sin %[[C]]#0
// CHECK:         tensor.extract %[[DY]][]
// CHECK:         math.cos
// CHECK:         %[[DS:.*]] = tensor.from_elements
// CHECK:         return %[[S]], %[[DS]]

// -----

func.func private @wide(%x: tensor<2xf64>) -> tensor<3xf64> {
  %s = math.sin %x : tensor<2xf64>
  %c = tensor.concat dim(0) %s, %x : (tensor<2xf64>, tensor<2xf64>) -> tensor<4xf64>
  %r = tensor.extract_slice %c[0] [3] [1] : tensor<4xf64> to tensor<3xf64>
  return %r : tensor<3xf64>
}
func.func @jac_wide(%x: tensor<2xf64>) -> tensor<3x2xf64> {
  %j = gradient.grad "auto" @wide(%x) {diffArgIndices = array<i64: 0>} : (tensor<2xf64>) -> tensor<3x2xf64>
  return %j : tensor<3x2xf64>
}
// Two inputs, three outputs: a loop over the inputs pushes e_j forward and writes column j.
// CHECK-LABEL: func.func private @wide.jacfwd.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<2xf64>)
// CHECK:         %[[S:.*]] = math.sin %[[X]]
// CHECK:         %[[Y:.*]] = tensor.extract_slice
// CHECK:         %[[EMPTY:.*]] = tensor.empty() : tensor<3x2xf64>
// CHECK:         %[[J:.*]] = scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[EMPTY]]) -> (tensor<3x2xf64>)
// CHECK:           %[[E:.*]] = tensor.insert %{{.*}} into %{{.*}}[%[[I]]] : tensor<2xf64>
// CHECK:           %[[DS:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[S]], %[[E]] :
// CHECK:           %[[DC:.*]] = tensor.concat dim(0) %[[DS]], %[[E]]
// CHECK:           %[[DY:.*]] = tensor.extract_slice %[[DC]][0] [3] [1]
// CHECK:           %[[COL:.*]] = tensor.expand_shape %[[DY]]
// CHECK:           %[[NEXT:.*]] = tensor.insert_slice %[[COL]] into %[[ACC]][0, %[[I]]] [3, 1] [1, 1]
// CHECK:           scf.yield %[[NEXT]]
// CHECK:         return %[[Y]], %[[J]]
// CHECK-LABEL: func.func @jac_wide(
// CHECK:         call @wide.jacfwd.0(
