"""What the adjoint tests of this directory share (test_adjoint_segments.py,
test_adjoint_basis_checkpoints.py): a circuit as a list of gate entries that drives every
simulator, the four observables, the two references (lightning.qubit's adjoint Jacobian and
PennyLane default.qubit differentiated by JAX), and kvant's Jacobian and VJP computed in a child
process with given runtime settings (they are read once from the environment) that only drives
libkvant_rt through ctypes (rt_ctypes.py), so it starts without importing PennyLane or JAX.

The importing test module checks first that PennyLane and JAX are installed (pytest.importorskip).
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

import jax
import numpy as np
import pennylane as qml
from rt_ctypes import LIB_PATH

jax.config.update("jax_enable_x64", True)

HERE = Path(__file__).resolve().parent
NUM_OBS = 4
HERMITIAN = np.array([[0.5, 0.1 + 0.2j], [0.1 - 0.2j, -1.0]])


class Ops(list):
    """(gate name, parameter indices, wires, control wires, control values, adjoint) entries;
    the parameters are indices into one trainable vector, so one list drives every simulator.
    The name "SYNC" is no gate: kvant's child applies its queued gates there (kvant_rt_sync),
    the references skip it."""

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

    def rotation_layer(self, n, rng):
        """A segment of one-qubit gates: RY and RZ (or Rot) on every wire, some adjoint."""
        for w in range(n):
            for name in ("RY", "RZ") if rng.random() < 0.7 else ("Rot",):
                self.add(name, [w], 3 if name == "Rot" else 1, adjoint=rng.random() < 0.2)


def qnode(ops, n, device, **kwargs):
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
            if name == "SYNC":  # kvant only: applies the register's queue (no gate)
                continue
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


def lightning_jacobian(ops, params, n):
    node = qnode(ops, n, _lightning_device(n), diff_method="adjoint")
    p = qml.numpy.array(params, requires_grad=True)
    return np.asarray(qml.jacobian(lambda x: qml.math.stack(node(x)))(p))


def default_qubit_jax_jacobian(ops, params, n):
    jnp = jax.numpy
    node = qnode(
        ops, n, qml.device("default.qubit", wires=n), interface="jax", diff_method="backprop"
    )
    # Compiled as one XLA program: op-by-op dispatch compiles every primitive of the passes on
    # its own (~20 s for 72 parameters on 5 qubits). Forward mode and XLA's backend at
    # optimisation level 0 compile fastest (~5 s, against ~13 s for jacrev at the default
    # level); the program runs once, so its speed does not matter.
    jac = jax.jit(jax.jacfwd(lambda p: jnp.stack(node(p))))
    x = jnp.asarray(params)
    compiled = jac.lower(x).compile(compiler_options={"xla_backend_optimization_level": 0})
    return np.asarray(compiled(x))


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
        if name == "SYNC":
            lib.kvant_rt_sync()
            continue
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

_TRACE = re.compile(
    r"(\d+) checkpointed segment\(s\) used, (\d+) recorded, (\d+) on basis states, "
    r"(\d+) through a permutation"
)


def run_kvant(n, ops, params, ct, env_extra, stderr_out=None):
    """kvant's Jacobian (NUM_OBS x parameters) and VJP of the circuit, run in a child with
    env_extra; and, with KVANT_RT_ADJOINT_TRACE=1 there, one tuple per sweep (Jacobian, then
    VJP): segments used, checkpoints recorded, used segments on basis states, segments
    contracted through a permutation. The child's stderr is appended to stderr_out (a list)."""
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
    if stderr_out is not None:
        stderr_out.append(done.stderr)
    trace = [tuple(int(x) for x in t) for t in _TRACE.findall(done.stderr)]
    r = json.loads(done.stdout.strip().splitlines()[-1])
    return np.asarray(r["jac"]).reshape(NUM_OBS, ops.num_params), np.asarray(r["vjp"]), trace


def check(jac, vjp, ct, want):
    np.testing.assert_allclose(jac, want, atol=1e-11)
    np.testing.assert_allclose(vjp, ct @ want, atol=1e-11)
