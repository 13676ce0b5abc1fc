// Round trip of every quantum op through the custom syntax, and through the generic syntax the
// Python frontend produces (Operation.create).
// RUN: kvant-opt %s | kvant-opt | FileCheck %s
// RUN: kvant-opt %s --mlir-print-op-generic | kvant-opt | FileCheck %s

// CHECK-LABEL: func.func @registers
func.func @registers(%i: i64) {
  // CHECK: %[[R:.*]] = quantum.alloc(3)
  %r = quantum.alloc(3)
  // CHECK: %[[Q0:.*]] = quantum.extract %[[R]][0]
  %q0 = quantum.extract %r[0]
  // CHECK: %[[Q1:.*]] = quantum.extract %[[R]][%{{.*}}]
  %q1 = quantum.extract %r[%i]
  // CHECK: %[[R1:.*]] = quantum.insert %[[R]][2], %[[Q0]]
  %r1 = quantum.insert %r[2], %q0
  // CHECK: %[[R2:.*]] = quantum.insert %[[R1]][%{{.*}}], %[[Q1]]
  %r2 = quantum.insert %r1[%i], %q1
  // CHECK: quantum.dealloc %[[R2]]
  quantum.dealloc %r2
  return
}

// CHECK-LABEL: func.func @gates
func.func @gates(%t: f64, %u: f64, %v: f64, %b: i1, %m: tensor<4x4xcomplex<f64>>,
                 %a: !quantum.bit, %c: !quantum.bit, %d: !quantum.bit) {
  // CHECK: quantum.custom "Hadamard"() %{{.*}} : !quantum.bit
  %a1 = quantum.custom "Hadamard"() %a : !quantum.bit
  // CHECK: quantum.custom "RX"(%{{.*}}) %{{.*}} adj : !quantum.bit
  %a2 = quantum.custom "RX"(%t) %a1 adj : !quantum.bit
  // CHECK: quantum.custom "Rot"(%{{.*}}, %{{.*}}, %{{.*}}) %{{.*}} : !quantum.bit
  %a3 = quantum.custom "Rot"(%t, %u, %v) %a2 : !quantum.bit
  // CHECK: quantum.custom "CNOT"() %{{.*}}, %{{.*}} : !quantum.bit, !quantum.bit
  %a4, %c1 = quantum.custom "CNOT"() %a3, %c : !quantum.bit, !quantum.bit
  // CHECK: quantum.custom "MultiRZ"(%{{.*}}) %{{.*}}, %{{.*}}, %{{.*}} : !quantum.bit, !quantum.bit, !quantum.bit
  %m1:3 = quantum.custom "MultiRZ"(%t) %a4, %c1, %d : !quantum.bit, !quantum.bit, !quantum.bit
  // CHECK: quantum.custom "RY"(%{{.*}}) %{{.*}} adj ctrls(%{{.*}}, %{{.*}}) ctrlvals(%{{.*}}, %{{.*}}) : !quantum.bit ctrls !quantum.bit, !quantum.bit
  %y, %yc:2 = quantum.custom "RY"(%t) %m1#0 adj ctrls(%m1#1, %m1#2) ctrlvals(%b, %b) : !quantum.bit ctrls !quantum.bit, !quantum.bit
  // A global phase may act on no wire at all, and still be controlled.
  // CHECK: quantum.custom "GlobalPhase"(%{{.*}}) (){{$}}
  quantum.custom "GlobalPhase"(%t) ()
  // CHECK: quantum.custom "GlobalPhase"(%{{.*}}) () ctrls(%{{.*}}) ctrlvals(%{{.*}}) ctrls !quantum.bit
  %g = quantum.custom "GlobalPhase"(%t) () ctrls(%y) ctrlvals(%b) ctrls !quantum.bit
  // CHECK: quantum.unitary(%{{.*}} : tensor<4x4xcomplex<f64>>) %{{.*}}, %{{.*}} : !quantum.bit, !quantum.bit
  %w:2 = quantum.unitary(%m : tensor<4x4xcomplex<f64>>) %g, %yc#0 : !quantum.bit, !quantum.bit
  // CHECK: quantum.unitary(%{{.*}} : tensor<4x4xcomplex<f64>>) %{{.*}}, %{{.*}} adj ctrls(%{{.*}}) ctrlvals(%{{.*}}) : !quantum.bit, !quantum.bit ctrls !quantum.bit
  %x:2, %xc = quantum.unitary(%m : tensor<4x4xcomplex<f64>>) %w#0, %w#1 adj ctrls(%yc#1) ctrlvals(%b) : !quantum.bit, !quantum.bit ctrls !quantum.bit
  return
}

// CHECK-LABEL: func.func @observables
func.func @observables(%a: !quantum.bit, %b: !quantum.bit, %h: tensor<2x2xcomplex<f64>>,
                       %c: tensor<2xf64>, %cd: tensor<?xf64>) -> (f64, f64) {
  // CHECK: %[[Z:.*]] = quantum.namedobs "PauliZ" %{{.*}}
  %z = quantum.namedobs "PauliZ" %a
  // CHECK: %[[X:.*]] = quantum.namedobs "PauliX" %{{.*}}
  %x = quantum.namedobs "PauliX" %b
  // CHECK: %[[T:.*]] = quantum.tensorobs %[[Z]], %[[X]]
  %t = quantum.tensorobs %z, %x
  // CHECK: %[[H:.*]] = quantum.hermitian(%{{.*}} : tensor<2x2xcomplex<f64>>) %{{.*}}
  %herm = quantum.hermitian(%h : tensor<2x2xcomplex<f64>>) %a
  // CHECK: %[[HAM:.*]] = quantum.hamiltonian(%{{.*}} : tensor<2xf64>) %[[T]], %[[H]]
  %ham = quantum.hamiltonian(%c : tensor<2xf64>) %t, %herm
  // Dynamic coefficient count: checked at run time by the length of `terms`.
  // CHECK: quantum.hamiltonian(%{{.*}} : tensor<?xf64>) %[[Z]], %[[X]], %[[T]]
  %ham2 = quantum.hamiltonian(%cd : tensor<?xf64>) %z, %x, %t
  // CHECK: quantum.expval %[[HAM]]
  %e = quantum.expval %ham
  // CHECK: quantum.var %[[Z]]
  %v = quantum.var %z
  return %e, %v : f64, f64
}

