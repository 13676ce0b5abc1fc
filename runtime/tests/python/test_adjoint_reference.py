"""The runtime's adjoint Jacobian and VJPs against PennyLane default.qubit (autodiff through
its own simulator), driving libkvant_rt through ctypes.

    .venv/bin/python -m pytest runtime/tests/python/test_adjoint_reference.py

The library is found by rt_ctypes.py (KVANT_RT_LIB, else the installed kvant package, else
build/runtime-dev).
"""

from __future__ import annotations

import numpy as np
import pytest

qml = pytest.importorskip("pennylane")
pnp = qml.numpy

from rt_ctypes import GATE, OBS, RT, arr, f64, i8, i64  # noqa: E402

# A circuit: (gate name, params, wires, control wires, control values, adjoint). Parameters are
# given as indices into the trainable vector (so the same list drives both simulators).
CIRCUIT = [
    ("Hadamard", [], [0], [], [], False),
    ("Hadamard", [], [2], [], [], False),
    ("RX", [0], [0], [], [], False),
    ("RY", [1], [1], [], [], False),
    ("CNOT", [], [0, 1], [], [], False),
    ("Rot", [2, 3, 4], [2], [], [], False),
    ("CRY", [5], [2, 3], [], [], False),
    ("IsingXY", [6], [1, 3], [], [], True),
    ("RZ", [7], [3], [0], [0], False),
    ("PhaseShift", [8], [1], [], [], False),
    ("CRot", [9, 10, 11], [3, 0], [], [], True),
    ("MultiRZ", [12], [0, 2, 3], [], [], False),
    ("SingleExcitation", [13], [1, 2], [1 - 1], [1], False),  # controlled on wire 0 = 1
    ("IsingZZ", [14], [0, 3], [], [], False),
    ("DoubleExcitation", [15], [0, 1, 2, 3], [], [], False),
    ("S", [], [1], [], [], False),
]
NUM_PARAMS = 16
N = 4


def pennylane_circuit(params):
    for name, pidx, wires, ctrls, values, adjoint in CIRCUIT:
        op_class = getattr(qml, name)
        args = [params[i] for i in pidx]
        fn = lambda *a, c=op_class, w=wires: c(*a, wires=w)
        if adjoint:
            fn = qml.adjoint(fn)
        if ctrls:
            fn = qml.ctrl(fn, control=ctrls, control_values=values)
        fn(*args)


def observables_pl():
    h = np.array([[0.5, 0.1 + 0.2j], [0.1 - 0.2j, -1.0]])
    return [
        qml.PauliZ(0),
        qml.PauliX(1) @ qml.PauliY(3),
        qml.Hermitian(h, wires=2),
        qml.Hamiltonian([0.3, -1.2], [qml.PauliZ(0) @ qml.PauliZ(2), qml.PauliX(3)]),
    ]


def observables_kvant():
    lib = RT.lib
    z0 = lib.kvant_rt_obs_named(OBS["PauliZ"], 0)
    xy = lib.kvant_rt_obs_tensor(
        arr(
            i64,
            [lib.kvant_rt_obs_named(OBS["PauliX"], 1), lib.kvant_rt_obs_named(OBS["PauliY"], 3)],
        ),
        2,
    )
    h = [0.5, 0, 0.1, 0.2, 0.1, -0.2, -1.0, 0]
    herm = lib.kvant_rt_obs_hermitian(arr(f64, h), arr(i64, [2]), 1)
    zz = lib.kvant_rt_obs_tensor(
        arr(
            i64,
            [lib.kvant_rt_obs_named(OBS["PauliZ"], 0), lib.kvant_rt_obs_named(OBS["PauliZ"], 2)],
        ),
        2,
    )
    ham = lib.kvant_rt_obs_hamiltonian(
        arr(f64, [0.3, -1.2]), arr(i64, [zz, lib.kvant_rt_obs_named(OBS["PauliX"], 3)]), 2
    )
    return [z0, xy, herm, ham]


def run_kvant(params):
    """Runs the circuit with the tape on; returns (register, observable handles)."""
    lib = RT.lib
    reg = lib.kvant_rt_qalloc(N)
    lib.kvant_rt_tape_begin()
    for name, pidx, wires, ctrls, values, adjoint in CIRCUIT:
        p = [float(params[i]) for i in pidx]
        lib.kvant_rt_gate(
            GATE[name],
            arr(f64, p),
            len(p),
            arr(i64, wires),
            len(wires),
            arr(i64, ctrls),
            arr(i8, values),
            len(ctrls),
            1 if adjoint else 0,
        )
    lib.kvant_rt_tape_end()
    obs = observables_kvant()
    RT.check()
    return reg, obs


@pytest.fixture(scope="module")
def params():
    return np.random.default_rng(2024).uniform(-np.pi, np.pi, NUM_PARAMS)


def test_jacobian_matches_default_qubit(params):
    dev = qml.device("default.qubit", wires=N)

    @qml.qnode(dev, diff_method="backprop")
    def circuit(p):
        pennylane_circuit(p)
        return [qml.expval(o) for o in observables_pl()]

    p = pnp.array(params, requires_grad=True)
    expected_values = np.array(circuit(p))
    expected = np.array(qml.jacobian(lambda x: qml.math.stack(circuit(x)))(p))

    reg, obs = run_kvant(params)
    try:
        assert RT.lib.kvant_rt_tape_num_params() == NUM_PARAMS
        values = np.array([RT.lib.kvant_rt_expval(o) for o in obs])
        jac = (f64 * (len(obs) * NUM_PARAMS))()
        RT.lib.kvant_rt_adjoint_jacobian(arr(i64, obs), len(obs), jac, NUM_PARAMS)
        RT.check()
    finally:
        RT.lib.kvant_rt_qdealloc(reg)
    np.testing.assert_allclose(values, expected_values, atol=1e-10)
    np.testing.assert_allclose(np.array(jac).reshape(len(obs), NUM_PARAMS), expected, atol=1e-10)


