"""The compiler worker process under interrupts, stopped workers, stray output, a hostile
working directory, forks and threads."""

import _thread
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from kvant.compiler import driver
from kvant.errors import CompileError
from kvant.execution.library import CompiledLibrary


def scalar_program(name: str, n_ops: int) -> str:
    """``name(a)``: ``v = sin(a); v = sin(v) * a (or + a), n_ops - 1 times`` -- a straight-line
    scalar function whose compile time grows with ``n_ops`` (20,000 ops: several seconds)."""
    lines = [
        f"func.func @{name}(%t: tensor<f64>) -> tensor<f64> "
        "attributes {llvm.emit_c_interface} {",
        "  %a = tensor.extract %t[] : tensor<f64>",
        "  %v0 = math.sin %a : f64",
    ]
    for i in range(1, n_ops):
        op = "arith.mulf" if i % 2 else "arith.addf"
        lines.append(f"  %s{i} = math.sin %v{i - 1} : f64")
        lines.append(f"  %v{i} = {op} %s{i}, %a : f64")
    lines.append(f"  %r = tensor.from_elements %v{n_ops - 1} : tensor<f64>")
    lines.append("  return %r : tensor<f64>\n}")
    return "\n".join(lines)


def scalar_reference(a: float, n_ops: int) -> float:
    v = math.sin(a)
    for i in range(1, n_ops):
        v = math.sin(v) * a if i % 2 else math.sin(v) + a
    return v


def run_scalar_program(library_path, name: str, a: float) -> float:
    f64 = jax.core.ShapedArray((), np.float64)
    library = CompiledLibrary(library_path, name, [f64], [f64])
    return float(library(np.asarray(a))[0])


_counter = [0]


def fresh_name(prefix="p") -> str:
    """A function name no earlier test compiled: a program the cache cannot answer."""
    _counter[0] += 1
    return f"{prefix}_{os.getpid()}_{_counter[0]}_{time.monotonic_ns()}"


def check_small_compile():
    name = fresh_name("small")
    artifact = driver.compile_mlir(scalar_program(name, 5))
    assert not artifact.from_cache
    got = run_scalar_program(artifact.library, name, 0.7)
    assert got == pytest.approx(scalar_reference(0.7, 5), rel=1e-12)


def worker_pid() -> int:
    proc = driver._worker._proc
    assert proc is not None and proc.poll() is None
    return proc.pid


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie of a process that is not our child is not ours to reap; ours are waited for
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1].startswith("Z")


def build_dirs(root) -> list:
    return [p for p in Path(root).iterdir() if p.name.startswith("build-")]


@pytest.mark.parametrize("how", ["interrupt_main", "SIGINT"])
def test_interrupted_compile_discards_the_worker_and_the_next_compile_works(how):
    check_small_compile()  # a worker is running
    main = threading.main_thread().ident

    def interrupt():
        if how == "interrupt_main":
            _thread.interrupt_main()
        else:  # what Ctrl-C does: a real signal, to the main thread
            signal.pthread_kill(main, signal.SIGINT)

    long_program = scalar_program(fresh_name("long"), 20000)
    pid = worker_pid()
    timer = threading.Timer(1.0, interrupt)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            driver.compile_mlir(long_program)
    finally:
        # Should the compilation end first (the test then fails), the interrupt must not land
        # in a later test: under pytest-xdist it would end the worker's whole session.
        timer.cancel()
    assert time.monotonic() - started < 5, "the interrupt was not acted on while waiting"
    # the worker that was busy with the interrupted program is dead, its build folder removed
    assert gone(pid)
    assert build_dirs(driver.cache_root()) == []
    # and the next compilations get their own replies
    check_small_compile()
    check_small_compile()


def test_a_stopped_worker_ends_in_a_timeout_error(monkeypatch):
    check_small_compile()
    pid = worker_pid()
    os.kill(pid, signal.SIGSTOP)
    # should the client wait forever, let the worker go on after 30 s: the test then fails
    release = threading.Timer(30, lambda: os.kill(pid, signal.SIGCONT))
    release.start()
    try:
        monkeypatch.setenv("KVANT_COMPILE_TIMEOUT", "1.5")
        started = time.monotonic()
        with pytest.raises(
            CompileError, match=r"did not finish within 1.5 s.*KVANT_COMPILE_TIMEOUT"
        ):
            driver.compile_mlir(scalar_program(fresh_name(), 5))
        assert time.monotonic() - started < 10
    finally:
        release.cancel()
        if not gone(pid):  # the test failed: a stopped worker must not stall later tests
            os.kill(pid, signal.SIGKILL)
    assert gone(pid)
    monkeypatch.delenv("KVANT_COMPILE_TIMEOUT")
    check_small_compile()


def test_bad_timeout_setting_is_named(monkeypatch):
    monkeypatch.setenv("KVANT_COMPILE_TIMEOUT", "soon")
    with pytest.raises(CompileError, match="KVANT_COMPILE_TIMEOUT"):
        driver.compile_mlir(scalar_program(fresh_name(), 3))


