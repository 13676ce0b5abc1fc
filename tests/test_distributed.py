"""Distributed registers end to end (docs/distributed.md): the program in
tests/mpi/distributed_program.py -- gates on the top (global) wires, expval/var/Hamiltonian,
probs, state, adjoint and parameter-shift gradients, deferred and one-shot mid-circuit
measurements, samples and counts -- compiled and run once as a single process (mpi=False)
and checked against default.qubit, then run under ``mpiexec -n 2`` and ``-n 4`` (oversubscribed)
with its registers distributed: every rank must return what the single process returned
(samples and counts bit for bit, from the same seed) and have held 1/P of the vector.

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


def test_mpi_option_must_be_a_bool():
    import pennylane as qml

    import kvant

    with pytest.raises(TypeError, match="mpi must be True or False"):
        qml.device("kvant.qubit", wires=2, mpi="yes")
    with pytest.raises(TypeError, match="mpi must be True or False"):
        kvant.qjit(lambda x: x, mpi=1)
