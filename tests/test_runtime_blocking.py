"""The runtime's cache-blocked forward pass and adjoint sweep (runtime/src/Forward.cpp and
Adjoint.cpp) on random circuits, against lightning.qubit and default.qubit.

By default only registers of 18+ qubits (forward) or working sets of 16+ MiB (adjoint) are
blocked. The runtime reads its block sizes from the environment once, so each case runs in a
child process. Most force small blocks: blocks of 6 qubits applied in small blocks of 3
(forward: runs that take gates ahead of earlier ones on other bits, sub-runs inside each block)
and 4-qubit blocks for the adjoint sweep, on 10 qubits, where every run has more bits than a
block. The brick cases at the end run 18 and 20 qubits with the default settings."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("pennylane_lightning")

_CHILD = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np, pennylane as qml
    import kvant
    jax.config.update("jax_enable_x64", True)

    n, seed, refs = 10, int(sys.argv[1]), sys.argv[2] == 'refs'
    rng = np.random.default_rng(seed)
    ONE = ["RX", "RY", "RZ", "PhaseShift", "Hadamard", "S", "T", "PauliX", "Rot"]
    TWO = ["CNOT", "CZ", "SWAP", "CRX", "CRY", "IsingXX", "IsingZZ", "ControlledPhaseShift"]
    NPAR = {"RX": 1, "RY": 1, "RZ": 1, "PhaseShift": 1, "Rot": 3, "CRX": 1, "CRY": 1,
            "IsingXX": 1, "IsingZZ": 1, "ControlledPhaseShift": 1}
    ops, num_params = [], 0
    for _ in range(100):
        r = rng.random()
        if r < 0.55:
            name, wires = ONE[rng.integers(len(ONE))], [int(rng.integers(n))]
        elif r < 0.95:
            name = TWO[rng.integers(len(TWO))]
            wires = [int(w) for w in rng.choice(n, 2, replace=False)]
        else:
            name, wires = "Toffoli", [int(w) for w in rng.choice(n, 3, replace=False)]
        k = NPAR.get(name, 0)
        ops.append((name, wires, list(range(num_params, num_params + k))))
        num_params += k
    params = rng.uniform(-3, 3, num_params)

    def body(p):
        for name, wires, idx in ops:
            getattr(qml, name)(*[p[i] for i in idx], wires=wires)

    def state(p):
        body(p)
        return qml.state()

    H = qml.Hamiltonian([0.7, -1.1, 0.4], [qml.PauliZ(0) @ qml.PauliZ(9), qml.PauliX(4),
                                          qml.PauliY(2) @ qml.PauliZ(7)])

    def energy(p):
        body(p)
        return qml.expval(H)

    dev = lambda name: qml.device(name, wires=n)
    out = {}
    out["state"] = np.asarray(kvant.qjit(qml.QNode(state, dev("kvant.qubit")))(params))
    kq = qml.QNode(energy, dev("kvant.qubit"), diff_method="adjoint")
    out["grad"] = np.asarray(kvant.qjit(kvant.grad(kq))(params))
    if not refs:
        print(json.dumps({k: [v.real.tolist(), v.imag.tolist()] for k, v in out.items()}))
        sys.exit(0)
    out["state_lightning"] = np.asarray(qml.QNode(state, dev("lightning.qubit"))(params))
    lq = qml.QNode(energy, dev("lightning.qubit"), diff_method="adjoint")
    out["grad_lightning"] = np.asarray(qml.grad(lq)(qml.numpy.array(params)))
    # default.qubit differentiated by autograd: ~0.1 s, where JAX op by op took ~20 s (every
    # primitive compiled on its own) and jax.jit ~10 s.
    dq = qml.QNode(energy, dev("default.qubit"), diff_method="backprop")
    out["grad_default"] = np.asarray(qml.grad(dq)(qml.numpy.array(params, requires_grad=True)))
    print(json.dumps({k: [v.real.tolist(), v.imag.tolist()] for k, v in out.items()}))
    """
)


def _run(seed, env_extra, refs=True):
    env = dict(os.environ, **env_extra)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(seed), "refs" if refs else "-"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    return {k: np.asarray(re) + 1j * np.asarray(im) for k, (re, im) in raw.items()}


BLOCKED = {
    "KVANT_RT_FORWARD_BLOCK_QUBITS": "6",
    "KVANT_RT_FORWARD_INNER_QUBITS": "3",
    "KVANT_RT_ADJOINT_BLOCK_QUBITS": "4",
    "KVANT_RT_MIN_PARALLEL_QUBITS": "1",
    "OMP_NUM_THREADS": "2",
}


@pytest.mark.parametrize("seed", [0, 1])
def test_blocked_runtime_matches_lightning_and_default_qubit(seed):
    r = _run(seed, BLOCKED)
    np.testing.assert_allclose(r["state"], r["state_lightning"], atol=1e-12)
    np.testing.assert_allclose(r["grad"], r["grad_lightning"], atol=1e-10)
    np.testing.assert_allclose(r["grad"], r["grad_default"], atol=1e-10)


