// RUN: kvant-opt %s --gradient-expand-auto -split-input-file -verify-diagnostics

// Ops without a rule are reported where they are, with a pointer to method "fd".
func.func private @no_rule(%x: tensor<2x2xf64>) -> tensor<2x2xf64> {
  %init = arith.constant dense<0.0> : tensor<2x2xf64>
  // expected-error@+1 {{kvant has no derivative rule for 'linalg.matmul'}}
  %r = linalg.matmul ins(%x, %x : tensor<2x2xf64>, tensor<2x2xf64>) outs(%init : tensor<2x2xf64>) -> tensor<2x2xf64>
  return %r : tensor<2x2xf64>
}
func.func @square(%x: tensor<2x2xf64>) -> tensor<2x2x2x2xf64> {
  %g = gradient.grad "auto" @no_rule(%x) {diffArgIndices = array<i64: 0>} : (tensor<2x2xf64>) -> tensor<2x2x2x2xf64>
  return %g : tensor<2x2x2x2xf64>
}

// -----

// A QNode is differentiated through its measurements: one that returns something else is
// reported, by name.
func.func private @circuit(%x: tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<>} {
  return %x : tensor<f64>
}
func.func private @cost(%x: tensor<f64>) -> tensor<f64> {
  // expected-error@+1 {{QNode 'circuit': method="auto" differentiates QNodes that return expectation values}}
  %y = func.call @circuit(%x) : (tensor<f64>) -> tensor<f64>
  return %y : tensor<f64>
}
func.func @grad_of_qnode(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @cost(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// A product from another initial value than 1: the rule's formula assumes the identity.
func.func private @product_from(%x: tensor<3xf64>, %y: tensor<f64>) -> tensor<f64> {
  // expected-error @+1 {{kvant differentiates a reduction by 'arith.mulf' only from a constant initial value of 1}}
  %p = linalg.reduce ins(%x : tensor<3xf64>) outs(%y : tensor<f64>) dimensions = [0]
    (%a: f64, %b: f64) { %t = arith.mulf %a, %b : f64
      linalg.yield %t : f64 }
  return %p : tensor<f64>
}
func.func @grad_of_product_from(%x: tensor<3xf64>, %y: tensor<f64>) -> tensor<3xf64> {
  %g = gradient.grad "auto" @product_from(%x, %y) {diffArgIndices = array<i64: 0>} : (tensor<3xf64>, tensor<f64>) -> tensor<3xf64>
  return %g : tensor<3xf64>
}

// -----

// A maximum from a value that is not a constant would owe it a cotangent when it wins.
func.func private @max_from(%x: tensor<3xf64>, %y: tensor<f64>) -> tensor<f64> {
  // expected-error @+1 {{kvant differentiates a reduction by 'arith.maximumf' only from a constant initial value}}
  %p = linalg.reduce ins(%x : tensor<3xf64>) outs(%y : tensor<f64>) dimensions = [0]
    (%a: f64, %b: f64) { %t = arith.maximumf %a, %b : f64
      linalg.yield %t : f64 }
  return %p : tensor<f64>
}
func.func @grad_of_max_from(%x: tensor<3xf64>, %y: tensor<f64>) -> tensor<3xf64> {
  %g = gradient.grad "auto" @max_from(%x, %y) {diffArgIndices = array<i64: 0>} : (tensor<3xf64>, tensor<f64>) -> tensor<3xf64>
  return %g : tensor<3xf64>
}

// -----

// A padding value computed inside the region would need the region reversed. (One output for
// two inputs: reverse mode; with more outputs than inputs the forward sweeps take it.)
func.func private @pad_computed(%x: tensor<2xf64>, %v: f64) -> tensor<1xf64> {
  // expected-error @+1 {{kvant cannot differentiate tensor.pad with a padding value computed inside its region}}
  %p = tensor.pad %x low[1] high[1] {
  ^bb0(%i: index):
    %w = arith.mulf %v, %v : f64
    tensor.yield %w : f64
  } : tensor<2xf64> to tensor<4xf64>
  %s = tensor.extract_slice %p[1] [1] [1] : tensor<4xf64> to tensor<1xf64>
  return %s : tensor<1xf64>
}
func.func @grad_of_pad_computed(%x: tensor<2xf64>, %v: f64) -> tensor<1x2xf64> {
  %g = gradient.grad "auto" @pad_computed(%x, %v) {diffArgIndices = array<i64: 0>} : (tensor<2xf64>, f64) -> tensor<1x2xf64>
  return %g : tensor<1x2xf64>
}

// -----

// An op with complex operands but no rule (complex.angle; the frontend spells jnp.angle as
// atan2 of the parts) is refused by the engine, by name, as any op without a rule.
func.func private @through_angle(%t: tensor<f64>) -> tensor<f64> {
  %x = tensor.extract %t[] : tensor<f64>
  %one = arith.constant 1.0 : f64
  %z = complex.create %x, %one : complex<f64>
  // expected-error@+1 {{kvant has no derivative rule for 'complex.angle' (method="auto"); method="fd" differentiates any program}}
  %r = complex.angle %z : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
func.func @grad_through_angle(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @through_angle(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// The quantum rules differentiate gate parameters: a QubitUnitary matrix computed from a
// differentiated argument is refused by name (its derivative would be lost), ...
func.func private @rotated(%x: tensor<f64>, %y: tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<diffMethod = "adjoint">} {
  %r = quantum.alloc(1)
  %s = tensor.extract %x[] : tensor<f64>
  %zero = arith.constant 0.0 : f64
  %c = math.cos %s : f64
  %sn = math.sin %s : f64
  %diag = complex.create %c, %zero : complex<f64>
  %off = complex.create %zero, %sn : complex<f64>
  %u = tensor.from_elements %diag, %off, %off, %diag : tensor<2x2xcomplex<f64>>
  %q0 = quantum.extract %r[0]
  // expected-note@+1 {{the quantum operation is here}}
  %q1 = quantum.unitary(%u : tensor<2x2xcomplex<f64>>) %q0 : !quantum.bit
  %t = tensor.extract %y[] : tensor<f64>
  %q2 = quantum.custom "RY"(%t) %q1 : !quantum.bit
  %z = quantum.namedobs "PauliZ" %q2
  %e = quantum.expval %z
  %et = tensor.from_elements %e : tensor<f64>
  %r1 = quantum.insert %r[0], %q2
  quantum.dealloc %r1
  return %et : tensor<f64>
}
func.func @grad_of_matrix_argument(%x: tensor<f64>, %y: tensor<f64>) -> tensor<f64> {
  // expected-error@+1 {{QNode 'rotated': a value computed from a differentiated argument is used as the matrix of a QubitUnitary; method="auto" differentiates circuits through their gate parameters only}}
  %g = gradient.grad "auto" @rotated(%x, %y) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}
// ... but with respect to the gate parameter's argument alone, the matrix is a constant: no error.
func.func @grad_of_parameter_argument(%x: tensor<f64>, %y: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @rotated(%x, %y) {diffArgIndices = array<i64: 1>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// A complex value that only decides a comparison carries no derivative: no error.
func.func private @complex_in_a_test(%t: tensor<f64>) -> tensor<f64> {
  %x = tensor.extract %t[] : tensor<f64>
  %zero = arith.constant 0.0 : f64
  %z = complex.create %x, %zero : complex<f64>
  %a = complex.abs %z : complex<f64>
  %small = arith.cmpf olt, %a, %zero : f64
  %r = arith.select %small, %zero, %x : f64
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
func.func @grad_with_complex_test(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @complex_in_a_test(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// A loop is reversed by running it again to record it: a loop around quantum ops outside a
// QNode would run its gates twice (the quantum rule set marks the dialect stateful).
func.func private @loop_around_gates(%x: tensor<f64>) -> tensor<f64> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  // expected-error@+1 {{kvant cannot differentiate a loop around gates outside a QNode}}
  %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%a = %x) -> (tensor<f64>) {
    %reg = quantum.alloc(1)
    quantum.dealloc %reg
    %b = arith.mulf %a, %a : tensor<f64>
    scf.yield %b : tensor<f64>
  }
  return %r : tensor<f64>
}
func.func @grad_loop_around_gates(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @loop_around_gates(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// Calls left in the forward code (of functions without a body) have a rule only when their
// callee carries an attribute a rule set claims (gradient.circuit: the quantum rules).
func.func private @external(tensor<f64>) -> tensor<f64>
func.func private @calls_external(%x: tensor<f64>) -> tensor<f64> {
  // expected-error@+1 {{kvant cannot differentiate this call of 'external'}}
  %y = func.call @external(%x) : (tensor<f64>) -> tensor<f64>
  return %y : tensor<f64>
}
func.func @grad_calls_external(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @calls_external(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// What a QNode declares (#quantum.node) is asked of method="auto"'s admissibility table, the one
// the frontend asks while it traces (AutoMethod.h): each refusal by name, before the body is read.
func.func private @qnode_non_differentiable(%x: tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<diffMethod = "None", measurements = ["expval"]>} {
  return %x : tensor<f64>
}
func.func private @cost_non_differentiable(%x: tensor<f64>) -> tensor<f64> {
  // expected-error@+1 {{QNode 'non_differentiable' is marked non-differentiable (diff_method=None)}}
  %y = func.call @qnode_non_differentiable(%x) : (tensor<f64>) -> tensor<f64>
  return %y : tensor<f64>
}
func.func @grad_non_differentiable(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @cost_non_differentiable(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

func.func private @qnode_finite_diff(%x: tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<diffMethod = "finite-diff", measurements = ["expval"]>} {
  return %x : tensor<f64>
}
func.func private @cost_finite_diff(%x: tensor<f64>) -> tensor<f64> {
  // expected-error@+1 {{QNode 'finite_diff' has diff_method='finite-diff', which kvant does not use with method='auto'; use diff_method='adjoint' or 'parameter-shift', or differentiate the whole program with method='fd'}}
  %y = func.call @qnode_finite_diff(%x) : (tensor<f64>) -> tensor<f64>
  return %y : tensor<f64>
}
func.func @grad_finite_diff(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @cost_finite_diff(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

func.func private @qnode_state(%x: tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<diffMethod = "adjoint", measurements = ["state"]>} {
  return %x : tensor<f64>
}
func.func private @cost_state(%x: tensor<f64>) -> tensor<f64> {
  // expected-error@+1 {{QNode 'state' returns qml.state(), which is not differentiable with method='auto'}}
  %y = func.call @qnode_state(%x) : (tensor<f64>) -> tensor<f64>
  return %y : tensor<f64>
}
func.func @grad_state(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @cost_state(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

func.func private @qnode_adjoint_shots(%x: tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<diffMethod = "adjoint", measurements = ["expval"], shots = 100>} {
  return %x : tensor<f64>
}
func.func private @cost_adjoint_shots(%x: tensor<f64>) -> tensor<f64> {
  // expected-error@+1 {{QNode 'adjoint_shots' has shots=100; the adjoint method computes exact derivatives of the state and has no shot semantics}}
  %y = func.call @qnode_adjoint_shots(%x) : (tensor<f64>) -> tensor<f64>
  return %y : tensor<f64>
}
func.func @grad_adjoint_shots(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @cost_adjoint_shots(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

func.func private @qnode_sampled_variance(%x: tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<diffMethod = "parameter-shift", measurements = ["var"], shots = 100>} {
  return %x : tensor<f64>
}
func.func private @cost_sampled_variance(%x: tensor<f64>) -> tensor<f64> {
  // expected-error@+1 {{QNode 'sampled_variance' has shots=100: with shots, method='auto' differentiates estimates of expectation values and probabilities, not of 'var'}}
  %y = func.call @qnode_sampled_variance(%x) : (tensor<f64>) -> tensor<f64>
  return %y : tensor<f64>
}
func.func @grad_sampled_variance(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @cost_sampled_variance(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}
