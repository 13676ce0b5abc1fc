"""The runtime's cache-blocked forward pass and adjoint sweep (runtime/src/Forward.cpp and
Adjoint.cpp) on random circuits, against lightning.qubit and default.qubit.

By default only registers of 22+ qubits (forward) or working sets of 16+ MiB (adjoint) are
blocked, too large for a test. The runtime reads its block sizes from the environment once, so
each case runs in a child process with small blocks forced: blocks of 6 qubits applied in small
blocks of 3 (forward: runs that take gates ahead of earlier ones on other bits, sub-runs inside
each block) and 4-qubit blocks for the adjoint sweep, on 10 qubits, where every run has more
bits than a block.
"""

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
    import jax, jax.numpy as jnp, numpy as np, pennylane as qml
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
    dq = qml.QNode(energy, dev("default.qubit"), interface="jax")
    out["grad_default"] = np.asarray(jax.grad(dq)(jnp.asarray(params)))
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
