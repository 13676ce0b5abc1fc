// Lowering of every quantum op to calls into the runtime C API (runtime/include/kvant/runtime.h).
// RUN: kvant-opt %s --convert-quantum-to-runtime -split-input-file | FileCheck %s

// CHECK-DAG: func.func private @kvant_rt_qalloc(i64) -> i64
// CHECK-DAG: func.func private @kvant_rt_qdealloc(i64)
// CHECK-LABEL: func.func @registers(
// CHECK-SAME: %[[I:.*]]: i64) -> i64
func.func @registers(%i: i64) -> !quantum.bit {
  // CHECK: %[[N:.*]] = arith.constant 3 : i64
  // CHECK: %[[R:.*]] = call @kvant_rt_qalloc(%[[N]]) : (i64) -> i64
  %r = quantum.alloc(3)
  // A qubit is its wire index: extract/insert need no runtime call.
  // CHECK: %[[W0:.*]] = arith.constant 0 : i64
  %q0 = quantum.extract %r[0]
  %q1 = quantum.extract %r[%i]
  %r1 = quantum.insert %r[2], %q0
  // CHECK: call @kvant_rt_qdealloc(%[[R]]) : (i64) -> ()
  quantum.dealloc %r1
  // CHECK: return %[[I]] : i64
  return %q1 : !quantum.bit
}

// -----

// Gates without controls on at most 2 wires with at most 3 parameters (most gates) pass every
// argument in a register; unused ones are zero.
// CHECK: func.func private @kvant_rt_gate_small(i64, i64, i64, i64, f64, f64, f64, i8 {llvm.signext})
// CHECK-LABEL: func.func @small_gate(
// CHECK-SAME: %[[T:.*]]: f64, %[[A:.*]]: i64, %[[B:.*]]: i64) -> (i64, i64)
func.func @small_gate(%t: f64, %a: !quantum.bit, %b: !quantum.bit) -> (!quantum.bit, !quantum.bit) {
  // IsingXX is entry 25 of gates.def.
  // CHECK-DAG: %[[ID:.*]] = arith.constant 25 : i64
  // CHECK-DAG: %[[NW:.*]] = arith.constant 2 : i64
  // CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
  // CHECK-DAG: %[[ADJ:.*]] = arith.constant 1 : i8
  // CHECK: call @kvant_rt_gate_small(%[[ID]], %[[NW]], %[[A]], %[[B]], %[[T]], %[[ZERO]], %[[ZERO]], %[[ADJ]])
  %r:2 = quantum.custom "IsingXX"(%t) %a, %b adj : !quantum.bit, !quantum.bit
  // CHECK: return %[[A]], %[[B]] : i64, i64
  return %r#0, %r#1 : !quantum.bit, !quantum.bit
}

// -----

