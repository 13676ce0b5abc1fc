"""Checkpoints written from inside a forward run (runtime/src/Forward.cpp, applyPending; the
checkpoints of AdjointSegments.hpp). A taped register queues its gates; the checkpoint of a
segment of one-qubit gates is the state after the queued gates before the segment, and the
planner may let the run that applies the last of those go on with the segment's own gates:
each block is then written out at the boundary, inside the run. The planner must keep every
gate after a boundary out of runs that come before the last gate ahead of it, and neither fuse
nor brick gates across it.

Random layered circuits (a superposition first, so that no checkpoint is a basis state; layers
of RY/RZ or Rot on every wire; rings of CNOT with some CRX and CZ; now and then a gate that
ends a segment early) on 7 to 9 qubits, with blocks of 4 to 6 qubits so that runs span layer
boundaries: KVANT_RT_FORWARD_TRACE must report snapshots taken inside runs, and the adjoint
Jacobian and a VJP must match lightning.qubit's adjoint Jacobian (test_adjoint_segments.py
checks Lightning against default.qubit + JAX). The same with the inner sub-blocks and with
two threads; and with the queue applied right after some rings (kvant_rt_sync), so that those
snapshots are copies taken at the start of the next flush (a mutation that skips that copy
fails these cases).

    .venv/bin/python -m pytest runtime/tests/python/test_adjoint_snapshots.py
"""

from __future__ import annotations

import re

import numpy as np
import pytest

qml = pytest.importorskip("pennylane")
pytest.importorskip("jax")
pytest.importorskip("pennylane_lightning")

from adjoint_harness import NUM_OBS, Ops, check, lightning_jacobian, run_kvant  # noqa: E402

_PLAN = re.compile(
    r"kvant forward: \d+ gate\(s\) in \d+ run\(s\) on \d+ qubits, "
    r"(\d+) snapshot\(s\), (\d+) inside a run"
)


def _random_circuit(n, seed, syncs=False):
    rng = np.random.default_rng(seed)
    ops = Ops()
    add = ops.add
    for w in range(n):
        add("Hadamard", [w], 0)
    add("IsingXX", [0, n - 1], 1)
    for _layer in range(int(rng.integers(3, 6))):
        ops.rotation_layer(n, rng)
        # Half the rings have no parameters (gaps the sweep steps back through on lambda alone).
        plain = rng.random() < 0.5
        for w in range(n):
            r = rng.random()
            pair = [w, (w + 1) % n] if rng.random() < 0.7 else [(w + 1) % n, w]
            if r < 0.75 or (plain and r < 0.9):
                add("CNOT", pair, 0)
            elif r < 0.9:
                add("CRX", pair, 1)
            else:
                add("CZ", pair, 0)
            if rng.random() < 0.2:
                # A one-qubit gate inside the ring: with a parameter a segment (and checkpoint)
                # of its own; without, no checkpoint, and the gate then waits in the queue to be
                # fused with the next layer's gate on its wire -- across that layer's boundary,
                # which the planner must not allow.
                name = ["RX", "Hadamard", "S", "T"][int(rng.integers(1 if plain else 0, 4))]
                add(name, [pair[int(rng.integers(2))]], 1 if name == "RX" else 0)
        if syncs and rng.random() < 0.5:
            # The queue applied right after the ring: the next segment's snapshot is then at
            # the queue's start, a copy before any run.
            add("SYNC", [], 0)
        if rng.random() < 0.3:  # ends the next segment's start early
            add("IsingYY", rng.choice(n, 2, replace=False), 1)
    return ops, rng.uniform(-np.pi, np.pi, ops.num_params)


BASE = {
    "KVANT_RT_ADJOINT_SEGMENT_MIN_PARAMS": "1",
    "KVANT_RT_ADJOINT_REDUCE_QUBITS": "3",
    "KVANT_RT_ADJOINT_TRACE": "1",
    "KVANT_RT_FORWARD_TRACE": "1",
    "KVANT_RT_FORWARD_INNER_QUBITS": "0",
}


@pytest.mark.parametrize(
    ("n", "seed", "block", "extra"),
    [
        (7, 0, 4, {}),
        (8, 11, 5, {}),
        (9, 2, 6, {}),
        (8, 3, 4, {"KVANT_RT_FORWARD_FUSION": "1"}),
        (9, 4, 6, {"KVANT_RT_FORWARD_INNER_QUBITS": "3"}),
        (8, 5, 5, {"KVANT_RT_MIN_PARALLEL_QUBITS": "1", "OMP_NUM_THREADS": "2"}),
        (9, 6, 5, {"KVANT_RT_ADJOINT_BLOCK_QUBITS": "4"}),
    ],
)
def test_snapshots_inside_runs_match_lightning(n, seed, block, extra):
    _check(n, seed, block, extra, syncs=False)


@pytest.mark.parametrize(("n", "seed", "block"), [(8, 20, 5), (9, 21, 4), (7, 22, 6)])
def test_snapshots_at_the_start_of_a_flush_match_lightning(n, seed, block):
    _check(n, seed, block, {}, syncs=True)


def _check(n, seed, block, extra, syncs):
    ops, params = _random_circuit(n, seed, syncs)
    ct = np.random.default_rng(2000 + seed).normal(size=NUM_OBS)
    want = lightning_jacobian(ops, params, n)
    env = dict(BASE, KVANT_RT_FORWARD_BLOCK_QUBITS=str(block), **extra)
    stderr = []
    jac, vjp, trace = run_kvant(n, ops, params, ct, env, stderr)
    check(jac, vjp, ct, want)
    plans = [tuple(int(x) for x in m) for m in _PLAN.findall(stderr[0])]
    assert plans, stderr[0][-2000:]
    snapshots = sum(s for s, _ in plans)
    inside = sum(i for _, i in plans)
    # Every checkpoint recorded is a snapshot (none is a basis state after the Hadamards).
    assert trace and trace[0][1] == snapshots and trace[0][2] == 0, (trace, plans)
    assert snapshots >= 2 and inside >= 1, plans
    if syncs:  # some snapshots taken by a copy at the start of a flush
        assert snapshots > inside, plans
