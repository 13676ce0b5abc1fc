// Every verifier error of the host dialect.
// RUN: kvant-opt %s -split-input-file -verify-diagnostics

func.func @negative(%x: tensor<f64>) {
  // expected-error @+1 {{'host.callback' op has a negative callback number -1}}
  host.callback -1 "f" (%x) : (tensor<f64>) -> ()
  return
}

// -----

func.func @dynamic(%x: tensor<?xf64>) {
  // expected-error @+1 {{'host.callback' op operand #0 must be variadic of statically shaped tensor}}
  host.callback 0 "f" (%x) : (tensor<?xf64>) -> ()
  return
}

// -----

func.func private @f_fwd(%x: tensor<f64>) -> tensor<f64> {
  return %x : tensor<f64>
}
func.func @fwd_only(%x: tensor<f64>) -> tensor<f64> {
  // expected-error @+1 {{'host.callback' op needs both `fwd` and `bwd`, or neither}}
  %y = host.callback 0 "f" (%x) {fwd = @f_fwd} : (tensor<f64>) -> tensor<f64>
  return %y : tensor<f64>
}

// -----

func.func private @f_bwd(%ct: tensor<f64>) -> tensor<f64> {
  return %ct : tensor<f64>
}
func.func @missing(%x: tensor<f64>) -> tensor<f64> {
  // expected-error @+1 {{'host.callback' op names 'nowhere' as its fwd function, which is not a func.func in scope}}
  %y = host.callback 0 "f" (%x) {fwd = @nowhere, bwd = @f_bwd} : (tensor<f64>) -> tensor<f64>
  return %y : tensor<f64>
}

// -----

func.func private @f_fwd(%x: tensor<2xf64>) -> tensor<f64> {
  %t = arith.constant dense<0.0> : tensor<f64>
  return %t : tensor<f64>
}
func.func private @f_bwd(%ct: tensor<f64>) -> tensor<f64> {
  return %ct : tensor<f64>
}
func.func @fwd_arguments(%x: tensor<f64>) -> tensor<f64> {
  // expected-error @+1 {{'host.callback' op fwd function 'f_fwd' must take (tensor<f64>), it takes (tensor<2xf64>)}}
  %y = host.callback 0 "f" (%x) {fwd = @f_fwd, bwd = @f_bwd} : (tensor<f64>) -> tensor<f64>
  return %y : tensor<f64>
}

// -----

func.func private @f_fwd(%x: tensor<f64>) -> tensor<i64> {
  %c = arith.constant dense<0> : tensor<i64>
  return %c : tensor<i64>
}
func.func private @f_bwd(%ct: tensor<f64>) -> tensor<f64> {
  return %ct : tensor<f64>
}
func.func @fwd_results(%x: tensor<f64>) -> tensor<f64> {
  // expected-error @+1 {{'host.callback' op fwd function 'f_fwd' must return the callback's results (tensor<f64>) first, it returns (tensor<i64>)}}
  %y = host.callback 0 "f" (%x) {fwd = @f_fwd, bwd = @f_bwd} : (tensor<f64>) -> tensor<f64>
  return %y : tensor<f64>
}

// -----

func.func private @f_fwd(%x: tensor<f64>) -> (tensor<f64>, tensor<3xf64>) {
  %r = arith.constant dense<0.0> : tensor<3xf64>
  return %x, %r : tensor<f64>, tensor<3xf64>
}
func.func private @f_bwd(%ct: tensor<f64>) -> tensor<f64> {
  return %ct : tensor<f64>
}
func.func @bwd_arguments(%x: tensor<f64>) -> tensor<f64> {
  // expected-error @+1 {{'host.callback' op bwd function 'f_bwd' must take the residuals and the result cotangents (tensor<3xf64>, tensor<f64>), it takes (tensor<f64>)}}
  %y = host.callback 0 "f" (%x) {fwd = @f_fwd, bwd = @f_bwd} : (tensor<f64>) -> tensor<f64>
  return %y : tensor<f64>
}

// -----

func.func private @f_fwd(%x: tensor<f64>, %n: tensor<i64>) -> tensor<f64> {
  return %x : tensor<f64>
}
func.func private @f_bwd(%ct: tensor<f64>) -> tensor<f64> {
  return %ct : tensor<f64>
}
func.func @bwd_results(%x: tensor<f64>, %n: tensor<i64>) -> tensor<f64> {
  // expected-error @+1 {{'host.callback' op bwd function 'f_bwd' must return one cotangent per operand (tensor<f64>, tensor<i64>), it returns (tensor<f64>)}}
  %y = host.callback 0 "f" (%x, %n) {fwd = @f_fwd, bwd = @f_bwd} : (tensor<f64>, tensor<i64>) -> tensor<f64>
  return %y : tensor<f64>
}
