"""PennyLane transforms of QNodes called inside qjit (gradient transforms, metric tensors,
compilation transforms), against the same transforms under jax.jit on default.qubit."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant

P = jnp.array([0.4, 0.3])


def _issue_circuit(device, wires=2):
    @qml.qnode(qml.device(device, wires=wires))
    def c(p):
        qml.RX(p[0], 0)
        qml.CNOT([0, 1])
        qml.RY(p[1], 1)
        return qml.expval(qml.PauliZ(1))

    return c


def _layered(device, wires=3):
    """Gates the compilation transforms act on: inverses that cancel, rotations that merge,
    gates that commute through controls, single-qubit runs that fuse."""

    @qml.qnode(qml.device(device, wires=wires))
    def circuit(p, w):
        qml.Hadamard(0)
        qml.Hadamard(0)
        qml.RX(p[0], 0)
        qml.RX(p[1] * w, 0)
        qml.CNOT([0, 1])
        qml.PauliZ(0)
        qml.RZ(w, 0)
        qml.CNOT([0, 1])
        qml.RY(p[1], 1)
        qml.RZ(p[0] ** 2, 1)
        qml.RY(0.3, 1)
        qml.CRX(p[1], [1, 2])
        qml.S(2)
        qml.adjoint(qml.S(2))
        return qml.expval(qml.PauliZ(1) @ qml.PauliX(2)), qml.probs(wires=[0])

    return circuit


TRANSFORMS = {
    "param_shift": qml.gradients.param_shift,
    "finite_diff": lambda c: qml.gradients.finite_diff(c, h=1e-6),
    "metric_tensor_block_diag": lambda c: qml.metric_tensor(c, approx="block-diag"),
    "metric_tensor_diag": lambda c: qml.metric_tensor(c, approx="diag"),
    "adjoint_metric_tensor": qml.adjoint_metric_tensor,
}


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_issue_circuit(name):
    transform = TRANSFORMS[name]
    want = jax.jit(transform(_issue_circuit("default.qubit")))(P)
    got = kvant.qjit(transform(_issue_circuit("kvant.qubit")))(P)
    atol = 1e-6 if name == "finite_diff" else 1e-10
    np.testing.assert_allclose(got, want, atol=atol)


def test_issue_values():
    """The values the issue names (kvant returned the QNode's own value, 0.8799, for both)."""
    got = kvant.qjit(qml.gradients.param_shift(_issue_circuit("kvant.qubit")))(P)
    np.testing.assert_allclose(
        got, [-np.sin(0.4) * np.cos(0.3), -np.cos(0.4) * np.sin(0.3)], atol=1e-12
    )
    metric = kvant.qjit(qml.metric_tensor(_issue_circuit("kvant.qubit"), approx="block-diag"))(P)
    np.testing.assert_allclose(metric, [[0.25, 0.0], [0.0, 0.25]], atol=1e-12)


def test_full_metric_tensor_with_an_auxiliary_wire_and_without_one():
    transform = lambda c: qml.metric_tensor(c, approx=None)
    want = jax.jit(transform(_issue_circuit("default.qubit", wires=3)))(P)
    got = kvant.qjit(transform(_issue_circuit("kvant.qubit", wires=3)))(P)
    np.testing.assert_allclose(got, want, atol=1e-10)
    # no free wire: PennyLane's own error, as under jax.jit
    with pytest.raises(qml.wires.WireError, match="no free wire for the auxiliary wire"):
        jax.jit(transform(_issue_circuit("default.qubit")))(P)
    with pytest.raises(qml.wires.WireError, match="no free wire for the auxiliary wire"):
        kvant.qjit(transform(_issue_circuit("kvant.qubit")))(P)


COMPILATION = {
    "cancel_inverses": qml.transforms.cancel_inverses,
    "merge_rotations": qml.transforms.merge_rotations,
    "commute_controlled": qml.transforms.commute_controlled,
    "single_qubit_fusion": qml.transforms.single_qubit_fusion,
    "all_four": lambda c: qml.transforms.single_qubit_fusion(
        qml.transforms.commute_controlled(
            qml.transforms.merge_rotations(qml.transforms.cancel_inverses(c))
        )
    ),
}


@pytest.mark.parametrize("name", list(COMPILATION))
def test_compilation_transforms_values_and_gradients(name):
    transform = COMPILATION[name]
    ref = transform(_layered("default.qubit"))
    circuit = transform(_layered("kvant.qubit"))
    w = 0.8

    def cost(qnode):
        def f(p, w):
            e, probs = qnode(p, w)
            return e + jnp.sin(probs[1]) * w

        return f

    np.testing.assert_allclose(kvant.qjit(circuit)(P, w)[0], jax.jit(ref)(P, w)[0], atol=1e-10)
    np.testing.assert_allclose(kvant.qjit(circuit)(P, w)[1], jax.jit(ref)(P, w)[1], atol=1e-10)
    want = jax.jit(jax.grad(cost(ref), argnums=(0, 1)))(P, w)
    got = kvant.qjit(kvant.grad(cost(circuit), argnums=(0, 1)))(P, w)
    if name in ("single_qubit_fusion", "all_four"):
        # The fused rotation angles come from complex matrix products, differentiated through
        # complex cotangents. The angles are arctan2 of matrix entries that are zero here
        # whatever w is (RX, Z and RZ fused): arctan2 has no derivative at (0, 0), and its rule,
        # JAX's and kvant's alike, gives NaN for w, although the fused circuit is smooth in w
        # (central differences of JAX's value: 0.17). Compared where JAX's derivative is finite.
        np.testing.assert_allclose(got[0], want[0], atol=1e-8)
        assert np.isnan(want[1]) and np.isnan(got[1])
        return
    np.testing.assert_allclose(got[0], want[0], atol=1e-8)
    np.testing.assert_allclose(got[1], want[1], atol=1e-8)


def test_gradient_transform_with_argnums_and_several_measurements():
    """param_shift with argnums on a QNode of two arguments returning two measurements."""

    def make(device):
        @qml.qnode(qml.device(device, wires=2))
        def c(p, w):
            qml.RX(p[0] * w, 0)
            qml.CNOT([0, 1])
            qml.RY(p[1], 1)
            qml.RZ(w, 1)
            return qml.expval(qml.PauliZ(1)), qml.expval(qml.PauliX(1) @ qml.PauliY(0))

        return c

    for argnums in (0, 1, [0, 1]):
        want = jax.jit(qml.gradients.param_shift(make("default.qubit"), argnums=argnums))(P, 0.7)
        got = kvant.qjit(qml.gradients.param_shift(make("kvant.qubit"), argnums=argnums))(P, 0.7)
        for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
            np.testing.assert_allclose(g, w, atol=1e-10)
        assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(want)


def test_derivative_of_a_gradient_transform():
    """The Jacobian (through kvant's own AD) of param_shift's output: the Hessian."""
    want = jax.jit(jax.jacobian(qml.gradients.param_shift(_issue_circuit("default.qubit"))))(P)
    got = kvant.qjit(kvant.jacobian(qml.gradients.param_shift(_issue_circuit("kvant.qubit"))))(P)
    np.testing.assert_allclose(got, want, atol=1e-8)


def test_split_non_commuting_and_classical_code_around():
    def make(device):
        @qml.transforms.split_non_commuting
        @qml.qnode(qml.device(device, wires=2))
        def c(p):
            qml.RX(p[0], 0)
            qml.CNOT([0, 1])
            qml.RY(p[1], 1)
            return qml.expval(qml.PauliZ(1)), qml.expval(qml.PauliX(1)), qml.expval(qml.PauliY(0))

        def program(p):
            a, b, c_ = c(jnp.tanh(p))
            return a * b - c_

        return program

    np.testing.assert_allclose(
        kvant.qjit(make("kvant.qubit"))(P), jax.jit(make("default.qubit"))(P), atol=1e-10
    )
    np.testing.assert_allclose(
        kvant.qjit(kvant.grad(make("kvant.qubit")))(P),
        jax.jit(jax.grad(make("default.qubit")))(P),
        atol=1e-8,
    )


def test_under_pennylanes_qjit():
    got = qml.qjit(qml.gradients.param_shift(_issue_circuit("kvant.qubit")), compiler="kvant")(P)
    want = jax.jit(qml.gradients.param_shift(_issue_circuit("default.qubit")))(P)
    np.testing.assert_allclose(got, want, atol=1e-10)


def test_compiled_control_flow_in_a_transformed_qnode_is_refused_by_name():
    @qml.qnode(qml.device("kvant.qubit", wires=2))
    def c(p):
        @kvant.for_loop(0, 2, 1)
        def layer(i):
            qml.RX(p[i], wires=i)

        layer()
        return qml.expval(qml.PauliZ(1))

    with pytest.raises(
        kvant.UnsupportedError, match="transformed by .*param_shift.*compiled control flow"
    ):
        kvant.qjit(qml.gradients.param_shift(c))(P)


@pytest.mark.parametrize("name", ["cancel_inverses", "merge_rotations"])
def test_adjoint_and_ctrl_of_quantum_functions_in_a_transformed_qnode(name):
    """Found by the fuzzer: qml.ctrl of a quantum function in a transformed QNode looked for a
    QNode trace while the transform's tape was being built."""

    def circuit(x):
        def f(t):
            qml.RX(t, wires=1)
            qml.RY(2 * t, wires=1)

        qml.Hadamard(0)
        qml.ctrl(f, control=0)(x)
        qml.adjoint(f)(x * 0.5)
        return qml.expval(qml.PauliZ(1))

    transform = COMPILATION[name]
    ours = kvant.qjit(transform(qml.QNode(circuit, qml.device("kvant.qubit", wires=2))))
    ref = transform(qml.QNode(circuit, qml.device("default.qubit", wires=2)))
    for x in (0.4, -1.3):
        np.testing.assert_allclose(ours(x), ref(x), atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Gate-local compilation transforms with compiled control flow and mid-circuit measurements:
# applied to each straight-line run of gates (PennyLane applies them to the unrolled tape; the
# values must agree)
# ---------------------------------------------------------------------------------------------


def _with_control_flow(device, cf):
    # a fourth wire for PennyLane's deferred measurement
    @qml.qnode(qml.device(device, wires=4))
    def circuit(p, n):
        qml.Hadamard(0)
        qml.Hadamard(0)
        qml.RX(p[0], 0)

        @cf.for_loop(0, n, 1)
        def layer(i):
            qml.RZ(p[1], 1)
            qml.RZ(p[0] * 0.5, 1)
            qml.CNOT([1, 2])
            qml.S(2)
            qml.Hadamard(2)
            qml.RX(p[1], wires=i % 3)  # a wire known at run time splits the run
            qml.RX(0.2, 2)

        layer()

        def then():
            qml.RY(p[0], 0)
            qml.RY(p[1], 0)
            qml.PauliX(0)
            qml.PauliX(0)

        cf.cond(n > 1, then)()
        m = qml.measure(1)

        def on_one():
            qml.T(2)
            qml.Hadamard(2)
            qml.RZ(p[0], 2)

        cf.cond(m, on_one)()
        qml.CRX(p[1], [0, 2])
        qml.CRX(p[0], [0, 2])
        return qml.expval(qml.PauliZ(2) @ qml.PauliY(0)), qml.probs(wires=[1, 2])

    return circuit


@pytest.mark.parametrize("name,n", [(name, 3) for name in COMPILATION] + [("all_four", 1)])
def test_gate_local_transforms_with_control_flow(name, n):
    transform = COMPILATION[name]
    circuit = transform(_with_control_flow("kvant.qubit", kvant))
    # PennyLane runs qml.for_loop / qml.cond as Python outside a compiled function, on the
    # unrolled tape, with the mid-circuit measurement deferred
    ref = transform(_with_control_flow("default.qubit", qml))
    # the transforms keep the function, so its derivative is the untransformed circuit's; the
    # fused angles are arctan2 of matrix entries, which has no derivative at (0, 0): where
    # PennyLane's derivative of the transformed circuit is NaN, kvant's may be too (kvant fuses
    # runs split by control flow and run-time wires, which can avoid the singular point)
    untransformed = _with_control_flow("default.qubit", qml)
    p = jnp.array([0.7, -0.4])

    def cost(qnode):
        return lambda p, n: qnode(p, n)[0] + jnp.sum(qnode(p, n)[1] * jnp.arange(4.0))

    with jax.disable_jit():
        want_values = ref(p, n)
        want_grad = jax.grad(cost(untransformed))(p, n)
        transformed_grad = jax.grad(cost(ref))(p, n)
    got_values = kvant.qjit(circuit)(p, n)
    np.testing.assert_allclose(got_values[0], want_values[0], atol=1e-10)
    np.testing.assert_allclose(got_values[1], want_values[1], atol=1e-10)
    got_grad = kvant.qjit(kvant.grad(cost(circuit)))(p, n)
    for got, want, transformed in zip(got_grad, want_grad, transformed_grad):
        if np.isnan(got):
            assert np.isnan(transformed), (got_grad, transformed_grad)
        else:
            np.testing.assert_allclose(got, want, atol=1e-8)


def test_gate_local_transform_rewrites_loop_bodies():
    """The transform is applied, not dropped: the Hadamard pair in the loop body cancels."""

    @qml.transforms.cancel_inverses
    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(x, n):
        @kvant.for_loop(0, n, 1)
        def body(i):
            qml.Hadamard(0)
            qml.Hadamard(0)
            qml.RX(x, 0)

        body()
        return qml.expval(qml.PauliZ(0))

    compiled = kvant.qjit(circuit)
    np.testing.assert_allclose(compiled(0.3, 2), np.cos(0.6), atol=1e-12)
    assert '"RX"' in compiled.mlir and '"Hadamard"' not in compiled.mlir


def test_fused_gates_under_ctrl_keep_their_phase():
    """single_qubit_fusion turns H S into one Rot, equal up to a global phase; under qml.ctrl
    that phase is relative and observable, so a controlled region is emitted as written."""

    def circuit(x):
        def f():
            qml.Hadamard(1)
            qml.S(1)
            qml.RX(x, 1)

        qml.Hadamard(0)
        qml.ctrl(f, control=0)()
        qml.Hadamard(0)
        qml.S(1)
        qml.Hadamard(1)
        return qml.expval(qml.PauliZ(0)), qml.expval(qml.PauliY(1))

    transform = qml.transforms.single_qubit_fusion
    ours = kvant.qjit(transform(qml.QNode(circuit, qml.device("kvant.qubit", wires=2))))
    ref = transform(qml.QNode(circuit, qml.device("default.qubit", wires=2)))
    for x in (0.4, -1.3):
        np.testing.assert_allclose(ours(x), ref(x), atol=1e-12)


def test_transform_that_needs_the_tape_is_refused_with_control_flow():
    @qml.transforms.undo_swaps
    @qml.qnode(qml.device("kvant.qubit", wires=2))
    def circuit(x, n):
        @kvant.for_loop(0, n, 1)
        def body(i):
            qml.SWAP([0, 1])
            qml.RX(x, 0)

        body()
        return qml.expval(qml.PauliZ(0))

    with pytest.raises(kvant.UnsupportedError, match="transformed by undo_swaps.*compiled control"):
        kvant.qjit(circuit)(0.3, 2)


def test_merging_a_constant_rotation_with_a_traced_one():
    """Found by the fuzzer (seed 1932): PennyLane's merge_rotations stacked the Python number
    0.061 with a traced angle and NumPy refused the tracer."""

    def circuit(p):
        qml.RY(0.061, wires=1)
        qml.RY(p[1], wires=1)
        qml.CNOT([1, 0])
        return qml.expval(qml.PauliZ(0))

    transform = qml.transforms.merge_rotations
    ours = transform(qml.QNode(circuit, qml.device("kvant.qubit", wires=2)))
    p = jnp.array([0.5, 0.7])
    np.testing.assert_allclose(kvant.qjit(ours)(p), np.cos(0.761), atol=1e-12)
    np.testing.assert_allclose(kvant.qjit(kvant.grad(ours))(p), [0.0, -np.sin(0.761)], atol=1e-10)


def test_compile_with_a_transform_that_needs_the_tape_is_refused_with_control_flow():
    """qml.compile runs the transforms it is given: with undo_swaps among them it is not
    gate-local, so it is not applied run by run (that would silently move gates between wires)."""

    @qml.qnode(qml.device("kvant.qubit", wires=2))
    def circuit(x, n):
        @kvant.for_loop(0, n, 1)
        def body(i):
            qml.SWAP([0, 1])
            qml.RX(x, 0)

        body()
        return qml.expval(qml.PauliZ(0))

    with pytest.raises(kvant.UnsupportedError, match="transformed by compile.*compiled control"):
        kvant.qjit(qml.compile(circuit, pipeline=[qml.transforms.undo_swaps]))(0.3, 2)
    # with gate-local transforms only, compile works with control flow
    ok = qml.compile(circuit, pipeline=[qml.transforms.cancel_inverses])
    np.testing.assert_allclose(kvant.qjit(ok)(0.3, 2), _swapped_rx(0.3, 2), atol=1e-12)


def _swapped_rx(x, n):
    """<Z0> after n rounds of SWAP(0, 1), RX(x, 0) from |00>, by direct simulation."""
    state = np.zeros(4, complex)
    state[0] = 1
    swap = np.eye(4)[[0, 2, 1, 3]]
    rx = np.kron(qml.matrix(qml.RX(x, 0)), np.eye(2))
    for _ in range(n):
        state = rx @ (swap @ state)
    return float(np.real(np.conj(state) @ np.kron(np.diag([1, -1]), np.eye(2)) @ state))


@pytest.mark.parametrize("merge", [False, True])
def test_defer_measurements_runs_as_mcm_method_deferred(merge):
    """qml.defer_measurements (the mcm-statistics how-to) is what kvant's deferred execution
    computes; it was refused as a transform that needs the tape. With a gate-local transform
    beside it, that one still applies."""

    def make(device):
        # PennyLane's transform needs a wire for the outcome on the device; kvant's ancillas
        # come after the device's wires
        @qml.qnode(qml.device(device, wires=2 if device == "kvant.qubit" else 3))
        def circuit(x, y):
            qml.RY(x, wires=0)
            qml.RY(0.2, wires=0)  # merge_rotations joins it with the RY before
            qml.CNOT(wires=[0, 1])
            m0 = qml.measure(1)
            qml.cond(m0, qml.RY)(y, wires=0)
            return qml.probs(wires=[0]), qml.expval(m0)

        transformed = qml.defer_measurements(circuit)
        return qml.transforms.merge_rotations(transformed) if merge else transformed

    compiled = qml.qjit(make("kvant.qubit"), compiler="kvant")
    reference = make("default.qubit")
    for x, y in [(0.643, 0.246), (1.9, -0.7)]:
        got, want = compiled(x, y), reference(x, y)
        np.testing.assert_allclose(got[0], want[0], atol=1e-12)
        np.testing.assert_allclose(got[1], want[1], atol=1e-12)

    cost = lambda f: lambda x, y: f(x, y)[0][1] + f(x, y)[1]
    got = kvant.qjit(kvant.grad(cost(make("kvant.qubit")), argnums=(0, 1)))(0.643, 0.246)
    want = jax.grad(cost(make("default.qubit")), argnums=(0, 1))(0.643, 0.246)
    np.testing.assert_allclose(got, want, atol=1e-10)