// Other gates take arrays on the stack.
// CHECK: func.func private @kvant_rt_gate(i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, i64, i8 {llvm.signext})
// CHECK-LABEL: func.func @gate(
// CHECK-SAME: %[[T:.*]]: f64, %[[A:.*]]: i64, %[[B:.*]]: i64, %[[C:.*]]: i64, %[[D:.*]]: i64)
func.func @gate(%t: f64, %a: !quantum.bit, %b: !quantum.bit, %c: !quantum.bit, %d: !quantum.bit)
    -> (!quantum.bit, !quantum.bit, !quantum.bit, !quantum.bit) {
  // Stack buffers are hoisted to the function entry.
  // CHECK-DAG: %[[WIRES:.*]] = memref.alloca() : memref<4xi64>
  // CHECK-DAG: %[[PARAMS:.*]] = memref.alloca() : memref<1xf64>
  // DoubleExcitation is entry 31 of gates.def.
  // CHECK-DAG: %[[ID:.*]] = arith.constant 31 : i64
  // CHECK: memref.store %[[T]], %[[PARAMS]][%{{.*}}] : memref<1xf64>
  // CHECK: %[[PI:.*]] = memref.extract_aligned_pointer_as_index %[[PARAMS]]
  // CHECK: %[[PI64:.*]] = arith.index_cast %[[PI]] : index to i64
  // CHECK: %[[PP:.*]] = llvm.inttoptr %[[PI64]] : i64 to !llvm.ptr
  // CHECK: %[[NP:.*]] = arith.constant 1 : i64
  // CHECK: memref.store %[[A]], %[[WIRES]][%{{.*}}] : memref<4xi64>
  // CHECK: memref.store %[[B]], %[[WIRES]][%{{.*}}] : memref<4xi64>
  // CHECK: memref.store %[[C]], %[[WIRES]][%{{.*}}] : memref<4xi64>
  // CHECK: memref.store %[[D]], %[[WIRES]][%{{.*}}] : memref<4xi64>
  // CHECK: %[[WP:.*]] = llvm.inttoptr
  // CHECK: %[[NW:.*]] = arith.constant 4 : i64
  // No controls: null pointers.
  // CHECK: %[[NULL1:.*]] = llvm.mlir.zero : !llvm.ptr
  // CHECK: %[[NULL2:.*]] = llvm.mlir.zero : !llvm.ptr
  // CHECK-DAG: %[[NC:.*]] = arith.constant 0 : i64
  // CHECK-DAG: %[[ADJ:.*]] = arith.constant 1 : i8
  // CHECK: call @kvant_rt_gate(%[[ID]], %[[PP]], %[[NP]], %[[WP]], %[[NW]], %[[NULL1]], %[[NULL2]], %[[NC]], %[[ADJ]])
  %r:4 = quantum.custom "DoubleExcitation"(%t) %a, %b, %c, %d adj
      : !quantum.bit, !quantum.bit, !quantum.bit, !quantum.bit
  // CHECK: return %[[A]], %[[B]], %[[C]], %[[D]] : i64, i64, i64, i64
  return %r#0, %r#1, %r#2, %r#3 : !quantum.bit, !quantum.bit, !quantum.bit, !quantum.bit
}

// -----

// CHECK-LABEL: func.func @controlled_gate(
// CHECK-SAME: %[[A:.*]]: i64, %[[C:.*]]: i64, %[[V:.*]]: i1)
func.func @controlled_gate(%a: !quantum.bit, %c: !quantum.bit, %v: i1) -> (!quantum.bit, !quantum.bit) {
  // Control values travel as i8 (an i1 memref would crash finalize-memref-to-llvm).
  // CHECK-DAG: %[[VALS:.*]] = memref.alloca() : memref<1xi8>
  // CHECK-DAG: %[[CTRLS:.*]] = memref.alloca() : memref<1xi64>
  // CHECK-DAG: %[[WIRES:.*]] = memref.alloca() : memref<1xi64>
  // PauliX is entry 2 of gates.def.
  // CHECK-DAG: %[[ID:.*]] = arith.constant 2 : i64
  // CHECK: %[[NOPARAMS:.*]] = llvm.mlir.zero : !llvm.ptr
  // CHECK: memref.store %[[A]], %[[WIRES]]
  // CHECK: memref.store %[[C]], %[[CTRLS]]
  // CHECK: %[[V8:.*]] = arith.extui %[[V]] : i1 to i8
  // CHECK: memref.store %[[V8]], %[[VALS]]
  // CHECK: call @kvant_rt_gate(%[[ID]], %[[NOPARAMS]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, i64, i8) -> ()
  %r, %rc = quantum.custom "PauliX"() %a ctrls(%c) ctrlvals(%v) : !quantum.bit ctrls !quantum.bit
  // CHECK: return %[[A]], %[[C]]
  return %r, %rc : !quantum.bit, !quantum.bit
}

// -----

