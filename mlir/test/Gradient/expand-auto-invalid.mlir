// RUN: kvant-opt %s --gradient-expand-auto -split-input-file -verify-diagnostics

// Ops without a rule are reported where they are, with a pointer to method "fd".
func.func private @no_rule(%x: tensor<3xf64>) -> tensor<f64> {
  %c0 = arith.constant 0 : index
  %c3 = arith.constant 3 : index
  %c1 = arith.constant 1 : index
  %init = arith.constant dense<1.0> : tensor<f64>
  // expected-error@+1 {{kvant has no derivative rule for 'scf.for'}}
  %p = scf.for %i = %c0 to %c3 step %c1 iter_args(%acc = %init) -> (tensor<f64>) {
    %e = tensor.extract %x[%i] : tensor<3xf64>
    %et = tensor.from_elements %e : tensor<f64>
    %next = arith.mulf %acc, %et : tensor<f64>
    scf.yield %next : tensor<f64>
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
