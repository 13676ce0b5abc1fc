// Every verifier error of gradient.grad.
// RUN: kvant-opt %s -split-input-file -verify-diagnostics

func.func private @f(tensor<f64>) -> tensor<f64>
func.func @bad_method(%x: tensor<f64>) {
  // expected-error @+1 {{method must be "auto" or "fd", got "magic"}}
  %g = gradient.grad "magic" @f(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return
}

// -----

func.func private @f(tensor<f64>) -> tensor<f64>
func.func @no_diff_args(%x: tensor<f64>) {
  // expected-error @+1 {{needs at least one differentiated argument}}
  gradient.grad "fd" @f(%x) {diffArgIndices = array<i64>, finiteDiffParam = 1.0e-07 : f64} : (tensor<f64>) -> ()
  return
}

// -----

func.func private @f(tensor<f64>) -> tensor<f64>
func.func @negative_index(%x: tensor<f64>) {
  // expected-error @+1 {{differentiated argument index -1 is negative}}
  %g = gradient.grad "fd" @f(%x) {diffArgIndices = array<i64: -1>, finiteDiffParam = 1.0e-07 : f64} : (tensor<f64>) -> tensor<f64>
  return
}

// -----

func.func private @f(tensor<f64>, tensor<f64>) -> tensor<f64>
func.func @duplicate_index(%x: tensor<f64>) {
  // expected-error @+1 {{differentiated argument index 1 appears more than once}}
  %g:2 = gradient.grad "fd" @f(%x, %x) {diffArgIndices = array<i64: 1, 1>, finiteDiffParam = 1.0e-07 : f64} : (tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return
}

// -----

func.func private @f(tensor<f64>) -> tensor<f64>
func.func @zero_step(%x: tensor<f64>) {
  // expected-error @+1 {{finiteDiffParam must be > 0, got 0}}
  %g = gradient.grad "fd" @f(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 0.0 : f64} : (tensor<f64>) -> tensor<f64>
  return
}

// -----

// The step is explicit: the default is the frontend's, written into every "fd" op.
func.func private @f(tensor<f64>) -> tensor<f64>
func.func @fd_without_step(%x: tensor<f64>) {
  // expected-error @+1 {{method "fd" needs the step h as finiteDiffParam}}
  %g = gradient.grad "fd" @f(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return
}

// -----

func.func private @f(tensor<f64>) -> tensor<f64>
func.func @auto_with_step(%x: tensor<f64>) {
  // expected-error @+1 {{finiteDiffParam is the step of method "fd"; method "auto" takes none}}
  %g = gradient.grad "auto" @f(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64} : (tensor<f64>) -> tensor<f64>
  return
}

// -----

func.func @missing_callee(%x: tensor<f64>) {
  // expected-error @+1 {{callee @nowhere does not exist}}
  %g = gradient.grad "fd" @nowhere(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64} : (tensor<f64>) -> tensor<f64>
  return
}

// -----

memref.global "private" @not_a_function : memref<f64>
func.func @callee_not_func(%x: tensor<f64>) {
  // expected-error @+1 {{callee @not_a_function must be a func.func, got 'memref.global'}}
  %g = gradient.grad "fd" @not_a_function(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64} : (tensor<f64>) -> tensor<f64>
  return
}

// -----

func.func private @f(tensor<f64>, tensor<f64>) -> tensor<f64>
func.func @operand_count(%x: tensor<f64>) {
  // expected-error @+1 {{has 1 operand(s) but callee @f takes 2}}
  %g = gradient.grad "fd" @f(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64} : (tensor<f64>) -> tensor<f64>
  return
}

// -----

func.func private @f(tensor<f64>) -> tensor<f64>
func.func @operand_type(%x: tensor<f32>) {
  // expected-error @+1 {{operand 0 has type 'tensor<f32>' but callee @f expects 'tensor<f64>'}}
  %g = gradient.grad "fd" @f(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64} : (tensor<f32>) -> tensor<f32>
  return
}

// -----

func.func private @f(tensor<f64>) -> tensor<f64>
func.func @index_out_of_range(%x: tensor<f64>) {
  // expected-error @+1 {{differentiated argument index 1 is out of range: callee @f has 1 argument(s)}}
  %g = gradient.grad "fd" @f(%x) {diffArgIndices = array<i64: 1>, finiteDiffParam = 1.0e-07 : f64} : (tensor<f64>) -> tensor<f64>
  return
}

// -----

func.func private @f(tensor<f64>, tensor<3xi64>) -> tensor<f64>
func.func @integer_argument(%x: tensor<f64>, %i: tensor<3xi64>) {
  // expected-error @+1 {{differentiated argument 1 must be a ranked tensor of floats, got 'tensor<3xi64>'}}
  %g = gradient.grad "fd" @f(%x, %i) {diffArgIndices = array<i64: 1>, finiteDiffParam = 1.0e-07 : f64} : (tensor<f64>, tensor<3xi64>) -> tensor<3xf64>
  return
}

// -----

func.func private @f(f64) -> tensor<f64>
func.func @scalar_argument(%x: f64) {
  // expected-error @+1 {{differentiated argument 0 must be a ranked tensor of floats, got 'f64'}}
  %g = gradient.grad "fd" @f(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64} : (f64) -> tensor<f64>
  return
}

// -----

func.func private @f(tensor<f64>) -> (tensor<f64>, i1)
func.func @non_float_result(%x: tensor<f64>) {
  // expected-error @+1 {{callee result 1 must be a ranked tensor of floats, got 'i1'}}
  %g:2 = gradient.grad "fd" @f(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64} : (tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return
}

// -----

func.func private @f(tensor<f64>) -> tensor<*xf64>
func.func @unranked_result(%x: tensor<f64>) {
  // expected-error @+1 {{callee result 0 must be a ranked tensor of floats, got 'tensor<*xf64>'}}
  %g = gradient.grad "fd" @f(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64} : (tensor<f64>) -> tensor<f64>
  return
}

// -----

func.func private @f(tensor<f64>, tensor<2xf64>) -> (tensor<f64>, tensor<3xf64>)
func.func @result_count(%x: tensor<f64>, %y: tensor<2xf64>) {
  // expected-error @+1 {{must have 4 result(s) (2 differentiated result(s) x 2 differentiated argument(s)), got 2}}
  %g:2 = gradient.grad "fd" @f(%x, %y) {diffArgIndices = array<i64: 0, 1>, finiteDiffParam = 1.0e-07 : f64} : (tensor<f64>, tensor<2xf64>) -> (tensor<f64>, tensor<2xf64>)
  return
}

// -----

func.func private @f(tensor<f64>, tensor<2xf64>) -> (tensor<f64>, tensor<3xf64>)
func.func @result_shape(%x: tensor<f64>, %y: tensor<2xf64>) {
  // expected-error @+1 {{result 3 (d result 1 / d argument 1) must have type 'tensor<3x2xf64>', got 'tensor<2x3xf64>'}}
  %g:4 = gradient.grad "fd" @f(%x, %y) {diffArgIndices = array<i64: 0, 1>, finiteDiffParam = 1.0e-07 : f64} : (tensor<f64>, tensor<2xf64>) -> (tensor<f64>, tensor<2xf64>, tensor<3xf64>, tensor<2x3xf64>)
  return
}

// -----

func.func private @f(tensor<2xf64>) -> tensor<f32>
func.func @argument_element_type(%x: tensor<2xf64>) {
  // The Jacobian takes the element type of the differentiated argument (as JAX).
  // expected-error @+1 {{result 0 (d result 0 / d argument 0) must have type 'tensor<2xf64>', got 'tensor<2xf32>'}}
  %g = gradient.grad "fd" @f(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64} : (tensor<2xf64>) -> tensor<2xf32>
  return
}

// -----

func.func private @f(tensor<f64>) -> tensor<f64>
func.func @non_float_jacobian(%x: tensor<f64>) {
  // expected-error @+1 {{result 0 (d result 0 / d argument 0) must have type 'tensor<f64>', got 'tensor<i64>'}}
  %g = gradient.grad "fd" @f(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64} : (tensor<f64>) -> tensor<i64>
  return
}

// -----

func.func private @f(tensor<2xf64>) -> tensor<f64>
func.func @values_first(%x: tensor<2xf64>) {
  // expected-error @+1 {{value result 0 must have the callee's result type 'tensor<f64>', got 'tensor<2xf64>'}}
  %v, %g = gradient.grad "auto" @f(%x) {diffArgIndices = array<i64: 0>, withValues} : (tensor<2xf64>) -> (tensor<2xf64>, tensor<2xf64>)
  return
}

// -----

func.func private @f(tensor<2xf64>) -> tensor<f64>
func.func @values_missing(%x: tensor<2xf64>) {
  // expected-error @+1 {{must have 2 result(s) (1 value(s), then 1 differentiated result(s) x 1 differentiated argument(s)), got 1}}
  %g = gradient.grad "auto" @f(%x) {diffArgIndices = array<i64: 0>, withValues} : (tensor<2xf64>) -> tensor<2xf64>
  return
}

// -----

func.func private @f(tensor<2xf64>) -> (tensor<f64>, tensor<i32>)
func.func @aux_without_values(%x: tensor<2xf64>) {
  // expected-error @+1 {{has auxiliary results (`numDiffResults`) but no `withValues` to return them}}
  %g = gradient.grad "auto" @f(%x) {diffArgIndices = array<i64: 0>, numDiffResults = 1} : (tensor<2xf64>) -> tensor<2xf64>
  return
}

// -----

func.func private @f(tensor<2xf64>) -> (tensor<f64>, tensor<i32>)
func.func @integer_result_differentiated(%x: tensor<2xf64>) {
  // expected-error @+1 {{callee result 1 must be a ranked tensor of floats, got 'tensor<i32>'}}
  %v, %a, %g, %h = gradient.grad "auto" @f(%x) {diffArgIndices = array<i64: 0>, withValues} : (tensor<2xf64>) -> (tensor<f64>, tensor<i32>, tensor<2xf64>, tensor<2xf64>)
  return
}

// -----

func.func private @f(tensor<2xf64>) -> tensor<f64>
func.func @too_many_differentiated(%x: tensor<2xf64>) {
  // expected-error @+1 {{differentiates 2 result(s) of a callee with 1}}
  %v, %g = gradient.grad "auto" @f(%x) {diffArgIndices = array<i64: 0>, numDiffResults = 2, withValues} : (tensor<2xf64>) -> (tensor<f64>, tensor<2xf64>)
  return
}

// -----

// Every verifier error of gradient.circuit, the role of a circuit function.

func.func private @q(tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<>}
// expected-error @+1 {{'gradient.circuit' must be a #gradient.circuit, got unit}}
func.func private @circuit_unit(tensor<1xf64>, tensor<f64>) -> tensor<f64> attributes {gradient.circuit}

// -----

func.func private @q(tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<>}
func.func @circuit_on_an_op() {
  // expected-error @+1 {{'gradient.circuit' marks functions only}}
  %c = arith.constant {gradient.circuit = #gradient.circuit<values of @q>} 1.0 : f64
  return
}

// -----

// expected-error @+1 {{'gradient.circuit' names @missing, which is not a QNode}}
func.func private @circuit_of_nothing(tensor<1xf64>, tensor<f64>) -> tensor<f64>
    attributes {gradient.circuit = #gradient.circuit<values of @missing>}

// -----

func.func private @classical(tensor<f64>) -> tensor<f64>
// expected-error @+1 {{'gradient.circuit' names @classical, which is not a QNode}}
func.func private @circuit_of_a_classical_function(tensor<1xf64>, tensor<f64>) -> tensor<f64>
    attributes {gradient.circuit = #gradient.circuit<values of @classical>}

// -----

// expected-error @+2 {{expected ::kvant::gradient::CircuitRole to be one of: jacobian, values, vjp, shiftable_jacobian}}
// expected-error @+1 {{failed to parse Gradient_CircuitAttr parameter 'role'}}
func.func private @circuit_role() attributes {gradient.circuit = #gradient.circuit<hessian of @q>}

// -----

func.func private @q(tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<>}
// expected-error @+1 {{of role 'jacobian': expected the results of the QNode and a tensor<MxGxf64>, got 'tensor<f64>'}}
func.func private @jacobian_without_jacobian(tensor<1xf64>, tensor<f64>) -> tensor<f64>
    attributes {gradient.circuit = #gradient.circuit<jacobian of @q>}

// -----

func.func private @q(tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<>}
// expected-error @+1 {{of role 'jacobian': expected the results of the QNode and a tensor<MxGxf64>, got 'tensor<f64>', 'tensor<1x3xf64>'}}
func.func private @jacobian_of_other_parameters(tensor<2xf64>, tensor<f64>) -> (tensor<f64>, tensor<1x3xf64>)
    attributes {gradient.circuit = #gradient.circuit<jacobian of @q>}

// -----

func.func private @q(tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<>}
// expected-error @+1 {{of role 'values': expected the inputs (tensor<Gxf64>, 'tensor<f64>') of QNode @q, got 'tensor<f64>'}}
func.func private @values_without_parameters(tensor<f64>) -> tensor<f64>
    attributes {gradient.circuit = #gradient.circuit<values of @q>}

// -----

func.func private @q(tensor<f64>) -> tensor<2xf64> attributes {quantum.node = #quantum.node<>}
// expected-error @+1 {{of role 'vjp': expected a cotangent tensor<Mxf64> and the result 'tensor<1xf64>', got 'tensor<2xf64>' and 'tensor<2xf64>'}}
func.func private @vjp_result(tensor<1xf64>, tensor<f64>, tensor<2xf64>) -> tensor<2xf64>
    attributes {gradient.circuit = #gradient.circuit<vjp of @q>}

// -----

func.func private @q(tensor<f64>) -> tensor<f64> attributes {quantum.node = #quantum.node<>}
// expected-error @+1 {{of role 'shiftable_jacobian': expected a tensor<f64> per variance and a tensor<MxGxf64>, got 'tensor<2xf64>', 'tensor<2x1xf64>'}}
func.func private @shiftable_expvals(tensor<1xf64>, tensor<f64>) -> (tensor<2xf64>, tensor<2x1xf64>)
    attributes {gradient.circuit = #gradient.circuit<shiftable_jacobian of @q>}

// -----

// Every verifier error of gradient.inline_when_expanded.

// expected-error @+1 {{'gradient.inline_when_expanded' is a unit attribute, got true}}
func.func private @inline_flag(tensor<?xf64>) -> tensor<?xf64>
    attributes {gradient.inline_when_expanded = true}

// -----

func.func @inline_constant() {
  // expected-error @+1 {{'gradient.inline_when_expanded' marks func.func ops only}}
  %c = arith.constant {gradient.inline_when_expanded} 1.0 : f64
  return
}

// -----

// expected-error @+1 {{'gradient.inline_when_expanded' marks private functions only (they are erased once inlined)}}
func.func @inline_public(%p: tensor<?xf64>) -> tensor<?xf64>
    attributes {gradient.inline_when_expanded} {
  return %p : tensor<?xf64>
}

// -----

// expected-error @+1 {{'gradient.inline_when_expanded' marks functions with a result of dynamic shape, got results 'tensor<f64>', 'tensor<1x2xf64>'}}
func.func private @inline_static(tensor<?xf64>) -> (tensor<f64>, tensor<1x2xf64>)
    attributes {gradient.inline_when_expanded}

// -----

// expected-error @+1 {{unknown attribute 'gradient.role' of the gradient dialect}}
func.func private @misspelt() attributes {gradient.role = 1 : i64}

// -----

// Every verifier error of gradient.custom_vjp.

// expected-error @+1 {{'gradient.custom_vjp' must be a flat symbol reference, got "g"}}
func.func private @vjp_string(tensor<f64>) -> tensor<f64> attributes {gradient.custom_vjp = "g"}

// -----

// expected-error @+1 {{'gradient.custom_vjp' names @missing, which is not a function}}
func.func private @vjp_missing(tensor<f64>) -> tensor<f64> attributes {gradient.custom_vjp = @missing}

// -----

func.func @vjp_on_constant() {
  // expected-error @+1 {{'gradient.custom_vjp' marks functions only}}
  %c = arith.constant {gradient.custom_vjp = @vjp_on_constant} 1.0 : f64
  return
}

// -----

// The integer argument and result carry no cotangent: @g takes (f64, i32, f64, i32, f64 ct)
// and returns one cotangent.
func.func private @g(tensor<f64>, tensor<i32>, tensor<f64>, tensor<i32>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
// expected-error @+1 {{'gradient.custom_vjp' names @g of type '(tensor<f64>, tensor<i32>, tensor<f64>, tensor<i32>, tensor<f64>) -> (tensor<f64>, tensor<f64>)', expected '(tensor<f64>, tensor<i32>, tensor<f64>, tensor<i32>, tensor<f64>) -> tensor<f64>'}}
func.func private @vjp_type(tensor<f64>, tensor<i32>) -> (tensor<f64>, tensor<i32>) attributes {gradient.custom_vjp = @g}
