// gradient-expand-fd needs static shapes.
// RUN: kvant-opt %s --gradient-expand-fd -split-input-file -verify-diagnostics

func.func private @dyn(tensor<?xf64>) -> tensor<f64>
func.func @dynamic_argument(%x: tensor<?xf64>) -> tensor<?xf64> {
  // expected-error @+1 {{finite differences need static shapes, but differentiated argument 0 has type 'tensor<?xf64>'}}
  %j = gradient.grad "fd" @dyn(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64} : (tensor<?xf64>) -> tensor<?xf64>
  return %j : tensor<?xf64>
}

// -----

func.func private @dynres(tensor<2xf64>) -> tensor<?xf64>
func.func @dynamic_result(%x: tensor<2xf64>) -> tensor<?x2xf64> {
  // expected-error @+1 {{finite differences need static shapes, but callee result 0 has type 'tensor<?xf64>'}}
  %j = gradient.grad "fd" @dynres(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64} : (tensor<2xf64>) -> tensor<?x2xf64>
  return %j : tensor<?x2xf64>
}
