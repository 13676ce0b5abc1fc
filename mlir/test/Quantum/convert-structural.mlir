// Quantum types are converted through function signatures, calls and scf regions, and stack
// buffers of ops inside loops are hoisted to the function entry (no per-iteration stack growth).
// RUN: kvant-opt %s --convert-quantum-to-runtime | FileCheck %s

// CHECK-LABEL: func.func private @external(i64, i64) -> i64
func.func private @external(!quantum.reg, !quantum.bit) -> !quantum.bit

// CHECK-LABEL: func.func @apply(
// CHECK-SAME: %{{.*}}: i64, %[[Q:.*]]: i64) -> i64
func.func @apply(%r: !quantum.reg, %q: !quantum.bit) -> !quantum.bit {
  // CHECK: %[[Q1:.*]] = call @external(%{{.*}}, %[[Q]]) : (i64, i64) -> i64
  %q1 = func.call @external(%r, %q) : (!quantum.reg, !quantum.bit) -> !quantum.bit
  // CHECK: return %[[Q1]] : i64
  return %q1 : !quantum.bit
}

// CHECK-LABEL: func.func @loops(
func.func @loops(%t: f64, %n: index, %cond: i1) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // Two controlled gates in the loop share one buffer per array, at the top.
  // CHECK-DAG: memref.alloca() : memref<1xf64>
  // CHECK-DAG: memref.alloca() : memref<1xi64>
  // CHECK-DAG: memref.alloca() : memref<1xi64>
  // CHECK-DAG: memref.alloca() : memref<1xi8>
  // CHECK-NOT: memref.alloca
  // CHECK: call @kvant_rt_qalloc
  %r = quantum.alloc(2)
  %q = quantum.extract %r[0]
  %c = quantum.extract %r[1]
  %true = arith.constant true
  // CHECK: %[[FOR:.*]]:2 = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A:.*]] = %{{.*}}, %[[C:.*]] = %{{.*}}) -> (i64, i64) {
  %q1, %cq1 = scf.for %i = %c0 to %n step %c1 iter_args(%a = %q, %ac = %c) -> (!quantum.bit, !quantum.bit) {
    // CHECK-NOT: memref.alloca
    // CHECK: call @kvant_rt_gate(
    %a1, %ac1 = quantum.custom "RX"(%t) %a ctrls(%ac) ctrlvals(%true) : !quantum.bit ctrls !quantum.bit
    // CHECK: call @kvant_rt_gate(
    %a2, %ac2 = quantum.custom "RZ"(%t) %a1 ctrls(%ac1) ctrlvals(%true) : !quantum.bit ctrls !quantum.bit
    // CHECK: scf.yield %[[A]], %[[C]] : i64, i64
    scf.yield %a2, %ac2 : !quantum.bit, !quantum.bit
  }
  // CHECK: %[[IF:.*]] = scf.if %{{.*}} -> (i64) {
  %q2 = scf.if %cond -> (!quantum.bit) {
    %b = quantum.custom "Hadamard"() %q1 : !quantum.bit
    // CHECK: scf.yield %[[FOR]]#0 : i64
    scf.yield %b : !quantum.bit
  } else {
    scf.yield %q1 : !quantum.bit
  }
  // CHECK: scf.while (%{{.*}} = %[[IF]]) : (i64) -> i64
  %q3 = scf.while (%w = %q2) : (!quantum.bit) -> !quantum.bit {
    scf.condition(%cond) %w : !quantum.bit
  } do {
  ^bb0(%w: !quantum.bit):
    %w1 = quantum.custom "PauliX"() %w : !quantum.bit
    scf.yield %w1 : !quantum.bit
  }
  %o = quantum.namedobs "PauliZ" %q3
  %e = quantum.expval %o
  quantum.dealloc %r
  return %e : f64
}
