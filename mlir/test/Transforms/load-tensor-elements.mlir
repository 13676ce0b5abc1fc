// RUN: kvant-opt %s --kvant-load-tensor-elements | FileCheck %s

// A function argument read by 16 extracts: one read-only buffer of it, loads.
// CHECK-LABEL: func.func @argument
// CHECK-SAME: (%[[P:.*]]: tensor<16xf64>)
// CHECK-NEXT: %[[B:.*]] = bufferization.to_buffer %[[P]] read_only : tensor<16xf64> to memref<16xf64>
// CHECK-NOT: tensor.extract
// CHECK-COUNT-16: memref.load %[[B]][%{{.*}}] : memref<16xf64>
// CHECK-NOT: tensor.extract
func.func @argument(%p: tensor<16xf64>) -> f64 {
  %zero = arith.constant 0.0 : f64
  %c0 = arith.constant 0 : index
  %x0 = tensor.extract %p[%c0] : tensor<16xf64>
  %s0 = arith.addf %zero, %x0 : f64
  %c1 = arith.constant 1 : index
  %x1 = tensor.extract %p[%c1] : tensor<16xf64>
  %s1 = arith.addf %s0, %x1 : f64
  %c2 = arith.constant 2 : index
  %x2 = tensor.extract %p[%c2] : tensor<16xf64>
  %s2 = arith.addf %s1, %x2 : f64
  %c3 = arith.constant 3 : index
  %x3 = tensor.extract %p[%c3] : tensor<16xf64>
  %s3 = arith.addf %s2, %x3 : f64
  %c4 = arith.constant 4 : index
  %x4 = tensor.extract %p[%c4] : tensor<16xf64>
  %s4 = arith.addf %s3, %x4 : f64
  %c5 = arith.constant 5 : index
  %x5 = tensor.extract %p[%c5] : tensor<16xf64>
  %s5 = arith.addf %s4, %x5 : f64
  %c6 = arith.constant 6 : index
  %x6 = tensor.extract %p[%c6] : tensor<16xf64>
  %s6 = arith.addf %s5, %x6 : f64
  %c7 = arith.constant 7 : index
  %x7 = tensor.extract %p[%c7] : tensor<16xf64>
  %s7 = arith.addf %s6, %x7 : f64
  %c8 = arith.constant 8 : index
  %x8 = tensor.extract %p[%c8] : tensor<16xf64>
  %s8 = arith.addf %s7, %x8 : f64
  %c9 = arith.constant 9 : index
  %x9 = tensor.extract %p[%c9] : tensor<16xf64>
  %s9 = arith.addf %s8, %x9 : f64
  %c10 = arith.constant 10 : index
  %x10 = tensor.extract %p[%c10] : tensor<16xf64>
  %s10 = arith.addf %s9, %x10 : f64
  %c11 = arith.constant 11 : index
  %x11 = tensor.extract %p[%c11] : tensor<16xf64>
  %s11 = arith.addf %s10, %x11 : f64
  %c12 = arith.constant 12 : index
  %x12 = tensor.extract %p[%c12] : tensor<16xf64>
  %s12 = arith.addf %s11, %x12 : f64
  %c13 = arith.constant 13 : index
  %x13 = tensor.extract %p[%c13] : tensor<16xf64>
  %s13 = arith.addf %s12, %x13 : f64
  %c14 = arith.constant 14 : index
  %x14 = tensor.extract %p[%c14] : tensor<16xf64>
  %s14 = arith.addf %s13, %x14 : f64
  %c15 = arith.constant 15 : index
  %x15 = tensor.extract %p[%c15] : tensor<16xf64>
  %s15 = arith.addf %s14, %x15 : f64
  return %s15 : f64
}