def test_work_while_waiting_runs_once_while_the_worker_compiles():
    """qjit creates JAX's CPU client while the worker compiles: the callback runs after the
    request is sent (the worker is then busy with it) and not at all for a cached library."""
    name = fresh_name("waiting")
    source = scalar_program(name, 5)
    seen = []

    def while_waiting():
        proc = driver._worker._proc
        seen.append(proc is not None and proc.poll() is None)

    artifact = driver.compile_mlir(source, while_waiting=while_waiting)
    assert not artifact.from_cache
    assert seen == [True]
    assert run_scalar_program(artifact.library, name, 0.7) == pytest.approx(
        scalar_reference(0.7, 5), rel=1e-12
    )
    again = driver.compile_mlir(source, while_waiting=while_waiting)
    assert again.from_cache
    assert seen == [True]


def test_stray_output_on_the_workers_stdout_is_ignored(monkeypatch):
    """What a sitecustomize (or a C library) printing on the worker's stdout would do."""
    real_command = driver.worker_command

    def chatty_command():
        python, flag, script, *args = real_command()
        noisy = (
            "import os, runpy, sys\n"
            "os.write(1, b'hello from sitecustomize\\n' * 3 + b'\\x00\\x01 binary noise KVANT')\n"
            f"sys.argv = [{script!r}, *{args!r}]\n"
            f"runpy.run_path({script!r}, run_name='__main__')\n"
        )
        return [python, flag, "-c", noisy]

    monkeypatch.setattr(driver, "worker_command", chatty_command)
    driver._worker._discard()
    try:
        check_small_compile()
        check_small_compile()
    finally:
        driver._worker._discard()


