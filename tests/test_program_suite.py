"""A catalog of small hybrid programs (PennyLane QNodes + JAX), each compiled by kvant and compared
with the same program on PennyLane ``default.qubit`` evaluated by plain JAX.

Every entry of ``CATALOG`` is a builder ``build(dev) -> function``: ``dev(wires, **kwargs)`` makes
the device, so one builder gives the kvant program (``kvant.qubit``, compiled with
``kvant.qjit``) and the reference (``default.qubit``, run by ``jax.jit`` or, for programs whose
Python control flow or run-time wires need concrete values, eagerly under ``jax.disable_jit()``).
Each entry lists one or more argument sets; the compiled program is called with each and its
outputs must equal the reference's: same pytree structure, shapes and dtypes, values within
1e-10 (exact state-vector simulation on both sides). Outside ``qjit`` kvant's and PennyLane's
control flow (``kvant.for_loop``, ``qml.cond``, ...) runs as Python, so the reference is the same
program. Programs that fail because kvant is wrong or lacks a feature stay in the catalog, marked
``xfail(strict=True)`` with the cause.

A few shot-based programs at the end are checked against closed-form statistics (5 sigma).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest
from jax.tree_util import tree_flatten

import kvant

KVANT_DEVICE = "kvant.qubit"
REFERENCE_DEVICE = "default.qubit"
ATOL = RTOL = 1e-10

RNG = np.random.default_rng(20240611)


def random_unitary(num_wires):
    """A Haar-ish random unitary (QR of a complex Gaussian matrix, phases fixed)."""
    d = 2**num_wires
    z = RNG.normal(size=(d, d)) + 1j * RNG.normal(size=(d, d))
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))


def random_hermitian(num_wires):
    d = 2**num_wires
    a = RNG.normal(size=(d, d)) + 1j * RNG.normal(size=(d, d))
    return (a + a.conj().T) / 2


# ---------------------------------------------------------------------------------------------
# The catalog
# ---------------------------------------------------------------------------------------------


@dataclass
class Program:
    name: str
    build: object
    calls: list
    reference: str = "jit"  # "jit": jax.jit on default.qubit; "eager": under jax.disable_jit()
    via: str = "kvant"  # "kvant": kvant.qjit; "pennylane": qml.qjit(compiler="kvant")
    static_argnums: tuple = ()
    static_argnames: tuple = ()
    marks: list = field(default_factory=list)
    device: str = KVANT_DEVICE  # the device of the compiled side


CATALOG: list[Program] = []


def call(*args, **kwargs):
    """One argument set of a catalog program."""
    return args, kwargs


def program(
    *calls,
    reference="jit",
    via="kvant",
    static_argnums=(),
    static_argnames=(),
    xfail=None,
    device=KVANT_DEVICE,
):
    """Register ``build`` in the catalog, with the argument sets it is called with."""

    def register(build):
        assert calls and all(isinstance(c[1], dict) for c in calls), build.__name__
        marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
        argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
        argnames = (
            (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
        )
        CATALOG.append(
            Program(
                build.__name__, build, list(calls), reference, via, argnums, argnames, marks, device
            )
        )
        return build

    return register


def device_factory(name):
    def dev(wires, **kwargs):
        return qml.device(name, wires=wires, **kwargs)

    return dev


# =============================================================================================
# Gates of the runtime's table
# =============================================================================================


@program(call(0.37), call(-1.2))
def fixed_single_qubit_gates(dev):
    """Identity, Hadamard, PauliX/Y/Z, S, T, SX on a 3-qubit register."""

    @qml.qnode(dev(3))
    def circuit(x):
        qml.RY(x, wires=0)
        qml.RX(2 * x, wires=1)
        qml.Hadamard(wires=2)
        qml.Identity(wires=0)
        qml.Hadamard(wires=0)
        qml.PauliX(wires=1)
        qml.PauliY(wires=2)
        qml.PauliZ(wires=0)
        qml.S(wires=1)
        qml.T(wires=2)
        qml.SX(wires=0)
        qml.T(wires=0)
        qml.S(wires=2)
        qml.SX(wires=1)
        qml.PauliY(wires=0)
        qml.Identity(wires=2)
        return qml.state()

    return circuit


@program(call(np.array([0.3, -0.7, 1.1, 0.25, 2.0])), call(np.array([-2.1, 0.4, 3.0, -0.9, 0.05])))
def parametrized_single_qubit_gates(dev):
    """PhaseShift, RX, RY, RZ, Rot with parameters indexed from an array and computed in jnp."""

    @qml.qnode(dev(2))
    def circuit(p):
        qml.Hadamard(wires=0)
        qml.Hadamard(wires=1)
        qml.PhaseShift(p[0], wires=0)
        qml.RX(p[1], wires=1)
        qml.RY(p[2], wires=0)
        qml.RZ(p[3], wires=1)
        qml.Rot(p[4], p[0] * p[1], jnp.cos(p[2]), wires=0)
        qml.PhaseShift(-p[4], wires=1)
        qml.Rot(p[3], p[2], p[1], wires=1)
        return qml.state(), qml.expval(qml.PauliY(0)), qml.expval(qml.PauliX(1))

    return circuit


@program(call(np.array([0.4, 1.3, -0.8])))
def two_qubit_fixed_gates(dev):
    """CNOT, CY, CZ, SWAP, ISWAP in both wire orders."""

    @qml.qnode(dev(3))
    def circuit(a):
        qml.RY(a[0], wires=0)
        qml.RX(a[1], wires=1)
        qml.RY(a[2], wires=2)
        qml.Hadamard(wires=1)
        qml.CNOT(wires=[0, 1])
        qml.CY(wires=[1, 2])
        qml.CZ(wires=[2, 0])
        qml.SWAP(wires=[0, 2])
        qml.ISWAP(wires=[1, 0])
        qml.CNOT(wires=[2, 1])
        qml.CY(wires=[0, 2])
        qml.ISWAP(wires=[2, 1])
        qml.SWAP(wires=[1, 0])
        qml.CZ(wires=[1, 2])
        return qml.state()

    return circuit


@program(call(np.array([0.9, 2.1, -0.4, 1.6])))
def three_qubit_gates(dev):
    """Toffoli and CSWAP with every wire in every role, probabilities in a permuted order."""

    @qml.qnode(dev(4))
    def circuit(a):
        for w in range(4):
            qml.RY(a[w], wires=w)
        qml.Toffoli(wires=[0, 1, 2])
        qml.CSWAP(wires=[3, 0, 2])
        qml.Toffoli(wires=[2, 3, 1])
        qml.RX(a[0] - a[1], wires=3)
        qml.CSWAP(wires=[1, 2, 3])
        qml.Toffoli(wires=[3, 1, 0])
        return qml.probs(wires=[3, 0, 2]), qml.state()

    return circuit


@program(call(np.array([0.7, -1.9, 2.4, 0.3, 1.1])))
def controlled_rotations(dev):
    """CRX, CRY, CRZ, CRot, ControlledPhaseShift on superposed controls."""

    @qml.qnode(dev(3))
    def circuit(t):
        for w in range(3):
            qml.Hadamard(wires=w)
        qml.RY(t[4], wires=1)
        qml.CRX(t[0], wires=[0, 1])
        qml.CRY(t[1], wires=[1, 2])
        qml.CRZ(t[2], wires=[2, 0])
        qml.CRot(t[0], t[1], t[3], wires=[0, 2])
        qml.ControlledPhaseShift(t[4], wires=[1, 0])
        qml.CRY(t[3], wires=[2, 1])
        qml.ControlledPhaseShift(-t[2], wires=[2, 1])
        return qml.state()

    return circuit


@program(call(np.array([0.3, 1.2, -0.7, 2.2])), call(np.array([-1.0, 0.0, 3.1, 0.6])))
def ising_couplings(dev):
    """IsingXX, IsingYY, IsingZZ, IsingXY and their two-body correlators."""

    @qml.qnode(dev(3))
    def circuit(t):
        qml.Hadamard(wires=0)
        qml.RX(0.4, wires=2)
        qml.IsingXX(t[0], wires=[0, 1])
        qml.IsingYY(t[1], wires=[1, 2])
        qml.IsingZZ(t[2], wires=[2, 0])
        qml.IsingXY(t[3], wires=[0, 2])
        qml.IsingXY(t[0] * t[1], wires=[2, 1])
        return (
            qml.expval(qml.PauliX(0) @ qml.PauliX(1)),
            qml.expval(qml.PauliY(1) @ qml.PauliY(2)),
            qml.expval(qml.PauliZ(0) @ qml.PauliZ(2)),
            qml.state(),
        )

    return circuit


@program(call(0.61), call(-2.3))
def multi_rz_on_one_to_four_wires(dev):
    @qml.qnode(dev(4))
    def circuit(x):
        for w in range(4):
            qml.Hadamard(wires=w)
        qml.RY(x, wires=2)
        qml.MultiRZ(x, wires=[1])
        qml.MultiRZ(2 * x, wires=[3, 0])
        qml.MultiRZ(-x / 2, wires=[2, 0, 3])
        qml.MultiRZ(x**2, wires=[0, 1, 2, 3])
        qml.Hadamard(wires=1)
        return qml.state()

    return circuit


@program(call(np.array([0.4, -0.2, 1.3])), call(np.array([3.0, 0.9, -0.5])))
def single_and_double_excitations(dev):
    """Givens rotations from a Hartree-Fock state, probabilities and amplitudes."""

    @qml.qnode(dev(4))
    def circuit(theta):
        qml.BasisState(np.array([1, 1, 0, 0]), wires=range(4))
        qml.DoubleExcitation(theta[0], wires=[0, 1, 2, 3])
        qml.SingleExcitation(theta[1], wires=[0, 2])
        qml.SingleExcitation(theta[2], wires=[1, 3])
        qml.DoubleExcitation(theta[1] * theta[2], wires=[2, 3, 0, 1])
        return qml.probs(wires=range(4)), qml.state()

    return circuit


@program(call(0.83), call(-2.6))
def global_phase_and_controlled_global_phase(dev):
    """GlobalPhase on all, some and no wires; controlled it becomes a relative phase."""

    @qml.qnode(dev(2))
    def circuit(phi):
        qml.Hadamard(wires=0)
        qml.RY(0.4, wires=1)
        qml.GlobalPhase(phi, wires=[0, 1])
        qml.ctrl(qml.GlobalPhase(2 * phi, wires=1), control=0)
        qml.GlobalPhase(phi / 3, wires=1)
        return qml.state()

    return circuit


@program(call(-0.55))
def global_phase_without_wires(dev):
    @qml.qnode(dev(2))
    def circuit(phi):
        qml.Hadamard(wires=0)
        qml.CNOT(wires=[0, 1])
        qml.GlobalPhase(phi)
        return qml.state()

    return circuit


U1, U2, U3 = random_unitary(1), random_unitary(2), random_unitary(3)


@program(call(0.4))
def constant_qubit_unitaries_on_1_2_3_wires(dev):
    @qml.qnode(dev(4))
    def circuit(x):
        qml.RX(x, wires=0)
        qml.Hadamard(wires=3)
        qml.QubitUnitary(U1, wires=1)
        qml.QubitUnitary(U2, wires=[2, 0])
        qml.QubitUnitary(U3, wires=[3, 1, 0])
        qml.QubitUnitary(U1.conj().T, wires=3)
        return qml.state()

    return circuit


def su2(theta, phi, lam):
    """The general single-qubit unitary, built with jnp at run time."""
    c, s = jnp.cos(theta / 2), jnp.sin(theta / 2)
    return jnp.array(
        [[c, -jnp.exp(1j * lam) * s], [jnp.exp(1j * phi) * s, jnp.exp(1j * (phi + lam)) * c]]
    )


@program(call(np.array([0.3, 1.7, -0.6, 2.2, 0.9, -1.4])))
def qubit_unitaries_built_at_run_time(dev):
    """Unitaries computed from the arguments: complex exp, kron, matmul, diag."""

    @qml.qnode(dev(3))
    def circuit(p):
        a = su2(p[0], p[1], p[2])
        b = su2(p[3], p[4], p[5])
        cz = jnp.diag(jnp.array([1, 1, 1, -1], dtype=jnp.complex128))
        qml.QubitUnitary(a, wires=0)
        qml.QubitUnitary(jnp.kron(a, b) @ cz, wires=[1, 2])
        qml.QubitUnitary(jnp.kron(b, jnp.kron(a, b)), wires=[2, 0, 1])
        qml.QubitUnitary(b.conj().T, wires=1)
        return qml.state()

    return circuit


@program(call(5, 0.3), call(2, -1.1), call(0, 0.7))
def basis_state_from_integer_argument(dev):
    """BasisState of bits computed at run time from an integer (shifts and masks)."""

    @qml.qnode(dev(3))
    def circuit(k, x):
        bits = (k >> jnp.arange(2, -1, -1)) & 1
        qml.BasisState(bits, wires=[0, 1, 2])
        qml.RY(x, wires=1)
        qml.CNOT(wires=[1, 2])
        return qml.state()

    return circuit


@program(call(0.8, 1.9), call(-0.3, 0.2))
def state_prep_of_normalised_amplitudes(dev):
    """StatePrep on all wires and on a permuted subset, amplitudes normalised in jnp."""

    @qml.qnode(dev(3))
    def full(a, b):
        v = jnp.array([jnp.cos(a), jnp.sin(a) * jnp.exp(1j * b), 0.3, -0.2j, 0.5, 0.1, b, 1j * a])
        qml.StatePrep(v / jnp.linalg.norm(v), wires=[0, 1, 2])
        qml.CNOT(wires=[0, 2])
        qml.RX(a, wires=1)
        return qml.state()

    @qml.qnode(dev(3))
    def partial(a, b):
        v = jnp.array([1.0, a, 1j * b, a * b])
        qml.StatePrep(v / jnp.sqrt(jnp.sum(jnp.abs(v) ** 2)), wires=[2, 0])
        qml.Hadamard(wires=1)
        qml.CRY(a, wires=[1, 0])
        return qml.state()

    return lambda a, b: (full(a, b), partial(a, b))


@program(call(np.array([0.5, -1.2, 2.0])))
def adjoint_of_gates(dev):
    @qml.qnode(dev(4))
    def circuit(t):
        for w in range(4):
            qml.Hadamard(wires=w)
        qml.RY(t[2], wires=3)
        qml.adjoint(qml.S)(wires=0)
        qml.adjoint(qml.T)(wires=1)
        qml.adjoint(qml.SX)(wires=2)
        qml.adjoint(qml.Rot)(t[0], t[1], t[2], wires=3)
        qml.adjoint(qml.CRot(t[1], t[2], t[0], wires=[3, 0]))
        qml.adjoint(qml.IsingXY)(t[0], wires=[1, 2])
        qml.adjoint(qml.ISWAP)(wires=[0, 3])
        qml.adjoint(qml.QubitUnitary)(U2, wires=[2, 1])
        qml.adjoint(qml.adjoint(qml.RX))(t[1], wires=0)
        qml.adjoint(qml.DoubleExcitation)(t[2], wires=[0, 1, 2, 3])
        qml.adjoint(qml.MultiRZ(t[0], wires=[0, 2, 3]))
        return qml.state()

    return circuit


@program(call(np.array([0.9, -0.4, 1.7])))
def ctrl_of_gates_with_control_values(dev):
    """qml.ctrl of single gates, with several controls and 0/1 control values mixed."""

    @qml.qnode(dev(5))
    def circuit(t):
        for w in range(5):
            qml.RY(0.3 + 0.4 * w, wires=w)
        qml.ctrl(qml.RX, control=[0, 1], control_values=[0, 1])(t[0], wires=2)
        qml.ctrl(qml.Hadamard, control=3)(wires=4)
        qml.ctrl(qml.SWAP, control=0, control_values=0)(wires=[1, 4])
        qml.ctrl(qml.QubitUnitary(U1, wires=2), control=[3], control_values=[0])
        qml.ctrl(qml.Rot, control=[1, 2], control_values=[1, 0])(t[0], t[1], t[2], wires=0)
        qml.ctrl(qml.IsingXX(t[1], wires=[0, 4]), control=[2, 3], control_values=[0, 0])
        qml.ctrl(qml.PauliX, control=[0, 1, 3], control_values=[1, 0, 1])(wires=2)
        qml.ctrl(qml.CNOT(wires=[1, 2]), control=4)
        qml.ctrl(qml.S, control=[2, 4], control_values=[1, 1])(wires=3)
        qml.ctrl(qml.QubitUnitary(U2, wires=[0, 3]), control=[1, 4], control_values=[1, 0])
        return qml.state()

    return circuit


def entangling_block(params, wires):
    """A quantum function on any two wires (a helper used by several programs)."""
    qml.RX(params[0], wires=wires[0])
    qml.RY(params[1], wires=wires[1])
    qml.CNOT(wires=wires)
    qml.CRZ(params[0] * params[1], wires=[wires[1], wires[0]])
    qml.T(wires=wires[1])


@program(call(np.array([0.7, -1.3])), call(np.array([2.5, 0.2])))
def adjoint_and_ctrl_of_quantum_functions(dev):
    @qml.qnode(dev(5))
    def circuit(p):
        qml.Hadamard(wires=3)
        qml.Hadamard(wires=4)
        entangling_block(p, [0, 1])
        qml.adjoint(entangling_block)(p[::-1], [1, 2])
        qml.ctrl(entangling_block, control=3, control_values=0)(p * 2, [0, 2])
        qml.ctrl(qml.adjoint(entangling_block), control=[3, 4], control_values=[1, 0])(p, [2, 1])
        qml.ctrl(qml.ctrl(entangling_block, control=4), control=0, control_values=0)(p + 1, [1, 2])
        return qml.state()

    return circuit


@program(call(np.array([0.7, -1.3])))
def adjoint_of_controlled_quantum_function(dev):
    @qml.qnode(dev(3))
    def circuit(p):
        qml.Hadamard(wires=0)
        qml.Hadamard(wires=1)
        qml.adjoint(qml.ctrl(entangling_block, control=0))(p, [1, 2])
        return qml.state()

    return circuit


# =============================================================================================
# Gates PennyLane decomposes, templates
# =============================================================================================


@program(call(np.array([0.3, -1.1, 2.4])))
def decomposed_one_and_two_qubit_gates(dev):
    """U1/U2/U3, CH, SISWAP, ECR, PSWAP, CPhase, PauliRot, CCZ: no kernels, decomposed."""

    @qml.qnode(dev(3))
    def circuit(t):
        qml.Hadamard(wires=0)
        qml.U3(t[0], t[1], t[2], wires=1)
        qml.U2(t[1], t[2], wires=2)
        qml.U1(t[0], wires=0)
        qml.CH(wires=[0, 1])
        qml.SISWAP(wires=[1, 2])
        qml.ECR(wires=[2, 0])
        qml.PSWAP(t[2], wires=[0, 1])
        qml.CPhase(t[1], wires=[1, 2])
        qml.PauliRot(t[0], "XYZ", wires=[0, 1, 2])
        qml.CCZ(wires=[2, 1, 0])
        return qml.state()

    return circuit


@program(call(np.array([0.8, -0.6])))
def multicontrolled_x_and_fermionic_gates(dev):
    @qml.qnode(dev(5))
    def circuit(t):
        for w in range(4):
            qml.RY(t[0] * (w + 1), wires=w)
        qml.MultiControlledX(wires=[0, 1, 2, 4], control_values=[1, 0, 1])
        qml.MultiControlledX(wires=[3, 4, 1])
        qml.OrbitalRotation(t[1], wires=[0, 1, 2, 3])
        qml.FermionicSWAP(t[0] + t[1], wires=[2, 4])
        qml.ctrl(qml.Hadamard, control=[0, 1], control_values=[0, 1])(wires=3)
        return qml.probs(wires=[4, 3, 2, 1, 0]), qml.expval(qml.PauliZ(4))

    return circuit


@program(call(5.0), call(2.3), call(-0.8))
def phase_readout_with_inverse_qft(dev):
    """Phases 2 pi k 2^j / 8 followed by QFT^dagger: probability peaked at k for integer k."""

    @qml.qnode(dev(3))
    def circuit(k):
        for w in range(3):
            qml.Hadamard(wires=w)
            qml.PhaseShift(2 * np.pi * k * 2 ** (2 - w) / 8, wires=w)
        qml.adjoint(qml.QFT)(wires=range(3))
        return qml.probs(wires=range(3))

    return circuit


@program(call(0.37), call(1.9))
def quantum_phase_estimation_template(dev):
    @qml.qnode(dev(4))
    def circuit(phi):
        qml.PauliX(wires=3)
        qml.QuantumPhaseEstimation(
            qml.PhaseShift(2 * np.pi * phi, wires=3), estimation_wires=[0, 1, 2]
        )
        return qml.probs(wires=[0, 1, 2])

    return circuit


@program(call(np.array([0.3, -0.9, 1.4]), RNG.normal(size=(2, 2, 2))))
def embedding_and_two_design_templates(dev):
    """IQPEmbedding (MultiRZ), AngleEmbedding with Z rotations, SimplifiedTwoDesign."""

    @qml.qnode(dev(3))
    def circuit(x, weights):
        qml.IQPEmbedding(x, wires=range(3), n_repeats=2)
        qml.AngleEmbedding(x[::-1], wires=range(3), rotation="Z")
        qml.SimplifiedTwoDesign(initial_layer_weights=x, weights=weights, wires=range(3))
        return qml.expval(qml.PauliX(0) @ qml.PauliY(1)), qml.probs(wires=[2, 1])

    return circuit


@program(call(RNG.normal(size=8) * 0.5))
def all_singles_doubles_ansatz(dev):
    singles, doubles = qml.qchem.excitations(2, 4)  # 2 electrons in 4 spin orbitals
    n_params = len(singles) + len(doubles)

    @qml.qnode(dev(4))
    def circuit(weights):
        qml.AllSinglesDoubles(
            weights[:n_params],
            wires=range(4),
            hf_state=np.array([1, 1, 0, 0]),
            singles=singles,
            doubles=doubles,
        )
        return qml.expval(
            qml.PauliZ(0) @ qml.PauliZ(3) + 0.5 * qml.PauliX(1) @ qml.PauliX(2)
        ), qml.state()

    return circuit


@program(call(RNG.normal(size=15)))
def arbitrary_unitary_template(dev):
    """ArbitraryUnitary: PauliRot of every Pauli word, decomposed to basis changes + MultiRZ."""

    @qml.qnode(dev(2))
    def circuit(w):
        qml.ArbitraryUnitary(w, wires=[0, 1])
        return qml.state()

    return circuit


@program(call(0.8, 0, 2), call(-0.4, 2, 1), call(1.3, 1, 0), reference="eager")
def wires_computed_at_run_time(dev):
    """Targets and controls computed from traced integers (mod arithmetic)."""

    @qml.qnode(dev(3))
    def circuit(x, k, c):
        t = (c + 1) % 3
        qml.Hadamard(wires=k)
        qml.RX(x, wires=(k + 1) % 3)
        qml.CNOT(wires=[k, (k + 2) % 3])
        qml.CRY(2 * x, wires=[c, t])
        qml.ctrl(qml.RZ, control=c, control_values=0)(x, wires=t)
        qml.ctrl(qml.PauliX, control=[k], control_values=[1])(wires=(k + 1) % 3)
        qml.MultiRZ(x / 2, wires=[c, t])
        qml.adjoint(qml.S)(wires=c)
        qml.IsingYY(x, wires=[(c + 2) % 3, t])
        return qml.state()

    return circuit


# =============================================================================================
# Observables and measurements
# =============================================================================================


@program(call(np.array([0.4, 1.1, -0.7])))
def named_observables_and_tensor_products(dev):
    @qml.qnode(dev(3))
    def circuit(a):
        qml.RX(a[0], wires=0)
        qml.RY(a[2], wires=0)
        qml.RY(a[1], wires=1)
        qml.CNOT(wires=[1, 2])
        qml.RZ(a[2], wires=2)
        qml.Hadamard(wires=2)
        qml.IsingXY(a[0], wires=[0, 2])
        qml.RX(a[2], wires=1)
        qml.SX(wires=0)
        return (
            qml.expval(qml.PauliX(0)),
            qml.expval(qml.PauliY(1)),
            qml.expval(qml.PauliZ(2)),
            qml.expval(qml.Hadamard(0)),
            qml.expval(qml.Identity(1)),
            qml.expval(qml.PauliX(0) @ qml.PauliY(1) @ qml.PauliZ(2)),
            qml.expval(qml.PauliZ(2) @ qml.Hadamard(0)),
            qml.var(qml.PauliY(1) @ qml.PauliX(2)),
            qml.var(qml.Hadamard(2)),
            qml.var(qml.PauliZ(0)),
        )

    return circuit


H1, H2 = random_hermitian(1), random_hermitian(2)


@program(call(0.35), call(-1.4))
def hermitian_observables_on_one_and_two_wires(dev):
    @qml.qnode(dev(3))
    def circuit(x):
        qml.RX(x, wires=0)
        qml.Hadamard(wires=1)
        qml.CRY(x + 1, wires=[1, 2])
        qml.IsingZZ(x, wires=[0, 2])
        qml.RY(-x, wires=0)
        return (
            qml.expval(qml.Hermitian(H1, wires=1)),
            qml.expval(qml.Hermitian(H2, wires=[2, 0])),
            qml.var(qml.Hermitian(H1, wires=2)),
            qml.var(qml.Hermitian(H2, wires=[0, 1])),
            qml.expval(qml.Hermitian(H1, wires=0) @ qml.PauliX(2)),
        )

    return circuit


@program(
    call(np.array([0.6, -0.2, 1.1, 0.4]), RNG.normal(size=(2, 2)) + 1j * RNG.normal(size=(2, 2))),
    reference="eager",
)
def hermitian_matrix_computed_at_run_time(dev):
    """A Hermitian observable A + A^dagger from a complex argument, scaled by jnp code."""

    @qml.qnode(dev(2))
    def circuit(t, a):
        h = (a + jnp.conj(a).T) * jnp.cos(t[3])
        qml.RY(t[0], wires=0)
        qml.RX(t[1], wires=1)
        qml.CNOT(wires=[0, 1])
        qml.RZ(t[2], wires=1)
        return qml.expval(qml.Hermitian(h, wires=1)), qml.var(qml.Hermitian(h, wires=0))

    return circuit


@program(call(np.array([0.5, -1.2]), np.array([0.7, 0.1, -0.4])))
def hamiltonians_dot_and_sums(dev):
    """qml.Hamiltonian with constants, qml.dot with traced coefficients, s-prod sums, var."""
    h_const = qml.Hamiltonian(
        [0.2, -0.5, 1.3, 0.7],
        [qml.PauliZ(0), qml.PauliX(0) @ qml.PauliX(1), qml.PauliY(2), qml.Hadamard(1)],
    )

    @qml.qnode(dev(3))
    def circuit(t, c):
        qml.RY(t[0], wires=0)
        qml.RX(t[1], wires=1)
        qml.CNOT(wires=[0, 2])
        qml.IsingXX(t[0] * t[1], wires=[1, 2])
        traced = qml.dot(jnp.tanh(c), [qml.PauliZ(1), qml.PauliX(2) @ qml.PauliZ(0), qml.PauliY(1)])
        mixed = c[0] * qml.PauliX(0) + 0.3 * qml.PauliZ(1) @ qml.PauliZ(2) - qml.Identity(0) * c[2]
        return (
            qml.expval(h_const),
            qml.expval(traced),
            qml.expval(mixed),
            qml.var(h_const),
            qml.expval(qml.Hamiltonian(c, [qml.PauliY(0), qml.PauliY(1), qml.PauliY(2)])),
        )

    return circuit


@program(call(np.array([0.5, -1.2])))
def traced_coefficients_on_hadamard_and_hermitian_terms(dev):
    @qml.qnode(dev(2))
    def circuit(c):
        qml.RY(c[0], wires=0)
        qml.CNOT(wires=[0, 1])
        return qml.expval(qml.dot(c, [qml.Hadamard(1), qml.Hermitian(H1, wires=0)]))

    return circuit


@program(call(np.array([0.2, 1.4, -0.9, 2.2])))
def probs_of_all_wires_subsets_and_permutations(dev):
    @qml.qnode(dev(4))
    def circuit(a):
        for w in range(4):
            qml.RY(a[w], wires=w)
        qml.CNOT(wires=[0, 3])
        qml.CRX(a[1], wires=[2, 1])
        return (
            qml.probs(),
            qml.probs(wires=[3, 1]),
            qml.probs(wires=[2]),
            qml.probs(wires=[1, 3, 0]),
            qml.probs(wires=[3, 2, 1, 0]),
        )

    return circuit


@program(call(0.9))
def string_wire_labels(dev):
    """Devices with named wires; measurements and gates by label."""

    @qml.qnode(dev(["anc", "q0", "q1"]))
    def circuit(x):
        qml.Hadamard(wires="anc")
        qml.CRY(x, wires=["anc", "q1"])
        qml.CNOT(wires=["q1", "q0"])
        return (
            qml.probs(wires=["q0", "anc"]),
            qml.expval(qml.PauliZ("q1") @ qml.PauliX("anc")),
            qml.state(),
        )

    return circuit


@program(call(0.45, np.array([1.0, -0.3])))
def measurements_returned_as_dict_and_nested_containers(dev):
    @qml.qnode(dev(2))
    def circuit(x, w):
        qml.RX(x, wires=0)
        qml.RY(w[0], wires=1)
        qml.CZ(wires=[0, 1])
        qml.RX(w[1], wires=1)
        return {
            "energy": qml.expval(qml.PauliZ(0) @ qml.PauliZ(1) - 0.4 * qml.PauliX(1)),
            "probs": qml.probs(wires=[1, 0]),
            "spread": (qml.var(qml.PauliX(0)), qml.var(qml.PauliY(1))),
        }

    def f(x, w):
        out = circuit(x, w)
        return {
            "raw": out,
            "score": out["energy"] + jnp.max(out["probs"]),
            "list": [x * 2, out["spread"][1]],
        }

    return f


@program(call(np.array([0.3, -0.8])))
def measurements_returned_as_list_and_tuple(dev):
    @qml.qnode(dev(2))
    def as_list(a):
        qml.RX(a[0], wires=0)
        qml.CNOT(wires=[0, 1])
        qml.RY(a[1], wires=1)
        return [qml.expval(qml.PauliZ(0)), qml.expval(qml.PauliX(1)), qml.probs(wires=1)]

    @qml.qnode(dev(2))
    def single(a):
        qml.RX(a[1], wires=1)
        return qml.expval(qml.PauliY(1))

    def f(a):
        z, x, p = as_list(a)
        return (z, x), p, single(a)

    return f


# =============================================================================================
# Control flow inside QNodes
# =============================================================================================


@program(
    call(np.array([0.3, -0.5, 0.9, 1.4]), 0),
    call(np.array([0.3, -0.5, 0.9, 1.4]), 4),
    call(np.array([1.2, 0.1, -2.0, 0.6]), 7),
    reference="eager",
)
def kvant_for_loop_layers_with_run_time_wires(dev):
    @qml.qnode(dev(3))
    def circuit(params, n):
        qml.Hadamard(wires=0)

        @kvant.for_loop(0, n, 1)
        def layer(i, angle):
            qml.RX(params[i % 4] * angle, wires=i % 3)
            qml.CNOT(wires=[i % 3, (i + 1) % 3])
            return angle * 1.1

        layer(1.0)
        qml.RY(params[0], wires=2)
        return qml.expval(qml.PauliZ(2) @ qml.PauliX(0)), qml.probs(wires=[0, 1])

    return circuit


@program(call(0.4, 4), call(-0.9, 2), call(1.1, 0), reference="eager")
def kvant_for_loop_reversed_with_tuple_state(dev):
    @qml.qnode(dev(4))
    def circuit(x, n):
        qml.Hadamard(wires=0)

        @kvant.for_loop(n - 1, -1, -1)
        def body(i, angle, count):
            qml.RY(angle, wires=i)
            qml.CRZ(angle / 2, wires=[i, (i + 1) % 4])
            return angle + x, count + 1

        angle, count = body(x, 0)
        qml.RX(angle * count, wires=3)
        return qml.state()

    return circuit


@program(call(0.2, 3.0), call(1.5, 2.0), call(2.5, 2.0), reference="eager")
def kvant_while_loop_in_qnode(dev):
    @qml.qnode(dev(2))
    def circuit(x, limit):
        @kvant.while_loop(lambda a, i: a < limit)
        def grow(a, i):
            qml.RY(a, wires=i % 2)
            qml.CNOT(wires=[i % 2, (i + 1) % 2])
            return a * 1.7 + 0.1, i + 1

        _, steps = grow(x, 0)
        qml.RZ(steps * 0.3, wires=0)
        qml.Hadamard(wires=0)
        return qml.expval(qml.PauliX(0)), qml.var(qml.PauliZ(1)), qml.state()

    return circuit


@program(call(1.5), call(0.3), call(0.7), call(-0.8), reference="eager")
def kvant_cond_else_if_otherwise_in_qnode(dev):
    @qml.qnode(dev(2))
    def circuit(x):
        qml.Hadamard(wires=0)

        @kvant.cond(x > 1.0)
        def branch():
            qml.RX(x, wires=1)

        @branch.else_if(x > 0.0)
        def branch():
            qml.CRY(x, wires=[0, 1])

        @branch.otherwise
        def branch():
            qml.RZ(x, wires=0)
            qml.CNOT(wires=[0, 1])

        branch()
        # a cond returning a value, used as a gate parameter
        angle = kvant.cond(x > 0.5)(lambda: x * 2).otherwise(lambda: -x)()
        qml.RY(angle, wires=0)
        return qml.state()

    return circuit


@program(
    call(np.array([0.4, 1.3, -0.2]), 3), call(np.array([2.0, -0.7, 0.9]), 5), reference="eager"
)
def nested_kvant_control_flow_in_qnode(dev):
    """A cond inside a for loop inside which a while loop runs."""

    @qml.qnode(dev(3))
    def circuit(w, n):
        @kvant.for_loop(0, n, 1)
        def outer(i, acc):
            @kvant.cond(w[i % 3] > 0.0)
            def apply():
                qml.RX(w[i % 3], wires=i % 3)

            @apply.otherwise
            def apply():
                qml.CNOT(wires=[i % 3, (i + 2) % 3])

            apply()

            @kvant.while_loop(lambda k: k < i)
            def spin(k):
                qml.RZ(0.1 * k + acc, wires=(k + 1) % 3)
                return k + 1

            spin(0)
            return acc + w[i % 3]

        total = outer(0.0)
        qml.CRY(total, wires=[0, 1])
        return qml.state()

    return circuit


@program(call(0.7, 2), call(1.3, 1), call(-0.6, 0), reference="eager")
def pennylane_control_flow_in_qnode_under_kvant_qjit(dev):
    """qml.for_loop / while_loop / cond (with elifs): under kvant.qjit they go to kvant."""

    @qml.qnode(dev(3))
    def circuit(x, n):
        qml.RY(x + 0.3, wires=0)

        @qml.for_loop(0, n, 1)
        def entangle(i):
            qml.CNOT(wires=[i, i + 1])

        entangle()

        @qml.while_loop(lambda a: a < 1.5)
        def spin(a):
            qml.RY(a, wires=2)
            return a + 0.4

        spin(x)
        qml.RZ(x, wires=2)
        qml.cond(x > 0.5, qml.RX, qml.RZ)(x, wires=1)

        def flip():
            qml.PauliX(wires=0)

        def phase():
            qml.S(wires=0)

        def mix():
            qml.Hadamard(wires=0)

        qml.cond(x > 1.0, flip, mix, elifs=((x > 0.0, phase),))()
        return qml.probs(), qml.expval(qml.PauliY(2))

    return circuit


@program(call(0.45, 3), call(-0.2, 5), reference="eager", via="pennylane", device="lightning.qubit")
def pennylane_qjit_control_flow_around_and_in_qnodes(dev):
    """Through qml.qjit(compiler="kvant") on lightning.qubit (replaced by kvant's simulator):
    qml.for_loop calling a QNode, qml.cond outside."""

    @qml.qnode(dev(2))
    def circuit(x, i):
        @qml.for_loop(0, i + 1, 1)
        def rotate(j):
            qml.RX(x, wires=j % 2)

        rotate()
        qml.CNOT(wires=[0, 1])
        return qml.expval(qml.PauliZ(1))

    def f(x, n):
        @qml.for_loop(0, n, 1)
        def accumulate(i, total):
            return total + circuit(x * (i + 1), i) / (i + 1)

        total = accumulate(0.0)

        @qml.cond(total > 0.5)
        def post():
            return total**2

        @post.otherwise
        def post():
            return -total

        return total, post()

    return f


@program(call(0.3, 4), call(0.9, 5), reference="eager")
def jax_lax_fori_while_cond_inside_qnode(dev):
    """lax loops and cond inside a QNode (gates in their bodies); the reference runs them as
    Python under jax.disable_jit()."""

    @qml.qnode(dev(2))
    def circuit(x, n):
        def layer(i, a):
            qml.RX(a * i, wires=i % 2)
            qml.CZ(wires=[0, 1])
            return a + 0.1

        jax.lax.fori_loop(0, n, layer, x)

        def spin(k):
            qml.RY(x * k, wires=0)
            return k + 1

        jax.lax.while_loop(lambda k: k < 3, spin, 0)

        def yes():
            qml.CNOT(wires=[0, 1])

        def no():
            qml.Hadamard(wires=1)

        jax.lax.cond(x > 0.5, yes, no)
        return qml.state()

    return circuit


@program(call(0.3), reference="eager")
def jax_lax_scan_inside_qnode(dev):
    @qml.qnode(dev(2))
    def circuit(x):
        def step(carry, v):
            qml.RY(v * carry, wires=0)
            qml.CNOT(wires=[0, 1])
            return carry + x, v

        jax.lax.scan(step, 1.0, jnp.array([0.3, 0.5, 0.7]))
        return qml.state()

    return circuit


@program(call(0.3, 1), reference="eager")
def jax_lax_switch_inside_qnode(dev):
    @qml.qnode(dev(2))
    def circuit(x, k):
        def b0():
            qml.RX(x, wires=0)

        def b1():
            qml.RY(x, wires=1)

        def b2():
            qml.Hadamard(wires=0)

        jax.lax.switch(k, [b0, b1, b2])
        return qml.state()

    return circuit


@program(call(np.array([0.3, -0.7, 1.2]), 2), call(np.array([0.3, -0.7, 1.2]), 3), static_argnums=1)
def python_loop_in_qnode_over_static_argument(dev):
    """A QNode compiled directly, its layer count static (static_argnums)."""

    @qml.qnode(dev(3))
    def circuit(w, layers):
        for layer in range(layers):
            for wire in range(3):
                qml.RY(w[wire] * (layer + 1), wires=wire)
            for wire in range(3):
                qml.CNOT(wires=[wire, (wire + 1) % 3])
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1)), qml.probs(wires=[2])

    return circuit


@program(call(np.array([0.3, -0.7, 1.2]), 1), call(np.array([0.3, -0.7, 1.2]), 3), static_argnums=1)
def python_loops_over_static_layer_count(dev):
    """Python loops unrolled over a static argument, inside the QNode (by closure) and around it."""

    def f(w, layers):
        @qml.qnode(dev(3))
        def circuit(w):
            for layer in range(layers):
                for wire in range(3):
                    qml.RY(w[wire] * (layer + 1), wires=wire)
                for wire in range(3):
                    qml.CNOT(wires=[wire, (wire + 1) % 3])
            return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1)), qml.probs(wires=[2])

        total = 0.0
        for k in range(layers):
            z, p = circuit(w * (k + 1))
            total = total + z * p[1]
        return total

    return f


# =============================================================================================
# Control flow around QNodes
# =============================================================================================


def parameter_shift_pieces(dev):
    @qml.qnode(dev(2))
    def energy(theta):
        qml.RX(theta[0], wires=0)
        qml.RY(theta[1], wires=1)
        qml.CNOT(wires=[0, 1])
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1) + 0.5 * qml.PauliX(1))

    def gradient(theta):
        # parameter-shift rule, exact for RX / RY
        shifts = jnp.eye(2) * (jnp.pi / 2)
        return jnp.stack(
            [(energy(theta + shifts[j]) - energy(theta - shifts[j])) / 2 for j in range(2)]
        )

    return energy, gradient


@program(
    call(np.array([0.4, 2.9]), 15, 0.3), call(np.array([-1.0, 0.5]), 3, 0.1), reference="eager"
)
def kvant_for_loop_gradient_descent_with_parameter_shift(dev):
    energy, gradient = parameter_shift_pieces(dev)

    def optimise(theta, steps, lr):
        @kvant.for_loop(0, steps, 1)
        def step(i, t):
            return t - lr * gradient(t)

        final = step(theta)
        return final, energy(final)

    return optimise


@program(
    call(np.array([0.4, 2.9]), -1.1),
    call(np.array([2.0, 0.3]), -0.5),
    call(np.array([0.1, 0.2]), 2.0),
    reference="eager",
)
def kvant_while_loop_until_target_energy(dev):
    """Gradient descent until the energy is below a target (a QNode in the loop condition):
    7, 15 and 0 steps; every energy on the way is > 3e-3 from its target, so both sides stop
    at the same step."""
    energy, gradient = parameter_shift_pieces(dev)

    def run(theta, target):
        @kvant.while_loop(lambda t, k: (energy(t) > target) & (k < 40))
        def step(t, k):
            return t - 0.2 * gradient(t), k + 1

        t, k = step(theta, 0)
        return t, k, energy(t)

    return run


@program(call(1.2, 0.9), call(0.3, -0.2), call(-1.0, 3.0), reference="eager")
def kvant_cond_choosing_between_qnodes(dev):
    @qml.qnode(dev(2))
    def small(x, y):
        qml.RX(x, wires=0)
        qml.CRY(y, wires=[0, 1])
        return qml.expval(qml.PauliZ(1))

    @qml.qnode(dev(3))
    def large(x):
        qml.RY(x / 2, wires=0)
        qml.CNOT(wires=[0, 2])
        qml.RY(x, wires=1)
        return qml.expval(qml.PauliX(1) @ qml.PauliZ(2))

    def f(x, y):
        s = jnp.sin(x) * y

        @kvant.cond(s > 0.5)
        def pick():
            return small(x, y)

        @pick.else_if(s > -0.5)
        def pick():
            return large(x) * 2

        @pick.otherwise
        def pick():
            return jnp.cos(x)

        return pick(), s

    return f


def angle_circuit(dev):
    @qml.qnode(dev(2))
    def circuit(x, k):
        qml.RY(x, wires=0)
        qml.CRX(x * k, wires=[0, 1])
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1))

    return circuit


@program(call(0.3, 5), call(1.1, 0))
def jax_lax_fori_loop_around_qnode(dev):
    circuit = angle_circuit(dev)

    def f(x, n):
        def body(i, carry):
            acc, angle = carry
            return acc + circuit(angle, i) * 0.5**i, angle + 0.2

        return jax.lax.fori_loop(0, n, body, (0.0, x))

    return f


@program(call(np.array([0.5, -0.3]), RNG.uniform(-1, 1, size=(6, 2)), RNG.uniform(-1, 1, size=6)))
def jax_lax_scan_over_dataset_calling_qnode(dev):
    @qml.qnode(dev(2))
    def model(w, x):
        qml.RY(x[0], wires=0)
        qml.RY(x[1], wires=1)
        qml.RX(w[0], wires=0)
        qml.CNOT(wires=[0, 1])
        qml.RX(w[1], wires=1)
        return qml.expval(qml.PauliZ(1))

    def loss(w, xs, ys):
        def step(total, xy):
            x, y = xy
            pred = model(w, x)
            return total + (pred - y) ** 2, pred

        total, preds = jax.lax.scan(step, 0.0, (xs, ys))
        return total / xs.shape[0], preds

    return loss


@program(call(0.25), call(1.4))
def jax_lax_while_loop_around_qnode(dev):
    circuit = angle_circuit(dev)

    def f(x):
        def cond(state):
            value, k = state
            return (value > -0.5) & (k < 12)

        def body(state):
            value, k = state
            return circuit(x + 0.3 * k, k), k + 1

        return jax.lax.while_loop(cond, body, (1.0, 0))

    return f


@program(call(0.7, 0), call(-0.7, 1), call(0.2, 2))
def jax_lax_cond_and_switch_between_qnodes(dev):
    circuit = angle_circuit(dev)

    @qml.qnode(dev(1))
    def single(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliY(0))

    def f(x, k):
        a = jax.lax.cond(x > 0, lambda v: circuit(v, 2), lambda v: single(v) - 1.0, x)
        b = jax.lax.switch(
            k, [lambda v: single(v), lambda v: circuit(v, 1), lambda v: jnp.sin(v)], x
        )
        return a, b

    return f


# =============================================================================================
# Several QNodes, helpers, nested jit, vmap
# =============================================================================================


@program(call(0.6), call(-1.3))
def two_qnodes_one_feeding_the_other(dev):
    @qml.qnode(dev(2))
    def encoder(x):
        qml.RY(x, wires=0)
        qml.Hadamard(wires=1)
        qml.CRX(x**2, wires=[1, 0])
        return qml.probs(wires=[0, 1])

    @qml.qnode(dev(3))
    def processor(angles):
        for w in range(3):
            qml.RY(angles[w], wires=w)
        qml.CNOT(wires=[0, 1])
        qml.CNOT(wires=[1, 2])
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(2)), qml.expval(qml.PauliX(1))

    def f(x):
        p = encoder(x)
        angles = jnp.pi * jnp.cumsum(p)[:3]
        a, b = processor(angles)
        return a + b, p

    return f


@program(call(np.array([0.3, 1.2])))
def same_qnode_called_several_times(dev):
    @qml.qnode(dev(2))
    def circuit(x, y):
        qml.RX(x, wires=0)
        qml.RY(y, wires=1)
        qml.RY(x / 2, wires=0)
        qml.CNOT(wires=[0, 1])
        return qml.expval(qml.PauliZ(1)), qml.probs(wires=0)

    def f(w):
        z1, p1 = circuit(w[0], w[1])
        z2, p2 = circuit(w[1], w[0])
        z3, _ = circuit(z1, z2)  # the output of one call feeds the next
        return z1 - z2, z3, p1 * p2

    return f


def prepare(x, wires):
    for w in wires:
        qml.Hadamard(wires=w)
        qml.RZ(x, wires=w)


def ladder(params, wires):
    for k, (a, b) in enumerate(zip(wires[:-1], wires[1:])):
        entangling_block(params[k], [a, b])


def feature_angles(x):
    return jnp.stack([jnp.arctan(x), jnp.sinh(x) / 4, x**3 / 10])


@program(call(0.8, RNG.normal(size=(3, 2))))
def qnode_calling_helper_functions(dev):
    """Quantum helpers (nested), and a classical helper inside the QNode."""

    @qml.qnode(dev(4))
    def circuit(x, params):
        prepare(x, range(4))
        ladder(params, [0, 1, 2, 3])
        angles = feature_angles(x)
        for w in range(3):
            qml.RX(angles[w], wires=w + 1)
        qml.adjoint(ladder)(params[::-1], [3, 2, 1])
        return qml.expval(qml.PauliZ(0) @ qml.PauliY(3)), qml.probs(wires=[1, 2])

    return circuit


@jax.jit
def normalise(v):
    return v / jnp.linalg.norm(v)


@functools.partial(jax.jit, static_argnums=1)
def harmonics(x, k):
    orders = range(1, k + 1)
    return jnp.concatenate([jnp.sin(x * j) for j in orders] + [jnp.cos(x * j) for j in orders])


@program(call(np.array([0.4, -1.1])), call(np.array([2.2, 0.3])))
def nested_jax_jit_helpers(dev):
    """jax.jit helpers: classical ones before and inside the QNode, and one wrapping a QNode."""

    @qml.qnode(dev(2))
    def circuit(f):
        v = normalise(f)
        qml.RY(v[0], wires=0)
        qml.RY(v[1], wires=1)
        qml.CNOT(wires=[0, 1])
        qml.RX(v[2] - v[3], wires=0)
        return qml.expval(qml.PauliZ(0) + qml.PauliX(1))

    @jax.jit
    def scored(x):
        return circuit(harmonics(x[:1] + x[1:], 2)) * 2.0

    def f(x):
        return scored(x) + jax.jit(jnp.sum)(harmonics(x, 3)), harmonics(x, 1)

    return f


def vmap_circuit(dev):
    @qml.qnode(dev(2))
    def circuit(x, weights):
        qml.RX(x, wires=0)
        qml.RY(weights[0], wires=1)
        qml.CNOT(wires=[0, 1])
        qml.RZ(weights[1], wires=1)
        qml.Hadamard(wires=1)
        return qml.expval(qml.PauliZ(1)), qml.probs(wires=[0])

    return circuit


@program(call(np.linspace(-1.5, 2.0, 5), np.array([0.3, -1.2])))
def jax_vmap_over_function_containing_qnode(dev):
    circuit = vmap_circuit(dev)

    def single(x, w):
        z, p = circuit(jnp.sin(x) * 2, w)
        return jnp.tanh(z) + p[1], p

    def f(xs, w):
        values, probs = jax.vmap(single, in_axes=(0, None))(xs, w)
        return jnp.mean(values), values, probs

    return f


@program(
    call(
        np.array([0.2, -0.9]),
        {"w": RNG.normal(size=(4, 2)), "scale": np.array([1.0, 0.5, -2.0, 3.0])},
    )
)
def kvant_vmap_over_pytree_batch(dev):
    """kvant.vmap with in_axes=(None, 0) over a dict of batched arrays, out_axes=1."""
    circuit = vmap_circuit(dev)

    def element(x, batch):
        z, p = circuit(x[0] * batch["scale"], batch["w"])
        return jnp.stack([z, p[0] * x[1]])

    def f(x, batch):
        return kvant.vmap(element, in_axes=(None, 0), out_axes=1)(x, batch)

    return f


@program(call(RNG.uniform(-1, 1, size=(4, 2)), np.array([1.0, -1.0, 1.0, -1.0])))
def quantum_kernel_gram_matrix_with_nested_vmap(dev):
    """k(x, y) = |<0|U(y)^dagger U(x)|0>|^2 over all pairs (nested vmap), then the
    kernel-target alignment."""

    def embed(x):
        qml.AngleEmbedding(x, wires=[0, 1])
        qml.CNOT(wires=[0, 1])
        qml.RZ(x[0] * x[1], wires=1)

    @qml.qnode(dev(2))
    def overlap(x, y):
        embed(x)
        qml.adjoint(embed)(y)
        return qml.probs(wires=[0, 1])

    def f(xs, labels):
        gram = jax.vmap(lambda a: jax.vmap(lambda b: overlap(a, b)[0])(xs))(xs)
        target = jnp.outer(labels, labels)
        alignment = jnp.sum(gram * target) / (jnp.linalg.norm(gram) * jnp.linalg.norm(target))
        return gram, alignment

    return f


@program(call(np.array([[0.1, 0.5], [1.2, -0.3], [-0.8, 0.9]])))
def vmap_over_function_with_two_qnodes(dev):
    @qml.qnode(dev(1))
    def first(x):
        qml.RY(x, wires=0)
        return qml.expval(qml.PauliZ(0))

    @qml.qnode(dev(2))
    def second(a, b):
        qml.RX(a, wires=0)
        qml.CRY(b, wires=[0, 1])
        return qml.probs(wires=[1, 0])

    def row(v):
        z = first(v[0])
        return second(z * np.pi, v[1]) * z

    return jax.vmap(row)


@program(call(0.9, 1.7))
def qjit_function_calling_another_qjit_function(dev):
    """A kvant.qjit function called from the program is traced into it (the reference calls the
    same undecorated function)."""
    circuit = angle_circuit(dev)

    def inner(x, y):
        return circuit(x, y) * jnp.exp(-y)

    inner_compiled = kvant.qjit(inner) if dev(1).name != REFERENCE_DEVICE else inner

    def f(x, y):
        return inner_compiled(x, y) + inner_compiled(y, x)

    return f


# =============================================================================================
# Classical pre- and post-processing
# =============================================================================================


@program(call(np.array([0.3, -0.8, 1.7, 0.05])), call(np.array([-2.0, 0.9, 0.0, 3.3])))
def classical_trig_exp_log_preprocessing(dev):
    @qml.qnode(dev(4))
    def circuit(angles):
        qml.AngleEmbedding(angles, wires=range(4), rotation="Y")
        for w in range(3):
            qml.CNOT(wires=[w, w + 1])
        return qml.expval(qml.PauliZ(3)), qml.probs(wires=[0, 3])

    def f(x):
        angles = jnp.stack(
            [
                jnp.arctan2(x[0], x[1]),
                jnp.log1p(jnp.exp(x[1])),  # softplus
                jnp.tanh(x[2]) * jnp.cosh(x[3] / 4),
                jnp.sqrt(jnp.abs(x[3])) + jnp.arcsin(jnp.clip(x[0], -1, 1)) - jnp.power(2.0, x[1]),
            ]
        )
        z, p = circuit(angles)
        return jnp.exp(z) * jnp.log(1 + p[0]) + jnp.expm1(p[3]), angles

    return f


@program(call(np.array([0.6, -1.4, 2.2])), call(np.array([3.0, 0.1, -0.4])))
def classical_where_clip_sort_cumsum_argmax(dev):
    @qml.qnode(dev(3))
    def circuit(t):
        for w in range(3):
            qml.RY(t[w], wires=w)
        qml.CNOT(wires=[0, 2])
        qml.CRX(t[0], wires=[2, 1])
        return qml.probs(wires=[0, 1, 2])

    def f(t):
        p = circuit(jnp.where(t > 0, t, t / 2))
        order = jnp.argsort(-p)
        sorted_p = jnp.sort(p)[::-1]
        cdf = jnp.cumsum(sorted_p)
        top = jnp.argmax(p)
        clipped = jnp.clip(p, 0.05, 0.4)
        n_major = jnp.sum(cdf < 0.9)
        return (
            top,
            order,
            cdf,
            clipped,
            n_major,
            jnp.where(p > 0.1, p, 0.0),
            jnp.max(p),
            jnp.argmin(p),
        )

    return f


@program(call(RNG.normal(size=(3, 4)), RNG.normal(size=(4, 2))))
def classical_linear_algebra_reshape_transpose(dev):
    @qml.qnode(dev(3))
    def circuit(a):
        for w in range(3):
            qml.RX(a[w, 0], wires=w)
            qml.RY(a[w, 1], wires=w)
        qml.CNOT(wires=[0, 1])
        qml.CNOT(wires=[1, 2])
        return qml.probs(wires=[0, 1, 2])

    def f(x, w):
        a = jnp.tanh(x @ w)  # (3, 2)
        p = circuit(a)
        grid = p.reshape(2, 4).T  # (4, 2)
        mixed = jnp.dot(grid, a.T)  # (4, 3)
        column = mixed[:, 1]
        stacked = jnp.einsum("ij,jk->ik", x.T, mixed.T)  # (4, 4)
        return grid, column, jnp.trace(stacked), jnp.matmul(w.T, column), jnp.outer(column, a[:, 0])

    return f


@program(call(np.arange(6.0) / 5 - 0.4, 2), call(np.array([1.0, -0.5, 0.25, 2.0, 0.0, -1.0]), 5))
def classical_indexing_and_scatter(dev):
    """x[i] with a traced i, x.at[i].set/add, dynamic slices, concatenate, pad, roll, flip."""

    @qml.qnode(dev(2))
    def circuit(v):
        qml.RY(v[0], wires=0)
        qml.RX(v[1], wires=1)
        qml.CRZ(v[2], wires=[0, 1])
        qml.Hadamard(wires=0)
        return qml.probs(wires=[0, 1])

    def f(x, i):
        v = x.at[i].set(x[i] * 3.0).at[jnp.array([0, 2])].add(0.5)
        window = jax.lax.dynamic_slice(v, (i % 4,), (3,))
        p = circuit(window)
        padded = jnp.pad(p, (1, 2))
        joined = jnp.concatenate([padded, jnp.flip(window), jnp.roll(p, i)])
        masked = joined[joined.shape[0] - 4 :]
        return v, window, joined, masked, v[-1] + x[i]

    return f


@program(
    call(np.array([0.5, -1.5], dtype=np.float32), np.int32(3), np.array([True, False, True])),
    call(np.array([2.5, 0.25], dtype=np.float32), np.int32(-2), np.array([False, False, True])),
)
def classical_dtypes_float32_int32_bool_complex(dev):
    @qml.qnode(dev(2))
    def circuit(a, b):
        qml.RX(a, wires=0)
        qml.RY(b, wires=1)
        qml.CNOT(wires=[0, 1])
        return qml.state()

    def f(x32, k32, mask):
        scaled = x32 * jnp.float32(1.5) + k32.astype(jnp.float32)  # float32 arithmetic
        state = circuit(scaled[0].astype(jnp.float64), scaled[1].astype(jnp.float64))
        phases = jnp.angle(state)
        power = jnp.real(state * jnp.conj(state))
        doubled = (k32 * 2 + jnp.int32(1)) // 3  # int32 floor division
        selected = jnp.where(mask, jnp.arange(3, dtype=jnp.int32), -k32)
        any_set = jnp.any(mask) & ~jnp.all(mask)
        rotated = state * jnp.exp(1j * jnp.float64(0.3))
        return (
            scaled,
            doubled,
            selected,
            any_set,
            power.astype(jnp.float32),
            jnp.imag(rotated),
            phases,
        )

    return f


@program(call(np.array([0.3, 1.7, -0.6])))
def classical_reductions_softmax_and_statistics(dev):
    @qml.qnode(dev(3))
    def circuit(t):
        for w in range(3):
            qml.RY(t[w], wires=w)
            qml.CNOT(wires=[w, (w + 1) % 3])
        return qml.probs(wires=range(3)), qml.expval(qml.PauliZ(1))

    def f(t):
        p, x = circuit(t)
        logits = jnp.log(p + 1e-3)
        soft = jax.nn.softmax(logits * x)
        entropy = -jnp.sum(jnp.where(p > 0, p * jnp.log(p), 0.0))
        return (
            soft,
            entropy,
            jnp.mean(p),
            jnp.std(p),
            jnp.var(p),
            jnp.prod(p + 1),
            jax.nn.logsumexp(logits),
            jnp.min(logits),
            jnp.median(p),
        )

    return f


@program(
    call(
        {"weights": RNG.normal(size=(2, 3)), "bias": np.array(0.25)},
        (np.array([0.4, -0.1, 0.9]), np.array(1.5)),
    )
)
def pytree_inputs_dicts_and_tuples(dev):
    @qml.qnode(dev(3))
    def circuit(weights, x):
        qml.AngleEmbedding(x, wires=range(3))
        qml.BasicEntanglerLayers(weights, wires=range(3))
        return qml.expval(qml.PauliZ(0)), qml.expval(qml.PauliZ(2))

    def f(params, data):
        x, scale = data
        z0, z2 = circuit(params["weights"], x * scale)
        return {"out": z0 + params["bias"], "aux": (z2, params["weights"].sum())}

    return f


@program(call(0.7, basis="X"), call(0.7, basis="Y"), call(-0.3, basis="Z"), static_argnames="basis")
def static_argnames_select_measurement_basis(dev):
    observables = {"X": qml.PauliX, "Y": qml.PauliY, "Z": qml.PauliZ}

    def f(x, basis="Z"):
        @qml.qnode(dev(2))
        def circuit(x):
            qml.Rot(x, 0.3, -x, wires=0)
            qml.Rot(0.7, x, 0.2, wires=1)
            qml.CNOT(wires=[0, 1])
            return qml.expval(observables[basis](0) @ observables[basis](1))

        return circuit(x) * (2.0 if basis == "Y" else 1.0)

    return f


@program(
    call(np.array([0.2, 0.4, 0.6, 0.8]), 2, "ring"),
    call(np.array([0.2, 0.4, 0.6, 0.8]), 3, "line"),
    static_argnums=(1, 2),
)
def static_argnums_wire_count_and_topology(dev):
    def f(w, n_wires, topology):
        @qml.qnode(dev(n_wires))
        def circuit(w):
            for k in range(n_wires):
                qml.RY(w[k], wires=k)
            pairs = [(k, k + 1) for k in range(n_wires - 1)]
            if topology == "ring" and n_wires > 2:
                pairs.append((n_wires - 1, 0))
            for a, b in pairs:
                qml.IsingZZ(w[-1], wires=[a, b])
                qml.CNOT(wires=[a, b])
            return qml.probs(wires=range(n_wires))

        return circuit(w)

    return f


# =============================================================================================
# Realistic small programs
# =============================================================================================

# A 4-qubit H2-like Hamiltonian (STO-3G structure, coefficients of bond length ~0.74 A rounded).
H2_HAMILTONIAN = qml.Hamiltonian(
    [
        -0.0996,
        0.1711,
        0.1711,
        -0.2225,
        -0.2225,
        0.1686,
        0.1205,
        0.1658,
        0.1658,
        0.1205,
        0.1743,
        -0.0453,
        0.0453,
        0.0453,
        -0.0453,
    ],
    [
        qml.Identity(0),
        qml.PauliZ(0),
        qml.PauliZ(1),
        qml.PauliZ(2),
        qml.PauliZ(3),
        qml.PauliZ(0) @ qml.PauliZ(1),
        qml.PauliZ(0) @ qml.PauliZ(2),
        qml.PauliZ(0) @ qml.PauliZ(3),
        qml.PauliZ(1) @ qml.PauliZ(2),
        qml.PauliZ(1) @ qml.PauliZ(3),
        qml.PauliZ(2) @ qml.PauliZ(3),
        qml.PauliY(0) @ qml.PauliY(1) @ qml.PauliX(2) @ qml.PauliX(3),
        qml.PauliY(0) @ qml.PauliX(1) @ qml.PauliX(2) @ qml.PauliY(3),
        qml.PauliX(0) @ qml.PauliY(1) @ qml.PauliY(2) @ qml.PauliX(3),
        qml.PauliX(0) @ qml.PauliX(1) @ qml.PauliY(2) @ qml.PauliY(3),
    ],
)


@program(call(np.linspace(-0.6, 0.6, 9)))
def vqe_energy_scan_over_double_excitation_angle(dev):
    @qml.qnode(dev(4))
    def energy(theta):
        qml.BasisState(np.array([1, 1, 0, 0]), wires=range(4))
        qml.DoubleExcitation(theta, wires=[0, 1, 2, 3])
        return qml.expval(H2_HAMILTONIAN)

    def scan(thetas):
        energies = jax.vmap(energy)(thetas)
        best = jnp.argmin(energies)
        return energies, thetas[best], energies[best]

    return scan


@program(
    call(np.array([[0.4, 0.9], [0.7, 0.3]]), 2),
    call(np.array([[0.1, 1.2], [0.5, 0.5]]), 1),
    reference="eager",
)
def qaoa_maxcut_ring_with_for_loop_layers(dev):
    """QAOA for max-cut on a 4-ring: layers in a kvant.for_loop, the expected cut computed from
    the probabilities with integer bit arithmetic."""
    edges = [(0, 1), (1, 2), (2, 3), (3, 0)]

    @qml.qnode(dev(4))
    def circuit(params, layers):
        for w in range(4):
            qml.Hadamard(wires=w)

        @kvant.for_loop(0, layers, 1)
        def layer(i):
            gamma, beta = params[i, 0], params[i, 1]
            for a, b in edges:
                qml.IsingZZ(2 * gamma, wires=[a, b])
            for w in range(4):
                qml.RX(2 * beta, wires=w)

        layer()
        return qml.probs(wires=range(4))

    def expected_cut(params, layers):
        p = circuit(params, layers)
        states = jnp.arange(16)
        bits = (states[:, None] >> (3 - jnp.arange(4))[None, :]) & 1
        cut = sum(bits[:, a] ^ bits[:, b] for a, b in edges)
        return jnp.dot(p, cut), jnp.argmax(p), cut

    return expected_cut


@program(
    call(RNG.normal(size=(2, 2, 3)), RNG.uniform(-1, 1, size=(5, 2)), np.array([1, -1, -1, 1, 1]))
)
def data_reuploading_classifier_loss_and_accuracy(dev):
    @qml.qnode(dev(2))
    def classifier(weights, x):
        for layer in range(weights.shape[0]):
            for w in range(2):
                qml.RY(np.pi * x[w], wires=w)
                qml.Rot(*weights[layer, w], wires=w)
            qml.CZ(wires=[0, 1])
        return qml.expval(qml.PauliZ(0))

    def f(weights, xs, ys):
        preds = jax.vmap(classifier, in_axes=(None, 0))(weights, xs)
        loss = jnp.mean((preds - ys) ** 2)
        accuracy = jnp.mean((jnp.sign(preds) == ys).astype(jnp.float64))
        return loss, accuracy, preds

    return f


@program(call(5, 2), call(3, 1), call(6, 3), reference="eager")
def grover_search_for_a_marked_state(dev):
    """Grover iterations (kvant.for_loop) with a phase oracle from run-time bits of the marked
    index (kvant.cond per bit), diffusion with a multi-controlled Z."""

    @qml.qnode(dev(3))
    def circuit(marked, iterations):
        bits = [(marked >> (2 - w)) & 1 for w in range(3)]

        def flip_zeros():
            for w in range(3):
                kvant.cond(bits[w] == 0)(lambda w=w: qml.PauliX(wires=w))()

        for w in range(3):
            qml.Hadamard(wires=w)

        @kvant.for_loop(0, iterations, 1)
        def grover(i):
            flip_zeros()
            qml.ctrl(qml.PauliZ, control=[0, 1])(wires=2)
            flip_zeros()
            for w in range(3):
                qml.Hadamard(wires=w)
                qml.PauliX(wires=w)
            qml.ctrl(qml.PauliZ, control=[0, 1])(wires=2)
            for w in range(3):
                qml.PauliX(wires=w)
                qml.Hadamard(wires=w)

        grover()
        return qml.probs(wires=range(3))

    def f(marked, iterations):
        p = circuit(marked, iterations)
        return p, jnp.argmax(p)

    return f


@program(
    call(np.array([0.3, 1.1]), np.array([0.3, 1.1])),
    call(np.array([0.3, 1.1]), np.array([2.0, -0.4])),
)
def swap_test_fidelity(dev):
    @qml.qnode(dev(5))
    def swap_test(a, b):
        for k, params in enumerate((a, b)):
            qml.RY(params[0], wires=1 + 2 * k)
            qml.RX(params[1], wires=2 + 2 * k)
            qml.CNOT(wires=[1 + 2 * k, 2 + 2 * k])
        qml.Hadamard(wires=0)
        qml.CSWAP(wires=[0, 1, 3])
        qml.CSWAP(wires=[0, 2, 4])
        qml.Hadamard(wires=0)
        return qml.probs(wires=0)

    def fidelity(a, b):
        p = swap_test(a, b)
        return 2 * p[0] - 1

    return fidelity


@program(call(np.array([0.7, -0.3, 1.2])))
def hadamard_test_real_and_imaginary_parts(dev):
    """<psi|U|psi> from two Hadamard tests with qml.ctrl of a quantum function."""

    def unitary(t):
        qml.RX(t[0], wires=1)
        qml.CRY(t[1], wires=[1, 2])
        qml.PhaseShift(t[2], wires=2)

    def test(imaginary):
        @qml.qnode(dev(3))
        def circuit(t):
            qml.Hadamard(wires=1)
            qml.Hadamard(wires=0)
            if imaginary:
                qml.adjoint(qml.S)(wires=0)
            qml.ctrl(unitary, control=0)(t)
            qml.Hadamard(wires=0)
            return qml.expval(qml.PauliZ(0))

        return circuit

    real, imag = test(False), test(True)

    def f(t):
        return real(t) + 1j * imag(t)

    return f


@program(call(0.9, 2.1), call(-1.7, 0.4))
def teleportation_with_deferred_measurement(dev):
    """Teleport RY(a) RZ(b)|0> from wire 0 to wire 2; corrections as controlled gates."""

    @qml.qnode(dev(3))
    def circuit(a, b):
        qml.RY(a, wires=0)
        qml.RZ(b, wires=0)
        qml.Hadamard(wires=1)
        qml.CNOT(wires=[1, 2])
        qml.CNOT(wires=[0, 1])
        qml.Hadamard(wires=0)
        qml.CNOT(wires=[1, 2])
        qml.CZ(wires=[0, 2])
        return (
            qml.expval(qml.PauliX(2)),
            qml.expval(qml.PauliY(2)),
            qml.expval(qml.PauliZ(2)),
            qml.probs(wires=[0, 1]),
        )

    return circuit


@program(
    call(np.array([0.0, np.pi / 2, np.pi / 4, -np.pi / 4])), call(np.array([0.1, 1.3, 0.7, -0.2]))
)
def chsh_correlator(dev):
    @qml.qnode(dev(2))
    def correlator(a, b):
        qml.Hadamard(wires=0)
        qml.CNOT(wires=[0, 1])
        qml.RY(-a, wires=0)
        qml.RY(-b, wires=1)
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1))

    def chsh(angles):
        a0, a1, b0, b1 = angles[0], angles[1], angles[2], angles[3]
        return correlator(a0, b0) + correlator(a0, b1) + correlator(a1, b0) - correlator(a1, b1)

    return chsh


@program(call(np.array([1, 0, 1, 1])), call(np.array([0, 1, 1, 0])), reference="eager")
def bernstein_vazirani_with_run_time_secret(dev):
    """CNOTs controlled on a run-time secret (kvant.cond in a kvant.for_loop, run-time wire i);
    the argmax of the probabilities decodes it."""

    @qml.qnode(dev(5))
    def circuit(secret):
        qml.PauliX(wires=4)
        for w in range(5):
            qml.Hadamard(wires=w)

        @kvant.for_loop(0, 4, 1)
        def oracle(i):
            kvant.cond(secret[i] == 1)(lambda: qml.CNOT(wires=[i, 4]))()

        oracle()
        for w in range(4):
            qml.Hadamard(wires=w)
        return qml.probs(wires=range(4))

    def f(secret):
        p = circuit(secret)
        return p, jnp.argmax(p)

    return f


@program(call(np.array([0.0, 0.3, 0.6, 0.9]), 3), reference="eager")
def trotterised_heisenberg_magnetisation_scan(dev):
    @qml.qnode(dev(3))
    def magnetisation(t, steps):
        qml.PauliX(wires=0)
        dt = t / steps

        def step(i, _):
            for a, b in [(0, 1), (1, 2)]:
                qml.IsingXX(2 * dt, wires=[a, b])
                qml.IsingYY(2 * dt, wires=[a, b])
                qml.IsingZZ(2 * dt, wires=[a, b])
            return _

        jax.lax.fori_loop(0, 3, step, 0)
        return [qml.expval(qml.PauliZ(w)) for w in range(3)]

    def f(times, steps):
        def body(carry, t):
            z = jnp.stack(magnetisation(t, steps))
            return carry + z[2], z

        total, zs = jax.lax.scan(body, 0.0, times)
        return total, zs

    return f


@program(call(np.array([0.4, -0.8, 1.3])))
def parameter_shift_gradient_by_vmap(dev):
    @qml.qnode(dev(2))
    def circuit(t):
        qml.RX(t[0], wires=0)
        qml.RY(t[1], wires=1)
        qml.CNOT(wires=[0, 1])
        qml.RZ(t[2], wires=1)
        qml.RX(t[2], wires=1)
        return qml.expval(qml.PauliY(1) + qml.PauliZ(0))

    def f(t):
        shifts = jnp.eye(3) * (np.pi / 2)
        plus = jax.vmap(circuit)(t + shifts)
        minus = jax.vmap(circuit)(t - shifts)
        return circuit(t), (plus - minus) / 2

    return f


@program(call(0.7), call(2.4))
def ghz_state_reduced_density_matrix_purity(dev):
    """Reduced density matrices from the state vector (reshape, einsum, trace), purity."""

    @qml.qnode(dev(3))
    def circuit(x):
        qml.RY(x, wires=0)
        qml.CNOT(wires=[0, 1])
        qml.CNOT(wires=[1, 2])
        return qml.state()

    def f(x):
        psi = circuit(x).reshape(2, 4)
        rho_a = psi @ jnp.conj(psi).T
        purity = jnp.real(jnp.trace(rho_a @ rho_a))
        psi3 = psi.reshape(2, 2, 2)
        rho_ab = jnp.einsum("abc,dec->abde", psi3, jnp.conj(psi3)).reshape(4, 4)
        # eigenvalues of the 2x2 Hermitian rho_a in closed form (jnp.linalg.eigvalsh lowers to
        # the 'eigh' primitive, which kvant does not compile yet)
        a, d, b = jnp.real(rho_a[0, 0]), jnp.real(rho_a[1, 1]), rho_a[0, 1]
        r = jnp.sqrt(((a - d) / 2) ** 2 + jnp.abs(b) ** 2)
        return rho_a, purity, rho_ab, jnp.stack([(a + d) / 2 - r, (a + d) / 2 + r])

    return f


@program(call(3, 6), call(5, 7), call(7, 1))
def quantum_fourier_adder(dev):
    """|a> -> |a + b mod 8> with QFT and controlled phases on an integer loaded by BasisState."""

    @qml.qnode(dev(3))
    def circuit(a, b):
        qml.BasisState((a >> jnp.arange(2, -1, -1)) & 1, wires=range(3))
        qml.QFT(wires=range(3))
        for w in range(3):
            qml.PhaseShift(2 * np.pi * b * 2 ** (2 - w) / 8, wires=w)
        qml.adjoint(qml.QFT)(wires=range(3))
        return qml.probs(wires=range(3))

    def f(a, b):
        p = circuit(a, b)
        return jnp.argmax(p).astype(jnp.int32), p

    return f


@program(call(np.array([0.5, 1.0, -0.5, 0.2]), np.array([1.0, 0.0, 0.3, -0.7])))
def amplitude_encoded_inner_product(dev):
    """Two StatePrep-encoded vectors, compared by a swap test and by classical code."""

    @qml.qnode(dev(5))
    def overlap(u, v):
        qml.StatePrep(u / jnp.linalg.norm(u), wires=[1, 2])
        qml.StatePrep(v / jnp.linalg.norm(v), wires=[3, 4])
        qml.Hadamard(wires=0)
        qml.CSWAP(wires=[0, 1, 3])
        qml.CSWAP(wires=[0, 2, 4])
        qml.Hadamard(wires=0)
        return qml.expval(qml.PauliZ(0))

    def f(u, v):
        quantum = overlap(u, v)
        classical = (jnp.dot(u, v) / (jnp.linalg.norm(u) * jnp.linalg.norm(v))) ** 2
        return quantum, classical

    return f


@program(call(0.8, 2), call(-1.1, 3))
def basis_state_loaded_into_a_second_register(dev):
    """A Bell pair on wires 0-1, then an integer loaded into wires 2-3 and entangled with it."""

    @qml.qnode(dev(4))
    def circuit(x, k):
        qml.RY(x, wires=0)
        qml.CNOT(wires=[0, 1])
        qml.BasisState((k >> jnp.arange(1, -1, -1)) & 1, wires=[2, 3])
        qml.CNOT(wires=[1, 3])
        return qml.probs(wires=range(4))

    return circuit


@program(call(np.array([[0.1, 0.5], [1.2, -0.3], [-0.8, 0.9]])))
def projected_kernel_with_nested_vmap(dev):
    """A projected quantum kernel: local Z expectations of each embedded point (two
    measurements), a Gaussian kernel on them, over all pairs with nested vmap."""

    @qml.qnode(dev(2))
    def features(x):
        qml.AngleEmbedding(x, wires=[0, 1])
        qml.CNOT(wires=[0, 1])
        qml.RY(x[0] * x[1], wires=1)
        return qml.expval(qml.PauliZ(0)), qml.expval(qml.PauliX(1))

    def f(xs):
        def kernel(a, b):
            fa, fb = jnp.stack(features(a)), jnp.stack(features(b))
            return jnp.exp(-jnp.sum((fa - fb) ** 2))

        return jax.vmap(lambda a: jax.vmap(lambda b: kernel(a, b))(xs))(xs)

    return f


# ---------------------------------------------------------------------------------------------
# The differential test
# ---------------------------------------------------------------------------------------------


def compile_with_kvant(fn, prog):
    options = dict(static_argnums=prog.static_argnums, static_argnames=prog.static_argnames)
    if prog.via == "pennylane":
        return qml.qjit(fn, compiler="kvant", **options)
    return kvant.qjit(fn, **options)


def reference_runner(fn, prog):
    if prog.reference == "jit":
        return jax.jit(fn, static_argnums=prog.static_argnums, static_argnames=prog.static_argnames)

    def eager(*args, **kwargs):
        with jax.disable_jit():
            return fn(*args, **kwargs)

    return eager


def assert_same_outputs(got, want):
    got_leaves, got_tree = tree_flatten(got)
    want_leaves, want_tree = tree_flatten(want)
    assert got_tree == want_tree, f"pytree structure: {got_tree} != {want_tree}"
    for k, (g, w) in enumerate(zip(got_leaves, want_leaves)):
        assert isinstance(g, jax.Array), f"leaf {k}: kvant returned {type(g).__name__}"
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"leaf {k}: shape {g.shape} != {w.shape}"
        assert g.dtype == w.dtype, f"leaf {k}: dtype {g.dtype} != {w.dtype}"
        if g.dtype.kind in "biu":
            np.testing.assert_array_equal(g, w, err_msg=f"leaf {k}")
        else:
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL, err_msg=f"leaf {k}")


@pytest.mark.parametrize("prog", [pytest.param(p, id=p.name, marks=p.marks) for p in CATALOG])
def test_program_matches_default_qubit(prog):
    compiled = compile_with_kvant(prog.build(device_factory(prog.device)), prog)
    reference = reference_runner(prog.build(device_factory(REFERENCE_DEVICE)), prog)
    for args, kwargs in prog.calls:
        want = reference(*args, **kwargs)
        got = compiled(*args, **kwargs)
        assert_same_outputs(got, want)


def test_catalog_is_large_and_names_are_unique():
    names = [p.name for p in CATALOG]
    assert len(names) == len(set(names))
    assert len(names) >= 60


# ---------------------------------------------------------------------------------------------
# Shot-based programs: checked against closed-form statistics within 5 sigma. (test_measurements.py
# covers sample/counts/probs/expval/var with shots on a Bell pair and mid-circuit measurement with
# postselect/reset; these add GHZ counts over 3 wires, shots with run-time wires in a compiled
# loop, and mid-circuit outcomes accumulated in a loop and decoded by classical code.)
# ---------------------------------------------------------------------------------------------

SHOTS = 4000


def five_sigma(p, n):
    return 5 * np.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("x", [0.6, 2.0])
def test_ghz_samples_and_counts_with_seeded_device(x):
    @qml.set_shots(SHOTS)
    @qml.qnode(qml.device(KVANT_DEVICE, wires=3, seed=11))
    def ghz(x):
        qml.RY(x, wires=0)
        qml.CNOT(wires=[0, 1])
        qml.CNOT(wires=[1, 2])
        return qml.sample(), qml.counts(wires=[0, 1, 2]), qml.probs(wires=[2])

    @kvant.qjit
    def program(x):
        samples, counts, probs = ghz(x)
        agree = jnp.all(samples == samples[:, :1], axis=1)  # every shot is 000 or 111
        return jnp.mean(samples[:, 0].astype(jnp.float64)), jnp.all(agree), counts, probs

    ones, all_agree, counts, probs = program(x)
    p1 = np.sin(x / 2) ** 2  # RY(x)|0> = cos(x/2)|0> + sin(x/2)|1>, copied to wires 1, 2
    assert bool(all_agree)
    assert set(counts) == {format(k, "03b") for k in range(8)}
    assert sum(int(v) for v in counts.values()) == SHOTS
    assert int(counts["000"]) + int(counts["111"]) == SHOTS
    assert abs(int(counts["111"]) / SHOTS - p1) < five_sigma(p1, SHOTS)
    assert abs(float(ones) - p1) < five_sigma(p1, SHOTS)
    assert abs(float(probs[1]) - p1) < five_sigma(p1, SHOTS)
    again = program(x)  # seeded: the same samples every execution
    assert float(again[0]) == float(ones) and int(again[2]["111"]) == int(counts["111"])


@pytest.mark.parametrize("x", [0.7, 2.3])
def test_sampled_expectations_with_run_time_wires_in_a_loop(x):
    @qml.set_shots(SHOTS)
    @qml.qnode(qml.device(KVANT_DEVICE, wires=2, seed=5))
    def circuit(x, n):
        @kvant.for_loop(0, n, 1)
        def rotate(i):
            qml.RY(x, wires=i)

        rotate()
        return qml.expval(0.5 * qml.PauliZ(0) + qml.PauliX(1)), qml.var(
            qml.PauliZ(0) @ qml.PauliZ(1)
        )

    energy, var = kvant.qjit(circuit)(x, 2)
    # RY(x) on both wires: <Z0> = cos x, <X1> = sin x; Z0 Z1 = +-1 with mean cos^2 x, so
    # Var(Z0 Z1) = 1 - cos^4 x. The sum is estimated term by term from independent samples:
    # sigma^2 = (0.25 Var Z0 + Var X1) / N = (0.25 sin^2 x + cos^2 x) / N.
    sigma = np.sqrt((0.25 * np.sin(x) ** 2 + np.cos(x) ** 2) / SHOTS)
    assert abs(float(energy) - (0.5 * np.cos(x) + np.sin(x))) < 5 * sigma
    m = np.cos(x) ** 2
    # the estimate 1 - mean^2 moves by 2 |m| sigma_mean to first order
    sigma_var = 2 * m * np.sqrt((1 - m**2) / SHOTS) + 1e-3
    assert abs(float(var) - (1 - m**2)) < 5 * sigma_var


def test_mid_circuit_outcomes_accumulated_in_a_loop():
    """n rounds of RX(x), measure-and-reset; each outcome 1 rotates a second qubit by delta.
    Exact <Z1> = cos(K delta) with K ~ Binomial(n, sin^2(x/2)) the number of ones; the program
    decodes K with arccos."""
    n, x = 200, 1.1
    delta = np.pi / n  # K delta in [0, pi]: arccos inverts it

    @qml.qnode(qml.device(KVANT_DEVICE, wires=2, seed=2024), mcm_method="single-branch-statistics")
    def circuit(x, n):
        @kvant.for_loop(0, n, 1)
        def rounds(i):
            qml.RX(x, wires=0)
            m = qml.measure(0, reset=True)
            qml.cond(m, qml.RY)(delta, wires=1)

        rounds()
        return qml.expval(qml.PauliZ(1)), qml.probs(wires=[0])

    @kvant.qjit
    def count_ones(x, n):
        z, p0 = circuit(x, n)
        k = jnp.arccos(jnp.clip(z, -1.0, 1.0)) / delta
        return jnp.round(k).astype(jnp.int64), k, p0

    k, k_raw, p0 = count_ones(x, n)
    p = np.sin(x / 2) ** 2
    assert abs(float(k_raw) - int(k)) < 1e-6  # an integer number of rotations
    np.testing.assert_allclose(p0, [1.0, 0.0], atol=1e-12)  # wire 0 was reset
    assert abs(int(k) - n * p) < 5 * np.sqrt(n * p * (1 - p))
    assert 0 < int(k) < n