// Fifteen reads are left to bufferization, with or without other uses.
// CHECK-LABEL: func.func @few_or_other_uses
// CHECK-NOT: bufferization.to_buffer
// CHECK-NOT: memref.load
// CHECK: return
func.func @few_or_other_uses(%p: tensor<15xf64>, %q: tensor<16xf64>) -> (f64, tensor<16xf64>) {
  %zero = arith.constant 0.0 : f64
  %c0 = arith.constant 0 : index
  %x0 = tensor.extract %p[%c0] : tensor<15xf64>
  %y0 = tensor.extract %q[%c0] : tensor<16xf64>
  %s0 = arith.addf %zero, %x0 : f64
  %t0 = arith.addf %s0, %y0 : f64
  %c1 = arith.constant 1 : index
  %x1 = tensor.extract %p[%c1] : tensor<15xf64>
  %y1 = tensor.extract %q[%c1] : tensor<16xf64>
  %s1 = arith.addf %t0, %x1 : f64
  %t1 = arith.addf %s1, %y1 : f64
  %c2 = arith.constant 2 : index
  %x2 = tensor.extract %p[%c2] : tensor<15xf64>
  %y2 = tensor.extract %q[%c2] : tensor<16xf64>
  %s2 = arith.addf %t1, %x2 : f64
  %t2 = arith.addf %s2, %y2 : f64
  %c3 = arith.constant 3 : index
  %x3 = tensor.extract %p[%c3] : tensor<15xf64>
  %y3 = tensor.extract %q[%c3] : tensor<16xf64>
  %s3 = arith.addf %t2, %x3 : f64
  %t3 = arith.addf %s3, %y3 : f64
  %c4 = arith.constant 4 : index
  %x4 = tensor.extract %p[%c4] : tensor<15xf64>
  %y4 = tensor.extract %q[%c4] : tensor<16xf64>
  %s4 = arith.addf %t3, %x4 : f64
  %t4 = arith.addf %s4, %y4 : f64
  %c5 = arith.constant 5 : index
  %x5 = tensor.extract %p[%c5] : tensor<15xf64>
  %y5 = tensor.extract %q[%c5] : tensor<16xf64>
  %s5 = arith.addf %t4, %x5 : f64
  %t5 = arith.addf %s5, %y5 : f64
  %c6 = arith.constant 6 : index
  %x6 = tensor.extract %p[%c6] : tensor<15xf64>
  %y6 = tensor.extract %q[%c6] : tensor<16xf64>
  %s6 = arith.addf %t5, %x6 : f64
  %t6 = arith.addf %s6, %y6 : f64
  %c7 = arith.constant 7 : index
  %x7 = tensor.extract %p[%c7] : tensor<15xf64>
  %y7 = tensor.extract %q[%c7] : tensor<16xf64>
  %s7 = arith.addf %t6, %x7 : f64
  %t7 = arith.addf %s7, %y7 : f64
  %c8 = arith.constant 8 : index
  %x8 = tensor.extract %p[%c8] : tensor<15xf64>
  %y8 = tensor.extract %q[%c8] : tensor<16xf64>
  %s8 = arith.addf %t7, %x8 : f64
  %t8 = arith.addf %s8, %y8 : f64
  %c9 = arith.constant 9 : index
  %x9 = tensor.extract %p[%c9] : tensor<15xf64>
  %y9 = tensor.extract %q[%c9] : tensor<16xf64>
  %s9 = arith.addf %t8, %x9 : f64
  %t9 = arith.addf %s9, %y9 : f64
  %c10 = arith.constant 10 : index
  %x10 = tensor.extract %p[%c10] : tensor<15xf64>
  %y10 = tensor.extract %q[%c10] : tensor<16xf64>
  %s10 = arith.addf %t9, %x10 : f64
  %t10 = arith.addf %s10, %y10 : f64
  %c11 = arith.constant 11 : index
  %x11 = tensor.extract %p[%c11] : tensor<15xf64>
  %y11 = tensor.extract %q[%c11] : tensor<16xf64>
  %s11 = arith.addf %t10, %x11 : f64
  %t11 = arith.addf %s11, %y11 : f64
  %c12 = arith.constant 12 : index
  %x12 = tensor.extract %p[%c12] : tensor<15xf64>
  %y12 = tensor.extract %q[%c12] : tensor<16xf64>
  %s12 = arith.addf %t11, %x12 : f64
  %t12 = arith.addf %s12, %y12 : f64
  %c13 = arith.constant 13 : index
  %x13 = tensor.extract %p[%c13] : tensor<15xf64>
  %y13 = tensor.extract %q[%c13] : tensor<16xf64>
  %s13 = arith.addf %t12, %x13 : f64
  %t13 = arith.addf %s13, %y13 : f64
  %c14 = arith.constant 14 : index
  %x14 = tensor.extract %p[%c14] : tensor<15xf64>
  %y14 = tensor.extract %q[%c14] : tensor<16xf64>
  %s14 = arith.addf %t13, %x14 : f64
  %t14 = arith.addf %s14, %y14 : f64
  return %t14, %q : f64, tensor<16xf64>
}

