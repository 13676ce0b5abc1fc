"""Checkpoints that are basis states (runtime/src/AdjointSegments.*, Register.cpp): a segment of
one-qubit gates that starts while the register is known to hold phase * |index> keeps just
that, and its derivatives read n + 1 amplitudes of each lambda. The register knows its state
after allocation and through every gate that maps basis states to basis states (X, CNOT,
SWAP, Toffoli, CSWAP, diagonal gates such as RZ, S, T, CZ, IsingZZ, MultiRZ, GlobalPhase, the
monomial PauliY, CY and ISWAP, X under added controls, and gates whose controls are not met),
each with its phase.

Random circuits start with such a prefix (or with none, or with a two-qubit gate that makes a
superposition, so that no basis checkpoint may be taken), then layers of one-qubit gates and
entangling gates; the adjoint Jacobian and a VJP are compared with PennyLane default.qubit
differentiated by JAX (the first case) or with lightning.qubit's adjoint Jacobian (the others;
test_adjoint_segments.py checks Lightning against default.qubit + JAX on every gate kind), with
checkpoints on (KVANT_RT_ADJOINT_TRACE must report basis checkpoints where the prefix allows
them, and none otherwise) and off. The circuits are drawn and the references computed here;
kvant runs in a child process (adjoint_harness.py).

    .venv/bin/python -m pytest runtime/tests/python/test_adjoint_basis_checkpoints.py
"""

from __future__ import annotations

import numpy as np
import pytest

qml = pytest.importorskip("pennylane")
jax = pytest.importorskip("jax")
pytest.importorskip("pennylane_lightning")

from adjoint_harness import (  # noqa: E402
    NUM_OBS,
    Ops,
    check,
    default_qubit_jax_jacobian,
    lightning_jacobian,
    run_kvant,
)


def _random_circuit(n, seed, prefix):
    """The circuit of one case and its parameters."""
    rng = np.random.default_rng(seed)
    ops = Ops()
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
        ops.rotation_layer(n, rng)
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
        ops.rotation_layer(n, rng)
        for w in range(n):
            if rng.random() < 0.8:
                add("CNOT", [w, (w + 1) % n], 0)
            else:
                add("CRX", [w, (w + 1) % n], 1)
        if rng.random() < 0.5:
            add("IsingXX", rng.choice(n, 2, replace=False), 1)
    return ops, rng.uniform(-np.pi, np.pi, ops.num_params)


SEGMENTS = {
    "KVANT_RT_FORWARD_BLOCK_QUBITS": "3",
    "KVANT_RT_ADJOINT_SEGMENT_MIN_PARAMS": "1",
    "KVANT_RT_ADJOINT_REDUCE_QUBITS": "2",
    "KVANT_RT_ADJOINT_TRACE": "1",
}


def _run(n, seed, prefix, env_extra, reference="lightning"):
    """Checks kvant's Jacobian and VJP against the reference; returns the sweeps' trace."""
    ops, params = _random_circuit(n, seed, prefix)
    ct = np.random.default_rng(1000 + seed).normal(size=NUM_OBS)
    if reference == "default":
        want = default_qubit_jax_jacobian(ops, params, n)
    else:
        want = lightning_jacobian(ops, params, n)
    assert want.shape == (NUM_OBS, ops.num_params)
    jac, vjp, trace = run_kvant(n, ops, params, ct, env_extra)
    check(jac, vjp, ct, want)
    return trace


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
    # Two sweeps over the same tape (Jacobian, VJP), which take the same rules.
    assert len(trace) == 2 and trace[0] == trace[1], trace
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
    assert trace == [(0, 0, 0, 0)] * 2, trace
