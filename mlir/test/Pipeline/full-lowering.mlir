// The whole path a kvant program takes, with the frontend's own pass pipeline
// (frontend/kvant/compiler/pipeline.py): fd expansion, runtime lowering, bufferization and
// the upstream lowering to the LLVM dialect, then LLVM IR.
// RUN: kvant-opt %s --pass-pipeline="%kvant_pipeline" -o %t.mlir
// RUN: FileCheck %s --check-prefix=LLVM < %t.mlir
// RUN: %mlir_translate --mlir-to-llvmir %t.mlir | FileCheck %s --check-prefix=IR
// RUN: %mlir_translate --mlir-to-llvmir %t.mlir | FileCheck %s --check-prefix=NOLIB

// LLVM-NOT: quantum.
// LLVM-NOT: gradient.
// LLVM-NOT: memref.
// LLVM-NOT: tensor.
// LLVM-NOT: scf.
// LLVM: llvm.func @kvant_rt_gate(i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, i64, i8 {llvm.signext})

// IR-DAG: declare i64 @kvant_rt_qalloc(i64)
// IR-DAG: declare void @kvant_rt_gate(i64, ptr, i64, ptr, i64, ptr, ptr, i64, i8 signext)
// IR-DAG: declare void @kvant_rt_gate_small(i64, i64, i64, i64, double, double, double, i8 signext)
// IR-DAG: declare void @kvant_rt_unitary(ptr, ptr, i64, ptr, ptr, i64, i8 signext)
// IR-DAG: declare double @kvant_rt_expval(i64)
// IR-DAG: declare void @kvant_rt_probs(ptr, ptr, i64)
// IR-DAG: declare void @kvant_rt_state(ptr, i64)
// IR-DAG: declare i64 @kvant_rt_obs_hamiltonian(ptr, ptr, i64)
// IR-DAG: define {{.*}} @circuit(
// IR-DAG: define {{.*}} @main(
// Stack buffers live in the entry block (no stacksave, no alloca growing in loops), and nothing
// needs libmlir_c_runner_utils (strided copies would call memrefCopy).
// NOLIB-NOT: stacksave
// NOLIB-NOT: memrefCopy

func.func @circuit(%x: tensor<2xf64>, %u: tensor<2x2xcomplex<f64>>, %coeffs: tensor<2xf64>)
    -> (tensor<f64>, tensor<4xf64>, tensor<4xcomplex<f64>>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %true = arith.constant true
  %r = quantum.alloc(2)
  %q0 = quantum.extract %r[0]
  %q1 = quantum.extract %r[1]
  %a = tensor.extract %x[%c0] : tensor<2xf64>
  %b = tensor.extract %x[%c1] : tensor<2xf64>
  %l:2 = scf.for %i = %c0 to %c3 step %c1 iter_args(%s0 = %q0, %s1 = %q1) -> (!quantum.bit, !quantum.bit) {
    %t0 = quantum.custom "RX"(%a) %s0 : !quantum.bit
    %t1, %t2 = quantum.custom "RY"(%b) %s1 ctrls(%t0) ctrlvals(%true) : !quantum.bit ctrls !quantum.bit
    scf.yield %t2, %t1 : !quantum.bit, !quantum.bit
  }
  %v = quantum.unitary(%u : tensor<2x2xcomplex<f64>>) %l#0 : !quantum.bit
  %z0 = quantum.namedobs "PauliZ" %v
  %z1 = quantum.namedobs "PauliZ" %l#1
  %h = quantum.hamiltonian(%coeffs : tensor<2xf64>) %z0, %z1
  %e = quantum.expval %h
  %p = quantum.probs %v, %l#1 : tensor<4xf64>
  %s = quantum.state %v, %l#1 : tensor<4xcomplex<f64>>
  %r1 = quantum.insert %r[0], %v
  %r2 = quantum.insert %r1[1], %l#1
  quantum.dealloc %r2
  %et = tensor.from_elements %e : tensor<f64>
  return %et, %p, %s : tensor<f64>, tensor<4xf64>, tensor<4xcomplex<f64>>
}

func.func @cost(%x: tensor<2xf64>, %u: tensor<2x2xcomplex<f64>>, %coeffs: tensor<2xf64>)
    -> (tensor<f64>, tensor<4xf64>) {
  %e, %p, %s = func.call @circuit(%x, %u, %coeffs) : (tensor<2xf64>, tensor<2x2xcomplex<f64>>, tensor<2xf64>) -> (tensor<f64>, tensor<4xf64>, tensor<4xcomplex<f64>>)
  return %e, %p : tensor<f64>, tensor<4xf64>
}

func.func @main(%x: tensor<2xf64>, %u: tensor<2x2xcomplex<f64>>, %coeffs: tensor<2xf64>)
    -> (tensor<f64>, tensor<2xf64>, tensor<4x2xf64>) {
  %e, %p = func.call @cost(%x, %u, %coeffs) : (tensor<2xf64>, tensor<2x2xcomplex<f64>>, tensor<2xf64>) -> (tensor<f64>, tensor<4xf64>)
  %g:2 = gradient.grad "fd" @cost(%x, %u, %coeffs) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64}
      : (tensor<2xf64>, tensor<2x2xcomplex<f64>>, tensor<2xf64>) -> (tensor<2xf64>, tensor<4x2xf64>)
  %sq = arith.mulf %g#0, %g#0 : tensor<2xf64>
  return %e, %sq, %g#1 : tensor<f64>, tensor<2xf64>, tensor<4x2xf64>
}
