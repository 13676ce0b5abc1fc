"""method="auto" through QNodes: the classical skeleton by reverse-mode AD, the circuit by the
adjoint method on kvant's simulator or by parameter-shift. Values from
docs/acceptance-gradients.md (computed independently) and from PennyLane default.qubit
with JAX backprop."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant

ADJOINT_METHODS = ["adjoint", "best"]
ALL_METHODS = ["adjoint", "best", "parameter-shift"]


def _api(kind):
    """(qjit, grad, jacobian) through kvant's API or PennyLane's with kvant as the compiler."""
    if kind == "kvant":
        return kvant.qjit, kvant.grad, kvant.jacobian
    return qml.qjit(compiler="kvant"), qml.grad, qml.jacobian


@pytest.fixture(params=["kvant", "pennylane"])
def api(request):
    return _api(request.param)


@pytest.mark.parametrize("diff_method", ALL_METHODS)
def test_a1_rx_then_y(api, diff_method):
    qjit, grad, _ = api

    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method=diff_method)
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliY(0))

    g = qjit(lambda x: grad(circuit)(x))
    for x, want in [
        (1.0, -0.5403023059),
        (2.0, 0.4161468365),
        (3.0, 0.9899924966),
        (4.0, 0.6536436209),
    ]:
        assert g(x) == pytest.approx(want, abs=1e-8)


def test_a4_argnums_int_and_list(api):
    qjit, grad, _ = api

    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(x, y):
        qml.RX(x**y, wires=0)
        return qml.expval(qml.PauliY(0))

    assert qjit(lambda x, y: grad(circuit, argnums=1)(x, y))(1.5, 2.0) == pytest.approx(
        0.5730805932, abs=1e-8
    )
    packed = qjit(lambda x, y: grad(circuit, argnums=[1])(x, y))(1.5, 2.0)
    assert isinstance(packed, tuple) and len(packed) == 1
    assert packed[0] == pytest.approx(0.5730805932, abs=1e-8)


@pytest.mark.parametrize("diff_method", ["adjoint", "parameter-shift"])
def test_a7_unrolled_entangling_circuit(diff_method):
    n = 3

    @qml.qnode(qml.device("kvant.qubit", wires=n), diff_method=diff_method)
    def circuit(x):
        qml.RX(x, wires=0)
        qml.Hadamard(wires=0)
        for i in range(1, n):
            qml.RY(x * i, wires=i)
            qml.CNOT(wires=[0, i])
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(2))

    assert kvant.qjit(kvant.grad(circuit))(0.8) == pytest.approx(-1.9991472061, abs=1e-8)


@pytest.mark.parametrize("diff_method", ALL_METHODS)
def test_a13_two_gradients_in_one_program(diff_method):
    # <Z0> = cos(3x + y) on a 2-wire device
    @qml.qnode(qml.device("kvant.qubit", wires=2), diff_method=diff_method)
    def circuit(x, y):
        qml.RX(3 * x, wires=0)
        qml.RX(y, wires=0)
        return qml.expval(qml.PauliZ(0))

    @kvant.qjit
    def both(x, y):
        return jnp.stack(
            [kvant.grad(circuit, argnums=0)(x, y), kvant.grad(circuit, argnums=1)(x, y)]
        )

    np.testing.assert_allclose(both(0.1, 0.2), [-1.4382766158, -0.4794255386], atol=1e-8)


def test_a14_jacobian_of_post_processing(api):
    qjit, _, jacobian = api

    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliZ(0))

    def post(x):
        w = circuit(x)
        return jnp.stack([jnp.cos(w), w, 2 * w])

    np.testing.assert_allclose(
        qjit(lambda x: jacobian(post)(x))(0.5),
        [0.3687723767, -0.4794255386, -0.9588510772],
        atol=1e-8,
    )


def test_a17_dict_argument():
    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method="adjoint")
    def circuit(p):
        qml.RX(p["x"], wires=0)
        qml.RY(p["y"], wires=0)
        return qml.expval(qml.PauliZ(0))

    g = kvant.qjit(kvant.grad(circuit))({"x": 0.4, "y": -0.9})
    assert g["x"] == pytest.approx(-0.2420663234, abs=1e-8)
    assert g["y"] == pytest.approx(0.7214918620, abs=1e-8)


def test_a18_circuit_without_parameters():
    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method="adjoint")
    def circuit(x):
        qml.PauliX(wires=0)
        return qml.expval(qml.PauliZ(0))

    assert kvant.qjit(kvant.grad(circuit))(1.1) == 0.0


def test_a20_constant_unitary_after_rx():
    u = np.array([[0.5 + 0.5j, -0.5 - 0.5j], [0.5 - 0.5j, 0.5 - 0.5j]])

    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method="adjoint")
    def circuit(x):
        qml.RX(x, wires=0)
        qml.QubitUnitary(u, wires=0)
        return qml.expval(qml.PauliY(0))

    assert kvant.qjit(kvant.grad(circuit))(2.0) == pytest.approx(0.9092974268, abs=1e-8)


def test_a21_hamiltonian_with_controlled_rotations():
    @qml.qnode(qml.device("kvant.qubit", wires=3), diff_method="adjoint")
    def circuit(p):
        qml.Hadamard(wires=0)
        qml.CRX(p[0], wires=[0, 1])
        qml.CRX(p[0], wires=[0, 2])
        return qml.expval(
            0.2 * qml.PauliX(0) @ qml.PauliZ(1) - 0.53 * qml.PauliZ(0) @ qml.Hadamard(2)
        )

    np.testing.assert_allclose(
        kvant.qjit(kvant.grad(circuit))(np.array([1.0, 2.0])), [-0.2418247060, 0.0], atol=1e-8
    )


def test_a24_slicing_with_ellipsis():
    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(weights):
        qml.RY(weights[..., 1, 2, 0], wires=0)
        return qml.expval(qml.PauliZ(0))

    g = kvant.qjit(kvant.grad(circuit))(jnp.ones((5, 3, 3)))
    want = np.zeros((5, 3, 3))
    want[1, 2, 0] = -0.8414709848
    np.testing.assert_allclose(g, want, atol=1e-8)


def test_a28_post_processing_of_a_transformed_parameter():
    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method="adjoint")
    def circuit(theta):
        qml.RX(jnp.exp(theta**2) / jnp.cos(theta / 4), wires=0)
        return qml.expval(qml.PauliZ(0))

    cost = lambda t: jnp.pi / jnp.tanh(circuit(t))
    assert kvant.qjit(kvant.grad(cost))(1.0) == pytest.approx(5.0432455896, abs=1e-7)


def test_a9_jacobian_of_probs_by_parameter_shift(api):
    qjit, _, jacobian = api

    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method="parameter-shift")
    def circuit(p):
        qml.RY(p, wires=0)
        return qml.probs(wires=0)

    np.testing.assert_allclose(
        qjit(lambda p: jacobian(circuit)(p))(0.5), [-0.2397127693, 0.2397127693], atol=1e-8
    )


def test_a10_four_term_rule_for_a_controlled_rotation():
    @qml.qnode(qml.device("kvant.qubit", wires=2), diff_method="parameter-shift")
    def circuit(x):
        qml.RY(0.321, wires=0)
        qml.CRX(x, wires=[0, 1])
        return qml.expval(
            0.5 * qml.PauliZ(1) @ qml.PauliX(0) - 0.4 * qml.PauliY(1) @ qml.Hadamard(0)
        )

    assert kvant.qjit(kvant.grad(circuit))(0.1) == pytest.approx(0.0334349220, abs=1e-8)


def test_a22_qnodes_with_different_methods_in_one_cost(api):
    """probs of a parameter-shift QNode, multiplied out, plus <Z> of an adjoint QNode; one wire
    each, each with its own transformed parameter."""
    qjit, grad, _ = api

    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method="parameter-shift")
    def shifted(p):
        qml.RX(jnp.exp(p[0] ** 2) / jnp.cos(p[1] / 4), wires=0)
        return qml.probs(wires=0)

    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method="adjoint")
    def adjoint(p):
        qml.RX(jnp.exp(p[1] ** 2) / jnp.cos(p[0] / 4), wires=0)
        return qml.expval(qml.PauliZ(0))

    cost = lambda p: jnp.prod(shifted(p)) + adjoint(p)
    np.testing.assert_allclose(
        qjit(lambda p: grad(cost)(p))(jnp.array([1.0, 2.0])), [0.57367285, 44.4911605], rtol=1e-7
    )


def test_a26_jacobian_of_probs(api):
    qjit, _, jacobian = api

    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(x):
        qml.RX(jnp.pi * x[0], wires=0)
        qml.RY(x[1], wires=0)
        return qml.probs(wires=0)

    np.testing.assert_allclose(
        qjit(lambda x: jacobian(circuit)(x))(jnp.array([2.0, 1.0])),
        [[0.0, -0.4207354924], [0.0, 0.4207354924]],
        atol=1e-8,
    )


def test_hybrid_programs_against_default_qubit():
    """Pre-processing, a QNode called several times, tensor observables and a Hamiltonian, all
    gate kinds that take parameters, post-processing; gradient and Jacobian."""

    def build(device, diff_method):
        @qml.qnode(device, diff_method=diff_method)
        def circuit(x, y):
            qml.RX(x[0] * 2, wires=0)
            qml.CRX(y, wires=[0, 1])
            qml.Rot(x[1], 0.3, y, wires=1)
            qml.IsingXY(x[0] * y, wires=[0, 1])
            qml.ctrl(qml.RY(x[1], wires=2), control=0, control_values=0)
            qml.adjoint(qml.CRot(x[0], y, x[1], wires=[2, 1]))
            qml.DoubleExcitation(y / 2, wires=[0, 1, 2, 3])
            qml.MultiRZ(x[1], wires=[1, 3])
            qml.PhaseShift(y, wires=3)
            qml.Hadamard(wires=3)
            return (
                qml.expval(qml.PauliZ(0) @ qml.PauliY(1)),
                qml.expval(qml.Hamiltonian([0.2, -0.5], [qml.PauliX(0), qml.PauliZ(3)])),
            )

        return circuit

    want = _hybrid_reference(build(qml.device("default.qubit", wires=4), "backprop"))
    for method in ALL_METHODS:
        _check_hybrid(build(qml.device("kvant.qubit", wires=4), method), want)


def _hybrid_cost(c):
    def f(x, y):
        x = jnp.tanh(x) + jnp.array([0.1, -0.2])
        a, b = c(x, y)
        return jnp.sin(a) * b + c(2 * x, y)[0] ** 2

    return f


_HYBRID_ARGS = (np.array([0.3, -0.7]), 0.45)


def _hybrid_reference(ref):
    """The gradient of the cost and the Jacobian of the circuit, once for every method, each
    under jax.jit: one compilation each (~4 s together), where op by op every primitive was
    compiled on its own (~9 s)."""
    grad = jax.jit(jax.grad(_hybrid_cost(ref), argnums=(0, 1)))(*_HYBRID_ARGS)
    jac = jax.jit(jax.jacobian(lambda x, y: jnp.stack(ref(x, y)), argnums=0))(*_HYBRID_ARGS)
    return grad, jac


def _check_hybrid(mine, want):
    want_grad, want_jac = want
    got = kvant.qjit(kvant.grad(_hybrid_cost(mine), argnums=(0, 1)))(*_HYBRID_ARGS)
    np.testing.assert_allclose(got[0], want_grad[0], atol=1e-10)
    assert got[1] == pytest.approx(float(want_grad[1]), abs=1e-10)
    jac = kvant.qjit(kvant.jacobian(lambda x, y: jnp.stack(mine(x, y)), argnums=0))(*_HYBRID_ARGS)
    np.testing.assert_allclose(jac, want_jac, atol=1e-10)


def _rx(diff_method, shots=None):
    @qml.set_shots(shots)
    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method=diff_method)
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliZ(0))

    return circuit


# ---- gates inside loops and branches: the k-th parameter of a run is p[k] -------------------


@pytest.mark.parametrize("diff_method", ALL_METHODS)
def test_a5_gates_in_a_conditional(api, diff_method):
    qjit, grad, _ = api
    cond = kvant.cond if qjit is kvant.qjit else qml.cond

    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method=diff_method)
    def circuit(x, y):
        cond(y > 1.5, lambda: qml.RX(2 * x, wires=0), lambda: qml.RX(x, wires=0))()
        return qml.expval(qml.PauliY(0))

    g = qjit(lambda x, y: grad(circuit, argnums=0)(x, y))
    assert g(0.7, 0.0) == pytest.approx(-0.7648421873, abs=1e-8)
    assert g(0.7, 2.0) == pytest.approx(-0.3399342858, abs=1e-8)


@pytest.mark.parametrize("diff_method", ALL_METHODS)
def test_a6_gates_in_a_loop_with_a_run_time_count(api, diff_method):
    qjit, grad, _ = api
    for_loop = kvant.for_loop if qjit is kvant.qjit else qml.for_loop

    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method=diff_method)
    def circuit(x, n):
        @for_loop(0, n, 1)
        def body(i):
            qml.RX(1.5 * x * i, wires=0)

        body()
        return qml.expval(qml.PauliY(0))

    g = qjit(lambda x, n: grad(circuit, argnums=0)(x, n))  # one program for every n
    got = [g(0.3, n) for n in range(1, 5)]
    np.testing.assert_allclose(got, [0.0, -1.3506706535, -0.9855300919, 8.1366492782], atol=1e-8)


@pytest.mark.parametrize("diff_method", ALL_METHODS)
def test_a8_nested_loops_with_dependent_bounds(diff_method):
    n = 3

    @qml.qnode(qml.device("kvant.qubit", wires=3), diff_method=diff_method)
    def circuit(x):
        for w in range(3):
            qml.Hadamard(wires=w)

        @kvant.for_loop(0, n, 1)
        def outer(i):
            qml.Hadamard(wires=i)

            @kvant.for_loop(i + 1, n, 1)
            def inner(j):
                qml.RY(x, wires=j)
                qml.ControlledPhaseShift(jnp.pi / 2 ** (n - j + 1), wires=[i, j])

            inner()

        outer()
        return qml.expval(qml.PauliZ(2))

    g = kvant.qjit(kvant.grad(circuit))
    assert g(1.0) == pytest.approx(-1.6448829098, abs=1e-8)
    assert g(2.5) == pytest.approx(1.3871136494, abs=1e-8)


@pytest.mark.parametrize("diff_method", ALL_METHODS)
def test_a23_dynamic_wires(diff_method):
    @qml.qnode(qml.device("kvant.qubit", wires=4), diff_method=diff_method)
    def circuit(phi):
        @kvant.for_loop(0, 3, 1)
        def body(i):
            qml.RY(phi, wires=i % 4)

        body()
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1) @ qml.PauliZ(2) @ qml.PauliZ(3))

    assert kvant.qjit(kvant.grad(circuit))(0.75) == pytest.approx(-1.0947839677, abs=1e-8)


def _loop_circuit(x, n, loops):
    """CRX (four-term rule), a loop-carried angle, a while loop and a conditional, with the
    control flow of `loops` (kvant's or Python's, for the reference)."""
    for_loop, while_loop, cond = loops

    @for_loop(0, n, 1)
    def body(i, a):
        qml.Hadamard(wires=0)
        qml.CRX(a * x, wires=[0, 1])
        cond(i % 2 == 0, lambda: qml.RY(a, wires=2), lambda: qml.RZ(x * a, wires=2))()
        return a * 1.3 + x

    body(0.4)

    @while_loop(lambda k: k < n)
    def again(k):
        qml.IsingXY(x * k, wires=[1, 2])
        return k + 1

    again(0)
    return qml.expval(qml.PauliY(1) @ qml.PauliX(2))


def _python_loops():
    def for_loop(start, stop, step):
        def wrap(body):
            def run(init):
                for i in range(start, stop, step):
                    init = body(i, init)
                return init

            return run

        return wrap

    def while_loop(pred):
        def wrap(body):
            def run(k):
                while pred(k):
                    k = body(k)
                return k

            return run

        return wrap

    def cond(c, a, b):
        return a if c else b

    return for_loop, while_loop, cond


@pytest.mark.parametrize("diff_method", ALL_METHODS)
def test_loops_branches_and_four_term_gates_against_default_qubit(diff_method):
    kvant_loops = (kvant.for_loop, kvant.while_loop, kvant.cond)

    @qml.qnode(qml.device("kvant.qubit", wires=3), diff_method=diff_method)
    def circuit(x, n):
        return _loop_circuit(x, n, kvant_loops)

    g = kvant.qjit(kvant.grad(circuit, argnums=0))
    for n in (0, 1, 2, 4):
        reference = qml.QNode(
            lambda x: _loop_circuit(x, n, _python_loops()),
            qml.device("default.qubit", wires=3),
            interface="jax",
        )
        assert g(0.7, n) == pytest.approx(float(jax.grad(reference)(0.7)), abs=1e-9), n


def test_jacobian_of_probs_with_gates_in_a_loop():
    @qml.qnode(qml.device("kvant.qubit", wires=2), diff_method="parameter-shift")
    def circuit(x, n):
        @kvant.for_loop(0, n, 1)
        def body(i):
            qml.RY(x[i % 2] * (i + 1), wires=i % 2)
            qml.CNOT(wires=[0, 1])

        body()
        return qml.probs(wires=[0, 1])

    def reference(x, n):
        for i in range(n):
            qml.RY(x[i % 2] * (i + 1), wires=i % 2)
            qml.CNOT(wires=[0, 1])
        return qml.probs(wires=[0, 1])

    x = jnp.array([0.3, -0.8])
    jac = kvant.qjit(kvant.jacobian(circuit, argnums=0))
    for n in (1, 3):
        want = jax.jacobian(
            qml.QNode(
                lambda x: reference(x, n), qml.device("default.qubit", wires=2), interface="jax"
            )
        )(x)
        np.testing.assert_allclose(jac(x, n), want, atol=1e-9)


def _variances(x):
    qml.RX(x[0], wires=0)
    qml.CRY(x[1], wires=[0, 1])  # four-term rule
    qml.RZ(x[0] * x[1], wires=1)
    qml.RX(x[1], wires=1)
    hermitian = np.array([[1.0, 0.5 - 0.2j], [0.5 + 0.2j, -0.3]])
    return (
        qml.var(qml.PauliZ(0) @ qml.PauliY(1)),
        qml.expval(qml.PauliX(1)),
        qml.var(qml.Hermitian(hermitian, wires=1)),
        qml.var(0.3 * qml.PauliX(0) - 1.2 * qml.PauliZ(0) @ qml.PauliZ(1)),
    )


@pytest.mark.parametrize("diff_method", ALL_METHODS)
def test_variances_of_products_hermitians_and_sums(diff_method):
    """var: d var = d<O^2> - 2<O> d<O>; one adjoint sweep, or the shift rules on <O^2> and <O>."""
    circuit = qml.QNode(_variances, qml.device("kvant.qubit", wires=2), diff_method=diff_method)
    reference = qml.QNode(_variances, qml.device("default.qubit", wires=2), interface="jax")
    x = jnp.array([0.4, 1.1])
    got = kvant.qjit(kvant.jacobian(lambda x: jnp.stack(circuit(x))))(x)
    np.testing.assert_allclose(got, jax.jacobian(lambda x: jnp.stack(reference(x)))(x), atol=1e-10)


def _sampled(x):
    qml.RX(x, wires=0)
    qml.CRY(2 * x, wires=[0, 1])  # four-term rule
    return qml.expval(qml.PauliY(0) @ qml.PauliZ(1)), qml.probs(wires=[1])


@pytest.mark.parametrize("diff_method", ["parameter-shift", "best"])
def test_parameter_shift_with_shots_estimates_the_derivative(diff_method):
    """With shots the shift rules apply to sample estimates: an unbiased estimate whose error
    shrinks as 1/sqrt(shots). "best" means parameter-shift here (the adjoint method has no
    shot semantics)."""
    shots = 40_000
    circuit = qml.set_shots(shots)(
        qml.QNode(_sampled, qml.device("kvant.qubit", wires=2, seed=11), diff_method=diff_method)
    )
    exact = qml.QNode(_sampled, qml.device("default.qubit", wires=2), interface="jax")
    flat = lambda f: lambda x: jnp.concatenate([jnp.atleast_1d(f(x)[0]), f(x)[1]])
    want = np.asarray(jax.jacobian(flat(exact))(0.8))
    # each entry sums at most four shifted estimates with weights <= 1/2, each of standard
    # deviation <= 1/sqrt(shots): 6 standard deviations of that bound
    tolerance = 6 * 2 / np.sqrt(shots)
    seeded = kvant.qjit(kvant.jacobian(flat(circuit)))
    np.testing.assert_allclose(seeded(0.8), want, atol=tolerance)
    np.testing.assert_array_equal(seeded(0.8), seeded(0.8))  # a seeded device is reproducible
    unseeded = qml.set_shots(shots)(
        qml.QNode(_sampled, qml.device("kvant.qubit", wires=2), diff_method=diff_method)
    )
    estimates = np.array([kvant.qjit(kvant.jacobian(flat(unseeded)))(0.8) for _ in range(3)])
    np.testing.assert_allclose(estimates, np.broadcast_to(want, estimates.shape), atol=tolerance)
    assert np.ptp(estimates[:, 0]) > 0  # estimates, not an exact value


def test_variance_from_shots_is_refused_by_method_auto():
    @qml.set_shots(100)
    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method="parameter-shift")
    def sampled_variance(x):
        qml.RX(x, wires=0)
        return qml.var(qml.PauliZ(0))

    # refused by name, while tracing, as something kvant does not do
    with pytest.raises(kvant.UnsupportedError, match="sampled_variance.*'var'"):
        kvant.qjit(kvant.grad(sampled_variance))(0.3)


def test_vmap_under_grad_against_default_qubit():
    """A batch of QNode evaluations (kvant.vmap) inside a differentiated cost."""

    def body(x, w):
        qml.RX(x * w, wires=0)
        qml.RY(w, wires=1)
        qml.CNOT(wires=[0, 1])
        return qml.expval(qml.PauliZ(1))

    circuit = qml.QNode(body, qml.device("kvant.qubit", wires=2), diff_method="adjoint")
    reference = qml.QNode(body, qml.device("default.qubit", wires=2), interface="jax")
    batch = jnp.array([0.3, -0.7, 1.1])
    got = kvant.qjit(
        kvant.grad(lambda w: jnp.sum(kvant.vmap(circuit, in_axes=(0, None))(batch, w) ** 2))
    )(0.4)
    want = jax.grad(lambda w: jnp.sum(jax.vmap(reference, in_axes=(0, None))(batch, w) ** 2))(0.4)
    assert got == pytest.approx(float(want), abs=1e-10)


@pytest.mark.parametrize("outer, inner", [("fd", "auto"), ("auto", "fd")])
def test_nested_derivatives_of_different_methods(outer, inner):
    circuit = _rx("parameter-shift")  # <Z> after RX(x): cos x, second derivative -cos x
    second = kvant.qjit(
        kvant.grad(
            kvant.grad(circuit, method=inner), method=outer, h=1e-5 if outer == "fd" else None
        )
    )
    assert second(0.6) == pytest.approx(-np.cos(0.6), abs=1e-4)


def _mixed_measurements(x):
    qml.RX(x[0], wires=0)
    qml.CRY(x[1], wires=[0, 1])
    qml.IsingXY(x[0] * x[1], wires=[1, 2])
    qml.RY(x[1], wires=2)
    return (
        qml.probs(wires=[2, 0]),
        qml.expval(qml.PauliX(1)),
        qml.var(qml.PauliZ(0) @ qml.PauliY(2)),
        qml.probs(wires=1),
    )


@pytest.mark.parametrize("diff_method", ALL_METHODS)
def test_jacobian_of_probabilities_mixed_with_expval_and_var(diff_method):
    """probs by the adjoint sweep too (one vector per outcome), next to expval and var rows;
    "best" takes parameter-shift when there are probabilities."""
    circuit = qml.QNode(
        _mixed_measurements, qml.device("kvant.qubit", wires=3), diff_method=diff_method
    )
    reference = qml.QNode(
        _mixed_measurements, qml.device("default.qubit", wires=3), interface="jax"
    )
    flat = lambda f: lambda x: jnp.concatenate([jnp.ravel(r) for r in f(x)])
    x = jnp.array([0.4, 1.1])
    np.testing.assert_allclose(
        kvant.qjit(kvant.jacobian(flat(circuit)))(x), jax.jacobian(flat(reference))(x), atol=1e-10
    )


# ---- one cotangent (a gradient): the adjoint sweep's VJP form ---------------------------------

_WEIGHTS = jnp.array([0.3, -1.2, 0.7, 2.0])


def _scalar_cost(circuit):
    """A scalar of every kind of measurement entry: a gradient has one cotangent per call."""

    def cost(x):
        p2, e, v, p1 = circuit(x)
        return jnp.sum(_WEIGHTS * p2) + jnp.sin(e) * v + p1[1] ** 2

    return cost


@pytest.mark.parametrize("diff_method", ALL_METHODS)
def test_gradient_of_a_scalar_of_probabilities_expval_and_var(diff_method):
    """One reverse sweep: the adjoint method asks the runtime for ȳᵀJ (two vectors in its
    backward pass) instead of the 10-row Jacobian; parameter-shift still shifts the circuit."""
    circuit = qml.QNode(
        _mixed_measurements, qml.device("kvant.qubit", wires=3), diff_method=diff_method
    )
    reference = qml.QNode(
        _mixed_measurements, qml.device("default.qubit", wires=3), interface="jax"
    )
    x = jnp.array([0.4, 1.1])
    compiled = kvant.qjit(kvant.grad(_scalar_cost(circuit)), keep_intermediate=True)
    np.testing.assert_allclose(compiled(x), jax.grad(_scalar_cost(reference))(x), atol=1e-10)
    if diff_method == "adjoint":
        assert "kvant_rt_adjoint_vjp_mixed" in compiled.mlir_lowered
        assert "kvant_rt_adjoint_jacobian" not in compiled.mlir_lowered
        # Several cotangents (a Jacobian): the Jacobian, computed once.
        jac = kvant.qjit(
            kvant.jacobian(lambda x: jnp.stack([_scalar_cost(circuit)(x), circuit(x)[1]])),
            keep_intermediate=True,
        )
        jac(x)
        assert "kvant_rt_adjoint_jacobian_mixed" in jac.mlir_lowered


def _probs_in_a_loop(x, n, loops):
    for_loop = loops[0]

    @for_loop(0, n, 1)
    def body(i, a):
        qml.RY(a, wires=i % 2)
        qml.CRX(x * a, wires=[i % 2, 2])  # four-term rule
        return a + x

    body(0.2)
    return qml.probs(wires=[0, 2])


@pytest.mark.parametrize("diff_method", ["adjoint", "parameter-shift"])
def test_gradient_of_probabilities_with_gates_in_a_loop(diff_method):
    """The VJP form with a parameter count known at run time."""
    circuit = qml.QNode(
        lambda x, n: _probs_in_a_loop(x, n, (kvant.for_loop,)),
        qml.device("kvant.qubit", wires=3),
        diff_method=diff_method,
    )
    g = kvant.qjit(kvant.grad(lambda x, n: jnp.sum(_WEIGHTS * circuit(x, n) ** 2), argnums=0))
    for n in (0, 1, 3):
        reference = qml.QNode(
            lambda x: _probs_in_a_loop(x, n, _python_loops()),
            qml.device("default.qubit", wires=3),
            interface="jax",
        )
        want = jax.grad(lambda x: jnp.sum(_WEIGHTS * reference(x) ** 2))(0.7)
        assert g(0.7, n) == pytest.approx(float(want), abs=1e-10), n


def test_vmap_of_a_probabilities_qnode_under_grad():
    """QNode calls inside a loop of the forward code, each with its own cotangent."""

    def body(x, w):
        qml.RX(x * w, wires=0)
        qml.RY(w, wires=1)
        qml.CNOT(wires=[0, 1])
        return qml.probs(wires=[0, 1])

    circuit = qml.QNode(body, qml.device("kvant.qubit", wires=2), diff_method="adjoint")
    reference = qml.QNode(body, qml.device("default.qubit", wires=2), interface="jax")
    batch = jnp.array([0.3, -0.7, 1.1])
    cost = lambda run: lambda w: jnp.sum(run(batch, w) * _WEIGHTS)
    got = kvant.qjit(kvant.grad(cost(kvant.vmap(circuit, in_axes=(0, None)))))(0.4)
    want = jax.grad(cost(jax.vmap(reference, in_axes=(0, None))))(0.4)
    assert got == pytest.approx(float(want), abs=1e-10)


# ---- higher orders: the shift rules differentiate the quantum Jacobian too ------------------


@pytest.mark.parametrize("diff_method", ALL_METHODS)
def test_a11b_second_derivative(api, diff_method):
    qjit, grad, _ = api

    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method=diff_method)
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliY(0))

    assert qjit(lambda x: grad(grad(circuit))(x))(1.0) == pytest.approx(0.8414709848, abs=1e-8)


@pytest.mark.parametrize("diff_method", ALL_METHODS)
def test_hessian_and_third_derivative_against_default_qubit(diff_method):
    def body(x):
        qml.RX(x[0] * x[1], wires=0)
        qml.CRY(x[1], wires=[0, 1])  # four-term rule
        qml.RZ(jnp.sin(x[0]), wires=1)
        qml.RX(x[1] ** 2, wires=1)
        return qml.expval(qml.PauliZ(0) @ qml.PauliY(1))

    circuit = qml.QNode(body, qml.device("kvant.qubit", wires=2), diff_method=diff_method)
    reference = qml.QNode(body, qml.device("default.qubit", wires=2), interface="jax")
    x = jnp.array([0.4, 1.1])
    hessian = kvant.qjit(kvant.jacobian(kvant.grad(circuit)))
    np.testing.assert_allclose(hessian(x), jax.hessian(reference)(x), atol=1e-9)
    # d/dx1 of d/dx0 of d/dx1
    third = kvant.qjit(kvant.grad(lambda v: kvant.grad(lambda w: kvant.grad(circuit)(w)[1])(v)[0]))
    want = jax.grad(lambda v: jax.grad(lambda w: jax.grad(reference)(w)[1])(v)[0])(x)
    np.testing.assert_allclose(third(x), want, atol=1e-8)


@pytest.mark.parametrize("diff_method", ALL_METHODS)
def test_hessian_of_a_scalar_of_probabilities_expval_and_var(diff_method):
    """The derivative of the VJP form, and of variances, which are not of the trigonometric
    form the shift rules need: d var = d<O^2> - 2<O> d<O> is shifted term by term."""
    circuit = qml.QNode(
        _mixed_measurements, qml.device("kvant.qubit", wires=3), diff_method=diff_method
    )
    reference = qml.QNode(
        _mixed_measurements, qml.device("default.qubit", wires=3), interface="jax"
    )
    x = jnp.array([0.4, 1.1])
    hessian = kvant.qjit(kvant.jacobian(kvant.grad(_scalar_cost(circuit))))
    np.testing.assert_allclose(hessian(x), jax.hessian(_scalar_cost(reference))(x), atol=1e-9)


@pytest.mark.parametrize("diff_method", ["adjoint", "parameter-shift"])
def test_second_derivative_of_variances(diff_method):
    circuit = qml.QNode(_variances, qml.device("kvant.qubit", wires=2), diff_method=diff_method)
    reference = qml.QNode(_variances, qml.device("default.qubit", wires=2), interface="jax")
    x = jnp.array([0.4, 1.1])
    weights = jnp.array([0.5, -1.0, 0.8, 1.3])
    cost = lambda c: lambda x: jnp.dot(weights, jnp.stack(c(x)))
    hessian = kvant.qjit(kvant.jacobian(kvant.grad(cost(circuit))))
    np.testing.assert_allclose(hessian(x), jax.hessian(cost(reference))(x), atol=1e-9)


@pytest.mark.parametrize("diff_method", ["adjoint", "parameter-shift"])
def test_second_and_third_derivatives_of_a_single_variance(diff_method):
    """One measurement entry (the Jacobian form); var(Z) after RX(t) is sin² t, whose second
    and third derivatives are 2 cos 2t and -4 sin 2t."""

    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method=diff_method)
    def circuit(t):
        qml.RX(t, wires=0)
        return qml.var(qml.PauliZ(0))

    second = kvant.qjit(kvant.grad(kvant.grad(circuit)))
    third = kvant.qjit(kvant.grad(kvant.grad(kvant.grad(circuit))))
    assert second(0.4) == pytest.approx(2 * np.cos(0.8), abs=1e-9)
    assert third(0.4) == pytest.approx(-4 * np.sin(0.8), abs=1e-9)


def test_e6_complex_result(api):
    qjit, grad, _ = api
    circuit = _rx("best")
    with pytest.raises(TypeError, match="only real floating-point results"):
        qjit(lambda x: grad(lambda y: 1j * circuit(y))(x))(0.3)


@pytest.mark.parametrize("diff_method", ["parameter-shift", "adjoint"])
def test_e8_state_is_not_differentiable(api, diff_method):
    qjit, grad, jacobian = api

    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method=diff_method)
    def state_circuit(x):
        qml.RX(x, wires=0)
        return qml.state()

    for transform in (grad, jacobian):
        with pytest.raises(TypeError, match="state_circuit.*state.*not differentiable"):
            qjit(lambda x: transform(state_circuit)(x))(0.3)


def _measured(x):
    qml.RX(x, wires=0)
    m = qml.measure(0)
    qml.cond(m, qml.RY)(x, wires=1)
    return qml.expval(qml.PauliZ(1))


@pytest.mark.parametrize("diff_method", ALL_METHODS)
def test_e12_mid_circuit_measurement(diff_method):
    """A sampled branch (single-branch-statistics) has no derivative: refused by name."""
    measured = qml.QNode(
        _measured,
        qml.device("kvant.qubit", wires=2),
        diff_method=diff_method,
        mcm_method="single-branch-statistics",
    )
    measured.func.__name__ = "measured"
    with pytest.raises(
        kvant.CompileError, match="measured.*mid-circuit measurement is not differentiable"
    ):
        kvant.qjit(kvant.grad(measured))(0.3)


@pytest.mark.parametrize("diff_method", ALL_METHODS)
def test_deferred_mid_circuit_measurements_are_differentiated(diff_method):
    """Without shots a mid-circuit measurement is deferred (PennyLane's default): the circuit
    is unitary on ancilla wires and its exact statistics have derivatives, as on default.qubit."""
    measured = qml.QNode(_measured, qml.device("kvant.qubit", wires=2), diff_method=diff_method)
    reference = qml.QNode(_measured, qml.device("default.qubit"), interface="jax")
    for x in (0.3, 1.4):
        np.testing.assert_allclose(
            kvant.qjit(kvant.grad(measured))(x), jax.grad(reference)(x), atol=1e-8
        )
        np.testing.assert_allclose(kvant.qjit(measured)(x), reference(x), atol=1e-12)


def test_e10_non_differentiable_qnode():
    with pytest.raises(ValueError, match="non-differentiable"):
        kvant.qjit(kvant.grad(_rx(None)))(0.3)


@pytest.mark.parametrize("diff_method", ["finite-diff", "hadamard"])
def test_e11_diff_methods_kvant_does_not_use(diff_method):
    with pytest.raises(ValueError, match="method='fd'"):
        kvant.qjit(kvant.grad(_rx(diff_method)))(0.3)


def test_adjoint_with_shots_is_an_error():
    with pytest.raises(ValueError, match="no shot semantics"):
        kvant.qjit(kvant.grad(_rx("adjoint", shots=100)))(0.3)


@pytest.mark.parametrize(
    "diff_method, measurements, shots, method",
    [
        ("adjoint", ["expval", "probs"], 0, "adjoint"),
        ("parameter-shift", ["expval"], 0, "parameter-shift"),
        ("parameter-shift", ["probs"], 100, "parameter-shift"),
        ("best", ["expval", "var"], 0, "adjoint"),
        ("best", ["expval", "probs"], 0, "parameter-shift"),
        ("best", ["expval"], 100, "parameter-shift"),
    ],
)
def test_auto_table_chooses_the_documented_method(diff_method, measurements, shots, method):
    """The table of docs/gradients.md ("Choosing the quantum method"), asked of the one function
    both the frontend and gradient-expand-auto consult."""
    from kvant import _mlir

    table = _mlir.extension().auto_method
    assert table(diff_method, measurements, shots, []) == (method, None, "")


@pytest.mark.parametrize("diff_method", ["adjoint", "parameter-shift"])
def test_hessian_through_gates_in_a_loop(diff_method):
    """The second sweep records the first one's loop state, the gate-parameter cotangents of run
    -time size included."""

    def looped(x, n):
        @kvant.for_loop(0, n, 1)
        def layer(i):
            qml.RX(x[0] * (i + 1), wires=0)
            qml.CRY(x[1], wires=[0, 1])  # four-term rule
            qml.CNOT(wires=[0, 1])

        layer()
        return qml.expval(qml.PauliZ(1))

    def unrolled(x, n):
        for i in range(n):
            qml.RX(x[0] * (i + 1), wires=0)
            qml.CRY(x[1], wires=[0, 1])
            qml.CNOT(wires=[0, 1])
        return qml.expval(qml.PauliZ(1))

    circuit = qml.QNode(looped, qml.device("kvant.qubit", wires=2), diff_method=diff_method)
    hessian = kvant.qjit(kvant.jacobian(kvant.grad(circuit, argnums=0), argnums=0))
    x = jnp.array([0.3, 0.8])
    for n in (1, 3):
        reference = qml.QNode(
            lambda x: unrolled(x, n), qml.device("default.qubit", wires=2), interface="jax"
        )
        np.testing.assert_allclose(hessian(x, n), jax.hessian(reference)(x), atol=1e-9)


class _ScaledShiftRX(qml.operation.Operation):
    """A user's gate with its own parameter-shift recipe (deliberately inexact: a finite
    difference), which PennyLane's parameter-shift method uses."""

    num_wires = 1
    num_params = 1
    grad_method = "A"
    grad_recipe = ([[5.0, 1, 0.1], [-5.0, 1, -0.1]],)

    @staticmethod
    def compute_decomposition(theta, wires):
        return [qml.RX(theta, wires=wires)]