// CHECK: func.func private @kvant_rt_unitary(!llvm.ptr, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, i64, i8 {llvm.signext})
// CHECK-LABEL: func.func @unitary(
// CHECK-SAME: %[[M:.*]]: tensor<2x2xcomplex<f64>>, %[[A:.*]]: i64)
func.func @unitary(%m: tensor<2x2xcomplex<f64>>, %a: !quantum.bit) -> !quantum.bit {
  // The runtime reads the matrix tensor's own buffer (no copy, nothing to free here).
  // CHECK: %[[BUF:.*]] = bufferization.to_buffer %[[M]] read_only : tensor<2x2xcomplex<f64>> to memref<2x2xcomplex<f64>>
  // CHECK: memref.extract_aligned_pointer_as_index %[[BUF]] :
  // CHECK: %[[MP:.*]] = llvm.inttoptr
  // CHECK: call @kvant_rt_unitary(%[[MP]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}})
  // CHECK-NOT: memref.dealloc
  %r = quantum.unitary(%m : tensor<2x2xcomplex<f64>>) %a adj : !quantum.bit
  // CHECK: return %[[A]]
  return %r : !quantum.bit
}

// -----

// CHECK-DAG: func.func private @kvant_rt_obs_named(i64, i64) -> i64
// CHECK-DAG: func.func private @kvant_rt_obs_tensor(!llvm.ptr, i64) -> i64
// CHECK-DAG: func.func private @kvant_rt_expval(i64) -> f64
// CHECK-DAG: func.func private @kvant_rt_var(i64) -> f64
// CHECK-LABEL: func.func @named_and_tensor(
// CHECK-SAME: %[[A:.*]]: i64, %[[B:.*]]: i64) -> (f64, f64)
func.func @named_and_tensor(%a: !quantum.bit, %b: !quantum.bit) -> (f64, f64) {
  // CHECK: %[[FACTORS:.*]] = memref.alloca() : memref<2xi64>
  // PauliZ is entry 3 of observables.def, Hadamard entry 4.
  // CHECK: %[[Z:.*]] = arith.constant 3 : i64
  // CHECK: %[[OZ:.*]] = call @kvant_rt_obs_named(%[[Z]], %[[A]]) : (i64, i64) -> i64
  %z = quantum.namedobs "PauliZ" %a
  // CHECK: %[[H:.*]] = arith.constant 4 : i64
  // CHECK: %[[OH:.*]] = call @kvant_rt_obs_named(%[[H]], %[[B]])
  %h = quantum.namedobs "Hadamard" %b
  // CHECK: memref.store %[[OZ]], %[[FACTORS]]
  // CHECK: memref.store %[[OH]], %[[FACTORS]]
  // CHECK: %[[FP:.*]] = llvm.inttoptr
  // CHECK: %[[TWO:.*]] = arith.constant 2 : i64
  // CHECK: %[[T:.*]] = call @kvant_rt_obs_tensor(%[[FP]], %[[TWO]]) : (!llvm.ptr, i64) -> i64
  %t = quantum.tensorobs %z, %h
  // CHECK: %[[E:.*]] = call @kvant_rt_expval(%[[T]]) : (i64) -> f64
  %e = quantum.expval %t
  // CHECK: %[[V:.*]] = call @kvant_rt_var(%[[OZ]]) : (i64) -> f64
  %v = quantum.var %z
  // CHECK: return %[[E]], %[[V]]
  return %e, %v : f64, f64
}

// -----

// CHECK: func.func private @kvant_rt_obs_hermitian(!llvm.ptr, !llvm.ptr, i64) -> i64
// CHECK-LABEL: func.func @hermitian(
// CHECK-SAME: %[[M:.*]]: tensor<2x2xcomplex<f64>>, %[[Q:.*]]: i64) -> i64
func.func @hermitian(%m: tensor<2x2xcomplex<f64>>, %q: !quantum.bit) -> !quantum.obs {
  // CHECK: %[[WIRES:.*]] = memref.alloca() : memref<1xi64>
  // CHECK: %[[BUF:.*]] = bufferization.to_buffer %[[M]] read_only
  // CHECK: memref.store %[[Q]], %[[WIRES]]
  // CHECK: %[[WP:.*]] = llvm.inttoptr
  // CHECK: %[[N:.*]] = arith.constant 1 : i64
  // CHECK: memref.extract_aligned_pointer_as_index %[[BUF]] :
  // CHECK: %[[MP:.*]] = llvm.inttoptr
  // CHECK: %[[O:.*]] = call @kvant_rt_obs_hermitian(%[[MP]], %[[WP]], %[[N]])
  // CHECK-NOT: memref.dealloc
  %o = quantum.hermitian(%m : tensor<2x2xcomplex<f64>>) %q
  // CHECK: return %[[O]] : i64
  return %o : !quantum.obs
}

