// Every verifier error of the quantum dialect.
// RUN: kvant-opt %s -split-input-file -verify-diagnostics

func.func @alloc_zero() {
  // expected-error @+1 {{'quantum.alloc' op needs at least 1 qubit, got 0}}
  %r = quantum.alloc(0)
  return
}

// -----

func.func @extract_no_index(%r: !quantum.reg) {
  // expected-error @+1 {{needs exactly one of a dynamic index operand or the 'idx_attr' attribute}}
  %q = "quantum.extract"(%r) : (!quantum.reg) -> !quantum.bit
  return
}

// -----

func.func @extract_two_indices(%r: !quantum.reg, %i: i64) {
  // expected-error @+1 {{needs exactly one of a dynamic index operand or the 'idx_attr' attribute}}
  %q = "quantum.extract"(%r, %i) <{idx_attr = 0 : i64}> : (!quantum.reg, i64) -> !quantum.bit
  return
}

// -----

func.func @extract_negative(%r: !quantum.reg) {
  // expected-error @+1 {{qubit index must be non-negative, got -1}}
  %q = quantum.extract %r[-1]
  return
}

// -----

func.func @extract_out_of_range() {
  %r = quantum.alloc(2)
  // expected-error @+1 {{qubit index 2 is out of range for a register of 2 qubit(s)}}
  %q = quantum.extract %r[2]
  return
}

// -----

func.func @insert_no_index(%r: !quantum.reg, %q: !quantum.bit) {
  // expected-error @+1 {{needs exactly one of a dynamic index operand or the 'idx_attr' attribute}}
  %r1 = "quantum.insert"(%r, %q) : (!quantum.reg, !quantum.bit) -> !quantum.reg
  return
}

// -----

func.func @insert_negative(%r: !quantum.reg, %q: !quantum.bit) {
  // expected-error @+1 {{'quantum.insert' op qubit index must be non-negative, got -3}}
  %r1 = quantum.insert %r[-3], %q
  return
}

// -----

func.func @unknown_gate(%q: !quantum.bit) {
  // expected-error @+1 {{unknown gate "Foo" (gates.def has: Identity, Hadamard,}}
  %q1 = quantum.custom "Foo"() %q : !quantum.bit
  return
}

// -----

func.func @gate_params(%q: !quantum.bit, %t: f64) {
  // expected-error @+1 {{gate "RX" takes 1 parameter(s), got 2}}
  %q1 = quantum.custom "RX"(%t, %t) %q : !quantum.bit
  return
}

// -----

func.func @gate_wires(%q: !quantum.bit) {
  // expected-error @+1 {{gate "CNOT" acts on 2 qubit(s), got 1}}
  %q1 = quantum.custom "CNOT"() %q : !quantum.bit
  return
}

// -----

func.func @variable_width_gate_needs_a_wire(%t: f64) {
  // expected-error @+1 {{gate "MultiRZ" needs at least 1 qubit}}
  quantum.custom "MultiRZ"(%t) ()
  return
}

// -----

func.func @gate_outputs(%q: !quantum.bit) {
  // expected-error @+1 {{has 1 input qubit(s) but 2 output qubit(s)}}
  %a, %b = "quantum.custom"(%q) <{gate_name = "Hadamard", operandSegmentSizes = array<i32: 0, 1, 0, 0>, resultSegmentSizes = array<i32: 2, 0>}> : (!quantum.bit) -> (!quantum.bit, !quantum.bit)
  return
}

// -----

func.func @gate_ctrl_outputs(%q: !quantum.bit, %c: !quantum.bit, %v: i1) {
  // expected-error @+1 {{has 1 input control qubit(s) but 0 output control qubit(s)}}
  %a = "quantum.custom"(%q, %c, %v) <{gate_name = "Hadamard", operandSegmentSizes = array<i32: 0, 1, 1, 1>, resultSegmentSizes = array<i32: 1, 0>}> : (!quantum.bit, !quantum.bit, i1) -> !quantum.bit
  return
}

// -----

func.func @gate_ctrl_values(%q: !quantum.bit, %c: !quantum.bit, %v: i1) {
  // expected-error @+1 {{has 1 control qubit(s) but 2 control value(s)}}
  %a, %b = quantum.custom "PauliX"() %q ctrls(%c) ctrlvals(%v, %v) : !quantum.bit ctrls !quantum.bit
  return
}

// -----

func.func @unitary_no_target(%m: tensor<1x1xcomplex<f64>>) {
  // expected-error @+1 {{'quantum.unitary' op needs at least 1 target qubit}}
  quantum.unitary(%m : tensor<1x1xcomplex<f64>>) ()
  return
}

// -----

func.func @unitary_matrix_size(%m: tensor<2x2xcomplex<f64>>, %a: !quantum.bit, %b: !quantum.bit) {
  // expected-error @+1 {{matrix must be 4x4 for 2 qubit(s), got 'tensor<2x2xcomplex<f64>>'}}
  %r:2 = quantum.unitary(%m : tensor<2x2xcomplex<f64>>) %a, %b : !quantum.bit, !quantum.bit
  return
}

