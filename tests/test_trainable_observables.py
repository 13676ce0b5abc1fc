"""Observables whose coefficients depend on the arguments (Hamiltonians, qml.dot, sums, scalar
and tensor products): values and derivatives with respect to the coefficients and the gate
parameters, by every diff_method and by method="fd", against jax.jit of PennyLane's
default.qubit (backprop)."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant

DIFF_METHODS = ["adjoint", "parameter-shift", "best"]

H2 = np.array([[0.6, 0.2 - 0.4j], [0.2 + 0.4j, -1.1]])


def _ansatz(x):
    qml.RY(x[0], wires=0)
    qml.RX(x[1], wires=1)
    qml.CNOT(wires=[0, 1])
    qml.RZ(x[0] * x[1], wires=1)
    qml.RY(0.4, wires=2)
    qml.CNOT(wires=[1, 2])


# (name, observable of (x, k) built inside the QNode); k has 3 entries
OBSERVABLES = {
    "hamiltonian": lambda x, k: qml.Hamiltonian(
        k, [qml.PauliZ(0), qml.PauliX(0) @ qml.PauliY(1), qml.PauliZ(2)]
    ),
    "dot": lambda x, k: qml.dot(k, [qml.PauliX(1), qml.PauliZ(0) @ qml.PauliZ(1), qml.PauliY(2)]),
    "sum_of_sprods": lambda x, k: (
        k[0] * qml.PauliX(0)
        + 0.3 * qml.PauliZ(1) @ qml.PauliZ(2)
        - k[2] * qml.Identity(0)
        + jnp.sin(k[1]) * qml.PauliY(1)
    ),
    "prod_of_sums": lambda x, k: qml.prod(
        k[0] * qml.PauliX(0) + qml.PauliZ(0), k[1] * qml.PauliZ(1) - k[2] * qml.PauliX(2)
    ),
    "sprod_of_prod": lambda x, k: (k[0] * x[0]) * (qml.PauliZ(0) @ qml.PauliX(1)),
    "non_pauli_terms": lambda x, k: qml.dot(
        k, [qml.Hadamard(1), qml.Hermitian(H2, wires=0), qml.PauliZ(2)]
    ),
    # a matrix computed from the arguments (its derivative was silently 0)
    "traced_hermitian": lambda x, k: qml.Hermitian(_traced_matrix(k), wires=[0, 2]),
    # a factor of a product (Catalyst's quick start: a jnp matrix made inside the QNode is a
    # traced value too; both were refused)
    "prod_with_traced_hermitian": lambda x, k: (
        qml.PauliX(1) @ qml.Hermitian(_traced_matrix(k), wires=[0, 2])
    ),
    "prod_with_jnp_hermitian": lambda x, k: (
        qml.PauliX(0) @ qml.Hadamard(1) @ qml.Hermitian(jnp.array(H2), wires=2)
    ),
}


def _traced_matrix(k):
    # real symmetric: kvant's classical AD through complex arithmetic is a separate open bug
    a = jnp.outer(jnp.array([k[0], 1.0, k[1], 0.5]), jnp.array([1.0, k[2], 0.2, k[0] * k[1]]))
    return (a + a.T) / 2


def _circuit(device, observable, measure, diff_method=None):
    kwargs = {} if diff_method is None else {"diff_method": diff_method}

    @qml.qnode(qml.device(device, wires=3), **kwargs)
    def circuit(x, k):
        _ansatz(x)
        return measure(observable(x, k))

    return circuit


X = jnp.array([0.7, -0.4])
K = jnp.array([0.9, -1.3, 0.5])


def _from_state(observable, measure):
    """⟨H⟩ or Var H from default.qubit's state and the observable's matrix. (default.qubit's own
    derivative of qml.var in the coefficients is NaN: it differentiates an eigendecomposition;
    and a product of sums with traced coefficients leaks a tracer from one jax.jit to the next.)"""

    @qml.qnode(qml.device("default.qubit", wires=3))
    def state(x):
        _ansatz(x)
        return qml.state()

    def variance(x, k):
        psi = state(x)
        h = qml.matrix(observable(x, k), wire_order=[0, 1, 2])
        mean = jnp.real(jnp.vdot(psi, h @ psi))
        if measure is qml.expval:
            return mean
        return jnp.real(jnp.vdot(psi, h @ (h @ psi))) - mean**2

    return variance


def _reference(observable, measure):
    f = _from_state(observable, measure)
    return jax.jit(f)(X, K), jax.jit(jax.grad(f, argnums=(0, 1)))(X, K)


@pytest.mark.parametrize("name", list(OBSERVABLES))
@pytest.mark.parametrize("measure", [qml.expval, qml.var], ids=["expval", "var"])
@pytest.mark.parametrize("diff_method", DIFF_METHODS)
def test_value_and_gradient_by_diff_method(name, measure, diff_method):
    observable = OBSERVABLES[name]
    want_value, want_grad = _reference(observable, measure)
    f = _circuit("kvant.qubit", observable, measure, diff_method)
    value, grad = kvant.qjit(lambda x, k: kvant.value_and_grad(f, argnums=(0, 1))(x, k))(X, K)
    np.testing.assert_allclose(value, want_value, atol=1e-10)
    np.testing.assert_allclose(grad[0], want_grad[0], atol=1e-8)
    np.testing.assert_allclose(grad[1], want_grad[1], atol=1e-8)


@pytest.mark.parametrize("name", ["hamiltonian", "prod_of_sums", "non_pauli_terms"])
@pytest.mark.parametrize("measure", [qml.expval, qml.var], ids=["expval", "var"])
def test_gradient_by_finite_differences(name, measure):
    observable = OBSERVABLES[name]
    _, want_grad = _reference(observable, measure)
    f = _circuit("kvant.qubit", observable, measure)
    grad = kvant.qjit(lambda x, k: kvant.grad(f, argnums=(0, 1), method="fd", h=1e-7)(x, k))(X, K)
    np.testing.assert_allclose(grad[0], want_grad[0], atol=1e-5)
    np.testing.assert_allclose(grad[1], want_grad[1], atol=1e-5)


def test_issue_reproducer():
    """The reported program: d<H>/dk was silently [0, 0]."""

    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def h(x, k):
        qml.RX(x, 0)
        return qml.expval(qml.Hamiltonian(k, [qml.PauliZ(0), qml.PauliX(0)]))

    got = kvant.qjit(lambda x, k: kvant.grad(h, argnums=1)(x, k))(0.3, jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(got, [np.cos(0.3), 0.0], atol=1e-10)


def test_coefficients_from_the_calling_program_and_several_outputs():
    """Coefficients computed outside the QNode (closed over), next to other measurements; the
    Jacobian of every output."""
    ops = [qml.PauliZ(0), qml.PauliY(1), qml.PauliX(0) @ qml.PauliX(2)]

    def program(x, k):
        scale = jnp.exp(k)

        @qml.qnode(qml.device("kvant.qubit", wires=3))
        def circuit(x):
            _ansatz(x)
            h = qml.Hamiltonian(scale, ops)
            return qml.probs(wires=[1]), qml.expval(h), qml.var(h)

        probs, e, v = circuit(x)
        return jnp.concatenate([probs, jnp.stack([e, v])])

    @qml.qnode(qml.device("default.qubit", wires=3))
    def reference_circuit(x):
        _ansatz(x)
        return qml.probs(wires=[1]), qml.state()

    def reference(x, k):
        probs, psi = reference_circuit(x)
        h = qml.matrix(qml.Hamiltonian(jnp.exp(k), ops), wire_order=[0, 1, 2])
        e = jnp.real(jnp.vdot(psi, h @ psi))
        v = jnp.real(jnp.vdot(psi, h @ (h @ psi))) - e**2
        return jnp.concatenate([probs, jnp.stack([e, v])])

    want = jax.jit(jax.jacobian(reference, argnums=(0, 1)))(X, K)
    got = kvant.qjit(kvant.jacobian(program, argnums=(0, 1)))(X, K)
    np.testing.assert_allclose(got[0], want[0], atol=1e-8)
    np.testing.assert_allclose(got[1], want[1], atol=1e-8)
    np.testing.assert_allclose(kvant.qjit(program)(X, K), jax.jit(reference)(X, K), atol=1e-10)


@pytest.mark.parametrize("name", ["hamiltonian", "dot", "sum_of_sprods", "non_pauli_terms"])
def test_expval_against_default_qubit_measurement(name):
    """The same expectation values as default.qubit's own measurement, through PennyLane's API."""
    observable = OBSERVABLES[name]
    ref = _circuit("default.qubit", observable, qml.expval)
    want = jax.jit(jax.grad(ref, argnums=(0, 1)))(X, K)
    f = _circuit("kvant.qubit", observable, qml.expval)
    got = qml.qjit(lambda x, k: qml.grad(f, argnums=(0, 1))(x, k), compiler="kvant")(X, K)
    np.testing.assert_allclose(got[0], want[0], atol=1e-8)
    np.testing.assert_allclose(got[1], want[1], atol=1e-8)


def test_second_derivative_in_the_coefficients_of_a_variance():
    """Var is quadratic in the coefficients: its Hessian in k is 2 (Cov of the terms)."""
    observable = OBSERVABLES["hamiltonian"]
    ref = _from_state(observable, qml.var)
    want = jax.jit(jax.hessian(ref, argnums=1))(X, K)
    f = _circuit("kvant.qubit", observable, qml.var)
    got = kvant.qjit(kvant.jacobian(kvant.grad(f, argnums=1), argnums=1))(X, K)
    np.testing.assert_allclose(got, want, atol=1e-8)


def test_sampled_coefficient_derivative_is_the_term_estimate():
    """With shots, d<Σ k_i O_i>/dk_i is the estimate of <O_i>: within 5 sigma of the exact value."""
    shots = 20000

    @qml.set_shots(shots)
    @qml.qnode(qml.device("kvant.qubit", wires=3, seed=7), diff_method="parameter-shift")
    def f(x, k):
        _ansatz(x)
        return qml.expval(qml.dot(k, [qml.PauliZ(0), qml.PauliX(1), qml.PauliY(2)]))

    got = kvant.qjit(lambda x, k: kvant.grad(f, argnums=1)(x, k))(X, K)
    ops = [qml.PauliZ(0), qml.PauliX(1), qml.PauliY(2)]

    @qml.qnode(qml.device("default.qubit", wires=3))
    def terms(x):
        _ansatz(x)
        return [qml.expval(o) for o in ops]

    want = np.asarray(terms(X))
    sigma = np.sqrt((1 - want**2) / shots)
    assert np.all(np.abs(np.asarray(got) - want) < 5 * sigma + 1e-12)


def test_coefficient_from_a_mid_circuit_measurement_is_refused():
    @qml.qnode(qml.device("kvant.qubit", wires=2))
    def f(x):
        qml.RX(x, wires=0)
        m = kvant.measure(0)
        return qml.expval(jnp.where(m, 1.0, 2.0) * qml.PauliZ(1))

    with pytest.raises(kvant.UnsupportedError, match="coefficient depends on a quantum operation"):
        kvant.qjit(f)(0.3)


# ---------------------------------------------------------------------------------------------
# Observables on wires known only at run time (R3): O(z) = Σ_k [z = k] O(k)
# ---------------------------------------------------------------------------------------------


def _run_time_wire_circuit(device, diff_method=None):
    kwargs = {} if diff_method is None else {"diff_method": diff_method}

    @qml.qnode(qml.device(device, wires=3), **kwargs)
    def circuit(x, z, w):
        qml.RX(x[0], wires=z)
        qml.RY(x[1], wires=0)
        qml.CNOT(wires=[0, 2])
        qml.CRY(x[0] * x[1], wires=[2, 1])
        return (
            qml.expval(qml.PauliZ(z)),
            qml.expval(qml.PauliX(z) @ qml.PauliZ(w)),
            qml.var(qml.PauliY(z)),
            qml.expval(x[1] * qml.Hadamard(z) + qml.PauliZ(0)),
            qml.var(qml.PauliZ(w) + 0.5 * qml.PauliX(z)),
        )

    return circuit


@pytest.mark.parametrize("diff_method", DIFF_METHODS)
def test_observables_on_run_time_wires(diff_method):
    ref = _run_time_wire_circuit("default.qubit")
    circuit = _run_time_wire_circuit("kvant.qubit", diff_method)
    value = kvant.qjit(circuit)
    jac = kvant.qjit(kvant.jacobian(circuit))
    for z, w in [(0, 1), (1, 2), (2, 0), (1, 0)]:
        got, want = value(X, z, w), ref(X, z, w)
        np.testing.assert_allclose(np.stack(got), np.stack(want), atol=1e-10)
        got, want = jac(X, z, w), jax.jacobian(ref)(X, z, w)
        np.testing.assert_allclose(np.stack(got), np.stack(want), atol=1e-8)


def test_issue_reproducer_run_time_wire():
    """qml.expval(qml.PauliZ(z)), z traced: was an UnexpectedTracerError inside lowering."""

    @qml.qnode(qml.device("kvant.qubit", wires=2))
    def f(x, z):
        qml.RX(x, wires=1)
        return qml.expval(qml.PauliZ(z))

    compiled = kvant.qjit(f)
    assert float(compiled(0.3, 0)) == pytest.approx(1.0, abs=1e-12)
    assert float(compiled(0.3, 1)) == pytest.approx(np.cos(0.3), abs=1e-12)
    assert np.isnan(float(compiled(0.3, 2)))  # no such wire: NaN, not another wire's value
    assert float(kvant.qjit(kvant.grad(f))(0.3, 1)) == pytest.approx(-np.sin(0.3), abs=1e-10)


def test_hermitian_on_a_run_time_wire_is_refused():
    @qml.qnode(qml.device("kvant.qubit", wires=2))
    def f(z):
        return qml.expval(qml.Hermitian(H2, wires=z))

    with pytest.raises(
        kvant.UnsupportedError, match="cannot measure Hermitian on wires computed at run time"
    ):
        kvant.qjit(f)(1)
