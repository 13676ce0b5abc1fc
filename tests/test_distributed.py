"""Distributed registers end to end (docs/distributed.md): the program in
tests/mpi/distributed_program.py -- gates on the top (global) wires, expval/var/Hamiltonian,
probs, state, adjoint and parameter-shift gradients, deferred and one-shot mid-circuit
measurements, samples and counts -- compiled and run once as a single process (mpi=False)
and checked against default.qubit, then run under ``mpiexec -n 2`` and ``-n 4`` (oversubscribed)
with its registers distributed: every rank must return what the single process returned
(samples and counts bit for bit, from the same seed) and have held 1/P of the vector.

The same for mpi="shifts" (tests/mpi/shifts_program.py): parameter-shift gradients whose
shifted circuits are dealt out over the ranks equal the single process's, and each rank
evaluated only its share (the runtime's counters).

The C++ side (every gate, observable and measurement kind on 8-12 qubits) is
runtime/tests/mpi/test_distributed.cpp, run by ctest.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kvant import _paths

PROGRAM = Path(__file__).parent / "mpi" / "distributed_program.py"
TIMEOUT = 900


def _mpiexec():
    """mpiexec and the flags this MPI needs to run P ranks on a small machine, as root."""
    exe = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
    if exe is None:
        pytest.skip("no mpiexec (install the MPI wheels: pip install 'kvant[mpi]')")
    try:
        version = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"mpiexec does not run here: {exc}")
    env = dict(os.environ)
    flags = []
    if "Open MPI" in version:
        # Open MPI refuses more ranks than cores, and root, unless told
        flags.append("--oversubscribe")
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return exe, flags, env


@pytest.fixture(scope="module")
def launcher(tmp_path_factory):
    if not (_paths.runtime_library().parent / "libkvant_rt_mpi.so").exists():
        pytest.skip("kvant was built without MPI (no libkvant_rt_mpi.so beside libkvant_rt.so)")
    exe, flags, env = _mpiexec()
    # one compilation for all runs: the distributed runs take the program from the disk cache
    # (the compiled code does not depend on mpi=True)
    env["KVANT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    env["OMP_NUM_THREADS"] = "1"
    probe = subprocess.run(
        [
            exe,
            "-n",
            "2",
            *flags,
            sys.executable,
            "-c",
            "from mpi4py import MPI; print(MPI.COMM_WORLD.size)",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if probe.returncode != 0 or probe.stdout.split() != ["2", "2"]:
        pytest.skip(f"MPI cannot start 2 ranks here: {probe.stdout} {probe.stderr}"[-2000:])
    return exe, flags, env


def _run(launcher, out: Path, ranks: int | None) -> list[dict]:
    exe, flags, env = launcher
    out.mkdir()
    if ranks is None:
        command = [sys.executable, str(PROGRAM), str(out), "0"]
    else:
        command = [exe, "-n", str(ranks), *flags, sys.executable, str(PROGRAM), str(out), "1"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=TIMEOUT)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(ranks or 1)]


@pytest.fixture(scope="module")
def single(launcher, tmp_path_factory):
    (result,) = _run(launcher, tmp_path_factory.mktemp("single") / "out", None)
    return result


EXACT = (
    "expval",
    "var",
    "hamiltonian",
    "probs",
    "state_re",
    "state_im",
    "grad_adjoint",
    "shifted",
    "grad_param_shift",
    "deferred_expval",
    "deferred_probs",
    "option_value",
)


def test_single_process_matches_default_qubit_and_never_loads_mpi(single):
    for key in EXACT:
        np.testing.assert_allclose(single[key], single["reference"][key], atol=1e-10, err_msg=key)
    assert single["ranks"] == 1 and single["global_wires"] == 0
    assert single["option_global_wires"] == 0
    assert not single["mpi_mapped"], "a program without mpi=True mapped libmpi"


@pytest.mark.parametrize("ranks", [2, 4])
def test_distributed_ranks_agree_with_single_process(launcher, single, tmp_path, ranks):
    results = _run(launcher, tmp_path / "out", ranks)
    for rank, got in enumerate(results):
        where = f"rank {rank} of {ranks}"
        # the registers were split: k = log2(P) wires global, and some gates swapped them
        assert got["ranks"] == ranks and got["global_wires"] == ranks.bit_length() - 1, where
        assert got["swaps"] > 0, where
        assert got["mpi_mapped"], where
        # kvant.qjit(mpi=True) on a lightning.qubit QNode
        assert got["option_global_wires"] == ranks.bit_length() - 1, where
        for key in EXACT:
            np.testing.assert_allclose(
                got[key], single[key], rtol=1e-12, atol=1e-12, err_msg=f"{key}, {where}"
            )
            np.testing.assert_allclose(
                got[key], single["reference"][key], atol=1e-10, err_msg=f"{key}, {where}"
            )
        # drawn on rank 0 from the same seed as the single process, broadcast to every rank
        assert got["samples"] == single["samples"], where
        assert got["counts"] == single["counts"], where
        assert got["mcm_expval"] == single["mcm_expval"], where


def test_missing_mpi_plugin_is_reported_by_name(monkeypatch, tmp_path):
    """Where the runtime's MPI plugin cannot be loaded (kvant built without MPI), a program
    that asks for distributed registers fails with an exception that says so; the same
    program without mpi=True runs."""
    import jax.numpy as jnp
    import pennylane as qml

    import kvant
    from kvant.errors import KvantRuntimeError

    def make(mpi):
        @qml.qnode(qml.device("kvant.qubit", wires=3, mpi=mpi))
        def circuit(x):
            qml.RX(x, wires=0)
            return qml.expval(qml.PauliZ(0))

        return kvant.qjit(circuit)

    monkeypatch.setenv("KVANT_RT_MPI_LIBRARY", str(tmp_path / "no_such_plugin.so"))
    with pytest.raises(KvantRuntimeError, match="mpi=True.*MPI plugin"):
        make(True)(jnp.float64(0.3))
    assert float(make(False)(jnp.float64(0.3))) == pytest.approx(np.cos(0.3), abs=1e-12)


def test_mpi_option_values_are_checked():
    import jax.numpy as jnp
    import pennylane as qml

    import kvant

    with pytest.raises(ValueError, match='mpi must be True, False or "shifts", got .yes.'):
        qml.device("kvant.qubit", wires=2, mpi="yes")
    with pytest.raises(TypeError, match='mpi must be True, False or "shifts", got 1'):
        kvant.qjit(lambda x: x, mpi=1)
    with pytest.raises(ValueError, match='kvant.qjit: mpi must be True, False or "shifts"'):
        kvant.qjit(lambda x: x, mpi="Shifts")

    @qml.qnode(qml.device("kvant.qubit", wires=2, mpi="shifts"))
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliZ(0))

    # one program, one mode: refused by name before anything runs
    with pytest.raises(
        ValueError,
        match="option asks for distributed.*QNode 'circuit' for parameter-shift.*one MPI",
    ):
        kvant.qjit(circuit, mpi=True)(jnp.float64(0.3))


# ---- mpi="shifts": the shifted circuits of parameter-shift gradients dealt out over ranks

SHIFTS_PROGRAM = Path(__file__).parent / "mpi" / "shifts_program.py"
SHIFTS_EXACT = ("values", "grad_cost", "jac_probs", "jac_var", "hessian_row")


def _run_shifts(launcher, out: Path, ranks: int | None) -> list[dict]:
    exe, flags, env = launcher
    out.mkdir()
    program = [sys.executable, str(SHIFTS_PROGRAM), str(out)]
    if ranks is None:
        command = [*program, "off"]
    else:
        command = [exe, "-n", str(ranks), *flags, *program, "shifts"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=TIMEOUT)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(ranks or 1)]


@pytest.fixture(scope="module")
def shifts_single(launcher, tmp_path_factory):
    (result,) = _run_shifts(launcher, tmp_path_factory.mktemp("shifts_single") / "out", None)
    return result


def _shots_tolerance(result):
    # each entry sums at most 2 parameters' columns (x[0..3] are used twice), each at most four
    # shot estimates with weights <= 1/2 and standard deviations <= 1/sqrt(shots): 6 sigma
    return 6 * 4 / np.sqrt(4000)


def test_shifts_single_process_matches_default_qubit(shifts_single):
    ref = shifts_single["reference"]
    for key in SHIFTS_EXACT:
        np.testing.assert_allclose(shifts_single[key], ref[key], atol=1e-10, err_msg=key)
    np.testing.assert_allclose(
        shifts_single["grad_sampled"], ref["grad_sampled"], atol=_shots_tolerance(shifts_single)
    )
    # without MPI this process evaluates every shifted circuit, and never loads MPI
    assert shifts_single["dealt"] > 0 and shifts_single["owned"] == shifts_single["dealt"]
    assert not shifts_single["mpi_mapped"]


def test_shift_batches_are_dealt_out_over_ranks(launcher, shifts_single, tmp_path):
    ref = shifts_single["reference"]
    sampled = {}
    for ranks in (2, 4):
        results = _run_shifts(launcher, tmp_path / f"out{ranks}", ranks)
        for rank, got in enumerate(results):
            where = f"rank {rank} of {ranks}"
            assert got["mpi_mapped"], where
            assert got["ranks"] == 1, where  # registers are not distributed in this mode
            for key in SHIFTS_EXACT:
                np.testing.assert_allclose(
                    got[key], shifts_single[key], rtol=1e-12, atol=1e-12, err_msg=f"{key}, {where}"
                )
                np.testing.assert_allclose(
                    got[key], ref[key], atol=1e-10, err_msg=f"{key}, {where}"
                )
            # the same batches as the single process, of which this rank evaluated about 1/P
            assert got["dealt"] == shifts_single["dealt"], where
            assert 0 < got["owned"] < got["dealt"], where
            # every rank returns the same estimate from shots
            assert got["grad_sampled"] == results[0]["grad_sampled"], where
        # between them the ranks evaluated each shifted circuit once
        assert sum(got["owned"] for got in results) == shifts_single["dealt"], ranks
        owned = [got["owned"] for got in results]
        assert max(owned) - min(owned) <= shifts_single["dealt"] // 4, owned
        np.testing.assert_allclose(
            results[0]["grad_sampled"], ref["grad_sampled"], atol=_shots_tolerance(results[0])
        )
        sampled[ranks] = results[0]["grad_sampled"]
    # an evaluation draws from a seed of its own, whichever rank runs it: P does not matter
    # (only the order of the allreduce's additions does; another draw would differ by ~1e-2)
    np.testing.assert_allclose(sampled[2], sampled[4], rtol=1e-12, atol=1e-12)
