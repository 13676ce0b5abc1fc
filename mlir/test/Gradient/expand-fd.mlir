// gradient-expand-fd: forward differences (f(x + h e_i) - f(x)) / h, tensor-level only.
// RUN: kvant-opt %s --gradient-expand-fd -split-input-file | FileCheck %s

func.func @square(%x: tensor<f64>) -> tensor<f64> {
  %y = arith.mulf %x, %x : tensor<f64>
  return %y : tensor<f64>
}

// Scalar -> scalar, h = 1e-7 (the op always carries its step).
// CHECK-LABEL: func.func @scalar_scalar(
// CHECK-SAME: %[[X:.*]]: tensor<f64>) -> tensor<f64>
// CHECK: %[[F0:.*]] = call @square(%[[X]]) : (tensor<f64>) -> tensor<f64>
// CHECK: %[[HR:.*]] = arith.constant dense<9.9999999999999995E-8> : tensor<f64>
// CHECK: %[[XF:.*]] = tensor.expand_shape %[[X]] [] output_shape [1] : tensor<f64> into tensor<1xf64>
// CHECK: %[[H:.*]] = arith.constant 9.9999999999999995E-8 : f64
// CHECK: %[[N:.*]] = arith.constant 1 : index
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<1x1xf64>
// CHECK: %[[LOOP:.*]] = scf.for %[[I:.*]] = %{{.*}} to %[[N]] step %{{.*}} iter_args(%[[J:.*]] = %[[INIT]]) -> (tensor<1x1xf64>) {
// CHECK:   %[[XI:.*]] = tensor.extract %[[XF]][%[[I]]] : tensor<1xf64>
// CHECK:   %[[XP:.*]] = arith.addf %[[XI]], %[[H]] : f64
// CHECK:   %[[XPF:.*]] = tensor.insert %[[XP]] into %[[XF]][%[[I]]] : tensor<1xf64>
// CHECK:   %[[XPS:.*]] = tensor.collapse_shape %[[XPF]] [] : tensor<1xf64> into tensor<f64>
// CHECK:   %[[FI:.*]] = func.call @square(%[[XPS]]) : (tensor<f64>) -> tensor<f64>
// CHECK:   %[[D:.*]] = arith.subf %[[FI]], %[[F0]] : tensor<f64>
// CHECK:   %[[Q:.*]] = arith.divf %[[D]], %[[HR]] : tensor<f64>
// CHECK:   %[[COL:.*]] = tensor.expand_shape %[[Q]] [] output_shape [1] : tensor<f64> into tensor<1xf64>
// Column i is written element by element (no strided memref.copy after bufferization).
// CHECK:   %[[COLLOOP:.*]] = scf.for %[[R:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[JJ:.*]] = %[[J]]) -> (tensor<1x1xf64>) {
// CHECK:     %[[E:.*]] = tensor.extract %[[COL]][%[[R]]] : tensor<1xf64>
// CHECK:     %[[UPD:.*]] = tensor.insert %[[E]] into %[[JJ]][%[[R]], %[[I]]] : tensor<1x1xf64>
// CHECK:     scf.yield %[[UPD]] : tensor<1x1xf64>
// CHECK:   }
// CHECK:   scf.yield %[[COLLOOP]] : tensor<1x1xf64>
// CHECK: }
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[LOOP]] {{\[}}[0, 1]] : tensor<1x1xf64> into tensor<1xf64>
// CHECK: %[[JAC:.*]] = tensor.collapse_shape %[[FLAT]] [] : tensor<1xf64> into tensor<f64>
// CHECK: return %[[JAC]] : tensor<f64>
func.func @scalar_scalar(%x: tensor<f64>) -> tensor<f64> {
  %j = gradient.grad "fd" @square(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64} : (tensor<f64>) -> tensor<f64>
  return %j : tensor<f64>
}