// -----

func.func @unitary_dynamic_matrix(%m: tensor<?x?xcomplex<f64>>, %a: !quantum.bit) {
  // expected-error @+1 {{matrix must be 2x2 for 1 qubit(s), got 'tensor<?x?xcomplex<f64>>'}}
  %r = quantum.unitary(%m : tensor<?x?xcomplex<f64>>) %a : !quantum.bit
  return
}

// -----

func.func @unitary_ctrl_values(%m: tensor<2x2xcomplex<f64>>, %a: !quantum.bit, %c: !quantum.bit) {
  // expected-error @+1 {{has 1 control qubit(s) but 0 control value(s)}}
  %r, %rc = quantum.unitary(%m : tensor<2x2xcomplex<f64>>) %a ctrls(%c) : !quantum.bit ctrls !quantum.bit
  return
}

// -----

func.func @unitary_outputs(%m: tensor<2x2xcomplex<f64>>, %a: !quantum.bit) {
  // expected-error @+1 {{has 1 input qubit(s) but 0 output qubit(s)}}
  "quantum.unitary"(%m, %a) <{operandSegmentSizes = array<i32: 1, 1, 0, 0>, resultSegmentSizes = array<i32: 0, 0>}> : (tensor<2x2xcomplex<f64>>, !quantum.bit) -> ()
  return
}

// -----

func.func @unknown_observable(%q: !quantum.bit) {
  // expected-error @+1 {{unknown observable "PauliW" (observables.def has: Identity, PauliX, PauliY, PauliZ, Hadamard)}}
  %o = quantum.namedobs "PauliW" %q
  return
}

// -----

func.func @empty_tensorobs() {
  // expected-error @+1 {{'quantum.tensorobs' op needs at least 1 factor}}
  %o = quantum.tensorobs
  return
}

// -----

func.func @hermitian_no_qubit(%m: tensor<1x1xcomplex<f64>>) {
  // expected-error @+1 {{'quantum.hermitian' op needs at least 1 qubit}}
  %o = quantum.hermitian(%m : tensor<1x1xcomplex<f64>>)
  return
}

// -----

func.func @hermitian_matrix_size(%m: tensor<2x4xcomplex<f64>>, %q: !quantum.bit) {
  // expected-error @+1 {{matrix must be 2x2 for 1 qubit(s), got 'tensor<2x4xcomplex<f64>>'}}
  %o = quantum.hermitian(%m : tensor<2x4xcomplex<f64>>) %q
  return
}

// -----

func.func @hamiltonian_no_term(%c: tensor<0xf64>) {
  // expected-error @+1 {{'quantum.hamiltonian' op needs at least 1 term}}
  %o = quantum.hamiltonian(%c : tensor<0xf64>)
  return
}

// -----

func.func @hamiltonian_lengths(%c: tensor<3xf64>, %a: !quantum.obs, %b: !quantum.obs) {
  // expected-error @+1 {{has 3 coefficient(s) but 2 term(s)}}
  %o = quantum.hamiltonian(%c : tensor<3xf64>) %a, %b
  return
}

// -----

func.func @probs_no_qubit() {
  // expected-error @+1 {{'quantum.probs' op needs at least 1 qubit}}
  %p = quantum.probs : tensor<1xf64>
  return
}

// -----

func.func @probs_size(%a: !quantum.bit, %b: !quantum.bit) {
  // expected-error @+1 {{result must hold 4 probabilities for 2 qubit(s), got 'tensor<2xf64>'}}
  %p = quantum.probs %a, %b : tensor<2xf64>
  return
}

// -----

func.func @probs_dynamic(%a: !quantum.bit) {
  // expected-error @+1 {{result must hold 2 probabilities for 1 qubit(s), got 'tensor<?xf64>'}}
  %p = quantum.probs %a : tensor<?xf64>
  return
}

// -----

func.func @state_no_qubit() {
  // expected-error @+1 {{'quantum.state' op needs at least 1 qubit}}
  %s = quantum.state : tensor<1xcomplex<f64>>
  return
}

// -----

func.func @state_size(%a: !quantum.bit, %b: !quantum.bit, %c: !quantum.bit) {
  // expected-error @+1 {{result must hold 8 amplitudes for 3 qubit(s), got 'tensor<4xcomplex<f64>>'}}
  %s = quantum.state %a, %b, %c : tensor<4xcomplex<f64>>
  return
}

// -----

func.func @basis_state_bits(%bits: tensor<3xi8>, %q: !quantum.bit) {
  // expected-error @+1 {{needs one bit per qubit: 1 qubit(s), 3 bit(s)}}
  %q1 = quantum.basis_state(%bits : tensor<3xi8>) %q : !quantum.bit
  return
}

// -----

