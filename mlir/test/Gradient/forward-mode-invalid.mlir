// RUN: kvant-opt %s --gradient-expand-auto -split-input-file -verify-diagnostics

// Forward mode refuses by name what has no tangent rule: an op without one, complex values,
// functions with a reverse-mode derivative only (gradient.custom_vjp), and the derivative of
// a QNode (a jvp of a grad through a QNode).
func.func private @no_rule(%x: tensor<2xf64>) -> tensor<2xf64> {
  %init = tensor.empty() : tensor<2xf64>
  // expected-error@+1 {{kvant has no tangent rule for 'linalg.softmax' (forward mode, used by jvp)}}
  %r = linalg.softmax dimension(0) ins(%x : tensor<2xf64>) outs(%init : tensor<2xf64>) -> tensor<2xf64>
  return %r : tensor<2xf64>
}
func.func @jvp_no_rule(%x: tensor<2xf64>) -> tensor<2xf64> {
  %r:2 = gradient.jvp @no_rule(%x) tangents(%x) {diffArgIndices = array<i64: 0>} : (tensor<2xf64>), (tensor<2xf64>) -> (tensor<2xf64>, tensor<2xf64>)
  return %r#1 : tensor<2xf64>
}

// -----

func.func private @complex_square(%x: tensor<f64>) -> tensor<f64> {
  %e = tensor.extract %x[] : tensor<f64>
  %zero = arith.constant 0.0 : f64
  // expected-error@+1 {{kvant's forward mode (jvp) does not differentiate complex values yet ('complex.create')}}
  %z = complex.create %e, %zero : complex<f64>
  %w = complex.mul %z, %z : complex<f64>
  %r = complex.re %w : complex<f64>
  %t = tensor.from_elements %r : tensor<f64>
  return %t : tensor<f64>
}
func.func @jvp_complex(%x: tensor<f64>) -> tensor<f64> {
  %r:2 = gradient.jvp @complex_square(%x) tangents(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>), (tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %r#1 : tensor<f64>
}

// -----

func.func private @lapack(%x: tensor<f64>) -> tensor<f64> attributes {gradient.custom_vjp = @lapack_vjp} {
  return %x : tensor<f64>
}
func.func private @lapack_vjp(%x: tensor<f64>, %y: tensor<f64>, %ct: tensor<f64>) -> tensor<f64> {
  return %ct : tensor<f64>
}
func.func private @uses_lapack(%x: tensor<f64>) -> tensor<f64> {
  // expected-error@+1 {{kvant's forward mode (jvp) has no tangent rule for the function with a custom derivative (a linear-algebra primitive, stop_gradient or a linear solve) 'lapack' yet}}
  %y = func.call @lapack(%x) : (tensor<f64>) -> tensor<f64>
  return %y : tensor<f64>
}
func.func @jvp_lapack(%x: tensor<f64>) -> tensor<f64> {
  %r:2 = gradient.jvp @uses_lapack(%x) tangents(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>), (tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %r#1 : tensor<f64>
}

// -----

// The verifier: one tangent per differentiated argument, of its type.
func.func private @f(%x: tensor<2xf64>) -> tensor<f64> {
  %c = arith.constant dense<1.0> : tensor<f64>
  return %c : tensor<f64>
}
func.func @wrong_tangent(%x: tensor<2xf64>, %t: tensor<3xf64>) -> tensor<f64> {
  // expected-error@+1 {{'gradient.jvp' op tangent 0 must have the type of argument 0, 'tensor<2xf64>', got 'tensor<3xf64>'}}
  %r:2 = gradient.jvp @f(%x) tangents(%t) {diffArgIndices = array<i64: 0>} : (tensor<2xf64>), (tensor<3xf64>) -> (tensor<f64>, tensor<f64>)
  return %r#1 : tensor<f64>
}
