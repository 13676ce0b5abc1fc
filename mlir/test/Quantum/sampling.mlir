// State preparation, sampling and mid-circuit measurement: round trip, then the runtime calls.
// RUN: kvant-opt %s | kvant-opt | FileCheck %s --check-prefix=ROUND
// RUN: kvant-opt %s --convert-quantum-to-runtime | FileCheck %s

// ROUND-LABEL: func.func @ops
// ROUND: quantum.set_seed(42)
// ROUND: quantum.basis_state(%{{.*}} : tensor<2xi8>) %{{.*}}, %{{.*}} : !quantum.bit, !quantum.bit
// ROUND: quantum.state_prep(%{{.*}} : tensor<4xcomplex<f64>>) %{{.*}}, %{{.*}} : !quantum.bit, !quantum.bit
// ROUND: quantum.measure %{{.*}} reset {postselect = 1 : i64}
// ROUND: quantum.sample %{{.*}}, %{{.*}} {shots = 10 : i64} : tensor<10x2xi64>
// ROUND: quantum.counts %{{.*}} {shots = 10 : i64} : tensor<2xi64>

// CHECK-LABEL: func.func @ops
// CHECK: call @kvant_rt_set_seed(%{{.*}}) : (i64) -> ()
// CHECK: bufferization.to_buffer %{{.*}} read_only : tensor<2xi8>
// CHECK: call @kvant_rt_basis_state(%{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, !llvm.ptr, i64) -> ()
// CHECK: call @kvant_rt_state_prep(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, i64, !llvm.ptr, i64) -> ()
// CHECK: %[[OUT:.*]] = call @kvant_rt_measure(%{{.*}}, %{{.*}}, %{{.*}}) : (i64, i8, i8) -> i8
// CHECK: arith.cmpi ne, %[[OUT]], %{{.*}} : i8
// CHECK: %[[S:.*]] = memref.alloc() : memref<10x2xi64>
// CHECK: call @kvant_rt_sample(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, i64, !llvm.ptr, i64) -> ()
// CHECK: bufferization.to_tensor %[[S]] restrict writable
// CHECK: call @kvant_rt_counts(
func.func @ops(%bits: tensor<2xi8>, %amps: tensor<4xcomplex<f64>>) -> (i1, tensor<10x2xi64>, tensor<2xi64>) {
  quantum.set_seed(42)
  %r = quantum.alloc(2)
  %a = quantum.extract %r[0]
  %b = quantum.extract %r[1]
  %a1, %b1 = quantum.basis_state(%bits : tensor<2xi8>) %a, %b : !quantum.bit, !quantum.bit
  %a2, %b2 = quantum.state_prep(%amps : tensor<4xcomplex<f64>>) %a1, %b1 : !quantum.bit, !quantum.bit
  %m, %a3 = quantum.measure %a2 reset {postselect = 1}
  %s = quantum.sample %a3, %b2 {shots = 10} : tensor<10x2xi64>
  %c = quantum.counts %a3 {shots = 10} : tensor<2xi64>
  %r1 = quantum.insert %r[0], %a3
  %r2 = quantum.insert %r1[1], %b2
  quantum.dealloc %r2
  return %m, %s, %c : i1, tensor<10x2xi64>, tensor<2xi64>
}
