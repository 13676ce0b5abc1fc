"""The adjoint sweep's segment rule (runtime/src/AdjointSegments.*: checkpoints of the state
before segments of one-qubit gates, lambda-only backward steps, derivatives from cross-reduced
matrices) on random circuits, against PennyLane default.qubit differentiated by JAX.

    .venv/bin/python -m pytest runtime/tests/python/test_adjoint_segments.py

By default only registers of 18+ qubits queue their gates, and only queued registers take
checkpoints, so each case runs in a child process with small forward blocks (every register
queued), a checkpoint for every segment with a parameter, and 2-qubit reduction blocks (several
block layouts per segment). The same circuits run again with the checkpoint budget at 0 (the
plain sweep). The child reports, through KVANT_RT_ADJOINT_TRACE, how many segments the sweeps
took, so the tests also fail if the rule silently stops running (or runs without a budget).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pennylane")
pytest.importorskip("jax")

HERE = Path(__file__).resolve().parent

_CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    import jax, jax.numpy as jnp
    import pennylane as qml
    import test_adjoint_reference as ref
    jax.config.update("jax_enable_x64", True)

    n, seed = int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(seed)
    ONE_PARAM = ["RX", "RY", "RZ", "PhaseShift", "Rot"]
    ONE_FIXED = ["Hadamard", "S", "T", "SX", "PauliX", "PauliY", "PauliZ"]
    MULTI = [("CNOT", 2, 0), ("CZ", 2, 0), ("CRX", 2, 1), ("CRY", 2, 1), ("CRZ", 2, 1),
             ("CRot", 2, 3), ("ControlledPhaseShift", 2, 1), ("IsingXX", 2, 1),
             ("IsingYY", 2, 1), ("IsingZZ", 2, 1), ("IsingXY", 2, 1),
             ("SingleExcitation", 2, 1), ("Toffoli", 3, 0), ("CSWAP", 3, 0),
             ("MultiRZ", 3, 1), ("DoubleExcitation", 4, 1)]
    NPAR = {"Rot": 3}
    ops, num_params = [], 0

    def add(name, wires, k, ctrls=(), values=(), adjoint=False):
        global num_params
        ops.append((name, list(range(num_params, num_params + k)), [int(w) for w in wires],
                    [int(c) for c in ctrls], [int(v) for v in values], bool(adjoint)))
        num_params += k

    for layer in range(4 if n <= 8 else 3):
        # A layer of one-qubit gates (a segment), sometimes interrupted by a controlled
        # one-qubit gate, which ends it.
        for w in range(n):
            for _ in range(int(rng.integers(1, 3))):
                adj = rng.random() < 0.3
                if rng.random() < 0.75:
                    name = ONE_PARAM[rng.integers(len(ONE_PARAM))]
                    add(name, [w], NPAR.get(name, 1), adjoint=adj)
                else:
                    add(ONE_FIXED[rng.integers(len(ONE_FIXED))], [w], 0, adjoint=adj)
            if rng.random() < 0.1:
                c = int(rng.choice([x for x in range(n) if x != w]))
                add("RY", [w], 1, ctrls=[c], values=[int(rng.integers(2))])
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
            add(name, wires, npar, ctrls, values, adjoint=rng.random() < 0.3)
    params = rng.uniform(-np.pi, np.pi, num_params)

    h = np.array([[0.5, 0.1 + 0.2j], [0.1 - 0.2j, -1.0]])
    obs_pl = [qml.PauliZ(0), qml.PauliX(1) @ qml.PauliY(n - 1), qml.Hermitian(h, wires=2),
              qml.Hamiltonian([0.3, -1.2, 0.5],
                              [qml.PauliZ(0) @ qml.PauliZ(2), qml.PauliX(n - 1), qml.PauliY(1)])]

    def circuit(p):
        for name, pidx, wires, ctrls, values, adjoint in ops:
            fn = lambda *a, c=getattr(qml, name), w=wires: c(*a, wires=w)
            if adjoint:
                fn = qml.adjoint(fn)
            if ctrls:
                fn = qml.ctrl(fn, control=ctrls, control_values=values)
            fn(*[p[i] for i in pidx])
        return [qml.expval(o) for o in obs_pl]

    qnode = qml.QNode(circuit, qml.device("default.qubit", wires=n), interface="jax")
    want = np.asarray(jax.jacobian(lambda p: jnp.stack(qnode(p)))(jnp.asarray(params)))

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
    ct = rng.normal(size=len(obs))
    vjp = (f64 * num_params)()
    lib.kvant_rt_adjoint_vjp_mixed(arr(i64, [0] * len(obs)), arr(i64, obs),
                                   arr(i64, [0] * len(obs)), len(obs), arr(i64, []), 0,
                                   arr(f64, list(ct)), len(obs), vjp, num_params)
    ref.RT.check()
    lib.kvant_rt_qdealloc(reg)
    print(json.dumps({"jac": list(jac), "want": want.tolist(), "vjp": list(vjp),
                      "ct": ct.tolist(), "num_params": num_params}))
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


def _run(n, seed, env_extra):
    env = dict(os.environ, **env_extra)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(HERE), str(n), str(seed)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    used = [int(x) for x in re.findall(r"(\d+) checkpointed segment\(s\) used", done.stderr)]
    return json.loads(done.stdout.strip().splitlines()[-1]), used


def _check(r):
    want = np.asarray(r["want"])
    jac = np.asarray(r["jac"]).reshape(want.shape)
    np.testing.assert_allclose(jac, want, atol=1e-11)
    np.testing.assert_allclose(np.asarray(r["vjp"]), np.asarray(r["ct"]) @ want, atol=1e-11)
    return jac


@pytest.mark.parametrize(("n", "seed"), [(4, 0), (6, 1), (9, 2), (12, 3)])
def test_segment_rule_matches_default_qubit_jax(n, seed):
    r, used = _run(n, seed, SEGMENTS)
    _check(r)
    # Two sweeps (Jacobian, VJP); each took segments.
    assert len(used) == 2 and min(used) > 0, used


@pytest.mark.parametrize(("n", "seed"), [(7, 5)])
def test_without_checkpoints_the_plain_sweep_runs_and_agrees(n, seed):
    plain, used = _run(n, seed, PLAIN)
    assert used == [0, 0], used
    seg, _ = _run(n, seed, SEGMENTS)
    np.testing.assert_allclose(_check(plain), _check(seg), atol=1e-12)


def test_default_settings_at_18_qubits_take_segments():
    """No forced settings: an 18-qubit register queues its gates and checkpoints segments of 4+
    parameters by default."""
    r, used = _run(18, 6, {"KVANT_RT_ADJOINT_TRACE": "1"})
    _check(r)
    assert len(used) == 2 and min(used) > 0, used
