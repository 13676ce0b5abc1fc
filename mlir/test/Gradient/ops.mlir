// Round trip of gradient.grad, custom and generic syntax.
// RUN: kvant-opt %s | kvant-opt | FileCheck %s
// RUN: kvant-opt %s --mlir-print-op-generic | kvant-opt | FileCheck %s

func.func private @f(tensor<f64>, tensor<2x3xf32>, i64) -> (tensor<4xf64>, tensor<f32>)

// CHECK-LABEL: func.func @grads(
func.func @grads(%x: tensor<f64>, %y: tensor<2x3xf32>, %n: i64) {
  // Jacobians have their argument's element type (JAX's convention).
  // CHECK: gradient.grad "auto" @f(%{{.*}}, %{{.*}}, %{{.*}}) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<2x3xf32>, i64) -> (tensor<4xf64>, tensor<f64>)
  %a:2 = gradient.grad "auto" @f(%x, %y, %n) {diffArgIndices = array<i64: 0>}
      : (tensor<f64>, tensor<2x3xf32>, i64) -> (tensor<4xf64>, tensor<f64>)
  // Result-major: (r0,a1) (r0,a0) (r1,a1) (r1,a0), following diffArgIndices order.
  // CHECK: gradient.grad "fd" @f(%{{.*}}, %{{.*}}, %{{.*}}) {diffArgIndices = array<i64: 1, 0>, finiteDiffParam = 1.000000e-03 : f64} : (tensor<f64>, tensor<2x3xf32>, i64) -> (tensor<4x2x3xf32>, tensor<4xf64>, tensor<2x3xf32>, tensor<f64>)
  %b:4 = gradient.grad "fd" @f(%x, %y, %n) {diffArgIndices = array<i64: 1, 0>, finiteDiffParam = 1.0e-3 : f64}
      : (tensor<f64>, tensor<2x3xf32>, i64) -> (tensor<4x2x3xf32>, tensor<4xf64>, tensor<2x3xf32>, tensor<f64>)
  return
}

// The role of each circuit function the quantum derivatives build (GradientAttrs.td).
func.func private @q(tensor<f64>) -> tensor<2xf64> attributes {quantum.node = #quantum.node<diffMethod = "adjoint">}
// CHECK: func.func private @q.with_jacobian.adjoint(tensor<1xf64>, tensor<f64>) -> (tensor<2xf64>, tensor<2x1xf64>) attributes {gradient.circuit = #gradient.circuit<jacobian of @q>}
func.func private @q.with_jacobian.adjoint(tensor<1xf64>, tensor<f64>) -> (tensor<2xf64>, tensor<2x1xf64>)
    attributes {gradient.circuit = #gradient.circuit<jacobian of @q>}
// CHECK: func.func private @q.values(tensor<?xf64>, tensor<f64>) -> tensor<2xf64> attributes {gradient.circuit = #gradient.circuit<values of @q>}
func.func private @q.values(tensor<?xf64>, tensor<f64>) -> tensor<2xf64>
    attributes {gradient.circuit = #gradient.circuit<values of @q>}
// A result of dynamic shape: inlined into its callers once every derivative is built.
// CHECK: func.func private @q.vjp.adjoint(tensor<?xf64>, tensor<f64>, tensor<2xf64>) -> tensor<?xf64> attributes {gradient.circuit = #gradient.circuit<vjp of @q>, gradient.inline_when_expanded}
func.func private @q.vjp.adjoint(tensor<?xf64>, tensor<f64>, tensor<2xf64>) -> tensor<?xf64>
    attributes {gradient.circuit = #gradient.circuit<vjp of @q>, gradient.inline_when_expanded}
// CHECK: func.func private @q.shiftable_jacobian.adjoint(tensor<1xf64>, tensor<f64>) -> (tensor<f64>, tensor<3x1xf64>) attributes {gradient.circuit = #gradient.circuit<shiftable_jacobian of @q>}
func.func private @q.shiftable_jacobian.adjoint(tensor<1xf64>, tensor<f64>) -> (tensor<f64>, tensor<3x1xf64>)
    attributes {gradient.circuit = #gradient.circuit<shiftable_jacobian of @q>}
