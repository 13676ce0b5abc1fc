"""Observables on several wires that PennyLane accepts: the identity on several wires (alone,
in products and in sums), ``qml.Projector`` (basis state and state vector), products whose
factors share a wire, ``qml.SparseHamiltonian``, ``qml.prod`` / ``qml.s_prod`` / ``qml.sum``
compositions; in ``expval`` and ``var``, exact and with shots, with the derivatives of
``adjoint`` and ``parameter-shift``. References: default.qubit with ``backprop`` (JAX) on
random circuits; observables PennyLane cannot backpropagate (``SparseHamiltonian``) against the
same matrix as a ``qml.Hermitian``."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest
import scipy.sparse

import kvant

jax.config.update("jax_enable_x64", True)

W = 4
H2 = np.array(qml.matrix(qml.X(0) @ qml.Y(1) + 0.5 * qml.Z(0), wire_order=[0, 1]))
SPARSE = qml.Hamiltonian([0.3, 0.7, -0.2], [qml.X(0) @ qml.Z(2), qml.Y(1), qml.Z(3)]).sparse_matrix(
    wire_order=range(W)
)
SPARSE_2 = scipy.sparse.csr_matrix(
    np.array(qml.matrix(0.4 * qml.X(0) @ qml.Z(1) + 0.9 * qml.Y(1), wire_order=[0, 1]))
)

# name -> (the observable measured by kvant, the same observable for the reference)
OBSERVABLES = {
    "I([1, 2])": lambda: qml.I([1, 2]),
    "I on every wire": lambda: qml.Identity([0, 1, 2, 3]),
    "Z(0) @ I([1, 2])": lambda: qml.PauliZ(0) @ qml.I([1, 2]),
    "prod with I": lambda: qml.prod(qml.X(0), qml.I([1, 3]), qml.Z(2)),
    "sum with I([0, 3])": lambda: qml.sum(
        qml.X(0), qml.s_prod(2.0, qml.Z(1) @ qml.Z(2)), qml.I([0, 3])
    ),
    "Projector basis": lambda: qml.Projector([0, 1], wires=[0, 1]),
    "Projector basis 3": lambda: qml.Projector([1, 0, 1], wires=[3, 1, 2]),
    "Projector state": lambda: qml.Projector(np.array([1, 0, 0, 1]) / np.sqrt(2), wires=[0, 2]),
    "Projector @ X": lambda: qml.Projector([1], wires=[0]) @ qml.X(1),
    "sum with Projector": lambda: qml.Hermitian(H2, wires=[0, 2]) + 0.5 * qml.Projector([1], [3]),
    "Z(0) @ Hermitian(0, 2)": lambda: (
        qml.Z(0)
        @ qml.Hermitian(np.kron(np.diag([1.0, 2.0]), H2[:2, :2] + H2[:2, :2].T), wires=[0, 2])
    ),
    "Z(1) @ Z(1)": lambda: qml.prod(qml.Z(1), qml.Z(1)),
    "X(0) @ I(0)": lambda: qml.prod(qml.X(0), qml.I(0)),
    "s_prod of prod": lambda: qml.s_prod(-0.7, qml.prod(qml.Y(3), qml.Projector([0, 1], [0, 2]))),
    "Hermitian 4 wires": lambda: qml.Hermitian(np.kron(H2, H2), wires=[3, 1, 0, 2]),
}
SPARSE_OBSERVABLES = {
    "SparseHamiltonian": (
        lambda: qml.SparseHamiltonian(SPARSE, wires=range(W)),
        lambda: qml.Hermitian(SPARSE.toarray(), wires=range(W)),
    ),
    "SparseHamiltonian on [2, 0]": (
        lambda: qml.SparseHamiltonian(SPARSE_2, wires=[2, 0]),
        lambda: qml.Hermitian(SPARSE_2.toarray(), wires=[2, 0]),
    ),
}
CASES = {name: (o, o) for name, o in OBSERVABLES.items()} | SPARSE_OBSERVABLES


def random_circuit(seed):
    """A random layered circuit on W wires: the returned function applies it to x (3 angles)."""
    rng = np.random.default_rng(seed)
    layers = []
    for _ in range(3):
        for w in range(W):
            layers.append((str(rng.choice(["RX", "RY", "RZ"])), int(rng.integers(3)), w, None))
        a, b = rng.choice(W, 2, replace=False)
        layers.append(("CNOT", None, int(a), int(b)))
        layers.append(("Hadamard", None, int(rng.integers(W)), None))

    def apply(x):
        for name, k, a, b in layers:
            if name == "CNOT":
                qml.CNOT(wires=[a, b])
            elif name == "Hadamard":
                qml.Hadamard(wires=a)
            else:
                getattr(qml, name)(x[k] * (a + 1) * 0.7, wires=a)

    return apply


def _pair(name, measure, seed, diff_method):
    obs, ref_obs = CASES[name]
    apply = random_circuit(seed)

    def kv(x):
        apply(x)
        return measure(obs())

    def ref(x):
        apply(x)
        return measure(ref_obs())

    reference = qml.QNode(ref, qml.device("default.qubit", wires=W), diff_method="backprop")
    return (
        qml.QNode(kv, qml.device("lightning.qubit", wires=W), diff_method=diff_method),
        # PennyLane gives a complex value for a product whose factors share a wire (it does not
        # know it is Hermitian); its imaginary part is 0
        lambda x: jnp.real(reference(x)),
    )


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize(
    "kind, diff_method",
    [("expval", "adjoint"), ("expval", "parameter-shift"), ("var", "parameter-shift")],
)
def test_value_and_gradient_against_default_qubit(name, kind, diff_method):
    measure = qml.expval if kind == "expval" else qml.var
    for seed in (list(CASES).index(name),):  # a random circuit of its own per observable
        kv, ref = _pair(name, measure, seed, diff_method)
        f = kvant.qjit(lambda x: (kv(x), kvant.grad(kv)(x)))
        x = jnp.array(np.random.default_rng(seed + 10).uniform(-2, 2, 3))
        value, grad = f(x)
        np.testing.assert_allclose(value, ref(x), atol=1e-10, err_msg=name)
        np.testing.assert_allclose(grad, jax.grad(ref)(x), atol=1e-8, err_msg=name)


@pytest.mark.parametrize("name", ["Z(0) @ I([1, 2])", "Projector state", "sum with I([0, 3])"])
def test_through_qml_qjit_with_qml_grad(name):
    kv, ref = _pair(name, qml.expval, 3, "adjoint")
    g = qml.qjit(qml.grad(kv), compiler="kvant")
    x = jnp.array([0.3, -1.1, 0.8])
    np.testing.assert_allclose(g(x), jax.grad(ref)(x), atol=1e-8)


@pytest.mark.parametrize(
    "name",
    [
        "I([1, 2])",
        "Z(0) @ I([1, 2])",
        "Projector basis 3",
        "Projector state",
        "Projector @ X",
        "Z(0) @ Hermitian(0, 2)",
        "SparseHamiltonian",
    ],
)
def test_with_shots_within_five_standard_errors(name):
    """Sampled expval, var and sample mean against the exact values (default.qubit); the
    SparseHamiltonian is sampled in its eigenbasis, from its matrix."""
    shots = 4000
    obs, ref_obs = CASES[name]
    apply = random_circuit(5)

    def body(x, o):
        apply(x)
        return qml.expval(o()), qml.var(o()), qml.sample(o())

    kv = qml.set_shots(qml.QNode(lambda x: body(x, obs), qml.device("kvant.qubit", wires=W)), shots)

    def exact_body(x):
        apply(x)
        return qml.expval(ref_obs()), qml.var(ref_obs())

    exact = qml.QNode(exact_body, qml.device("default.qubit", wires=W))
    x = jnp.array([0.4, 1.3, -0.6])
    mean, var, samples = kvant.qjit(kv, seed=2)(x)
    e_mean, e_var = (float(np.real(v)) for v in exact(x))
    sigma = np.sqrt(max(e_var, 1e-3) / shots)
    assert abs(float(mean) - e_mean) < 5 * sigma
    assert abs(float(np.mean(samples)) - e_mean) < 5 * sigma
    assert np.asarray(samples).shape == (shots,)
    # the variance of the estimated variance: bounded by the fourth moment, at most λmax⁴
    lam = float(np.max(np.abs(np.linalg.eigvalsh(qml.matrix(ref_obs(), wire_order=range(W))))))
    assert abs(float(var) - e_var) < 5 * lam**2 / np.sqrt(shots) + 1e-12


def test_trainable_coefficients_with_identity_on_several_wires():
    """A Hamiltonian whose coefficients come from the argument, with I([0, 1]) among its terms:
    expval and var (the variance's ⟨H²⟩ term by term) and their gradients, against ⟨ψ|H|ψ⟩
    and ⟨ψ|H²|ψ⟩ - ⟨ψ|H|ψ⟩² from default.qubit's state (PennyLane's backprop of this var
    gives NaN)."""
    apply = random_circuit(7)
    terms = lambda: [qml.I([0, 1]), qml.Z(0) @ qml.I([2, 3]), qml.Projector([1, 1], wires=[1, 2])]
    coefficients = lambda x: jnp.stack([x[0], x[1] ** 2, 0.5])

    def body(x):
        apply(x)
        H = qml.Hamiltonian(coefficients(x), terms())
        return qml.expval(H), qml.var(H)

    def state(x):
        apply(x)
        return qml.state()

    psi = qml.QNode(state, qml.device("default.qubit", wires=W), diff_method="backprop")
    mats = jnp.stack([jnp.asarray(qml.matrix(t, wire_order=range(W))) for t in terms()])

    def ref(x):
        H = jnp.einsum("k,kij->ij", coefficients(x).astype(complex), mats)
        v = psi(x)
        mean = jnp.real(jnp.vdot(v, H @ v))
        return mean, jnp.real(jnp.vdot(v, H @ (H @ v))) - mean**2

    kv = qml.QNode(body, qml.device("kvant.qubit", wires=W), diff_method="parameter-shift")
    x = jnp.array([0.3, -0.8, 1.2])
    total = lambda q: lambda x: q(x)[0] + 0.3 * q(x)[1]
    value, grad = kvant.qjit(lambda x: (kv(x), kvant.grad(total(kv))(x)))(x)
    np.testing.assert_allclose(np.asarray(value), np.asarray(ref(x)), atol=1e-10)
    np.testing.assert_allclose(grad, jax.grad(total(ref))(x), atol=1e-8)


def _circuit_measuring(obs_fn, wires=W):
    @qml.qnode(qml.device("kvant.qubit", wires=wires))
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(obs_fn(x))

    return kvant.qjit(circuit)


def test_refusals_name_the_observable():
    with pytest.raises(kvant.UnsupportedError, match="not Hermitian"):
        _circuit_measuring(lambda x: qml.prod(qml.X(0), qml.Z(0)))(0.3)
    with pytest.raises(kvant.UnsupportedError, match="SparseHamiltonian.*1 to 8 wires"):
        _circuit_measuring(
            lambda x: qml.SparseHamiltonian(
                scipy.sparse.identity(2**9, format="csr", dtype=complex), wires=range(9)
            ),
            wires=9,
        )(0.3)
    with pytest.raises(kvant.UnsupportedError, match="Projector with parameters computed"):
        _circuit_measuring(lambda x: qml.Projector(jnp.array([jnp.cos(x), jnp.sin(x)]), wires=[1]))(
            0.3
        )