MEAS_EXPVAL, MEAS_VAR, MEAS_PROBS = 0, 1, 2


def vjp_mixed(meas, cotangent):
    """kvant_rt_adjoint_vjp_mixed on the active register: meas is [(kind, observable handle or
    probs wires)], cotangent their result entries concatenated."""
    kinds = [k for k, _ in meas]
    obs_arg = [0 if k == MEAS_PROBS else what for k, what in meas]
    nwires = [len(what) if k == MEAS_PROBS else 0 for k, what in meas]
    wires = [x for k, what in meas if k == MEAS_PROBS for x in what]
    ct = np.asarray(cotangent, dtype=float).ravel()
    got = (f64 * NUM_PARAMS)()
    RT.lib.kvant_rt_adjoint_vjp_mixed(
        arr(i64, kinds),
        arr(i64, obs_arg),
        arr(i64, nwires),
        len(meas),
        arr(i64, wires),
        len(wires),
        arr(f64, ct),
        len(ct),
        got,
        NUM_PARAMS,
    )
    return got


def test_vjps_match_default_qubit(params):
    dev = qml.device("default.qubit", wires=N)
    ct_obs = np.array([0.7, -1.1, 0.4, 2.0])
    ct_probs = np.random.default_rng(7).normal(size=8)
    prob_wires = [3, 0, 1]

    @qml.qnode(dev, diff_method="backprop")
    def expvals(p):
        pennylane_circuit(p)
        return qml.math.stack([qml.expval(o) for o in observables_pl()])

    @qml.qnode(dev, diff_method="backprop")
    def variances(p):
        pennylane_circuit(p)
        return qml.math.stack([qml.var(o) for o in observables_pl()])

    @qml.qnode(dev, diff_method="backprop")
    def probs(p):
        pennylane_circuit(p)
        return qml.probs(wires=prob_wires)

    p = pnp.array(params, requires_grad=True)
    want_e = qml.grad(lambda x: pnp.dot(ct_obs, expvals(x)))(p)
    want_v = qml.grad(lambda x: pnp.dot(ct_obs, variances(x)))(p)
    want_p = qml.grad(lambda x: pnp.dot(ct_probs, probs(x)))(p)

    reg, obs = run_kvant(params)
    try:
        got_e = vjp_mixed([(MEAS_EXPVAL, o) for o in obs], ct_obs)
        got_v = vjp_mixed([(MEAS_VAR, o) for o in obs], ct_obs)
        got_p = vjp_mixed([(MEAS_PROBS, prob_wires)], ct_probs)
        RT.check()
    finally:
        RT.lib.kvant_rt_qdealloc(reg)
    np.testing.assert_allclose(np.array(got_e), want_e, atol=1e-10)
    np.testing.assert_allclose(np.array(got_v), want_v, atol=1e-10)
    np.testing.assert_allclose(np.array(got_p), want_p, atol=1e-10)


def test_mixed_vjp_matches_default_qubit_jax(params):
    """expval, var and probs of one circuit in one kvant call, against jax.vjp through
    default.qubit returning the same measurements as a tuple."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    obs = observables_pl()
    # (kind, observable index or probs wires), in an interleaved order.
    meas = [
        (MEAS_PROBS, [2, 0]),
        (MEAS_EXPVAL, 3),
        (MEAS_VAR, 1),
        (MEAS_EXPVAL, 0),
        (MEAS_PROBS, [3]),
        (MEAS_VAR, 2),
    ]
    dev = qml.device("default.qubit", wires=N)

    @qml.qnode(dev, interface="jax", diff_method="backprop")
    def circuit(p):
        pennylane_circuit(p)
        out = []
        for kind, what in meas:
            if kind == MEAS_PROBS:
                out.append(qml.probs(wires=what))
            elif kind == MEAS_EXPVAL:
                out.append(qml.expval(obs[what]))
            else:
                out.append(qml.var(obs[what]))
        return tuple(out)

    rng = np.random.default_rng(31)
    cts = tuple(rng.normal(size=2 ** len(w)) if k == MEAS_PROBS else rng.normal() for k, w in meas)
    _, pullback = jax.vjp(circuit, jnp.asarray(params))
    (want,) = pullback(tuple(jnp.asarray(c) for c in cts))

    reg, handles = run_kvant(params)
    try:
        got = vjp_mixed(
            [(k, w if k == MEAS_PROBS else handles[w]) for k, w in meas],
            np.concatenate([np.atleast_1d(c) for c in cts]),
        )
        RT.check()
    finally:
        RT.lib.kvant_rt_qdealloc(reg)
    np.testing.assert_allclose(np.array(got), np.asarray(want), atol=1e-10)


def test_errors_come_back_as_messages(params):
    reg, obs = run_kvant(params)
    try:
        out = (f64 * 4)()
        RT.lib.kvant_rt_adjoint_jacobian(arr(i64, obs), 1, out, 3)
        with pytest.raises(RuntimeError, match="16 parameter"):
            RT.check()
    finally:
        RT.lib.kvant_rt_qdealloc(reg)