// -----

// CHECK: func.func private @kvant_rt_obs_hamiltonian(!llvm.ptr, !llvm.ptr, i64) -> i64
// CHECK-LABEL: func.func @hamiltonian(
// CHECK-SAME: %[[C:.*]]: tensor<2xf64>, %[[A:.*]]: i64, %[[B:.*]]: i64) -> i64
func.func @hamiltonian(%c: tensor<2xf64>, %a: !quantum.obs, %b: !quantum.obs) -> !quantum.obs {
  // CHECK-DAG: %[[TERMS:.*]] = memref.alloca() : memref<2xi64>
  // CHECK-DAG: %[[COEFFS:.*]] = memref.alloca() : memref<2xf64>
  // CHECK: scf.for %[[I:.*]] =
  // CHECK: %[[X:.*]] = tensor.extract %[[C]][%[[I]]] : tensor<2xf64>
  // CHECK: memref.store %[[X]], %[[COEFFS]][%[[I]]] : memref<2xf64>
  // CHECK: memref.store %[[A]], %[[TERMS]]
  // CHECK: memref.store %[[B]], %[[TERMS]]
  // CHECK: %[[TP:.*]] = llvm.inttoptr
  // CHECK: %[[N:.*]] = arith.constant 2 : i64
  // CHECK: memref.extract_aligned_pointer_as_index %[[COEFFS]] :
  // CHECK: %[[CP:.*]] = llvm.inttoptr
  // CHECK: %[[H:.*]] = call @kvant_rt_obs_hamiltonian(%[[CP]], %[[TP]], %[[N]])
  %h = quantum.hamiltonian(%c : tensor<2xf64>) %a, %b
  // CHECK: return %[[H]]
  return %h : !quantum.obs
}

// -----

// CHECK: func.func private @kvant_rt_probs(!llvm.ptr, !llvm.ptr, i64)
// CHECK-LABEL: func.func @probs(
func.func @probs(%a: !quantum.bit, %b: !quantum.bit) -> tensor<4xf64> {
  // CHECK: %[[BUF:.*]] = memref.alloc() : memref<4xf64>
  // CHECK: %[[WP:.*]] = llvm.inttoptr
  // CHECK: %[[N:.*]] = arith.constant 2 : i64
  // CHECK: memref.extract_aligned_pointer_as_index %[[BUF]] :
  // CHECK: %[[OUT:.*]] = llvm.inttoptr
  // CHECK: call @kvant_rt_probs(%[[OUT]], %[[WP]], %[[N]])
  // CHECK: %[[T:.*]] = bufferization.to_tensor %[[BUF]] restrict writable : memref<4xf64> to tensor<4xf64>
  %p = quantum.probs %a, %b : tensor<4xf64>
  // CHECK: return %[[T]]
  return %p : tensor<4xf64>
}

// -----

// CHECK: func.func private @kvant_rt_state(!llvm.ptr, i64)
// CHECK-LABEL: func.func @state(
func.func @state(%a: !quantum.bit, %b: !quantum.bit) -> tensor<4xcomplex<f64>> {
  // CHECK: %[[BUF:.*]] = memref.alloc() : memref<4xcomplex<f64>>
  // CHECK: %[[OUT:.*]] = llvm.inttoptr
  // CHECK: %[[N:.*]] = arith.constant 4 : i64
  // CHECK: call @kvant_rt_state(%[[OUT]], %[[N]])
  // CHECK: %[[T:.*]] = bufferization.to_tensor %[[BUF]] restrict writable : memref<4xcomplex<f64>> to tensor<4xcomplex<f64>>
  %s = quantum.state %a, %b : tensor<4xcomplex<f64>>
  // CHECK: return %[[T]]
  return %s : tensor<4xcomplex<f64>>
}