def test_the_worker_does_not_import_from_the_working_directory(tmp_path, monkeypatch):
    for package in ("numpy", "pennylane", "jax", "mlir", "kvant"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(
            f"raise ImportError('imported {package} from the working directory')\n"
        )
    driver._worker._discard()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    try:
        check_small_compile()
    finally:
        driver._worker._discard()


def test_an_mlir_folder_in_the_working_directory_is_not_on_the_workers_path(tmp_path):
    """``mlir`` is a namespace package: run from a folder holding an ``mlir/`` of its own (a
    compiler project's sources), ``python -c``/a notebook counts it as part of ``mlir``; the
    worker's path names only the bindings' directory, not the working directory."""
    (tmp_path / "mlir").mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, kvant, mlir; from kvant.compiler import driver; "
            "print(json.dumps([list(mlir.__path__), driver._worker_python_path()]))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    namespace, worker_path = json.loads(done.stdout.strip().splitlines()[-1])
    assert str(tmp_path / "mlir") in namespace  # the situation the test is about
    assert len(worker_path) == 1 and Path(worker_path[0], "mlir", "_mlir_libs").is_dir()


def test_the_worker_imports_neither_kvant_nor_jax_nor_pennylane_nor_numpy(tmp_path, monkeypatch):
    """The worker compiles with the MLIR bindings and kvant's extension only: importing the
    kvant package (JAX, PennyLane) cost most of a fresh worker's start-up, and NumPy (which the
    bindings import when they can) half of what remained."""
    real_command = driver.worker_command
    report = tmp_path / "modules.txt"

    def reporting_command():
        python, flag, script, *args = real_command()
        wrapper = (
            "import atexit, runpy, sys\n"
            f"atexit.register(lambda: open({str(report)!r}, 'w').write('\\n'.join(\n"
            "    name for name, module in sys.modules.items() if module is not None)))\n"
            f"sys.argv = [{script!r}, *{args!r}]\n"
            f"runpy.run_path({script!r}, run_name='__main__')\n"
        )
        return [python, flag, "-c", wrapper]

    monkeypatch.setattr(driver, "worker_command", reporting_command)
    driver._worker._discard()
    check_small_compile()
    driver._worker.close()
    driver._worker._discard()
    modules = set(report.read_text().split())
    assert "mlir.ir" in modules
    for heavy in ("kvant", "jax", "pennylane", "numpy"):
        assert heavy not in modules


# -- processes started from a process that has compiled --------------------------------------


def _compile_in_child(i, results):
    """Run in a child process: compile a new program (trace, lower, verify, compile) and run it
    at x = 0.1 (i + 1)."""
    import pennylane as qml

    import kvant

    @qml.qnode(qml.device("kvant.qubit", wires=2))
    def circuit(a):
        qml.RX(a, wires=0)
        qml.CNOT(wires=[0, 1])
        qml.RY(2 * a, wires=1)
        return qml.expval(qml.PauliZ(1))

    value = kvant.qjit(lambda a: circuit(a) + 1.0)(0.1 * (i + 1))
    results.put((i, float(np.asarray(value))))


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # JAX's warning about fork
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_child_processes_compile(method):
    import multiprocessing
    import queue

    check_small_compile()  # this process has a worker and an MLIR context
    _compile_in_child(5, queue.Queue())  # and has traced and lowered a program
    context = multiprocessing.get_context(method)
    results = context.Queue()
    children = [context.Process(target=_compile_in_child, args=(i, results)) for i in range(3)]
    for child in children:
        child.start()
    try:
        got = dict(results.get(timeout=120) for _ in children)
    finally:
        for child in children:
            child.join(timeout=60)  # a loaded machine can take long to tear a child down
            if child.is_alive():
                child.kill()
    assert [child.exitcode for child in children] == [0, 0, 0]
    for i, value in got.items():
        x = 0.1 * (i + 1)
        # <Z_1> after RX(x) on wire 0, CNOT, RY(2x) on wire 1: cos(x) cos(2x)
        assert value == pytest.approx(math.cos(x) * math.cos(2 * x) + 1.0, abs=1e-12)
    assert sorted(got) == [0, 1, 2]
    # the parent's own worker still serves it
    check_small_compile()


# -- threads ----------------------------------------------------------------------------------


def test_threads_compile_at_once_and_leave_pennylane_and_jax_as_they_were():
    import jax.numpy as jnp
    import pennylane as qml

    import kvant

    original_call = qml.QNode.__call__
    original_lax = {
        name: getattr(jax.lax, name)
        for name in ("fori_loop", "while_loop", "cond", "switch", "scan")
    }

    def make_program(k):
        @qml.qnode(qml.device("kvant.qubit", wires=2))
        def circuit(x):
            def body(i, x):
                qml.RX(x, wires=i % 2)
                return x

            jax.lax.fori_loop(0, k + 1, body, x)  # k + 1 rotations, alternating wires
            return qml.expval(qml.PauliZ(0))

        return kvant.qjit(lambda x: circuit(x) * 2.0)

    def expected(k, x):
        turns_on_wire0 = (k + 2) // 2
        return 2.0 * math.cos(turns_on_wire0 * x)

    @qml.qnode(qml.device("default.qubit", wires=1), interface="jax")
    def plain(x):
        qml.RY(jax.lax.fori_loop(0, 2, lambda i, y: y + x, 0.0), wires=0)  # RY(2x)
        return qml.expval(qml.PauliZ(0))

    results, errors, plain_results = {}, [], []
    barrier = threading.Barrier(9)
    stop = threading.Event()

    def compile_one(k):
        try:
            barrier.wait()
            results[k] = float(make_program(k)(0.3 + 0.01 * k))
        except BaseException as exc:  # reported below
            errors.append((k, exc))

    def run_plain_meanwhile():
        barrier.wait()
        try:
            while not stop.is_set():
                plain_results.append(float(plain(0.4)))
        except BaseException as exc:  # deliberately broad
            errors.append(("plain", exc))

    threads = [threading.Thread(target=compile_one, args=(k,)) for k in range(8)]
    bystander = threading.Thread(target=run_plain_meanwhile)
    for t in threads + [bystander]:
        t.start()
    for t in threads:
        t.join(timeout=300)
    stop.set()
    bystander.join(timeout=60)
    assert errors == []
    for k in range(8):
        assert results[k] == pytest.approx(expected(k, 0.3 + 0.01 * k), abs=1e-12)
    # a QNode run while others were being traced ran as PennyLane runs it: cos(2 * 0.4)
    assert plain_results and all(
        v == pytest.approx(math.cos(0.8), abs=1e-12) for v in plain_results
    )
    # afterwards nothing of kvant's is left in PennyLane or JAX
    assert qml.QNode.__call__ is original_call
    for name, original in original_lax.items():
        assert getattr(jax.lax, name) is original, name
    assert float(plain(jnp.asarray(0.25))) == pytest.approx(math.cos(0.5), abs=1e-12)


@pytest.mark.parametrize("mib", ["100", "300"])
def test_a_compilation_out_of_memory_is_a_compile_error_naming_the_limit(monkeypatch, mib):
    """The worker's address space is limited (KVANT_COMPILE_MEMORY, MiB; by default half of
    the machine's memory): a compilation that runs away ends in a CompileError instead of
    swapping the machine. 100 MiB: the worker cannot even load LLVM; 300 MiB: it starts, and
    LLVM runs out on a 20,000-op program (found by the fuzzer: a dealloc of 600 buffers grew
    to 12 GB)."""
    driver._worker._discard()  # the next worker starts under the limit
    monkeypatch.setenv("KVANT_COMPILE_MEMORY", mib)
    # LLVM says it ran out, or the worker dies by a signal (a thread stack it could not map):
    # the message names the limit either way
    limit = rf"(ran out of memory.*limit: {mib} MiB|address space is limited to {mib} MiB)"
    with pytest.raises(CompileError, match=limit + ".*KVANT_COMPILE_MEMORY"):
        driver.compile_mlir(scalar_program(fresh_name(), 20000))
    monkeypatch.delenv("KVANT_COMPILE_MEMORY")
    check_small_compile()


def test_the_default_memory_limit_is_half_the_machine(monkeypatch):
    from kvant.compiler.worker import memory_limit

    monkeypatch.delenv("KVANT_COMPILE_MEMORY", raising=False)
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert memory_limit() == max(physical // 2, 4 * 2**30)
    monkeypatch.setenv("KVANT_COMPILE_MEMORY", "0")
    assert memory_limit() is None
