// A differentiated program with host callbacks through the frontend's whole pipeline
// (frontend/kvant/compiler/pipeline.py): the derivative calls fwd and bwd, every callback
// becomes a call of kvant_rt_host_callback; fwd and bwd stay functions the derivative calls.
// RUN: kvant-opt %s --pass-pipeline="%kvant_pipeline" -o %t.mlir
// RUN: FileCheck %s < %t.mlir
// RUN: %mlir_translate --mlir-to-llvmir %t.mlir | FileCheck %s --check-prefix=IR

// CHECK-NOT: host.
// CHECK-NOT: gradient.
// CHECK: llvm.func @kvant_rt_host_callback(i64, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr)
// IR: declare void @kvant_rt_host_callback(i64, i64, ptr, i64, ptr, ptr)
// IR: define void @_mlir_ciface_program(
func.func private @cb_fwd(%x: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %y = host.callback 0 "cb" (%x) : (tensor<f64>) -> tensor<f64>
  return %y, %x : tensor<f64>, tensor<f64>
}
func.func private @cb_bwd(%r: tensor<f64>, %ct: tensor<f64>) -> tensor<f64> {
  %d = host.callback 1 "cb_vjp" (%r, %ct) : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %d : tensor<f64>
}
func.func private @f(%x: tensor<f64>) -> tensor<f64> {
  %y = host.callback 0 "cb" (%x) {fwd = @cb_fwd, bwd = @cb_bwd} : (tensor<f64>) -> tensor<f64>
  host.callback 2 "jax.debug.print('{}')" (%y) : (tensor<f64>) -> ()
  return %y : tensor<f64>
}
func.func @program(%x: tensor<f64>) -> (tensor<f64>, tensor<f64>) attributes {llvm.emit_c_interface} {
  %v = func.call @f(%x) : (tensor<f64>) -> tensor<f64>
  %g = gradient.grad "auto" @f(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %v, %g : tensor<f64>, tensor<f64>
}
