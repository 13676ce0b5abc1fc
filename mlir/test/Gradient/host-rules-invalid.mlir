// RUN: kvant-opt %s --gradient-expand-auto -split-input-file -verify-diagnostics

// A callback without a derivative is refused by name when a cotangent reaches it.
func.func private @f(%x: tensor<f64>) -> tensor<f64> {
  // expected-error@+1 {{kvant cannot differentiate the host callback 'numpy_sin': it has no derivative}}
  %y = host.callback 0 "numpy_sin" (%x) : (tensor<f64>) -> tensor<f64>
  return %y : tensor<f64>
}
func.func @grad_f(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @f(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// One whose result does not reach the differentiated result (a print, a value that only feeds
// an integer) needs none.
func.func private @f(%x: tensor<f64>) -> tensor<f64> {
  host.callback 0 "jax.debug.print('{}')" (%x) : (tensor<f64>) -> ()
  %y = host.callback 1 "numpy_sin" (%x) : (tensor<f64>) -> tensor<f64>
  %z = arith.mulf %x, %x : tensor<f64>
  return %z : tensor<f64>
}
func.func @grad_f(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @f(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}