func.func @state_prep_size(%amps: tensor<3xcomplex<f64>>, %q: !quantum.bit) {
  // expected-error @+1 {{result must hold 2 amplitudes for 1 qubit(s)}}
  %q1 = quantum.state_prep(%amps : tensor<3xcomplex<f64>>) %q : !quantum.bit
  return
}

// -----

func.func @measure_postselect(%q: !quantum.bit) {
  // expected-error @+1 {{postselect must be 0 or 1, got 2}}
  %m, %q1 = quantum.measure %q {postselect = 2}
  return
}

// -----

func.func @sample_shape(%q: !quantum.bit) {
  // expected-error @+1 {{result must be tensor<5x1xi64> (shots x qubits)}}
  %s = quantum.sample %q {shots = 5} : tensor<4x1xi64>
  return
}

// -----

func.func @counts_shots(%q: !quantum.bit) {
  // expected-error @+1 {{needs shots >= 1, got 0}}
  %c = quantum.counts %q {shots = 0} : tensor<2xi64>
  return
}

// -----

func.func @adjoint_jacobian_rows(%o: !quantum.obs) {
  // expected-error @+1 {{has 1 measurement entries but 2 rows}}
  %j = quantum.adjoint_jacobian %o : tensor<2x3xf64>
  return
}

// -----

func.func @adjoint_jacobian_dynamic_columns(%o: !quantum.obs) {
  // expected-error @+1 {{takes `num_params` exactly when the number of columns is dynamic}}
  %j = quantum.adjoint_jacobian %o : tensor<1x?xf64>
  return
}

// -----

func.func @adjoint_jacobian_kinds_and_observables(%o: !quantum.obs) {
  // expected-error @+1 {{has 1 observables for 2 expval/var measurements}}
  %j = quantum.adjoint_jacobian %o {kinds = array<i64: 1, 0>} : tensor<2x3xf64>
  return
}

// -----

func.func @adjoint_jacobian_probs_rows(%o: !quantum.obs, %q: !quantum.bit) {
  // expected-error @+1 {{has 3 measurement entries but 2 rows}}
  %j = quantum.adjoint_jacobian %o probs(%q) {kinds = array<i64: 0, 2>, probs_wires = array<i64: 1>} : tensor<2x3xf64>
  return
}

// -----

func.func @adjoint_vjp_cotangent_size(%o: !quantum.obs, %w: tensor<3xf64>) {
  // expected-error @+1 {{has 1 measurement entries but a cotangent of 3}}
  %v = quantum.adjoint_vjp %o cotangent(%w : tensor<3xf64>) : tensor<2xf64>
  return
}

// -----

func.func @adjoint_vjp_dynamic_cotangent(%o: !quantum.obs, %w: tensor<?xf64>) {
  // expected-error @+1 {{needs a cotangent of static size}}
  %v = quantum.adjoint_vjp %o cotangent(%w : tensor<?xf64>) : tensor<2xf64>
  return
}

// -----

func.func @adjoint_vjp_dynamic_gradient(%o: !quantum.obs, %w: tensor<1xf64>) {
  // expected-error @+1 {{takes `num_params` exactly when the gradient's size is dynamic}}
  %v = quantum.adjoint_vjp %o cotangent(%w : tensor<1xf64>) : tensor<?xf64>
  return
}

// -----

// expected-error @+1 {{'quantum.node' must be a #quantum.node, got 1 : i64}}
func.func private @node_not_an_attribute_of_the_dialect() attributes {quantum.node = 1 : i64}

// -----

func.func @node_on_an_op() {
  // expected-error @+1 {{'quantum.node' marks functions only}}
  %c = arith.constant {quantum.node = #quantum.node<>} 1.0 : f64
  return
}

// -----

// expected-error @+1 {{unknown diffMethod "backprop"}}
func.func private @node_diff_method() attributes {quantum.node = #quantum.node<diffMethod = "backprop">}

// -----

// expected-error @+1 {{unknown measurement "expectation"}}
func.func private @node_measurement() attributes {quantum.node = #quantum.node<measurements = ["expectation"]>}

// -----

// expected-error @+1 {{shots must be positive (0 for exact results), got -3}}
func.func private @node_shots() attributes {quantum.node = #quantum.node<shots = -3>}

// -----

// expected-error @+1 {{'quantum.node' names 2 measurements for 1 results}}
func.func private @node_measurement_count(%x: tensor<f64>) -> tensor<f64>
    attributes {quantum.node = #quantum.node<measurements = ["expval", "var"]>}

// -----

// expected-error @+1 {{unknown attribute 'quantum.nod' of the quantum dialect}}
func.func private @node_misspelt() attributes {quantum.nod = #quantum.node<>}

// -----

func.func @combine_shifts_type(%partial: tensor<2x3xf64>) -> tensor<3x2xf64> {
  // expected-error @+1 {{result type 'tensor<3x2xf64>' must equal the partial result's type 'tensor<2x3xf64>'}}
  %sum = quantum.combine_shifts %partial : tensor<2x3xf64> -> tensor<3x2xf64>
  return %sum : tensor<3x2xf64>
}