// The result of another op in the entry block is copied first (something may later write
// the buffer it shares); tensor.from_elements makes a fresh buffer, read directly.
// CHECK-LABEL: func.func @computed
// CHECK: %[[S:.*]] = tensor.insert_slice
// CHECK-NEXT: %[[C:.*]] = bufferization.alloc_tensor() copy(%[[S]]) : tensor<?xf64>
// CHECK-NEXT: %[[B:.*]] = bufferization.to_buffer %[[C]] read_only : tensor<?xf64> to memref<?xf64>
// CHECK: %[[F:.*]] = tensor.from_elements
// CHECK-NEXT: %[[G:.*]] = bufferization.to_buffer %[[F]] read_only : tensor<16xf64> to memref<16xf64>
// CHECK-NOT: tensor.extract
// CHECK: return
func.func @computed(%t: tensor<?xf64>, %v: tensor<16xf64>, %a: f64) -> f64 {
  %c0 = arith.constant 0 : index
  %s = tensor.insert_slice %v into %t[%c0] [16] [1] : tensor<16xf64> into tensor<?xf64>
  %f = tensor.from_elements %a, %a, %a, %a, %a, %a, %a, %a, %a, %a, %a, %a, %a, %a, %a, %a : tensor<16xf64>
  %zero = arith.constant 0.0 : f64
  %c0_ = arith.constant 0 : index
  %x0 = tensor.extract %s[%c0_] : tensor<?xf64>
  %y0 = tensor.extract %f[%c0_] : tensor<16xf64>
  %s0 = arith.addf %zero, %x0 : f64
  %u0 = arith.addf %s0, %y0 : f64
  %c1_ = arith.constant 1 : index
  %x1 = tensor.extract %s[%c1_] : tensor<?xf64>
  %y1 = tensor.extract %f[%c1_] : tensor<16xf64>
  %s1 = arith.addf %u0, %x1 : f64
  %u1 = arith.addf %s1, %y1 : f64
  %c2_ = arith.constant 2 : index
  %x2 = tensor.extract %s[%c2_] : tensor<?xf64>
  %y2 = tensor.extract %f[%c2_] : tensor<16xf64>
  %s2 = arith.addf %u1, %x2 : f64
  %u2 = arith.addf %s2, %y2 : f64
  %c3_ = arith.constant 3 : index
  %x3 = tensor.extract %s[%c3_] : tensor<?xf64>
  %y3 = tensor.extract %f[%c3_] : tensor<16xf64>
  %s3 = arith.addf %u2, %x3 : f64
  %u3 = arith.addf %s3, %y3 : f64
  %c4_ = arith.constant 4 : index
  %x4 = tensor.extract %s[%c4_] : tensor<?xf64>
  %y4 = tensor.extract %f[%c4_] : tensor<16xf64>
  %s4 = arith.addf %u3, %x4 : f64
  %u4 = arith.addf %s4, %y4 : f64
  %c5_ = arith.constant 5 : index
  %x5 = tensor.extract %s[%c5_] : tensor<?xf64>
  %y5 = tensor.extract %f[%c5_] : tensor<16xf64>
  %s5 = arith.addf %u4, %x5 : f64
  %u5 = arith.addf %s5, %y5 : f64
  %c6_ = arith.constant 6 : index
  %x6 = tensor.extract %s[%c6_] : tensor<?xf64>
  %y6 = tensor.extract %f[%c6_] : tensor<16xf64>
  %s6 = arith.addf %u5, %x6 : f64
  %u6 = arith.addf %s6, %y6 : f64
  %c7_ = arith.constant 7 : index
  %x7 = tensor.extract %s[%c7_] : tensor<?xf64>
  %y7 = tensor.extract %f[%c7_] : tensor<16xf64>
  %s7 = arith.addf %u6, %x7 : f64
  %u7 = arith.addf %s7, %y7 : f64
  %c8_ = arith.constant 8 : index
  %x8 = tensor.extract %s[%c8_] : tensor<?xf64>
  %y8 = tensor.extract %f[%c8_] : tensor<16xf64>
  %s8 = arith.addf %u7, %x8 : f64
  %u8 = arith.addf %s8, %y8 : f64
  %c9_ = arith.constant 9 : index
  %x9 = tensor.extract %s[%c9_] : tensor<?xf64>
  %y9 = tensor.extract %f[%c9_] : tensor<16xf64>
  %s9 = arith.addf %u8, %x9 : f64
  %u9 = arith.addf %s9, %y9 : f64
  %c10_ = arith.constant 10 : index
  %x10 = tensor.extract %s[%c10_] : tensor<?xf64>
  %y10 = tensor.extract %f[%c10_] : tensor<16xf64>
  %s10 = arith.addf %u9, %x10 : f64
  %u10 = arith.addf %s10, %y10 : f64
  %c11_ = arith.constant 11 : index
  %x11 = tensor.extract %s[%c11_] : tensor<?xf64>
  %y11 = tensor.extract %f[%c11_] : tensor<16xf64>
  %s11 = arith.addf %u10, %x11 : f64
  %u11 = arith.addf %s11, %y11 : f64
  %c12_ = arith.constant 12 : index
  %x12 = tensor.extract %s[%c12_] : tensor<?xf64>
  %y12 = tensor.extract %f[%c12_] : tensor<16xf64>
  %s12 = arith.addf %u11, %x12 : f64
  %u12 = arith.addf %s12, %y12 : f64
  %c13_ = arith.constant 13 : index
  %x13 = tensor.extract %s[%c13_] : tensor<?xf64>
  %y13 = tensor.extract %f[%c13_] : tensor<16xf64>
  %s13 = arith.addf %u12, %x13 : f64
  %u13 = arith.addf %s13, %y13 : f64
  %c14_ = arith.constant 14 : index
  %x14 = tensor.extract %s[%c14_] : tensor<?xf64>
  %y14 = tensor.extract %f[%c14_] : tensor<16xf64>
  %s14 = arith.addf %u13, %x14 : f64
  %u14 = arith.addf %s14, %y14 : f64
  %c15_ = arith.constant 15 : index
  %x15 = tensor.extract %s[%c15_] : tensor<?xf64>
  %y15 = tensor.extract %f[%c15_] : tensor<16xf64>
  %s15 = arith.addf %u14, %x15 : f64
  %u15 = arith.addf %s15, %y15 : f64
  return %u15 : f64
}