def test_blocked_and_unblocked_runtime_agree():
    blocked = _run(3, BLOCKED, refs=False)
    plain = _run(
        3, {"KVANT_RT_FORWARD_BLOCK_QUBITS": "0", "KVANT_RT_ADJOINT_BLOCK_QUBITS": "0"}, refs=False
    )
    np.testing.assert_allclose(blocked["state"], plain["state"], atol=1e-12)
    np.testing.assert_allclose(blocked["grad"], plain["grad"], atol=1e-12)


# Bricks (runtime/src/Forward.cpp: one-qubit gates fused into the CNOT after them, applied by
# kernels::applyBrick2) at register sizes where the default settings block (18+ qubits, blocks
# of at most half the L2: 2^12 to 2^16 amplitudes): layers of one-qubit gates of every kind the
# brick kernel tells apart (real, RX-like, diagonal, general; two on one wire fuse into a
# general matrix; a wire left out is the identity), then CNOTs on neighbouring and distant
# pairs in both directions, so bricks land on every bit of a block and on wires outside the
# first block; now and then a CNOT or rotation with a user control (qml.ctrl, value 0 or 1) or
# a CRX, which must stay out of bricks.
_BRICKS_CHILD = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np, pennylane as qml
    import kvant
    jax.config.update("jax_enable_x64", True)

    n, seed, refs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == 'refs'
    rng = np.random.default_rng(seed)
    ONE = ["RX", "RY", "RZ", "PhaseShift", "Hadamard", "S", "T", "PauliX", "PauliY", "SX",
           "Rot"]
    NPAR = {"RX": 1, "RY": 1, "RZ": 1, "PhaseShift": 1, "Rot": 3}
    ops = []  # (name, wires, angles, user control wire, control value)
    for layer in range(6):
        for w in range(n):
            r = rng.random()
            if r < 0.15:
                continue
            for _ in range(2 if r > 0.85 else 1):
                name = ONE[rng.integers(len(ONE))]
                ops.append((name, [w], list(rng.uniform(-3, 3, NPAR.get(name, 0))), None, 1))
        for start in (layer % 2, 1 - layer % 2):
            for w in range(start, n - 1, 2):
                a, b = (w, w + 1) if rng.random() < 0.7 else (w, int(rng.integers(n)))
                if a == b:
                    continue
                if rng.random() < 0.5:
                    a, b = b, a
                r = rng.random()
                if r < 0.06:
                    c = next(x for x in range(n) if x not in (a, b))
                    ops.append(("CNOT", [a, b], [], c, int(rng.integers(2))))
                elif r < 0.1:
                    ops.append(("CRX", [a, b], [float(rng.uniform(-3, 3))], None, 1))
                elif r < 0.13:
                    ops.append(("RY", [b], [float(rng.uniform(-3, 3))], a, 0))
                else:
                    ops.append(("CNOT", [a, b], [], None, 1))

    def circuit():
        for name, wires, angles, c, v in ops:
            g = getattr(qml, name)
            if c is None:
                g(*angles, wires=wires)
            else:
                qml.ctrl(g, control=c, control_values=v)(*angles, wires=wires)
        return qml.state()

    out = {"state": np.asarray(kvant.qjit(qml.QNode(circuit, qml.device("kvant.qubit",
                                                                          wires=n)))())}
    if refs:
        out["lightning"] = np.asarray(qml.QNode(circuit, qml.device("lightning.qubit",
                                                                      wires=n))())
        out["default"] = np.asarray(qml.QNode(circuit, qml.device("default.qubit", wires=n))())
    np.save(sys.argv[4], np.stack([out[k] for k in sorted(out)]))
    print(json.dumps(sorted(out)))
    """
)


def _run_bricks(n, seed, env_extra, tmp_path, refs=True):
    path = tmp_path / f"bricks-{n}-{seed}-{len(env_extra)}.npy"
    done = subprocess.run(
        [sys.executable, "-c", _BRICKS_CHILD, str(n), str(seed), "refs" if refs else "-", path],
        capture_output=True,
        text=True,
        env=dict(os.environ, **env_extra),
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    keys = json.loads(done.stdout.strip().splitlines()[-1])
    return dict(zip(keys, np.load(path)))


@pytest.mark.parametrize("n", [18, 20])
def test_bricks_at_blocked_sizes_match_lightning_default_and_unfused(n, tmp_path):
    # Default settings: blocked with bricks. The references: lightning.qubit, default.qubit, and
    # kvant itself with fusion off (KVANT_RT_FORWARD_FUSION=0: every gate on its own, blocked)
    # and with blocking off (gate by gate, no queue).
    env = {"OMP_NUM_THREADS": "2"}
    r = _run_bricks(n, 7 + n, env, tmp_path)
    np.testing.assert_allclose(r["state"], r["lightning"], atol=1e-12)
    np.testing.assert_allclose(r["state"], r["default"], atol=1e-12)
    unfused = _run_bricks(n, 7 + n, dict(env, KVANT_RT_FORWARD_FUSION="0"), tmp_path, refs=False)
    np.testing.assert_allclose(r["state"], unfused["state"], atol=1e-13)
    plain = _run_bricks(
        n, 7 + n, dict(env, KVANT_RT_FORWARD_BLOCK_QUBITS="0"), tmp_path, refs=False
    )
    np.testing.assert_allclose(r["state"], plain["state"], atol=1e-13)