// CHECK-LABEL: func.func @measurements
func.func @measurements(%a: !quantum.bit, %b: !quantum.bit) -> (tensor<4xf64>, tensor<2xf64>, tensor<4xcomplex<f64>>) {
  // CHECK: quantum.probs %{{.*}}, %{{.*}} : tensor<4xf64>
  %p = quantum.probs %a, %b : tensor<4xf64>
  // CHECK: quantum.probs %{{.*}} : tensor<2xf64>
  %p1 = quantum.probs %b : tensor<2xf64>
  // CHECK: quantum.state %{{.*}}, %{{.*}} : tensor<4xcomplex<f64>>
  %s = quantum.state %a, %b : tensor<4xcomplex<f64>>
  return %p, %p1, %s : tensor<4xf64>, tensor<2xf64>, tensor<4xcomplex<f64>>
}

// CHECK-LABEL: func.func @adjoint_differentiation
func.func @adjoint_differentiation(%t: f64) -> tensor<2x1xf64> {
  // CHECK: quantum.alloc(1) {record_tape}
  %r = quantum.alloc(1) {record_tape}
  %q = quantum.extract %r[0]
  %q1 = quantum.custom "RX"(%t) %q : !quantum.bit
  %z = quantum.namedobs "PauliZ" %q1
  %y = quantum.namedobs "PauliY" %q1
  // CHECK: quantum.adjoint_jacobian %{{.*}}, %{{.*}} : tensor<2x1xf64>
  %j = quantum.adjoint_jacobian %z, %y : tensor<2x1xf64>
  quantum.dealloc %r
  return %j : tensor<2x1xf64>
}

// CHECK-LABEL: func.func @adjoint_vjp
func.func @adjoint_vjp(%t: f64, %w: tensor<5xf64>, %g: index) -> tensor<?xf64> {
  %r = quantum.alloc(2) {record_tape}
  %q = quantum.extract %r[0]
  %b = quantum.extract %r[1]
  %q1 = quantum.custom "RX"(%t) %q : !quantum.bit
  %z = quantum.namedobs "PauliZ" %q1
  // CHECK: quantum.adjoint_vjp %{{.*}} probs(%{{.*}}, %{{.*}}) cotangent(%{{.*}} : tensor<5xf64>) params(%{{.*}}) {kinds = array<i64: 1, 2>, probs_wires = array<i64: 2>} : tensor<?xf64>
  %v = quantum.adjoint_vjp %z probs(%q1, %b) cotangent(%w : tensor<5xf64>) params(%g) {kinds = array<i64: 1, 2>, probs_wires = array<i64: 2>} : tensor<?xf64>
  quantum.dealloc %r
  return %v : tensor<?xf64>
}

// CHECK-LABEL: func.func @adjoint_differentiation_of_a_loop
func.func @adjoint_differentiation_of_a_loop(%t: f64, %g: index) -> tensor<1x?xf64> {
  %r = quantum.alloc(1) {record_tape}
  %q = quantum.extract %r[0]
  %q1 = quantum.custom "RX"(%t) %q : !quantum.bit
  %z = quantum.namedobs "PauliZ" %q1
  // CHECK: quantum.adjoint_jacobian %{{.*}} params(%{{.*}}) : tensor<1x?xf64>
  %j = quantum.adjoint_jacobian %z params(%g) : tensor<1x?xf64>
  quantum.dealloc %r
  return %j : tensor<1x?xf64>
}

// The QNode attribute (QuantumAttrs.td): every field, and none (defaults).
// CHECK: func.func private @qnode_sampled(tensor<f64>) -> (tensor<f64>, tensor<4xf64>) attributes {quantum.node = #quantum.node<device = "kvant.qubit", diffMethod = "parameter-shift", measurements = ["expval", "probs"], shots = 100>}
func.func private @qnode_sampled(tensor<f64>) -> (tensor<f64>, tensor<4xf64>)
    attributes {quantum.node = #quantum.node<device = "kvant.qubit", diffMethod = "parameter-shift", measurements = ["expval", "probs"], shots = 100>}
// CHECK: func.func private @qnode_defaults(tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<>}
func.func private @qnode_defaults(tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<diffMethod = "best">}

// A parameter-shift batch's ops.
// CHECK-LABEL: func.func @shift_batch(
func.func @shift_batch(%partial: tensor<?x2xf64>) -> (i1, tensor<?x2xf64>) {
  // CHECK: quantum.shifts_begin
  quantum.shifts_begin
  // CHECK: %{{.*}} = quantum.owns_shift
  %owns = quantum.owns_shift
  // CHECK: quantum.combine_shifts %{{.*}} : tensor<?x2xf64> -> tensor<?x2xf64>
  %sum = quantum.combine_shifts %partial : tensor<?x2xf64> -> tensor<?x2xf64>
  return %owns, %sum : i1, tensor<?x2xf64>
}
