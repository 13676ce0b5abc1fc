"""Checkpoints that are basis states (runtime/src/AdjointSegments.*, Register.cpp): a segment of
one-qubit gates that starts while the register is known to hold phase * |index> keeps just
that, and its derivatives read n + 1 amplitudes of each lambda. The register knows its state
after allocation and through every gate that maps basis states to basis states (X, CNOT,
SWAP, Toffoli, CSWAP, diagonal gates such as RZ, S, T, CZ, IsingZZ, MultiRZ, GlobalPhase, the
monomial PauliY, CY and ISWAP, X under added controls, and gates whose controls are not met),
each with its phase.

Random circuits start with such a prefix (or with none, or with a two-qubit gate that makes a
superposition, so that no basis checkpoint may be taken), then layers of one-qubit gates and
entangling gates; the adjoint Jacobian is compared with PennyLane default.qubit differentiated
by JAX (the first case) or with lightning.qubit's adjoint Jacobian (the others; the two
references agree to 1e-11 on every case here, checked when this was written; test_adjoint_
segments.py checks Lightning against default.qubit + JAX on every gate kind), with checkpoints
on (KVANT_RT_ADJOINT_TRACE must report basis checkpoints where the prefix allows them, and none
otherwise) and off. The circuits are drawn and the references computed here; kvant runs in a
child process (its settings are read once from the environment) that only drives libkvant_rt
through ctypes (rt_ctypes.py), so it starts without importing PennyLane or JAX.

    .venv/bin/python -m pytest runtime/tests/python/test_adjoint_basis_checkpoints.py
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

qml = pytest.importorskip("pennylane")
jax = pytest.importorskip("jax")
pytest.importorskip("pennylane_lightning")
jax.config.update("jax_enable_x64", True)

from rt_ctypes import LIB_PATH  # noqa: E402

HERE = Path(__file__).resolve().parent


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


def _random_circuit(n, seed, prefix):
    """The circuit of one case and its parameters."""
    rng = np.random.default_rng(seed)
    ops = _Ops()
    add = ops.add

    # Gates that keep a basis state a basis state (name, wires, parameters).
    KEEP = [
        ("PauliX", 1, 0),
        ("PauliY", 1, 0),
        ("PauliZ", 1, 0),
        ("S", 1, 0),
        ("T", 1, 0),
        ("RZ", 1, 1),
        ("PhaseShift", 1, 1),
        ("CNOT", 2, 0),
        ("CZ", 2, 0),
        ("SWAP", 2, 0),
        ("IsingZZ", 2, 1),
        ("ControlledPhaseShift", 2, 1),
        ("CRZ", 2, 1),
        ("Toffoli", 3, 0),
        ("CSWAP", 3, 0),
        ("MultiRZ", 3, 1),
        ("ISWAP", 2, 0),  # monomial with phases: |01> -> i|10>
        ("CY", 2, 0),
        ("GlobalPhase", 1, 1),
        ("Identity", 1, 0),
        ("XCTRL", 2, 0),  # PauliX under an added control, value 0 or 1
    ]
    bits = [0] * n  # the basis state the prefix leads to, followed classically
    if prefix in ("basis", "broken"):
        for _ in range(int(rng.integers(3, 9))):
            name, k, npar = KEEP[rng.integers(len(KEEP))]
            wires = [int(w) for w in rng.choice(n, k, replace=False)]
            if name == "XCTRL":
                value = int(rng.integers(2))
                add("PauliX", wires[1:], 0, ctrls=wires[:1], values=[value])
                bits[wires[1]] ^= int(bits[wires[0]] == value)
                continue
            add(name, wires, npar, adjoint=rng.random() < 0.3)
            if name in ("PauliX", "PauliY"):
                bits[wires[0]] ^= 1
            elif name in ("CNOT", "CY") or (name == "Toffoli" and bits[wires[1]]):
                bits[wires[-1]] ^= bits[wires[-2]]
            elif name in ("SWAP", "ISWAP") or (name == "CSWAP" and bits[wires[0]]):
                a, b = wires[-2:]
                bits[a], bits[b] = bits[b], bits[a]
        # A controlled rotation whose control value is not met: still a basis state.
        add("RY", [1], 1, ctrls=[0], values=[1 - bits[0]])
    if prefix in ("perm", "perm-cz"):
        # Parameter-free basis-keeping gates only, so that nothing before the first layer has
        # parameters; after the first layer a gap of X, CNOT and SWAP (plus a CZ, which is
        # not a permutation, in "perm-cz"), which the sweep contracts through.
        for _ in range(int(rng.integers(0, 5))):
            name, k = [("PauliX", 1), ("CNOT", 2), ("SWAP", 2), ("Toffoli", 3), ("CZ", 2)][
                rng.integers(5)
            ]
            add(name, rng.choice(n, k, replace=False), 0)
        for w in range(n):
            for name in ("RY", "RZ") if rng.random() < 0.7 else ("Rot",):
                add(name, [w], 3 if name == "Rot" else 1, adjoint=rng.random() < 0.2)
        gap = [("PauliX", 1), ("CNOT", 2), ("SWAP", 2)]
        for _ in range(2 * n):
            name, k = gap[rng.integers(len(gap))]
            add(name, rng.choice(n, k, replace=False), 0)
        if prefix == "perm-cz":
            add("CZ", rng.choice(n, 2, replace=False), 0)
    if prefix == "broken":
        # A superposition from a gate that is not part of a segment: no basis checkpoint. (A
        # Hadamard would not do: it opens the first segment, which then starts on a basis
        # state.)
        add("IsingXX", rng.choice(n, 2, replace=False), 1)
    for _layer in range(3):
        for w in range(n):
            for name in ("RY", "RZ") if rng.random() < 0.7 else ("Rot",):
                add(name, [w], 3 if name == "Rot" else 1, adjoint=rng.random() < 0.2)
        for w in range(n):
            if rng.random() < 0.8:
                add("CNOT", [w, (w + 1) % n], 0)
            else:
                add("CRX", [w, (w + 1) % n], 1)
        if rng.random() < 0.5:
            add("IsingXX", rng.choice(n, 2, replace=False), 1)
    return ops, rng.uniform(-np.pi, np.pi, ops.num_params)


HERMITIAN = np.array([[0.5, 0.1 + 0.2j], [0.1 - 0.2j, -1.0]])


def _jacobian_reference(ops, params, n, reference):
    """<Z0>, <X1 Y(n-1)>, <H on wire 2> differentiated by default.qubit + JAX or Lightning."""
    obs = [qml.PauliZ(0), qml.PauliX(1) @ qml.PauliY(n - 1), qml.Hermitian(HERMITIAN, wires=2)]

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

    if reference == "default":
        jnp = jax.numpy
        qnode = qml.QNode(
            circuit, qml.device("default.qubit", wires=n), interface="jax", diff_method="backprop"
        )
        # One XLA compilation, in forward mode at optimisation level 0 (the program runs once):
        # op-by-op dispatch compiled every primitive of the passes on its own.
        jac = jax.jit(jax.jacfwd(lambda p: jnp.stack(qnode(p))))
        x = jnp.asarray(params)
        compiled = jac.lower(x).compile(compiler_options={"xla_backend_optimization_level": 0})
        return np.asarray(compiled(x))
    qnode = qml.QNode(circuit, qml.device("lightning.qubit", wires=n), diff_method="adjoint")
    p = qml.numpy.array(params, requires_grad=True)
    return np.asarray(qml.jacobian(lambda x: qml.math.stack(qnode(x)))(p))


_CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import rt_ctypes as ref

    case = json.load(sys.stdin)
    n, ops, num_params, params = case["n"], case["ops"], case["num_params"], case["params"]
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
    obs = [named("PauliZ", 0), tensor(named("PauliX", 1), named("PauliY", n - 1)), herm]
    jac = (f64 * (len(obs) * num_params))()
    lib.kvant_rt_adjoint_jacobian(arr(i64, obs), len(obs), jac, num_params)
    ref.RT.check()
    lib.kvant_rt_qdealloc(reg)
    print(json.dumps({"jac": list(jac)}))
    """
)

