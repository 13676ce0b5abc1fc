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
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

qml = pytest.importorskip("pennylane")
jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)

from rt_ctypes import LIB_PATH  # noqa: E402

HERE = Path(__file__).resolve().parent

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
NUM_OBS = 4


class _Ops(list):
    """(gate name, parameter indices, wires, control wires, control values, adjoint) entries;
    the parameters are indices into one trainable vector, so one list drives every simulator."""

    num_params = 0

    def add(self, name, wires, k, ctrls=(), values=(), adjoint=False):
        self.append(
            (
                name,
                list(range(self.num_params, self.num_params + k)),
                [int(w) for w in wires],
                [int(c) for c in ctrls],
                [int(v) for v in values],
                bool(adjoint),
            )
        )
        self.num_params += k


def _random_circuit(n, seed):
    """A random circuit on n wires, its parameters and a cotangent for the VJP."""
    rng = np.random.default_rng(seed)
    ops = _Ops()
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
    ops = _Ops()
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


HERMITIAN = np.array([[0.5, 0.1 + 0.2j], [0.1 - 0.2j, -1.0]])


def _qnode(ops, n, device, **kwargs):
    """The circuit returning <Z0>, <X1 Y(n-1)>, <H on wire 2> and <Hamiltonian>."""
    obs = [
        qml.PauliZ(0),
        qml.PauliX(1) @ qml.PauliY(n - 1),
        qml.Hermitian(HERMITIAN, wires=2),
        qml.Hamiltonian(
            [0.3, -1.2, 0.5], [qml.PauliZ(0) @ qml.PauliZ(2), qml.PauliX(n - 1), qml.PauliY(1)]
        ),
    ]

    def circuit(p):
        for name, pidx, wires, ctrls, values, adjoint in ops:
            op_class = getattr(qml, name)
            fn = lambda *a, c=op_class, w=wires: c(*a, wires=w)
            if adjoint:
                fn = qml.adjoint(fn)
            if ctrls:
                fn = qml.ctrl(fn, control=ctrls, control_values=values)
            fn(*[p[i] for i in pidx])
        return [qml.expval(o) for o in obs]

    return qml.QNode(circuit, device, **kwargs)


@functools.cache
def _lightning_device(n):
    return qml.device("lightning.qubit", wires=n)


def _lightning_jacobian(ops, params, n):
    qnode = _qnode(ops, n, _lightning_device(n), diff_method="adjoint")
    p = qml.numpy.array(params, requires_grad=True)
    return np.asarray(qml.jacobian(lambda x: qml.math.stack(qnode(x)))(p))


def _default_qubit_jax_jacobian(ops, params, n):
    jnp = jax.numpy
    qnode = _qnode(
        ops, n, qml.device("default.qubit", wires=n), interface="jax", diff_method="backprop"
    )
    # Compiled as one XLA program: op-by-op dispatch compiles every primitive of the passes on
    # its own (~20 s here). Forward mode (72 parameters, 5 qubits) and XLA's backend at
    # optimisation level 0 compile fastest (~5 s, against ~13 s for jacrev at the default
    # level); the program runs once, so its speed does not matter.
    jac = jax.jit(jax.jacfwd(lambda p: jnp.stack(qnode(p))))
    x = jnp.asarray(params)
    compiled = jac.lower(x).compile(compiler_options={"xla_backend_optimization_level": 0})
    return np.asarray(compiled(x))


@functools.cache
def _case(n, seed):
    """A random circuit with its reference Jacobian (computed once, for every test using it)."""
    ops, params, ct = _random_circuit(n, seed)
    return ops, params, ct, _lightning_jacobian(ops, params, n)


_CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import rt_ctypes as ref

    case = json.load(sys.stdin)
    n, ops, num_params = case["n"], case["ops"], case["num_params"]
    params, ct = case["params"], case["ct"]
    lib, arr, i64, f64, i8 = ref.RT.lib, ref.arr, ref.i64, ref.f64, ref.i8
    reg = lib.kvant_rt_qalloc(n)
    lib.kvant_rt_tape_begin()
    for name, pidx, wires, ctrls, values, adjoint in ops:
        p = [float(params[i]) for i in pidx]
        lib.kvant_rt_gate(ref.GATE[name], arr(f64, p), len(p), arr(i64, wires), len(wires),
                          arr(i64, ctrls), arr(i8, values), len(ctrls), 1 if adjoint else 0)
    lib.kvant_rt_tape_end()
    named = lambda kind, w: lib.kvant_rt_obs_named(ref.OBS[kind], w)
    tensor = lambda *hs: lib.kvant_rt_obs_tensor(arr(i64, hs), len(hs))
    herm = lib.kvant_rt_obs_hermitian(
        arr(f64, [0.5, 0, 0.1, 0.2, 0.1, -0.2, -1.0, 0]), arr(i64, [2]), 1)
    ham = lib.kvant_rt_obs_hamiltonian(
        arr(f64, [0.3, -1.2, 0.5]),
        arr(i64, [tensor(named("PauliZ", 0), named("PauliZ", 2)), named("PauliX", n - 1),
                  named("PauliY", 1)]), 3)
    obs = [named("PauliZ", 0), tensor(named("PauliX", 1), named("PauliY", n - 1)), herm, ham]
    jac = (f64 * (len(obs) * num_params))()
    lib.kvant_rt_adjoint_jacobian(arr(i64, obs), len(obs), jac, num_params)
    # One weighted sweep (the VJP entry point) over the same tape.
    vjp = (f64 * num_params)()
    lib.kvant_rt_adjoint_vjp_mixed(arr(i64, [0] * len(obs)), arr(i64, obs),
                                   arr(i64, [0] * len(obs)), len(obs), arr(i64, []), 0,
                                   arr(f64, list(ct)), len(obs), vjp, num_params)
    ref.RT.check()
    lib.kvant_rt_qdealloc(reg)
    print(json.dumps({"jac": list(jac), "vjp": list(vjp)}))
    """
)

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
    """kvant's Jacobian (NUM_OBS x parameters) and VJP of the circuit, run in a child with
    env_extra; also the checkpointed segments each sweep used, from the trace."""
    # The library found here, so the child need not import kvant (and with it JAX) to find it.
    env = dict(os.environ, KVANT_RT_LIB=str(LIB_PATH), **env_extra)
    case = {
        "n": n,
        "ops": ops,
        "num_params": ops.num_params,
        "params": [float(x) for x in params],
        "ct": [float(x) for x in ct],
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(HERE)],
        input=json.dumps(case),
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    used = [int(x) for x in re.findall(r"(\d+) checkpointed segment\(s\) used", done.stderr)]
    r = json.loads(done.stdout.strip().splitlines()[-1])
    return np.asarray(r["jac"]).reshape(NUM_OBS, ops.num_params), np.asarray(r["vjp"]), used


def _check(jac, vjp, ct, want):
    np.testing.assert_allclose(jac, want, atol=1e-11)
    np.testing.assert_allclose(vjp, ct @ want, atol=1e-11)


def test_lightning_reference_matches_default_qubit_jax_on_every_gate_kind():
    n = 5
    ops, params, ct = _every_kind_circuit(n)
    assert {op[0] for op in ops} == set(ONE_PARAM + ONE_FIXED + [m[0] for m in MULTI])
    want = _default_qubit_jax_jacobian(ops, params, n)
    # A reference that vanished or lost parameters would agree with anything.
    assert want.shape == (NUM_OBS, ops.num_params) and np.count_nonzero(np.abs(want) > 1e-3) > 100
    np.testing.assert_allclose(_lightning_jacobian(ops, params, n), want, atol=1e-11)
    jac, vjp, used = _run_kvant(n, ops, params, ct, SEGMENTS)
    _check(jac, vjp, ct, want)
    assert len(used) == 2 and min(used) > 0, used


@pytest.mark.parametrize(("n", "seed"), [(4, 0), (6, 1), (9, 2), (12, 3)])
def test_segment_rule_matches_reference(n, seed):
    ops, params, ct, want = _case(n, seed)
    jac, vjp, used = _run_kvant(n, ops, params, ct, SEGMENTS)
    _check(jac, vjp, ct, want)
    # Two sweeps (Jacobian, VJP); each took segments.
    assert len(used) == 2 and min(used) > 0, used


@pytest.mark.parametrize(("n", "seed"), [(7, 5)])
def test_without_checkpoints_the_plain_sweep_runs_and_agrees(n, seed):
    ops, params, ct, want = _case(n, seed)
    jac_plain, vjp_plain, used = _run_kvant(n, ops, params, ct, PLAIN)
    assert used == [0, 0], used
    _check(jac_plain, vjp_plain, ct, want)
    jac_seg, vjp_seg, _ = _run_kvant(n, ops, params, ct, SEGMENTS)
    _check(jac_seg, vjp_seg, ct, want)
    np.testing.assert_allclose(jac_plain, jac_seg, atol=1e-12)


def test_default_settings_at_18_qubits_take_segments():
    """No forced settings: an 18-qubit register queues its gates and checkpoints segments of 4+
    parameters by default."""
    ops, params, ct, want = _case(18, 6)
    jac, vjp, used = _run_kvant(18, ops, params, ct, {"KVANT_RT_ADJOINT_TRACE": "1"})
    _check(jac, vjp, ct, want)
    assert len(used) == 2 and min(used) > 0, used
