// gradient-expand-auto: reverse-mode derivative functions, one rule per op, tensor-level only.
// RUN: kvant-opt %s --gradient-expand-auto -split-input-file | FileCheck %s
// RUN: kvant-opt %s --gradient-expand-auto --canonicalize -split-input-file | FileCheck %s --check-prefix=CANON

// A scalar function of a scalar: one sweep seeded with 1; the rule of mulf gives each operand
// the cotangent times the other operand, and the two contributions to %x add up.
func.func private @square(%x: tensor<f64>) -> tensor<f64> {
  %y = arith.mulf %x, %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @square.jacobian.0(
// CHECK-SAME: %[[X:.*]]: tensor<f64>) -> (tensor<f64>, tensor<f64>)
// CHECK-SAME: llvm.linkage = #llvm.linkage<internal>
// CHECK: %[[Y:.*]] = arith.mulf %[[X]], %[[X]] : tensor<f64>
// CHECK: %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK: %[[X0:.*]] = tensor.extract %[[X]][]
// CHECK: %[[X1:.*]] = tensor.extract %[[X]][]
// CHECK: %[[CT:.*]] = tensor.extract %[[SEED]][]
// CHECK: %[[A:.*]] = arith.mulf %[[CT]], %[[X1]] : f64
// CHECK: %[[B:.*]] = arith.mulf %[[CT]], %[[X0]] : f64
// CHECK: %[[TA:.*]] = tensor.from_elements %[[A]] : tensor<f64>
// CHECK: %[[TB:.*]] = tensor.from_elements %[[B]] : tensor<f64>
// CHECK: %[[SUM:.*]] = arith.addf %[[TA]], %[[TB]] : tensor<f64>
// CHECK: return %[[Y]], %{{.*}} : tensor<f64>, tensor<f64>
// CHECK-LABEL: func.func @scalar(
// CHECK: %[[G:.*]]:2 = call @square.jacobian.0(%{{.*}}) : (tensor<f64>) -> (tensor<f64>, tensor<f64>)
// CHECK: return %[[G]]#1
func.func @scalar(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @square(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// A vector output: one sweep per output element in an scf.for that writes row k of the
// Jacobian. Elementwise ops on tensors reverse through a linalg.generic built from the scalar
// rule (here sin: cotangent * cos x).
func.func private @sines(%x: tensor<3xf64>) -> tensor<3xf64> {
  %y = math.sin %x : tensor<3xf64>
  return %y : tensor<3xf64>
}
// CHECK-LABEL: func.func private @sines.jacobian.0(
// CHECK: %[[LOOP:.*]] = scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[J:.*]] = %{{.*}}) -> (tensor<3x3xf64>) {
// CHECK:   %[[ONEHOT:.*]] = tensor.insert %{{.*}} into %{{.*}}[%[[K]]] : tensor<3xf64>
// CHECK:   linalg.generic
// CHECK:     math.cos
// CHECK:     arith.mulf
// CHECK:   tensor.insert_slice %{{.*}} into %[[J]][%[[K]], 0] [1, 3] [1, 1] : tensor<3xf64> into tensor<3x3xf64>
func.func @jacobian(%x: tensor<3xf64>) -> tensor<3x3xf64> {
  %j = gradient.grad "auto" @sines(%x) {diffArgIndices = array<i64: 0>} : (tensor<3xf64>) -> tensor<3x3xf64>
  return %j : tensor<3x3xf64>
}

// -----

// Reading one element scatters the cotangent into a zero tensor; a sum reduction spreads it
// back with linalg.broadcast; a dot-like generic reduction reverses per input over the same
// iteration space, summing over the dims the input does not use.
#mv = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i)>]
func.func private @mixed(%m: tensor<2x3xf64>, %v: tensor<3xf64>) -> tensor<f64> {
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<2xf64>
  %init = linalg.fill ins(%zero : f64) outs(%e : tensor<2xf64>) -> tensor<2xf64>
  %mv = linalg.generic {indexing_maps = #mv, iterator_types = ["parallel", "reduction"]}
      ins(%m, %v : tensor<2x3xf64>, tensor<3xf64>) outs(%init : tensor<2xf64>) {
  ^bb0(%a: f64, %b: f64, %acc: f64):
    %p = arith.mulf %a, %b : f64
    %s = arith.addf %acc, %p : f64
    linalg.yield %s : f64
  } -> tensor<2xf64>
  %e0 = tensor.empty() : tensor<f64>
  %init0 = linalg.fill ins(%zero : f64) outs(%e0 : tensor<f64>) -> tensor<f64>
  %sum = linalg.reduce ins(%mv : tensor<2xf64>) outs(%init0 : tensor<f64>) dimensions = [0]
    (%in: f64, %acc: f64) {
      %t = arith.addf %in, %acc : f64
      linalg.yield %t : f64
    }
  %v1 = tensor.extract %v[%c1] : tensor<3xf64>
  %v1t = tensor.from_elements %v1 : tensor<f64>
  %r = arith.addf %sum, %v1t : tensor<f64>
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @mixed.jacobian.0.1(
// CHECK: linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<2xf64>) dimensions = [0]
// The matrix's cotangent: both dims parallel. The vector's: the row dim is summed over.
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-SAME: outs(%{{.*}} : tensor<2x3xf64>)
// CHECK: %[[DV:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]
// CHECK-SAME: outs(%{{.*}} : tensor<3xf64>)
// The element read v[1] waits until v's cotangent is read, then joins the dense part.
// CHECK: %[[OLD:.*]] = tensor.extract %[[DV]][%{{.*}}] : tensor<3xf64>
// CHECK: %[[SUM:.*]] = arith.addf %[[OLD]], %{{.*}} : f64
// CHECK: tensor.insert %[[SUM]] into %[[DV]][%{{.*}}] : tensor<3xf64>
func.func @two_arguments(%m: tensor<2x3xf64>, %v: tensor<3xf64>) -> (tensor<2x3xf64>, tensor<3xf64>) {
  %g:2 = gradient.grad "auto" @mixed(%m, %v) {diffArgIndices = array<i64: 0, 1>}
      : (tensor<2x3xf64>, tensor<3xf64>) -> (tensor<2x3xf64>, tensor<3xf64>)
  return %g#0, %g#1 : tensor<2x3xf64>, tensor<3xf64>
}

// -----

// Classical callees are inlined into the forward part; gradients of gradients expand the inner
// one first. After canonicalization nothing but the derivative code is left.
func.func private @cube(%x: tensor<f64>) -> tensor<f64> {
  %y = arith.mulf %x, %x : tensor<f64>
  %z = arith.mulf %y, %x : tensor<f64>
  return %z : tensor<f64>
}
func.func private @cube_via_call(%x: tensor<f64>) -> tensor<f64> {
  %z = func.call @cube(%x) : (tensor<f64>) -> tensor<f64>
  return %z : tensor<f64>
}
func.func private @first(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @cube_via_call(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}
// CHECK-LABEL: func.func private @first.jacobian.0(
// CHECK-NOT: call @cube
// CHECK-NOT: gradient.grad
// CHECK: return
// CANON-LABEL: func.func @second(
// CANON: call @first.jacobian.0
func.func @second(%x: tensor<f64>) -> tensor<f64> {
  %h = gradient.grad "auto" @first(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %h : tensor<f64>
}


// -----

// A QNode call: its skeleton (here one mulf) is inlined and packs the gate parameters into %p;
// the circuit of %p, @q.with_jacobian, returns the expectation value and d<Z>/dp, computed
// once; the rule of that call multiplies the cotangent into J, and the skeleton's reverse
// carries it to x.
func.func private @q(%x: tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<diffMethod = "adjoint">} {
  %r = quantum.alloc(1)
  %two = arith.constant dense<2.0> : tensor<f64>
  %a = arith.mulf %x, %two : tensor<f64>
  %s = tensor.extract %a[] : tensor<f64>
  %q0 = quantum.extract %r[0]
  %q1 = quantum.custom "RX"(%s) %q0 : !quantum.bit
  %z = quantum.namedobs "PauliZ" %q1
  %e = quantum.expval %z
  %et = tensor.from_elements %e : tensor<f64>
  %r1 = quantum.insert %r[0], %q1
  quantum.dealloc %r1
  return %et : tensor<f64>
}
// CHECK-LABEL: func.func private @q.jacobian.0(
// CHECK-SAME: %[[X:.*]]: tensor<f64>)
// CHECK: %[[A:.*]] = arith.mulf %[[X]], %{{.*}} : tensor<f64>
// CHECK: %[[S:.*]] = tensor.extract %[[A]][]
// CHECK: %[[P:.*]] = tensor.from_elements %[[S]] : tensor<1xf64>
// CHECK: %[[C:.*]]:2 = call @q.with_jacobian.adjoint(%[[P]], %[[X]]) : (tensor<1xf64>, tensor<f64>) -> (tensor<f64>, tensor<1x1xf64>)
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}}, %[[C]]#1 : tensor<1xf64>, tensor<1x1xf64>)
// CHECK-LABEL: func.func private @q.with_jacobian.adjoint(
// CHECK-SAME: %[[PP:.*]]: tensor<1xf64>, %{{.*}}: tensor<f64>) -> (tensor<f64>, tensor<1x1xf64>)
// CHECK-NOT: gradient.circuit
// CHECK: quantum.alloc(1) {record_tape}
// CHECK: %[[P0:.*]] = tensor.extract %[[PP]][%{{.*}}] : tensor<1xf64>
// CHECK: quantum.custom "RX"(%[[P0]])
// CHECK: %[[J:.*]] = quantum.adjoint_jacobian %{{.*}} : tensor<1x1xf64>
// CHECK: quantum.dealloc
// CHECK: return %{{.*}}, %[[J]]
// The derivative function returns the values too; withValues uses them, grad drops them.
// CHECK-LABEL: func.func @grad_of_qnode(
// CHECK: %[[D:.*]]:2 = call @q.jacobian.0(%{{.*}}) : (tensor<f64>) -> (tensor<f64>, tensor<f64>)
// CHECK: return %[[D]]#1
func.func @grad_of_qnode(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @q(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}
// CHECK-LABEL: func.func @value_and_grad_of_qnode(
// CHECK: %[[D:.*]]:2 = call @q.jacobian.0(%{{.*}}) : (tensor<f64>) -> (tensor<f64>, tensor<f64>)
// CHECK: return %[[D]]#0, %[[D]]#1
func.func @value_and_grad_of_qnode(%x: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %v, %g = gradient.grad "auto" @q(%x) {diffArgIndices = array<i64: 0>, withValues} : (tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %v, %g : tensor<f64>, tensor<f64>
}

// -----

// A gate inside a loop: the number of parameters G is known at run time only. The skeleton
// counts them (a first loop threading an index), then fills p (a second loop threading the
// index and p, which the loop only overwrites, so its reverse does not record p); the circuit
// reads p[k] with the index threaded next to the register. Its Jacobian has a dynamic column
// count, so the circuit is inlined once the derivative is built.
func.func private @looped(%x: tensor<f64>, %n: index) -> tensor<f64> attributes {quantum.node = #quantum.node<diffMethod = "adjoint">} {
  %r = quantum.alloc(1)
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %s = tensor.extract %x[] : tensor<f64>
  %r1 = scf.for %i = %c0 to %n step %c1 iter_args(%reg = %r) -> (!quantum.reg) {
    %q0 = quantum.extract %reg[0]
    %q1 = quantum.custom "RX"(%s) %q0 : !quantum.bit
    %next = quantum.insert %reg[0], %q1
    scf.yield %next : !quantum.reg
  }
  %q = quantum.extract %r1[0]
  %z = quantum.namedobs "PauliZ" %q
  %e = quantum.expval %z
  %et = tensor.from_elements %e : tensor<f64>
  quantum.dealloc %r1
  return %et : tensor<f64>
}
// CHECK-LABEL: func.func private @looped.jacobian.0(
// CHECK: %[[G:.*]] = scf.for {{.*}} iter_args(%[[K:.*]] = %{{.*}}) -> (index) {
// CHECK:   arith.addi %[[K]]
// CHECK: %[[EMPTY:.*]] = tensor.empty(%[[G]]) : tensor<?xf64>
// CHECK: %[[FILL:.*]]:2 = scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %[[PK:.*]] = %[[EMPTY]]) -> (index, tensor<?xf64>) {
// CHECK:   tensor.insert %{{.*}} into %[[PK]]
// CHECK: quantum.alloc(1) {record_tape}
// CHECK: scf.for {{.*}} -> (!quantum.reg, index) {
// CHECK:   tensor.extract %[[FILL]]#1
// CHECK:   quantum.custom "RX"
// CHECK: quantum.adjoint_jacobian %{{.*}} params(%{{.*}}) : tensor<1x?xf64>
// CHECK-NOT: call @looped.with_jacobian
// CHECK-NOT: func.func private @looped.with_jacobian
func.func @grad_of_looped(%x: tensor<f64>, %n: index) -> tensor<f64> {
  %g = gradient.grad "auto" @looped(%x, %n) {diffArgIndices = array<i64: 0>} : (tensor<f64>, index) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// scf.while: the loop runs again with a counter (N iterations), a for loop over N records the
// state entering each, and the reverse goes through the final condition evaluation, then
// through the iterations in reverse (the condition region, then the body, reversed).
func.func private @double_until(%x: tensor<f64>) -> tensor<f64> {
  %r = scf.while (%c = %x) : (tensor<f64>) -> tensor<f64> {
    %e = tensor.extract %c[] : tensor<f64>
    %limit = arith.constant 10.0 : f64
    %go = arith.cmpf olt, %e, %limit : f64
    scf.condition(%go) %c : tensor<f64>
  } do {
  ^bb0(%c: tensor<f64>):
    %next = arith.mulf %c, %c : tensor<f64>
    scf.yield %next : tensor<f64>
  }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @double_until.jacobian.0(
// CHECK: scf.while
// CHECK: %[[COUNT:.*]]:2 = scf.while ({{.*}}) : (tensor<f64>, index) -> (tensor<f64>, index)
// CHECK: %[[TAPE:.*]] = tensor.empty(%[[COUNT]]#1) : tensor<?xf64>
// CHECK: %[[REC:.*]]:2 = scf.for {{.*}} to %[[COUNT]]#1 {{.*}} -> (tensor<f64>, tensor<?xf64>)
// CHECK: scf.for {{.*}} to %[[COUNT]]#1 {{.*}} -> (tensor<f64>)
// CHECK:   tensor.extract_slice %[[REC]]#1
func.func @grad_of_while(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @double_until(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// scf.for: the loop runs again recording the state entering each iteration (one row per
// iteration), then a loop over the iterations in reverse recomputes each body from its row and
// reverses it, carrying the state's cotangent and those of captured values (%w here).
func.func private @power(%x: tensor<f64>, %w: tensor<f64>) -> tensor<f64> {
  %c0 = arith.constant 0 : index
  %c3 = arith.constant 3 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%acc = %x) -> (tensor<f64>) {
    %next = arith.mulf %acc, %w : tensor<f64>
    scf.yield %next : tensor<f64>
  }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @power.jacobian.0.1(
// CHECK: %[[TRIPS:.*]] = arith.ceildivsi
// CHECK: %[[TAPE0:.*]] = tensor.empty(%[[TRIPS]]) : tensor<?xf64>
// CHECK: %[[REC:.*]]:2 = scf.for %{{.*}} = %{{.*}} to %[[TRIPS]] step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %[[TAPE0]]) -> (tensor<f64>, tensor<?xf64>)
// CHECK: %[[BACK:.*]]:2 = scf.for %[[K:.*]] = %{{.*}} to %[[TRIPS]] step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<f64>, tensor<f64>)
// CHECK:   %[[LAST:.*]] = arith.subi %[[TRIPS]], %{{.*}} : index
// CHECK:   %[[I:.*]] = arith.subi %[[LAST]], %[[K]] : index
// CHECK:   tensor.extract_slice %[[REC]]#1[%[[I]]] [1] [1] : tensor<?xf64> to tensor<f64>
// CHECK:   scf.yield
func.func @loop(%x: tensor<f64>, %w: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @power(%x, %w) {diffArgIndices = array<i64: 0, 1>}
      : (tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %g#0, %g#1 : tensor<f64>, tensor<f64>
}

// -----

// scf.if: the reverse is an scf.if on the same condition; each branch yields the cotangents of
// the captured values (here %x) from the branch that ran.
func.func private @choose(%x: tensor<f64>, %c: i1) -> tensor<f64> {
  %r = scf.if %c -> (tensor<f64>) {
    %s = math.sin %x : tensor<f64>
    scf.yield %s : tensor<f64>
  } else {
    %d = arith.mulf %x, %x : tensor<f64>
    scf.yield %d : tensor<f64>
  }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @choose.jacobian.0(
// CHECK-SAME: %[[X:.*]]: tensor<f64>, %[[C:.*]]: i1)
// CHECK: scf.if %[[C]] -> (tensor<f64>)
// CHECK: %[[BACK:.*]] = scf.if %[[C]] -> (tensor<f64>) {
// CHECK:   math.cos
// CHECK:   scf.yield
// CHECK: } else {
// CHECK:   scf.yield
// CHECK: }
func.func @branch(%x: tensor<f64>, %c: i1) -> tensor<f64> {
  %g = gradient.grad "auto" @choose(%x, %c) {diffArgIndices = array<i64: 0>} : (tensor<f64>, i1) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// One cotangent (a scalar cost of probabilities): the circuit is called for its values
// (@qp.values) and the rule of that call asks for ȳᵀJ (@qp.vjp.adjoint, quantum.adjoint_vjp),
// whose clone of the body drops the measurement the sweep does not need. A Jacobian of the
// probabilities (two outputs of one input: forward mode) computes J once
// (@qp.with_jacobian.adjoint).
// CHECK-LABEL: func.func private @qp.vjp.adjoint(
// CHECK-SAME: %{{.*}}: tensor<1xf64>, %{{.*}}: tensor<f64>, %[[YBAR:.*]]: tensor<2xf64>) -> tensor<1xf64>
// CHECK-NOT: gradient.circuit
// CHECK: quantum.alloc(1) {record_tape}
// CHECK-NOT: quantum.probs
// CHECK: %[[V:.*]] = quantum.adjoint_vjp probs(%{{.*}}) cotangent(%[[YBAR]] : tensor<2xf64>) {kinds = array<i64: 2>, probs_wires = array<i64: 1>} : tensor<1xf64>
// CHECK: return %[[V]]
// CHECK-LABEL: func.func private @qp.values(
// CHECK-NOT: gradient.circuit
// CHECK-NOT: record_tape
// CHECK: quantum.probs
// CHECK-LABEL: func.func private @qp.jacfwd.0(
// CHECK: call @qp.with_jacobian.adjoint(
// CHECK: scf.for
// CHECK-LABEL: func.func private @qp.with_jacobian.adjoint(
// CHECK: quantum.adjoint_jacobian probs(
// CHECK-LABEL: func.func private @cost.jacobian.0(
// CHECK: %[[P:.*]] = tensor.from_elements
// CHECK: %[[Y:.*]] = call @qp.values(%[[P]], %{{.*}}) : (tensor<1xf64>, tensor<f64>) -> tensor<2xf64>
// CHECK: %[[CT:.*]]:2 = linalg.generic
// CHECK: call @qp.vjp.adjoint(%[[P]], %{{.*}}, %[[CT]]#0)
func.func private @qp(%x: tensor<f64>) -> tensor<2xf64> attributes {quantum.node = #quantum.node<diffMethod = "adjoint">} {
  %r = quantum.alloc(1)
  %s = tensor.extract %x[] : tensor<f64>
  %q0 = quantum.extract %r[0]
  %q1 = quantum.custom "RX"(%s) %q0 : !quantum.bit
  %p = quantum.probs %q1 : tensor<2xf64>
  %r1 = quantum.insert %r[0], %q1
  quantum.dealloc %r1
  return %p : tensor<2xf64>
}
func.func private @cost(%x: tensor<f64>) -> tensor<f64> {
  %p = call @qp(%x) : (tensor<f64>) -> tensor<2xf64>
  %w = arith.constant dense<[0.5, -2.0]> : tensor<2xf64>
  %m = arith.mulf %p, %w : tensor<2xf64>
  %z = arith.constant dense<0.0> : tensor<f64>
  %s = linalg.reduce ins(%m : tensor<2xf64>) outs(%z : tensor<f64>) dimensions = [0]
    (%a: f64, %b: f64) { %t = arith.addf %a, %b : f64
      linalg.yield %t : f64 }
  return %s : tensor<f64>
}
func.func @grad_of_cost(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @cost(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}
func.func @jacobian_of_probs(%x: tensor<f64>) -> tensor<2xf64> {
  %g = gradient.grad "auto" @qp(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<2xf64>
  return %g : tensor<2xf64>
}

// -----

// Auxiliary results (numDiffResults = 1): only the first result is differentiated (one sweep);
// the second, an integer, is returned as a value. The derivative function's name says so.
func.func private @with_aux(%x: tensor<2xf64>) -> (tensor<f64>, tensor<i32>) {
  %z = arith.constant dense<0.0> : tensor<f64>
  %s = linalg.reduce ins(%x : tensor<2xf64>) outs(%z : tensor<f64>) dimensions = [0]
    (%a: f64, %b: f64) { %t = arith.addf %a, %b : f64
      linalg.yield %t : f64 }
  %n = arith.constant dense<2> : tensor<i32>
  return %s, %n : tensor<f64>, tensor<i32>
}
// CHECK-LABEL: func.func private @with_aux.jacobian.0.results1(
// CHECK-SAME: -> (tensor<f64>, tensor<i32>, tensor<2xf64>)
// CHECK-NOT: scf.for
// CHECK: return %{{.*}}, %{{.*}}, %{{.*}} : tensor<f64>, tensor<i32>, tensor<2xf64>
// CHECK-LABEL: func.func @grad_with_aux(
// CHECK: %[[D:.*]]:3 = call @with_aux.jacobian.0.results1(
// CHECK: return %[[D]]#0, %[[D]]#1, %[[D]]#2
func.func @grad_with_aux(%x: tensor<2xf64>) -> (tensor<f64>, tensor<i32>, tensor<2xf64>) {
  %v, %a, %g = gradient.grad "auto" @with_aux(%x) {diffArgIndices = array<i64: 0>, numDiffResults = 1, withValues} : (tensor<2xf64>) -> (tensor<f64>, tensor<i32>, tensor<2xf64>)
  return %v, %a, %g : tensor<f64>, tensor<i32>, tensor<2xf64>
}

// -----

// A QNode whose results reach only auxiliary results is called as it is: no skeleton, no
// circuit function, no rule (its measurements need not be differentiable).
func.func private @state_qnode(%x: tensor<f64>) -> tensor<2xcomplex<f64>> attributes {quantum.node = #quantum.node<diffMethod = "adjoint">} {
  %r = quantum.alloc(1)
  %s = tensor.extract %x[] : tensor<f64>
  %q0 = quantum.extract %r[0]
  %q1 = quantum.custom "RX"(%s) %q0 : !quantum.bit
  %st = quantum.state %q1 : tensor<2xcomplex<f64>>
  %r1 = quantum.insert %r[0], %q1
  quantum.dealloc %r1
  return %st : tensor<2xcomplex<f64>>
}
func.func private @cost_with_state(%x: tensor<f64>) -> (tensor<f64>, tensor<2xcomplex<f64>>) {
  %y = arith.mulf %x, %x : tensor<f64>
  %st = call @state_qnode(%x) : (tensor<f64>) -> tensor<2xcomplex<f64>>
  return %y, %st : tensor<f64>, tensor<2xcomplex<f64>>
}
// CHECK-LABEL: func.func private @cost_with_state.jacobian.0.results1(
// CHECK: call @state_qnode(%{{.*}}) : (tensor<f64>) -> tensor<2xcomplex<f64>>
// CHECK-NOT: state_qnode.
// CHECK: return
func.func @grad_with_state_aux(%x: tensor<f64>) -> (tensor<f64>, tensor<2xcomplex<f64>>, tensor<f64>) {
  %v, %st, %g = gradient.grad "auto" @cost_with_state(%x) {diffArgIndices = array<i64: 0>, numDiffResults = 1, withValues} : (tensor<f64>) -> (tensor<f64>, tensor<2xcomplex<f64>>, tensor<f64>)
  return %v, %st, %g : tensor<f64>, tensor<2xcomplex<f64>>, tensor<f64>
}

// -----

// Parameter-shift: @qs.with_jacobian.parameter_shift evaluates the circuit at p (every
// process), then its shifted evaluations form one batch (docs/distributed.md): each is guarded
// by quantum.owns_shift (zero where not owned) and the Jacobian, built from them, goes through
// quantum.combine_shifts before it is transposed. Without MPI in shift mode these ops change
// nothing.
func.func private @qs(%x: tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<diffMethod = "parameter-shift">} {
  %r = quantum.alloc(1)
  %s = tensor.extract %x[] : tensor<f64>
  %q0 = quantum.extract %r[0]
  %q1 = quantum.custom "RX"(%s) %q0 : !quantum.bit
  %z = quantum.namedobs "PauliZ" %q1
  %e = quantum.expval %z
  %et = tensor.from_elements %e : tensor<f64>
  %r1 = quantum.insert %r[0], %q1
  quantum.dealloc %r1
  return %et : tensor<f64>
}
// CHECK-LABEL: func.func private @qs.with_jacobian.parameter_shift(
// CHECK-SAME: %[[P:.*]]: tensor<1xf64>
// CHECK: call @qs.of_params(%[[P]]
// CHECK: quantum.shifts_begin
// CHECK: %[[LOOP:.*]] = scf.for
// CHECK:   %[[OWNS:.*]] = quantum.owns_shift
// CHECK:   scf.if %[[OWNS]] -> (tensor<1xf64>)
// CHECK:     call @qs.of_params(
// CHECK:   } else {
// CHECK:     arith.constant dense<0.000000e+00> : tensor<1xf64>
// CHECK:   %[[OWNS2:.*]] = quantum.owns_shift
// CHECK:   scf.if %[[OWNS2]] -> (tensor<1xf64>)
// CHECK:     call @qs.of_params(
// CHECK:   arith.subf
// CHECK: %[[SUM:.*]] = quantum.combine_shifts %[[LOOP]] : tensor<?x1xf64> -> tensor<?x1xf64>
// CHECK: linalg.transpose ins(%[[SUM]]
func.func @grad_of_shifted(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @qs(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}
