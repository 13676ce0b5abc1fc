"""Derivatives through complex intermediate values with method="auto": the reverse sweep carries
complex cotangents (z̄ = ∂L/∂x + i ∂L/∂y, ReverseMode.h), so real functions of real arguments
computed through complex numbers are differentiated exactly. Against jax.grad / jax.jacobian and
central finite differences of the function itself; complex values off the derivative's path are
no obstacle; what the quantum rules cannot differentiate (a QubitUnitary matrix or StatePrep
amplitudes computed from a differentiated argument) is refused by name."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant

jax.config.update("jax_enable_x64", True)

rng = np.random.default_rng(11)
X = rng.uniform(0.2, 0.8, size=4)
A = rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))
B = rng.normal(size=(4, 2)) + 1j * rng.normal(size=(4, 2))


def _central_differences(f, x, h=1e-6):
    x = np.asarray(x, dtype=np.float64)
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(cols, axis=-1).reshape(np.shape(f(x)) + x.shape)


#: scalar programs R -> R through complex values (the refusal tests of the first version)
THROUGH_COMPLEX = {
    "mul": lambda k: jnp.real((1j * k + k**2) * (2 + 3j)),
    "abs": lambda k: jnp.abs(k + 2j * k),
    "exp": lambda k: jnp.real(jnp.exp(1j * k)),
    "imag": lambda k: jnp.imag(jnp.exp(1j * k) * k),
    "conj": lambda k: jnp.real(jnp.conj(k * (1 + 2j)) * (k * (1 + 2j))),
    "lax.complex": lambda k: jnp.abs(jax.lax.complex(k, k**2)) ** 2,
    "div": lambda k: jnp.real((1 + 2j) / (k + 1j)),
    "array": lambda k: jnp.sum(jnp.abs(jnp.array([k, 2 * k]) * jnp.array([1j, 2.0])) ** 2),
}


@pytest.mark.parametrize("name", THROUGH_COMPLEX)
def test_scalar_programs_through_complex_values(name):
    f = THROUGH_COMPLEX[name]
    want = jax.grad(f)(0.7)
    assert abs(float(want)) > 1e-3  # a non-zero derivative, which was once lost
    got = kvant.qjit(kvant.grad(f))(0.7)
    assert got.dtype == jnp.float64  # a real argument gets a real cotangent
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", THROUGH_COMPLEX)
def test_fd_differentiates_through_complex_values(name):
    f = THROUGH_COMPLEX[name]
    np.testing.assert_allclose(
        kvant.qjit(kvant.grad(f, method="fd"))(0.7), jax.grad(f)(0.7), rtol=1e-5, atol=1e-6
    )


def _z(x):
    """A complex vector of x (4,), with x in both parts and a non-trivial phase."""
    return jax.lax.complex(x, x[::-1] ** 2 - 0.3)


#: one or more complex rules each: a real vector function of x in (0.2, 0.8)^4
ELEMENTWISE = {
    "add sub neg": lambda x: jnp.real((_z(x) + 2j * x) - (-_z(x)) * (1 - 1j)),
    "mul div": lambda x: jnp.imag(_z(x) * _z(x[::-1]) / (_z(x) + 2.0)),
    "conj real imag": lambda x: jnp.real(jnp.conj(_z(x)) * (0.3 + 2j)) + jnp.imag(_z(x)) ** 2,
    "exp log": lambda x: jnp.imag(jnp.exp(_z(x)) + jnp.log(_z(x) + 1j)),
    "expm1 log1p": lambda x: jnp.real(jnp.expm1(_z(x)) * (1 - 1j)) + jnp.imag(jnp.log1p(_z(x))),
    "sqrt rsqrt": lambda x: jnp.imag(jnp.sqrt(_z(x))) + jnp.real(jax.lax.rsqrt(_z(x) + 1j)),
    "sin cos tan": lambda x: (
        jnp.real(jnp.sin(_z(x)) + 2j * jnp.cos(_z(x))) + jnp.imag(jnp.tan(_z(x)))
    ),
    "tanh": lambda x: jnp.imag(jnp.tanh(_z(x)) * (1 + 1j)),
    "abs": lambda x: jnp.abs(_z(x) * (1 + 2j)),
    "angle": lambda x: jnp.angle(_z(x) * 1j),
    "pow (complex exponent)": lambda x: (
        jnp.real(_z(x) ** (0.5 + 0.25j)) + jnp.imag((1.5 + 0.5j) ** _z(x))
    ),
    "integer powers": lambda x: jnp.real(_z(x) ** 3 + _z(x) ** -2),
    "square and abs squared": lambda x: jnp.abs(_z(x)) ** 2 + jnp.real(jnp.square(_z(x))),
    "conversions: real -> complex64 -> complex128 -> real": lambda x: jnp.real(
        (x.astype(jnp.complex64) * (1 + 1j)).astype(jnp.complex128) ** 2
    ),
    "where (select)": lambda x: jnp.real(jnp.where(x > 0.5, _z(x), 1j * _z(x) ** 2)),
    "complex64": lambda x: jnp.abs(jnp.exp(_z(x).astype(jnp.complex64) * 1j)).astype(jnp.float64),
}


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_elementwise_rules(name):
    fn = ELEMENTWISE[name]
    tol = 1e-4 if "complex64" in name else 1e-9
    got = kvant.qjit(kvant.jacobian(fn))(X)
    np.testing.assert_allclose(got, jax.jacobian(fn)(X), rtol=tol, atol=tol)
    if "complex64" not in name:
        np.testing.assert_allclose(got, _central_differences(fn, X), rtol=1e-6, atol=1e-6)


def SIGN_OF_COMPLEX(x):  # a program, named as the tables above
    return jnp.real(jnp.sign(_z(x)) * (1 + 2j)) + jnp.imag(jnp.sign(_z(x)))


def test_sign_of_a_complex_number_is_differentiated():
    """sign(z) = z / |z| has a derivative (jax.grad takes it as 0, exact for real numbers only):
    compared with z / |z| written out, and with finite differences."""
    fn = SIGN_OF_COMPLEX
    spelled = lambda x: (
        jnp.real(_z(x) / jnp.abs(_z(x)) * (1 + 2j)) + jnp.imag(_z(x) / jnp.abs(_z(x)))
    )
    got = kvant.qjit(kvant.jacobian(fn))(X)
    np.testing.assert_allclose(got, jax.jacobian(spelled)(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got, _central_differences(fn, X), rtol=1e-6, atol=1e-6)
    # at 0: sign(0) = 0, derivative taken as 0 (as |z| at 0)
    at_zero = lambda k: jnp.real(jnp.sign(jax.lax.complex(k - 0.5, 0.0)))
    assert kvant.qjit(kvant.grad(at_zero))(0.5) == 0.0
    assert kvant.qjit(kvant.grad(lambda k: jnp.abs(jax.lax.complex(k - 0.5, 0.0))))(0.5) == 0.0


#: structural ops on complex arrays (linear and bilinear: sums, conjugated products)
STRUCTURAL = {
    "matmul A @ z": lambda x: jnp.abs(A @ _z(x)) ** 2,
    "matmul z^H A^H A z": lambda x: jnp.real(jnp.conj(_z(x)) @ (A.conj().T @ (A @ _z(x)))),
    "matrix product of two computed matrices": lambda x: jnp.real(
        (jnp.outer(_z(x), _z(x[::-1])) @ B * (1 + 1j)).ravel()
    ),
    "vdot and einsum": lambda x: jnp.stack(
        [
            jnp.imag(jnp.vdot(_z(x), A[0] * _z(x))),
            jnp.real(jnp.einsum("i,ij,j->", _z(x), A.T @ A, _z(x))),
        ]
    ),
    "sum and mean, axis": lambda x: (
        jnp.abs(jnp.sum(jnp.outer(_z(x), _z(x)) * 1j, axis=0)) + jnp.real(jnp.mean(_z(x) ** 2))
    ),
    "prod": lambda x: jnp.stack(
        [jnp.real(jnp.prod(_z(x))), jnp.imag(jnp.prod(_z(x)[:3] * 1j - 0.5))]
    ),
    "prod with a zero (exact, as JAX)": lambda x: jnp.stack(
        [
            jnp.real(jnp.prod(jnp.concatenate([_z(x)[:2], jnp.zeros(1, complex), _z(x)[3:]]))),
            jnp.imag(jnp.prod(jnp.concatenate([_z(x)[:1], jnp.zeros(2, complex), _z(x)[3:]]))),
        ]
    ),
    "cumsum and cumprod": lambda x: (
        jnp.real(jnp.cumsum(_z(x)) * (1 - 2j)) + jnp.imag(jnp.cumprod(_z(x)))
    ),
    "broadcast, transpose, reshape": lambda x: jnp.real(
        (_z(x)[:, None] * jnp.conj(_z(x))[None, :]).T.reshape(2, 8) * jnp.arange(16).reshape(2, 8)
    ).ravel(),
    "slices, concatenate, pad, flip": lambda x: jnp.imag(
        jnp.concatenate([_z(x)[1:3] * 2j, jnp.pad(_z(x), (1, 2))[::-1], _z(x)[::2]])
    ),
    "gather and scatter": lambda x: jnp.abs(
        jnp.take(_z(x), jnp.array([3, 0, 0, 2])) * 1j
        + jnp.zeros(4, complex).at[jnp.array([1, 1, 2])].add(_z(x)[:3] ** 2).at[0].set(_z(x)[3])
    ),
    "dynamic index": lambda x: jnp.real(_z(x)[(x[0] * 10).astype(int) % 4] * _z(x)),
}


@pytest.mark.parametrize("name", list(STRUCTURAL))
def test_structural_rules_on_complex_arrays(name):
    fn = STRUCTURAL[name]
    got = kvant.qjit(kvant.jacobian(fn))(X)
    np.testing.assert_allclose(got, jax.jacobian(fn)(X), rtol=1e-9, atol=1e-12)
    if "zero" not in name:
        np.testing.assert_allclose(got, _central_differences(fn, X), rtol=1e-6, atol=1e-6)


CONTROL_FLOW = {
    "fori_loop with a complex carry": lambda x: (
        jnp.abs(jax.lax.fori_loop(0, 3, lambda i, c: c * _z(x) + 1j * x[0], jnp.ones(4, complex)))
        ** 2
    ),
    "scan over complex values": lambda x: jnp.real(
        jax.lax.scan(lambda c, v: (c * v + 1j, c * jnp.conj(v)), 1.0 + 0j, _z(x))[1]
    ),
    "while_loop with a complex carry": lambda x: jnp.imag(
        jax.lax.while_loop(
            lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * _z(x) - x[1]), (0, _z(x))
        )[1]
    ),
    "cond on complex values": lambda x: jnp.real(
        jax.lax.cond(x[0] > 0.3, lambda z: jnp.exp(z), lambda z: z**2, _z(x))
    ),
}


@pytest.mark.parametrize("name", list(CONTROL_FLOW))
def test_control_flow_with_complex_values(name):
    fn = CONTROL_FLOW[name]
    got = kvant.qjit(kvant.jacobian(fn))(X)
    np.testing.assert_allclose(got, _central_differences(fn, X), rtol=1e-6, atol=1e-6)
    if "while" not in name:  # JAX cannot reverse a while_loop
        np.testing.assert_allclose(got, jax.jacobian(fn)(X), rtol=1e-9, atol=1e-12)


def test_second_derivative_through_complex_values():
    f = lambda k: jnp.real(jnp.exp(1j * k**2) * (k + 2j)) + jnp.abs(k + 1j * k**2)
    for k in (0.3, 1.1):
        np.testing.assert_allclose(
            kvant.qjit(kvant.grad(kvant.grad(f)))(k), jax.grad(jax.grad(f))(k), rtol=1e-9
        )


def test_complex_values_off_the_derivative_path_are_no_obstacle():
    def f(x, y):
        phase = jnp.abs(jnp.exp(1j * y)) * jnp.real(jnp.exp(2j * y))  # depends on y only
        return x**2 * phase

    np.testing.assert_allclose(
        kvant.qjit(kvant.grad(f, argnums=0))(0.7, 0.3), jax.grad(f, argnums=0)(0.7, 0.3), atol=1e-12
    )

    def g(x):
        aux = jnp.exp(1j * x)  # computed, but not part of the differentiated result
        return x**2, aux

    got, aux = kvant.qjit(kvant.grad(g, has_aux=True))(0.7)
    np.testing.assert_allclose(got, 1.4, atol=1e-12)
    np.testing.assert_allclose(aux, np.exp(0.7j), atol=1e-12)


# -- QNodes ----------------------------------------------------------------------------------


def _rotation_from_complex(dev):
    """Gate angles computed through complex numbers (the angle and modulus of a phase)."""

    @qml.qnode(dev)
    def circuit(x):
        z = jnp.exp(1j * x[0]) * (x[1] + 0.5j)
        qml.RX(jnp.angle(z), wires=0)
        qml.RY(jnp.abs(z) * x[2], wires=1)
        qml.CNOT(wires=[0, 1])
        return qml.expval(qml.PauliZ(1)), qml.probs(wires=[0])

    return circuit


def test_qnode_with_gate_angles_computed_through_complex_numbers():
    ref, mine = (
        _rotation_from_complex(qml.device("default.qubit", wires=2)),
        _rotation_from_complex(qml.device("kvant.qubit", wires=2)),
    )
    x = X[:3]
    cost = lambda q: lambda x: q(x)[0] + jnp.sin(q(x)[1][1])
    np.testing.assert_allclose(
        kvant.qjit(kvant.grad(cost(mine)))(x), jax.grad(cost(ref))(x), rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(
        kvant.qjit(kvant.jacobian(lambda x: mine(x)[1]))(x),
        jax.jacobian(lambda x: ref(x)[1])(x),
        rtol=1e-9,
        atol=1e-12,
    )


def test_qnode_with_a_complex_argument_and_a_hermitian_matrix_from_the_arguments():
    """A complex QNode argument computed from the differentiated one, used for gate angles; a
    Hermitian observable computed from the arguments (measured through its Pauli form)."""

    def make(dev):
        @qml.qnode(dev)
        def from_complex(z):
            qml.RX(jnp.real(z * (1 + 1j)), wires=0)
            qml.RY(jnp.abs(z), wires=0)
            return qml.expval(qml.PauliZ(0))

        @qml.qnode(dev)
        def hermitian(x):
            qml.RX(0.4, wires=0)
            return qml.expval(qml.Hermitian(jnp.array([[x, 1j * x**2], [-1j * x**2, -x]]), wires=0))

        return (lambda x: from_complex(jnp.exp(1j * x) * x)), hermitian

    for ref, mine in zip(
        make(qml.device("default.qubit", wires=1)), make(qml.device("kvant.qubit", wires=1))
    ):
        np.testing.assert_allclose(kvant.qjit(kvant.grad(mine))(0.7), jax.grad(ref)(0.7), rtol=1e-9)


def test_fermionic_swap_and_a_complex_hermitian_matrix_from_the_arguments():
    """FermionicSWAP's decomposition computes its angles through complex numbers (its gradient
    was refused); a complex Hermitian matrix computed from the arguments (2 wires)."""

    def make(dev):
        @qml.qnode(dev)
        def fswap(x, k):
            qml.RX(0.3, wires=0)
            qml.RY(0.8, wires=1)
            qml.FermionicSWAP(x * k[0], wires=[0, 1])
            return qml.expval(qml.PauliZ(0) @ qml.PauliX(1))

        @qml.qnode(dev)
        def hermitian(x, k):
            qml.RX(x, wires=0)
            qml.RY(0.4, wires=2)
            qml.CNOT([0, 2])
            a = jnp.outer(
                jnp.array([k[0], 1.0j, k[1], 0.5]), jnp.array([1.0, k[2], 0.2j, k[0] * k[1]])
            )
            return qml.expval(qml.Hermitian((a + a.conj().T) / 2, wires=[0, 2]))

        return fswap, hermitian

    k = jnp.array([0.3, -0.5, 0.8])
    for ref, mine in zip(
        make(qml.device("default.qubit", wires=3)), make(qml.device("kvant.qubit", wires=3))
    ):
        got = kvant.qjit(kvant.grad(mine, argnums=(0, 1)))(0.7, k)
        want = jax.grad(ref, argnums=(0, 1))(0.7, k)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-9, atol=1e-12)


def _matrix_and_state_from_arguments(dev):
    @qml.qnode(dev)
    def unitary(x, y):
        u = jnp.array([[jnp.cos(x), -1j * jnp.sin(x)], [-1j * jnp.sin(x), jnp.cos(x)]])
        qml.QubitUnitary(u, wires=0)
        qml.RY(y, wires=0)
        return qml.expval(qml.PauliZ(0))

    @qml.qnode(dev)
    def state(x, y):
        qml.StatePrep(jnp.array([jnp.cos(x), jnp.exp(1j * x) * jnp.sin(x)]), wires=0)
        qml.RX(y, wires=0)
        return qml.expval(qml.PauliY(0))

    return {"QubitUnitary": unitary, "StatePrep": state}


@pytest.mark.parametrize("name", ["QubitUnitary", "StatePrep"])
def test_matrices_and_states_computed_from_a_differentiated_argument_are_refused(name):
    """The quantum rules differentiate gate parameters only: a matrix or state computed from a
    differentiated argument is refused by name (its derivative was silently 0); from an
    argument that is not differentiated it is a constant, and the gradient is exact."""
    ref = _matrix_and_state_from_arguments(qml.device("default.qubit", wires=1))[name]
    mine = _matrix_and_state_from_arguments(qml.device("kvant.qubit", wires=1))[name]
    assert abs(jax.grad(ref)(0.4, 0.3)) > 1e-2
    what = "matrix of a QubitUnitary" if name == "QubitUnitary" else "amplitudes of a StatePrep"
    with pytest.raises(
        kvant.CompileError, match=f"computed from a differentiated argument is used as the {what}"
    ):
        kvant.qjit(kvant.grad(mine, argnums=0))(0.4, 0.3)
    np.testing.assert_allclose(
        kvant.qjit(kvant.grad(mine, argnums=1))(0.4, 0.3),
        jax.grad(ref, argnums=1)(0.4, 0.3),
        rtol=1e-9,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        kvant.qjit(kvant.grad(mine, argnums=0, method="fd"))(0.4, 0.3),
        jax.grad(ref, argnums=0)(0.4, 0.3),
        rtol=1e-5,
        atol=1e-6,
    )


def test_fft_is_refused_by_name():
    """jnp.fft is not lowered (the 'fft' primitive): refused by name, derivative or not; its
    derivatives are therefore not tested here."""
    for program in (
        lambda x: jnp.real(jnp.fft.fft(x)),
        kvant.grad(lambda x: jnp.abs(jnp.fft.fft(x))[1]),
    ):
        with pytest.raises(kvant.UnsupportedError, match="primitive 'fft'"):
            kvant.qjit(program)(X)