// -----

// A register that records its gates starts the runtime's tape right after allocation; the
// Jacobian ends it and runs the adjoint sweep into a [#observables, #parameters] buffer.
// CHECK-DAG: func.func private @kvant_rt_tape_begin()
// CHECK-DAG: func.func private @kvant_rt_tape_end()
// CHECK-DAG: func.func private @kvant_rt_adjoint_jacobian(!llvm.ptr, i64, !llvm.ptr, i64)
// CHECK-DAG: func.func private @kvant_rt_adjoint_vjp_mixed(!llvm.ptr, !llvm.ptr, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, i64)
// CHECK-LABEL: func.func @recorded(
func.func @recorded(%t: f64) -> tensor<1x1xf64> {
  // CHECK: %[[R:.*]] = call @kvant_rt_qalloc
  // CHECK-NEXT: call @kvant_rt_tape_begin() : () -> ()
  %r = quantum.alloc(1) {record_tape}
  %q = quantum.extract %r[0]
  %q1 = quantum.custom "RX"(%t) %q : !quantum.bit
  %z = quantum.namedobs "PauliZ" %q1
  // CHECK: call @kvant_rt_tape_end() : () -> ()
  // CHECK: call @kvant_rt_adjoint_jacobian(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}})
  %j = quantum.adjoint_jacobian %z : tensor<1x1xf64>
  quantum.dealloc %r
  return %j : tensor<1x1xf64>
}

// Other measurements than expectation values go to the runtime's mixed Jacobian: one kind per
// measurement (0 expval, 1 var, 2 probs), an observable id per measurement (0 for probs), wire
// counts, the probs wires, and the row count (1 + 1 + 4 here).
// CHECK-LABEL: func.func @recorded_mixed(
func.func @recorded_mixed(%t: f64) -> tensor<6x1xf64> {
  %r = quantum.alloc(2) {record_tape}
  %q = quantum.extract %r[0]
  %b = quantum.extract %r[1]
  %q1 = quantum.custom "RX"(%t) %q : !quantum.bit
  %z = quantum.namedobs "PauliZ" %q1
  %y = quantum.namedobs "PauliY" %q1
  // CHECK-DAG: %[[EXPVAL:.*]] = arith.constant 0 : i64
  // CHECK-DAG: %[[VAR:.*]] = arith.constant 1 : i64
  // CHECK-DAG: %[[PROBS:.*]] = arith.constant 2 : i64
  // CHECK: memref.store %[[EXPVAL]]
  // CHECK: memref.store %[[VAR]]
  // CHECK: memref.store %[[PROBS]]
  // CHECK: %[[ROWS:.*]] = arith.constant 6 : i64
  // CHECK: call @kvant_rt_adjoint_jacobian_mixed(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ROWS]], %{{.*}})
  %j = quantum.adjoint_jacobian %z, %y probs(%q1, %b) {kinds = array<i64: 0, 1, 2>, probs_wires = array<i64: 2>} : tensor<6x1xf64>
  quantum.dealloc %r
  return %j : tensor<6x1xf64>
}

// The VJP form takes the same measurement arrays, then the cotangent's buffer (read in place)
// and its length (1 + 4 here), and fills a gradient of #parameters entries.
// CHECK-LABEL: func.func @recorded_vjp(
func.func @recorded_vjp(%t: f64, %w: tensor<5xf64>) -> tensor<1xf64> {
  %r = quantum.alloc(2) {record_tape}
  %q = quantum.extract %r[0]
  %b = quantum.extract %r[1]
  %q1 = quantum.custom "RX"(%t) %q : !quantum.bit
  %z = quantum.namedobs "PauliZ" %q1
  // CHECK: memref.alloc() : memref<1xf64>
  // CHECK: %[[NP:.*]] = arith.constant 1 : i64
  // CHECK: call @kvant_rt_tape_end() : () -> ()
  // CHECK: bufferization.to_buffer %{{.*}} read_only : tensor<5xf64> to memref<5xf64>
  // CHECK: %[[NCT:.*]] = arith.constant 5 : i64
  // CHECK: call @kvant_rt_adjoint_vjp_mixed(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[NCT]], %{{.*}}, %[[NP]])
  %v = quantum.adjoint_vjp %z probs(%q1, %b) cotangent(%w : tensor<5xf64>) {kinds = array<i64: 0, 2>, probs_wires = array<i64: 2>} : tensor<1xf64>
  quantum.dealloc %r
  return %v : tensor<1xf64>
}

