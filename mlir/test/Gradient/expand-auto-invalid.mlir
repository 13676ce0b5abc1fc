// RUN: kvant-opt %s --gradient-expand-auto -split-input-file -verify-diagnostics

// Ops without a rule are reported where they are, with a pointer to method "fd".
func.func private @no_rule(%x: tensor<f64>) -> tensor<f64> {
  // expected-error@+1 {{kvant has no derivative rule for 'scf.while'}}
  %r = scf.while (%c = %x) : (tensor<f64>) -> tensor<f64> {
    %e = tensor.extract %c[] : tensor<f64>
    %limit = arith.constant 10.0 : f64
    %go = arith.cmpf olt, %e, %limit : f64
    scf.condition(%go) %c : tensor<f64>
  } do {
  ^bb0(%c: tensor<f64>):
    %next = arith.addf %c, %c : tensor<f64>
    scf.yield %next : tensor<f64>
  }
  return %r : tensor<f64>
}
func.func @doubling(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @no_rule(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
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
