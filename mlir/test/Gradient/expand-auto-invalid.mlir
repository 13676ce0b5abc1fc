// RUN: kvant-opt %s --gradient-expand-auto -split-input-file -verify-diagnostics

// Ops without a rule are reported where they are, with a pointer to method "fd".
func.func private @no_rule(%x: tensor<2x2xf64>) -> tensor<2x2xf64> {
  %init = arith.constant dense<0.0> : tensor<2x2xf64>
  // expected-error@+1 {{kvant has no derivative rule for 'linalg.matmul'}}
  %r = linalg.matmul ins(%x, %x : tensor<2x2xf64>, tensor<2x2xf64>) outs(%init : tensor<2x2xf64>) -> tensor<2x2xf64>
  return %r : tensor<2x2xf64>
}
func.func @square(%x: tensor<2x2xf64>) -> tensor<2x2x2x2xf64> {
  %g = gradient.grad "auto" @no_rule(%x) {diffArgIndices = array<i64: 0>} : (tensor<2x2xf64>) -> tensor<2x2x2x2xf64>
  return %g : tensor<2x2x2x2xf64>
}

// -----

// A QNode is differentiated through its measurements: one that returns something else is
// reported, by name.
func.func private @circuit(%x: tensor<f64>) -> tensor<f64> attributes {quantum.node} {
  return %x : tensor<f64>
}
func.func private @cost(%x: tensor<f64>) -> tensor<f64> {
  // expected-error@+1 {{QNode 'circuit': method="auto" differentiates QNodes that return expectation values}}
  %y = func.call @circuit(%x) : (tensor<f64>) -> tensor<f64>
  return %y : tensor<f64>
}
func.func @grad_of_qnode(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @cost(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}