SEGMENTS = {
    "KVANT_RT_FORWARD_BLOCK_QUBITS": "3",
    "KVANT_RT_ADJOINT_SEGMENT_MIN_PARAMS": "1",
    "KVANT_RT_ADJOINT_REDUCE_QUBITS": "2",
    "KVANT_RT_ADJOINT_TRACE": "1",
}


def _run(n, seed, prefix, env_extra, reference="lightning"):
    ops, params = _random_circuit(n, seed, prefix)
    want = _jacobian_reference(ops, params, n, reference)
    # The library found here, so the child need not import kvant (and with it JAX) to find it.
    env = dict(os.environ, KVANT_RT_LIB=str(LIB_PATH), **env_extra)
    case = {"n": n, "ops": ops, "num_params": ops.num_params, "params": params.tolist()}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(HERE)],
        input=json.dumps(case),
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    trace = re.findall(
        r"(\d+) checkpointed segment\(s\) used, (\d+) recorded, (\d+) on basis states, "
        r"(\d+) through a permutation",
        done.stderr,
    )
    r = json.loads(done.stdout.strip().splitlines()[-1])
    assert want.shape == (3, ops.num_params)
    np.testing.assert_allclose(np.asarray(r["jac"]).reshape(want.shape), want, atol=1e-11)
    return [tuple(int(x) for x in t) for t in trace]


@pytest.mark.parametrize(
    ("n", "seed", "prefix"),
    [
        (5, 0, "none"),
        (6, 1, "basis"),
        (7, 2, "basis"),
        (6, 3, "broken"),
        (8, 4, "basis"),
        (6, 5, "perm"),
        (7, 6, "perm"),
        (6, 7, "perm-cz"),
        (6, 8, "basis"),
        (7, 9, "basis"),
        (5, 10, "basis"),
    ],
)
def test_basis_checkpoints_match_references(n, seed, prefix):
    trace = _run(n, seed, prefix, SEGMENTS, "default" if prefix == "none" else "lightning")
    assert len(trace) == 1, trace
    used, recorded, basis, through = trace[0]
    # The first layer is contracted through the permutation after it only when nothing before
    # it has parameters and the gap is X, CNOT and SWAP alone.
    if prefix == "perm":
        assert through == 1, trace
    elif prefix in ("perm-cz", "broken"):
        assert through == 0, trace
    assert used >= 3 and recorded >= 3, trace  # three layers, each a checkpointed segment
    if prefix == "broken":
        assert basis == 0, trace  # IsingXX made a superposition before the first layer
    else:
        # The first layer starts on a known basis state (and so may one-qubit gates of the
        # prefix, such as an RZ between two CNOTs: a segment of its own).
        assert basis >= 1, trace


def test_without_checkpoints_the_same_circuits_agree():
    trace = _run(6, 1, "basis", dict(SEGMENTS, KVANT_RT_ADJOINT_CHECKPOINT_MIB="0"))
    assert trace == [(0, 0, 0, 0)], trace
