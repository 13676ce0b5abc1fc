// Lowering of host.callback to kvant_rt_host_callback (runtime/include/kvant/runtime.h).
// RUN: kvant-opt %s --convert-host-to-runtime -split-input-file | FileCheck %s

// Operands are read in place (to_buffer with the identity layout), results are fresh buffers
// the host fills and tensors adopt; the address arrays and the result sizes in bytes live on
// the stack, allocated at the function's entry.
// CHECK: func.func private @kvant_rt_host_callback(i64, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr)
// CHECK-LABEL: func.func @call(
// CHECK-SAME: %[[X:.*]]: tensor<3xf64>, %[[N:.*]]: tensor<i8>)
// CHECK: %[[BYTES:.*]] = memref.alloca() : memref<2xi64>
// CHECK: %[[RESULTS:.*]] = memref.alloca() : memref<2xi64>
// CHECK: %[[ARGS:.*]] = memref.alloca() : memref<2xi64>
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<3xf64> to memref<3xf64>
// CHECK: memref.extract_aligned_pointer_as_index %[[XB]]
// CHECK: %[[NB:.*]] = bufferization.to_buffer %[[N]] read_only : tensor<i8> to memref<i8>
// CHECK: %[[R0:.*]] = memref.alloc() : memref<f64>
// CHECK: %[[B0:.*]] = arith.constant 8 : i64
// CHECK: %[[R1:.*]] = memref.alloc() : memref<2x2xcomplex<f64>>
// CHECK: %[[B1:.*]] = arith.constant 64 : i64
// CHECK: memref.store %{{.*}}, %[[ARGS]]
// CHECK: memref.store %{{.*}}, %[[RESULTS]]
// CHECK: memref.store %[[B0]], %[[BYTES]]
// CHECK: memref.store %[[B1]], %[[BYTES]]
// CHECK: %[[ID:.*]] = arith.constant 4 : i64
// CHECK: %[[NARGS:.*]] = arith.constant 2 : i64
// CHECK: %[[NRES:.*]] = arith.constant 2 : i64
// CHECK: call @kvant_rt_host_callback(%[[ID]], %[[NARGS]], %{{.*}}, %[[NRES]], %{{.*}}, %{{.*}}) : (i64, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr) -> ()
// CHECK: %[[T0:.*]] = bufferization.to_tensor %[[R0]] restrict writable : memref<f64> to tensor<f64>
// CHECK: %[[T1:.*]] = bufferization.to_tensor %[[R1]] restrict writable
// CHECK: return %[[T0]], %[[T1]]
// CHECK-NOT: host.callback
func.func @call(%x: tensor<3xf64>, %n: tensor<i8>) -> (tensor<f64>, tensor<2x2xcomplex<f64>>) {
  %y:2 = host.callback 4 "f" (%x, %n) : (tensor<3xf64>, tensor<i8>) -> (tensor<f64>, tensor<2x2xcomplex<f64>>)
  return %y#0, %y#1 : tensor<f64>, tensor<2x2xcomplex<f64>>
}

// -----

// Without operands or results the arrays are null pointers; a callback in a loop keeps its
// stack arrays at the entry of the function.
// CHECK-LABEL: func.func @print_in_loop(
// CHECK: %[[ARGS:.*]] = memref.alloca() : memref<1xi64>
// CHECK: scf.for
// CHECK: memref.store %{{.*}}, %[[ARGS]]
// CHECK: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK: func.call @kvant_rt_host_callback(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[NULL]], %{{.*}})
// CHECK-NOT: memref.alloca
// CHECK: call @kvant_rt_host_callback(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}})
func.func @print_in_loop(%x: tensor<f64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    host.callback 0 "jax.debug.print('{}')" (%x) : (tensor<f64>) -> ()
  }
  host.callback 1 "tick" () : () -> ()
  return
}

// -----

// A pure callback nothing uses is removed with the dead code after it (a QNode's circuit
// function after the gradient passes); one with effects stays.
// CHECK-LABEL: func.func @dead_pure(
// CHECK: %[[C3:.*]] = arith.constant 3 : i64
// CHECK-NEXT: %[[N:.*]] = arith.constant 1 : i64
// CHECK: call @kvant_rt_host_callback(%[[C3]], %[[N]]
// CHECK-NOT: call @kvant_rt_host_callback
// CHECK: return
func.func @dead_pure(%x: tensor<f64>) -> tensor<f64> {
  %y = host.callback 2 "unused" (%x) {pure} : (tensor<f64>) -> tensor<f64>
  %z = arith.mulf %y, %y : tensor<f64>
  host.callback 3 "print" (%x) : (tensor<f64>) -> ()
  return %x : tensor<f64>
}