// "auto" is left for the AD passes.
// CHECK-LABEL: func.func @auto_untouched(
// CHECK: gradient.grad "auto" @square
// CHECK-NOT: scf.for
func.func @auto_untouched(%x: tensor<f64>) -> tensor<f64> {
  %j = gradient.grad "auto" @square(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %j : tensor<f64>
}

// -----

func.func @norm2(%x: tensor<2x3xf64>) -> tensor<f64> {
  %c = arith.constant dense<0.0> : tensor<f64>
  return %c : tensor<f64>
}

// Rank-2 argument, scalar result, custom h: loop over the 6 flattened elements.
// CHECK-LABEL: func.func @tensor_arg(
// CHECK-SAME: %[[X:.*]]: tensor<2x3xf64>) -> tensor<2x3xf64>
// CHECK: %[[F0:.*]] = call @norm2(%[[X]])
// CHECK: arith.constant dense<1.000000e-03> : tensor<f64>
// CHECK: %[[XF:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1]] : tensor<2x3xf64> into tensor<6xf64>
// CHECK: %[[H:.*]] = arith.constant 1.000000e-03 : f64
// CHECK: %[[N:.*]] = arith.constant 6 : index
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<1x6xf64>
// CHECK: %[[LOOP:.*]] = scf.for %[[I:.*]] = %{{.*}} to %[[N]] step %{{.*}} iter_args(%{{.*}} = %[[INIT]]) -> (tensor<1x6xf64>)
// CHECK:   tensor.insert %{{.*}} into %[[XF]][%[[I]]] : tensor<6xf64>
// CHECK:   %[[XP:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0, 1]] output_shape [2, 3] : tensor<6xf64> into tensor<2x3xf64>
// CHECK:   func.call @norm2(%[[XP]])
// CHECK:   tensor.insert %{{.*}} into %{{.*}}[%{{.*}}, %[[I]]] : tensor<1x6xf64>
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[LOOP]] {{\[}}[0, 1]] : tensor<1x6xf64> into tensor<6xf64>
// CHECK: %[[JAC:.*]] = tensor.expand_shape %[[FLAT]] {{\[}}[0, 1]] output_shape [2, 3] : tensor<6xf64> into tensor<2x3xf64>
// CHECK: return %[[JAC]]
func.func @tensor_arg(%x: tensor<2x3xf64>) -> tensor<2x3xf64> {
  %j = gradient.grad "fd" @norm2(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-3 : f64} : (tensor<2x3xf64>) -> tensor<2x3xf64>
  return %j : tensor<2x3xf64>
}

// -----

func.func @vec(%x: tensor<3xf64>) -> tensor<4xf64> {
  %c = arith.constant dense<0.0> : tensor<4xf64>
  return %c : tensor<4xf64>
}

// Tensor result: each perturbation fills one column of the flat [4, 3] Jacobian.
// CHECK-LABEL: func.func @tensor_result(
// CHECK: %[[F0:.*]] = call @vec
// CHECK: %[[HR:.*]] = arith.constant dense<9.9999999999999995E-8> : tensor<4xf64>
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<4x3xf64>
// CHECK: %[[LOOP:.*]] = scf.for %[[I:.*]] = {{.*}} iter_args(%[[J:.*]] = %[[INIT]]) -> (tensor<4x3xf64>)
// CHECK:   %[[FI:.*]] = func.call @vec
// CHECK:   %[[D:.*]] = arith.subf %[[FI]], %[[F0]] : tensor<4xf64>
// CHECK:   %[[Q:.*]] = arith.divf %[[D]], %[[HR]] : tensor<4xf64>
// CHECK:   %[[C4:.*]] = arith.constant 4 : index
// CHECK:   scf.for %[[R:.*]] = %{{.*}} to %[[C4]] step %{{.*}} iter_args(%[[JJ:.*]] = %[[J]]) -> (tensor<4x3xf64>)
// CHECK:     %[[E:.*]] = tensor.extract %[[Q]][%[[R]]] : tensor<4xf64>
// CHECK:     tensor.insert %[[E]] into %[[JJ]][%[[R]], %[[I]]] : tensor<4x3xf64>
// CHECK: return %[[LOOP]] : tensor<4x3xf64>
func.func @tensor_result(%x: tensor<3xf64>) -> tensor<4x3xf64> {
  %j = gradient.grad "fd" @vec(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64} : (tensor<3xf64>) -> tensor<4x3xf64>
  return %j : tensor<4x3xf64>
}

// -----

func.func @two(%x: tensor<2xf32>, %n: i64, %y: tensor<f32>) -> tensor<f32> {
  %c = arith.constant dense<0.0> : tensor<f32>
  return %c : tensor<f32>
}

