"""The adjoint sweep's segment rule (runtime/src/AdjointSegments.*: checkpoints of the state
before segments of one-qubit gates, lambda-only backward steps, derivatives from cross-reduced
matrices) on random circuits, against an independent reference.

    .venv/bin/python -m pytest runtime/tests/python/test_adjoint_segments.py

The reference Jacobian of a random circuit is lightning.qubit's adjoint Jacobian (compiled, so
an 18-qubit circuit costs seconds where default.qubit + JAX without jit took ~50 s and with jit
~80 s of XLA compilation). Lightning is trusted because the first test checks it against
PennyLane default.qubit differentiated by JAX on a circuit holding every gate kind the random
circuits draw (plain, adjoint, controlled on 0 and on 1), with the same four observables; that
test also checks kvant on that circuit against default.qubit + JAX directly. The reference for
the VJP is the cotangent times the reference Jacobian.

By default only registers of 18+ qubits queue their gates, and only queued registers take
checkpoints, so each case runs kvant in a child process with small forward blocks (every
register queued), a checkpoint for every segment with a parameter, and 2-qubit reduction blocks
(several block layouts per segment). The same circuits run again with the checkpoint budget at 0
(the plain sweep). The child reports, through KVANT_RT_ADJOINT_TRACE, how many segments the
sweeps took, so the tests also fail if the rule silently stops running (or runs without a
budget). The child only drives libkvant_rt through ctypes (rt_ctypes.py): the circuits, their
parameters and cotangents are drawn here and sent to it on stdin.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

qml = pytest.importorskip("pennylane")
jax = pytest.importorskip("jax")

from adjoint_harness import (  # noqa: E402
    NUM_OBS,
    Ops,
    check,
    default_qubit_jax_jacobian,
    lightning_jacobian,
    run_kvant,
)

ONE_PARAM = ["RX", "RY", "RZ", "PhaseShift", "Rot"]
ONE_FIXED = ["Hadamard", "S", "T", "SX", "PauliX", "PauliY", "PauliZ"]
# (name, wires, parameters)
MULTI = [
    ("CNOT", 2, 0),
    ("CZ", 2, 0),
    ("CRX", 2, 1),
    ("CRY", 2, 1),
    ("CRZ", 2, 1),
    ("CRot", 2, 3),
    ("ControlledPhaseShift", 2, 1),
    ("IsingXX", 2, 1),
    ("IsingYY", 2, 1),
    ("IsingZZ", 2, 1),
    ("IsingXY", 2, 1),
    ("SingleExcitation", 2, 1),
    ("Toffoli", 3, 0),
    ("CSWAP", 3, 0),
    ("MultiRZ", 3, 1),
    ("DoubleExcitation", 4, 1),
]
NPAR = {"Rot": 3}


def _random_circuit(n, seed):
    """A random circuit on n wires, its parameters and a cotangent for the VJP."""
    rng = np.random.default_rng(seed)
    ops = Ops()
    for _layer in range(4 if n <= 8 else 3):
        # A layer of one-qubit gates (a segment), sometimes interrupted by a controlled
        # one-qubit gate, which ends it.
        for w in range(n):
            for _ in range(int(rng.integers(1, 3))):
                adj = rng.random() < 0.3
                if rng.random() < 0.75:
                    name = ONE_PARAM[rng.integers(len(ONE_PARAM))]
                    ops.add(name, [w], NPAR.get(name, 1), adjoint=adj)
                else:
                    ops.add(ONE_FIXED[rng.integers(len(ONE_FIXED))], [w], 0, adjoint=adj)
            if rng.random() < 0.1:
                c = int(rng.choice([x for x in range(n) if x != w]))
                ops.add("RY", [w], 1, ctrls=[c], values=[int(rng.integers(2))])
        # Entangling gates, some under user controls or adjoint.
        for _ in range(int(rng.integers(1, n + 1))):
            name, k, npar = MULTI[rng.integers(len(MULTI))]
            if k > n:
                continue
            wires = rng.choice(n, k, replace=False)
            ctrls, values = [], []
            free = [x for x in range(n) if x not in wires]
            if free and rng.random() < 0.2:
                ctrls, values = [int(rng.choice(free))], [int(rng.integers(2))]
            ops.add(name, wires, npar, ctrls, values, adjoint=rng.random() < 0.3)
    params = rng.uniform(-np.pi, np.pi, ops.num_params)
    ct = rng.normal(size=NUM_OBS)
    return ops, params, ct


def _every_kind_circuit(n=5, seed=11):
    """Every gate kind _random_circuit draws: one-qubit gates plain and adjoint, the controlled
    RY on control values 0 and 1, and each multi-qubit gate plain, adjoint, controlled on 0, and
    adjoint controlled on 1; Hadamards first so no derivative vanishes by symmetry."""
    rng = np.random.default_rng(seed)
    ops = Ops()
    for w in range(n):
        ops.add("Hadamard", [w], 0)
    for name in ONE_PARAM + ONE_FIXED:
        k = NPAR.get(name, 1) if name in ONE_PARAM else 0
        for adj in (False, True):
            ops.add(name, [int(rng.integers(n))], k, adjoint=adj)
    for value in (0, 1):
        w, c = (int(x) for x in rng.choice(n, 2, replace=False))
        ops.add("RY", [w], 1, ctrls=[c], values=[value])
    for name, k, npar in MULTI:
        for adj, value in ((False, None), (True, None), (False, 0), (True, 1)):
            wires = rng.choice(n, k, replace=False)
            ctrls, values = [], []
            if value is not None:
                ctrls = [int(rng.choice([x for x in range(n) if x not in wires]))]
                values = [value]
            ops.add(name, wires, npar, ctrls, values, adjoint=adj)
    return ops, rng.uniform(-np.pi, np.pi, ops.num_params), rng.normal(size=NUM_OBS)


@functools.cache
def _case(n, seed):
    """A random circuit with its reference Jacobian (computed once, for every test using it)."""
    ops, params, ct = _random_circuit(n, seed)
    return ops, params, ct, lightning_jacobian(ops, params, n)


SEGMENTS = {
    "KVANT_RT_FORWARD_BLOCK_QUBITS": "3",
    "KVANT_RT_ADJOINT_SEGMENT_MIN_PARAMS": "1",
    "KVANT_RT_ADJOINT_REDUCE_QUBITS": "2",
    "KVANT_RT_ADJOINT_BLOCK_QUBITS": "4",
    "KVANT_RT_MIN_PARALLEL_QUBITS": "1",
    "OMP_NUM_THREADS": "2",
    "KVANT_RT_ADJOINT_TRACE": "1",
}
PLAIN = dict(SEGMENTS, KVANT_RT_ADJOINT_CHECKPOINT_MIB="0")


def _run_kvant(n, ops, params, ct, env_extra):
    """kvant's Jacobian and VJP, and the checkpointed segments each sweep used (trace)."""
    jac, vjp, trace = run_kvant(n, ops, params, ct, env_extra)
    return jac, vjp, [t[0] for t in trace]