// A run-time parameter count sizes the Jacobian and goes to the runtime, which checks it.
// CHECK-LABEL: func.func @recorded_loop(
// CHECK-SAME: %{{.*}}: f64, %[[G:.*]]: index)
func.func @recorded_loop(%t: f64, %g: index) -> tensor<1x?xf64> {
  %r = quantum.alloc(1) {record_tape}
  %q = quantum.extract %r[0]
  %q1 = quantum.custom "RX"(%t) %q : !quantum.bit
  %z = quantum.namedobs "PauliZ" %q1
  // CHECK: %[[BUF:.*]] = memref.alloc(%[[G]]) : memref<1x?xf64>
  // CHECK: %[[N:.*]] = arith.index_cast %[[G]] : index to i64
  // CHECK: call @kvant_rt_adjoint_jacobian(%{{.*}}, %{{.*}}, %{{.*}}, %[[N]])
  %j = quantum.adjoint_jacobian %z params(%g) : tensor<1x?xf64>
  quantum.dealloc %r
  return %j : tensor<1x?xf64>
}

// -----

// A parameter-shift batch (ShiftCircuits.cpp): begin, an owned-or-zero evaluation, and the
// partial Jacobian copied into a contiguous buffer that the runtime sums over MPI ranks in
// place (shift mode) and tensor-land adopts.
// CHECK-DAG: func.func private @kvant_rt_shifts_begin()
// CHECK-DAG: func.func private @kvant_rt_owns_shift() -> i8
// CHECK-DAG: func.func private @kvant_rt_combine_shifts(!llvm.ptr, i64)
// CHECK-LABEL: func.func @shift_batch(
// CHECK-SAME: %[[P:.*]]: tensor<?x3xf64>)
func.func @shift_batch(%partial: tensor<?x3xf64>) -> (i1, tensor<?x3xf64>) {
  // CHECK: call @kvant_rt_shifts_begin() : () -> ()
  quantum.shifts_begin
  // CHECK: %[[O:.*]] = call @kvant_rt_owns_shift() : () -> i8
  // CHECK: %[[Z:.*]] = arith.constant 0 : i8
  // CHECK: %[[OWNS:.*]] = arith.cmpi ne, %[[O]], %[[Z]] : i8
  %owns = quantum.owns_shift
  // CHECK: %[[D0:.*]] = tensor.dim %[[P]], %{{.*}} : tensor<?x3xf64>
  // CHECK: %[[BUF:.*]] = memref.alloc(%[[D0]]) : memref<?x3xf64>
  // CHECK: scf.for
  // CHECK: scf.for
  // CHECK: tensor.extract %[[P]]
  // CHECK: memref.store %{{.*}}, %[[BUF]]
  // CHECK: memref.extract_aligned_pointer_as_index %[[BUF]]
  // CHECK: %[[PTR:.*]] = llvm.inttoptr
  // CHECK: %[[N:.*]] = arith.index_cast %{{.*}} : index to i64
  // CHECK: call @kvant_rt_combine_shifts(%[[PTR]], %[[N]]) : (!llvm.ptr, i64) -> ()
  // CHECK: %[[T:.*]] = bufferization.to_tensor %[[BUF]] restrict writable : memref<?x3xf64> to tensor<?x3xf64>
  %sum = quantum.combine_shifts %partial : tensor<?x3xf64> -> tensor<?x3xf64>
  // CHECK: return %[[OWNS]], %[[T]]
  return %owns, %sum : i1, tensor<?x3xf64>
}
