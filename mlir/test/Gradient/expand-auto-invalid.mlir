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

// -----

// A product from another initial value than 1: the rule's formula assumes the identity.
func.func private @product_from(%x: tensor<3xf64>, %y: tensor<f64>) -> tensor<f64> {
  // expected-error @+1 {{kvant differentiates a reduction by 'arith.mulf' only from a constant initial value of 1}}
  %p = linalg.reduce ins(%x : tensor<3xf64>) outs(%y : tensor<f64>) dimensions = [0]
    (%a: f64, %b: f64) { %t = arith.mulf %a, %b : f64
      linalg.yield %t : f64 }
  return %p : tensor<f64>
}
func.func @grad_of_product_from(%x: tensor<3xf64>, %y: tensor<f64>) -> tensor<3xf64> {
  %g = gradient.grad "auto" @product_from(%x, %y) {diffArgIndices = array<i64: 0>} : (tensor<3xf64>, tensor<f64>) -> tensor<3xf64>
  return %g : tensor<3xf64>
}

// -----

// A maximum from a value that is not a constant would owe it a cotangent when it wins.
func.func private @max_from(%x: tensor<3xf64>, %y: tensor<f64>) -> tensor<f64> {
  // expected-error @+1 {{kvant differentiates a reduction by 'arith.maximumf' only from a constant initial value}}
  %p = linalg.reduce ins(%x : tensor<3xf64>) outs(%y : tensor<f64>) dimensions = [0]
    (%a: f64, %b: f64) { %t = arith.maximumf %a, %b : f64
      linalg.yield %t : f64 }
  return %p : tensor<f64>
}
func.func @grad_of_max_from(%x: tensor<3xf64>, %y: tensor<f64>) -> tensor<3xf64> {
  %g = gradient.grad "auto" @max_from(%x, %y) {diffArgIndices = array<i64: 0>} : (tensor<3xf64>, tensor<f64>) -> tensor<3xf64>
  return %g : tensor<3xf64>
}

// -----

// A padding value computed inside the region would need the region reversed.
func.func private @pad_computed(%x: tensor<2xf64>, %v: f64) -> tensor<4xf64> {
  // expected-error @+1 {{kvant cannot differentiate tensor.pad with a padding value computed inside its region}}
  %p = tensor.pad %x low[1] high[1] {
  ^bb0(%i: index):
    %w = arith.mulf %v, %v : f64
    tensor.yield %w : f64
  } : tensor<2xf64> to tensor<4xf64>
  return %p : tensor<4xf64>
}
func.func @grad_of_pad_computed(%x: tensor<2xf64>, %v: f64) -> tensor<4x2xf64> {
  %g = gradient.grad "auto" @pad_computed(%x, %v) {diffArgIndices = array<i64: 0>} : (tensor<2xf64>, f64) -> tensor<4x2xf64>
  return %g : tensor<4x2xf64>
}

// -----

// A complex value between a differentiated argument and the result: the sweep has real rules
// only, so the derivative is refused (it would lose that path), and the complex op is named.
func.func private @through_complex(%t: tensor<f64>) -> tensor<f64> {
  %x = tensor.extract %t[] : tensor<f64>
  %zero = arith.constant 0.0 : f64
  // expected-note@+1 {{the complex value is computed here}}
  %z = complex.create %x, %zero : complex<f64>
  %e = complex.exp %z : complex<f64>
  %r = complex.re %e : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
func.func @grad_through_complex(%x: tensor<f64>) -> tensor<f64> {
  // expected-error@+1 {{kvant cannot differentiate through complex numbers with method="auto" yet: 'complex.create'}}
  %g = gradient.grad "auto" @through_complex(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// A complex value that only decides a comparison carries no derivative: no error.
func.func private @complex_in_a_test(%t: tensor<f64>) -> tensor<f64> {
  %x = tensor.extract %t[] : tensor<f64>
  %zero = arith.constant 0.0 : f64
  %z = complex.create %x, %zero : complex<f64>
  %a = complex.abs %z : complex<f64>
  %small = arith.cmpf olt, %a, %zero : f64
  %r = arith.select %small, %zero, %x : f64
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
func.func @grad_with_complex_test(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @complex_in_a_test(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}
