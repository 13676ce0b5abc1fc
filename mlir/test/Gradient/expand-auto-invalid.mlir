// RUN: kvant-opt %s --gradient-expand-auto -split-input-file -verify-diagnostics

// Ops without a rule are reported where they are, with a pointer to method "fd".
func.func private @no_rule(%x: tensor<3xf64>) -> tensor<f64> {
  %one = arith.constant 1.0 : f64
  %e = tensor.empty() : tensor<f64>
  %init = linalg.fill ins(%one : f64) outs(%e : tensor<f64>) -> tensor<f64>
  // expected-error@+1 {{cannot differentiate a reduction by 'arith.mulf'}}
  %p = linalg.reduce ins(%x : tensor<3xf64>) outs(%init : tensor<f64>) dimensions = [0]
    (%in: f64, %acc: f64) {
      %t = arith.mulf %in, %acc : f64
      linalg.yield %t : f64
    }
  return %p : tensor<f64>
}
func.func @product(%x: tensor<3xf64>) -> tensor<3xf64> {
  %g = gradient.grad "auto" @no_rule(%x) {diffArgIndices = array<i64: 0>} : (tensor<3xf64>) -> tensor<3xf64>
  return %g : tensor<3xf64>
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