def _recipe_circuit(diff_method, shots=None):
    @qml.set_shots(shots)
    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method=diff_method)
    def circuit(x):
        _ScaledShiftRX(x, wires=0)
        return qml.expval(qml.PauliZ(0))

    return circuit


def test_user_grad_recipe_is_refused_where_pennylane_would_use_it():
    """R6: kvant would have differentiated the decomposition exactly, silently ignoring the
    recipe that PennyLane's parameter-shift applies (-sin(x) vs the finite difference)."""
    for circuit in (_recipe_circuit("parameter-shift"), _recipe_circuit("best", shots=100)):
        with pytest.raises(
            kvant.UnsupportedError, match=r"grad_recipe of their own \(_ScaledShiftRX\)"
        ):
            kvant.qjit(kvant.grad(circuit))(0.3)
        kvant.qjit(circuit)(0.3)  # forward evaluation is unaffected
    # adjoint and backprop ignore recipes in PennyLane too: the exact derivative
    assert float(kvant.qjit(kvant.grad(_recipe_circuit("adjoint")))(0.3)) == pytest.approx(
        -np.sin(0.3), abs=1e-10
    )
    assert float(
        kvant.qjit(kvant.grad(_recipe_circuit("parameter-shift"), method="fd"))(0.3)
    ) == pytest.approx(-np.sin(0.3), abs=1e-6)