// Defined in a loop body (copied every iteration, were it copied): left alone.
// CHECK-LABEL: func.func @in_a_loop
// CHECK-NOT: bufferization.to_buffer
// CHECK: return
func.func @in_a_loop(%v: tensor<16xf64>, %n: index) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f64
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc0 = %zero) -> (f64) {
    %w = tensor.insert %acc0 into %v[%c0] : tensor<16xf64>
    %k0 = arith.constant 0 : index
    %x0 = tensor.extract %w[%k0] : tensor<16xf64>
    %s0 = arith.addf %acc0, %x0 : f64
    %k1 = arith.constant 1 : index
    %x1 = tensor.extract %w[%k1] : tensor<16xf64>
    %s1 = arith.addf %s0, %x1 : f64
    %k2 = arith.constant 2 : index
    %x2 = tensor.extract %w[%k2] : tensor<16xf64>
    %s2 = arith.addf %s1, %x2 : f64
    %k3 = arith.constant 3 : index
    %x3 = tensor.extract %w[%k3] : tensor<16xf64>
    %s3 = arith.addf %s2, %x3 : f64
    %k4 = arith.constant 4 : index
    %x4 = tensor.extract %w[%k4] : tensor<16xf64>
    %s4 = arith.addf %s3, %x4 : f64
    %k5 = arith.constant 5 : index
    %x5 = tensor.extract %w[%k5] : tensor<16xf64>
    %s5 = arith.addf %s4, %x5 : f64
    %k6 = arith.constant 6 : index
    %x6 = tensor.extract %w[%k6] : tensor<16xf64>
    %s6 = arith.addf %s5, %x6 : f64
    %k7 = arith.constant 7 : index
    %x7 = tensor.extract %w[%k7] : tensor<16xf64>
    %s7 = arith.addf %s6, %x7 : f64
    %k8 = arith.constant 8 : index
    %x8 = tensor.extract %w[%k8] : tensor<16xf64>
    %s8 = arith.addf %s7, %x8 : f64
    %k9 = arith.constant 9 : index
    %x9 = tensor.extract %w[%k9] : tensor<16xf64>
    %s9 = arith.addf %s8, %x9 : f64
    %k10 = arith.constant 10 : index
    %x10 = tensor.extract %w[%k10] : tensor<16xf64>
    %s10 = arith.addf %s9, %x10 : f64
    %k11 = arith.constant 11 : index
    %x11 = tensor.extract %w[%k11] : tensor<16xf64>
    %s11 = arith.addf %s10, %x11 : f64
    %k12 = arith.constant 12 : index
    %x12 = tensor.extract %w[%k12] : tensor<16xf64>
    %s12 = arith.addf %s11, %x12 : f64
    %k13 = arith.constant 13 : index
    %x13 = tensor.extract %w[%k13] : tensor<16xf64>
    %s13 = arith.addf %s12, %x13 : f64
    %k14 = arith.constant 14 : index
    %x14 = tensor.extract %w[%k14] : tensor<16xf64>
    %s14 = arith.addf %s13, %x14 : f64
    %k15 = arith.constant 15 : index
    %x15 = tensor.extract %w[%k15] : tensor<16xf64>
    %s15 = arith.addf %s14, %x15 : f64
    scf.yield %s15 : f64
  }
  return %r : f64
}