// Two differentiated arguments (in diffArgIndices order: y first, then x); the
// non-differentiated i64 is passed through unchanged; one shared base call.
// CHECK-LABEL: func.func @two_args(
// CHECK-SAME: %[[X:.*]]: tensor<2xf32>, %[[N:.*]]: i64, %[[Y:.*]]: tensor<f32>)
// CHECK: call @two(%[[X]], %[[N]], %[[Y]])
// CHECK-NOT: call @two(%[[X]], %[[N]], %[[Y]])
// CHECK: %[[LY:.*]] = scf.for {{.*}} -> (tensor<1x1xf32>)
// CHECK:   func.call @two(%[[X]], %[[N]], %{{.*}})
// CHECK: %[[LX:.*]] = scf.for {{.*}} -> (tensor<1x2xf32>)
// CHECK:   func.call @two(%{{.*}}, %[[N]], %[[Y]])
// CHECK: %[[JX:.*]] = tensor.collapse_shape %[[LX]] {{\[}}[0, 1]] : tensor<1x2xf32> into tensor<2xf32>
// CHECK: return %{{.*}}, %[[JX]] : tensor<f32>, tensor<2xf32>
func.func @two_args(%x: tensor<2xf32>, %n: i64, %y: tensor<f32>) -> (tensor<f32>, tensor<2xf32>) {
  %j:2 = gradient.grad "fd" @two(%x, %n, %y) {diffArgIndices = array<i64: 2, 0>, finiteDiffParam = 1.0e-07 : f64} : (tensor<2xf32>, i64, tensor<f32>) -> (tensor<f32>, tensor<2xf32>)
  return %j#0, %j#1 : tensor<f32>, tensor<2xf32>
}

// -----

func.func @multi(%x: tensor<2xf64>) -> (tensor<f64>, tensor<3xf32>) {
  %a = arith.constant dense<0.0> : tensor<f64>
  %b = arith.constant dense<0.0> : tensor<3xf32>
  return %a, %b : tensor<f64>, tensor<3xf32>
}

// Several results: one loop carries one flat Jacobian per result. The differences are taken
// in each result's precision (h is materialised per element type); the Jacobians have the
// argument's element type, as in JAX (the f32 quotients are widened).
// CHECK-LABEL: func.func @several_results(
// CHECK: %[[F0:.*]]:2 = call @multi
// CHECK-DAG: %[[H0:.*]] = arith.constant dense<9.9999999999999995E-8> : tensor<f64>
// CHECK-DAG: %[[H1:.*]] = arith.constant dense<1.000000e-07> : tensor<3xf32>
// CHECK: %[[L:.*]]:2 = scf.for {{.*}} -> (tensor<1x2xf64>, tensor<3x2xf64>)
// CHECK:   %[[FI:.*]]:2 = func.call @multi
// CHECK:   arith.subf %[[FI]]#0, %[[F0]]#0 : tensor<f64>
// CHECK:   arith.divf %{{.*}}, %[[H0]] : tensor<f64>
// CHECK:   arith.subf %[[FI]]#1, %[[F0]]#1 : tensor<3xf32>
// CHECK:   %[[Q1:.*]] = arith.divf %{{.*}}, %[[H1]] : tensor<3xf32>
// CHECK:   %[[E:.*]] = tensor.extract %[[Q1]]
// CHECK:   arith.extf %[[E]] : f32 to f64
// CHECK:   scf.yield
// CHECK: %[[J0:.*]] = tensor.collapse_shape %[[L]]#0 {{\[}}[0, 1]] : tensor<1x2xf64> into tensor<2xf64>
// CHECK: return %[[J0]], %[[L]]#1 : tensor<2xf64>, tensor<3x2xf64>
func.func @several_results(%x: tensor<2xf64>) -> (tensor<2xf64>, tensor<3x2xf64>) {
  %j:2 = gradient.grad "fd" @multi(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64} : (tensor<2xf64>) -> (tensor<2xf64>, tensor<3x2xf64>)
  return %j#0, %j#1 : tensor<2xf64>, tensor<3x2xf64>
}

// -----

func.func private @cube(%x: tensor<f64>) -> tensor<f64> {
  %y = arith.mulf %x, %x : tensor<f64>
  %z = arith.mulf %y, %x : tensor<f64>
  return %z : tensor<f64>
}

// withValues: the base evaluation the differences share is the value.
// CHECK-LABEL: func.func @value_and_derivative(
// CHECK: %[[F0:.*]] = call @cube(%{{.*}}) : (tensor<f64>) -> tensor<f64>
// CHECK-NOT: call @cube(
// CHECK: scf.for
// CHECK: return %[[F0]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @value_and_derivative(%x: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %v, %g = gradient.grad "fd" @cube(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64, withValues} : (tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %v, %g : tensor<f64>, tensor<f64>
}