def test_lightning_reference_matches_default_qubit_jax_on_every_gate_kind():
    n = 5
    ops, params, ct = _every_kind_circuit(n)
    assert {op[0] for op in ops} == set(ONE_PARAM + ONE_FIXED + [m[0] for m in MULTI])
    want = default_qubit_jax_jacobian(ops, params, n)
    # A reference that vanished or lost parameters would agree with anything.
    assert want.shape == (NUM_OBS, ops.num_params) and np.count_nonzero(np.abs(want) > 1e-3) > 100
    np.testing.assert_allclose(lightning_jacobian(ops, params, n), want, atol=1e-11)
    jac, vjp, used = _run_kvant(n, ops, params, ct, SEGMENTS)
    check(jac, vjp, ct, want)
    assert len(used) == 2 and min(used) > 0, used


@pytest.mark.parametrize(("n", "seed"), [(4, 0), (6, 1), (9, 2), (12, 3)])
def test_segment_rule_matches_reference(n, seed):
    ops, params, ct, want = _case(n, seed)
    jac, vjp, used = _run_kvant(n, ops, params, ct, SEGMENTS)
    check(jac, vjp, ct, want)
    # Two sweeps (Jacobian, VJP); each took segments.
    assert len(used) == 2 and min(used) > 0, used


@pytest.mark.parametrize(("n", "seed"), [(7, 5)])
def test_without_checkpoints_the_plain_sweep_runs_and_agrees(n, seed):
    ops, params, ct, want = _case(n, seed)
    jac_plain, vjp_plain, used = _run_kvant(n, ops, params, ct, PLAIN)
    assert used == [0, 0], used
    check(jac_plain, vjp_plain, ct, want)
    jac_seg, vjp_seg, _ = _run_kvant(n, ops, params, ct, SEGMENTS)
    check(jac_seg, vjp_seg, ct, want)
    np.testing.assert_allclose(jac_plain, jac_seg, atol=1e-12)


def test_default_settings_at_18_qubits_take_segments():
    """No forced settings: an 18-qubit register queues its gates and checkpoints segments of 4+
    parameters by default."""
    ops, params, ct, want = _case(18, 6)
    jac, vjp, used = _run_kvant(18, ops, params, ct, {"KVANT_RT_ADJOINT_TRACE": "1"})
    check(jac, vjp, ct, want)
    assert len(used) == 2 and min(used) > 0, used