// An argument also passed to a call (which may write it): its reads go to a copy.
// CHECK-LABEL: func.func @passed_on
// CHECK-SAME: (%[[P:.*]]: tensor<16xf64>)
// CHECK-NEXT: %[[C:.*]] = bufferization.alloc_tensor() copy(%[[P]]) : tensor<16xf64>
// CHECK-NEXT: %[[B:.*]] = bufferization.to_buffer %[[C]] read_only
// CHECK-COUNT-16: memref.load %[[B]]
// CHECK: call @sink(%[[P]])
func.func private @sink(tensor<16xf64>)
func.func @passed_on(%p: tensor<16xf64>) -> f64 {
  %zero = arith.constant 0.0 : f64
  %c0 = arith.constant 0 : index
  %x0 = tensor.extract %p[%c0] : tensor<16xf64>
  %s0 = arith.addf %zero, %x0 : f64
  %c1 = arith.constant 1 : index
  %x1 = tensor.extract %p[%c1] : tensor<16xf64>
  %s1 = arith.addf %s0, %x1 : f64
  %c2 = arith.constant 2 : index
  %x2 = tensor.extract %p[%c2] : tensor<16xf64>
  %s2 = arith.addf %s1, %x2 : f64
  %c3 = arith.constant 3 : index
  %x3 = tensor.extract %p[%c3] : tensor<16xf64>
  %s3 = arith.addf %s2, %x3 : f64
  %c4 = arith.constant 4 : index
  %x4 = tensor.extract %p[%c4] : tensor<16xf64>
  %s4 = arith.addf %s3, %x4 : f64
  %c5 = arith.constant 5 : index
  %x5 = tensor.extract %p[%c5] : tensor<16xf64>
  %s5 = arith.addf %s4, %x5 : f64
  %c6 = arith.constant 6 : index
  %x6 = tensor.extract %p[%c6] : tensor<16xf64>
  %s6 = arith.addf %s5, %x6 : f64
  %c7 = arith.constant 7 : index
  %x7 = tensor.extract %p[%c7] : tensor<16xf64>
  %s7 = arith.addf %s6, %x7 : f64
  %c8 = arith.constant 8 : index
  %x8 = tensor.extract %p[%c8] : tensor<16xf64>
  %s8 = arith.addf %s7, %x8 : f64
  %c9 = arith.constant 9 : index
  %x9 = tensor.extract %p[%c9] : tensor<16xf64>
  %s9 = arith.addf %s8, %x9 : f64
  %c10 = arith.constant 10 : index
  %x10 = tensor.extract %p[%c10] : tensor<16xf64>
  %s10 = arith.addf %s9, %x10 : f64
  %c11 = arith.constant 11 : index
  %x11 = tensor.extract %p[%c11] : tensor<16xf64>
  %s11 = arith.addf %s10, %x11 : f64
  %c12 = arith.constant 12 : index
  %x12 = tensor.extract %p[%c12] : tensor<16xf64>
  %s12 = arith.addf %s11, %x12 : f64
  %c13 = arith.constant 13 : index
  %x13 = tensor.extract %p[%c13] : tensor<16xf64>
  %s13 = arith.addf %s12, %x13 : f64
  %c14 = arith.constant 14 : index
  %x14 = tensor.extract %p[%c14] : tensor<16xf64>
  %s14 = arith.addf %s13, %x14 : f64
  %c15 = arith.constant 15 : index
  %x15 = tensor.extract %p[%c15] : tensor<16xf64>
  %s15 = arith.addf %s14, %x15 : f64
  call @sink(%p) : (tensor<16xf64>) -> ()
  return %s15 : f64
}
