// host.callback round-trips through the printer and parser, with and without a derivative.
// RUN: kvant-opt %s | kvant-opt | FileCheck %s

// CHECK-LABEL: func.func @plain(
// CHECK: %[[Y:.*]]:2 = host.callback 0 "f"(%{{.*}}, %{{.*}}) : (tensor<3xf64>, tensor<i64>) -> (tensor<f64>, tensor<2x2xcomplex<f64>>)
// CHECK: host.callback 1 "jax.debug.print('{}')"(%[[Y]]#0) : (tensor<f64>) -> ()
func.func @plain(%x: tensor<3xf64>, %n: tensor<i64>) -> tensor<f64> {
  %y:2 = host.callback 0 "f" (%x, %n) : (tensor<3xf64>, tensor<i64>) -> (tensor<f64>, tensor<2x2xcomplex<f64>>)
  host.callback 1 "jax.debug.print('{}')" (%y#0) : (tensor<f64>) -> ()
  return %y#0 : tensor<f64>
}

// fwd returns the results, then one residual; bwd takes the residual and the result cotangent.
func.func private @g_fwd(%x: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %y = host.callback 0 "g" (%x) : (tensor<f64>) -> tensor<f64>
  return %y, %x : tensor<f64>, tensor<f64>
}
func.func private @g_bwd(%r: tensor<f64>, %ct: tensor<f64>) -> tensor<f64> {
  %d = arith.mulf %r, %ct : tensor<f64>
  return %d : tensor<f64>
}
// CHECK-LABEL: func.func @differentiable(
// CHECK: host.callback 0 "g"(%{{.*}}) {bwd = @g_bwd, fwd = @g_fwd} : (tensor<f64>) -> tensor<f64>
func.func @differentiable(%x: tensor<f64>) -> tensor<f64> {
  %y = host.callback 0 "g" (%x) {fwd = @g_fwd, bwd = @g_bwd} : (tensor<f64>) -> tensor<f64>
  return %y : tensor<f64>
}

// A pure callback has no effects: unused, it is removed; a callback that is not pure (a print)
// stays, in order.
// RUN: kvant-opt %s --canonicalize | FileCheck %s --check-prefix=CANON
// CANON-LABEL: func.func @effects(
// CANON-NOT: "unused"
// CANON: host.callback 1 "print_first"
// CANON-NEXT: host.callback 2 "used"(%{{.*}}) {pure}
// CANON-NEXT: host.callback 3 "print_second"
func.func @effects(%x: tensor<f64>) -> tensor<f64> {
  %unused = host.callback 0 "unused" (%x) {pure} : (tensor<f64>) -> tensor<f64>
  host.callback 1 "print_first" (%x) : (tensor<f64>) -> ()
  %y = host.callback 2 "used" (%x) {pure} : (tensor<f64>) -> tensor<f64>
  host.callback 3 "print_second" (%y) : (tensor<f64>) -> ()
  return %y : tensor<f64>
}
