"""What ``import kvant`` and the first compilation of a process load and leave behind (issue 12,
item 10: the first call in a fresh process). Each check runs in a fresh interpreter, as a user's
script would."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest


def run_fresh(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON object last, which is returned."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_kvant_loads_no_compiler_part():
    """The MLIR bindings, the lowering rules and the compiler client are loaded by the first
    compilation, not by ``import kvant`` (which PennyLane also runs, as kvant's plugin)."""
    found = run_fresh("""
        import json, sys
        import kvant
        print(json.dumps(sorted(name for name in sys.modules if name == "mlir"
                                or name.startswith(("mlir.", "kvant.lowering", "kvant.compiler",
                                                    "kvant._mlir", "kvant.dialects")))))
    """)
    assert found == []


def test_import_leaves_the_garbage_collector_as_it_found_it():
    """kvant pauses the collector while it imports JAX and PennyLane, then moves what they
    created to the oldest generation: afterwards the collector runs, nothing is frozen, and
    the import's objects are still found by the collector (gc.get_referrers / get_objects)."""
    state = run_fresh("""
        import gc, json
        import kvant
        import pennylane
        holders = [r for r in gc.get_referrers(pennylane.RX) if isinstance(r, dict)]
        print(json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                          "referrers": len(holders)}))
    """)
    assert state == {"enabled": True, "frozen": 0, "referrers": state["referrers"]}
    assert state["referrers"] > 0


def test_import_keeps_a_programs_own_garbage_collector_settings():
    """A program that froze its objects (e.g. before forking workers) keeps them frozen, and one
    that turned the collector off keeps it off."""
    state = run_fresh("""
        import gc, json
        kept = [[i] for i in range(1000)]
        gc.freeze()
        frozen = gc.get_freeze_count()
        gc.disable()
        import kvant
        tracked = {id(o) for o in gc.get_objects()}  # the frozen generation is not listed
        print(json.dumps({"enabled": gc.isenabled(), "frozen_before": frozen,
                          "frozen_after": gc.get_freeze_count(),
                          "unfrozen": sum(id(k) in tracked for k in kept)}))
    """)
    assert state["enabled"] is False
    assert state["frozen_before"] >= 1000
    assert state["frozen_after"] >= 1000
    assert state["unfrozen"] == 0


def test_cycles_made_during_the_import_are_still_collected():
    """Objects promoted to the oldest generation are examined by its next collection: a cycle
    that became garbage while kvant was imported is freed by ``gc.collect()``."""
    state = run_fresh("""
        import gc, json, sys, weakref

        class Node:
            pass

        # a module imported as part of kvant's import would make this cycle; here a meta path
        # hook makes one while kvant imports JAX
        refs = []

        class CycleMaker:
            def find_spec(self, name, path=None, target=None):
                if name == "jax" and not refs:
                    a, b = Node(), Node()
                    a.other, b.other = b, a
                    refs.append(weakref.ref(a))
                return None

        sys.meta_path.insert(0, CycleMaker())
        import kvant
        alive_after_import = refs[0]() is not None
        gc.collect()
        print(json.dumps({"made": len(refs), "alive_after_import": alive_after_import,
                          "alive_after_collect": refs[0]() is not None}))
    """)
    assert state["made"] == 1
    assert state["alive_after_collect"] is False


def test_first_compilation_starts_the_worker_before_loading_the_mlir_bindings():
    """The worker's start-up overlaps everything the first compilation does in this process,
    the loading of the bindings and of the lowering rules included."""
    state = run_fresh("""
        import json, sys
        import pennylane as qml
        import kvant
        from kvant.compiler import driver

        seen = {}
        real_start = driver.start_worker

        def start_worker():
            seen["bindings_loaded"] = "mlir.ir" in sys.modules
            seen["lowering_loaded"] = "kvant.lowering" in sys.modules
            real_start()

        driver.start_worker = start_worker

        @qml.qnode(qml.device("kvant.qubit", wires=1))
        def circuit(x):
            qml.RX(x, wires=0)
            return qml.expval(qml.PauliZ(0))

        value = float(kvant.qjit(circuit)(0.4))
        print(json.dumps(dict(seen, value=value, llvm_package="mlir.dialects.llvm" in sys.modules,
                              linalg_ops="mlir.dialects._linalg_ops_gen" in sys.modules)))
    """)
    assert state["bindings_loaded"] is False
    assert state["lowering_loaded"] is False
    assert state["value"] == pytest.approx(np.cos(0.4), abs=1e-12)
    # the QNode is a private function with internal linkage, set without the bindings' llvm
    # package (importing it was 60% of lowering this program)
    assert state["llvm_package"] is False
    # a circuit of scalar parameters builds no linalg op: their classes are not loaded
    assert state["linalg_ops"] is False


def test_linalg_ops_are_built_without_the_linalg_python_package():
    """Reductions, broadcasts, transposes and copies (linalg named and generic ops) compile and
    agree with jax.jit, without importing ``mlir.dialects.linalg``, which defines all of
    linalg's named ops in Python when imported."""
    state = run_fresh("""
        import json, sys
        import jax, jax.numpy as jnp, numpy as np
        import kvant

        def f(x):
            y = jnp.sum(x, axis=0) + jnp.max(x)           # linalg.reduce + linalg.fill
            z = x[:, None, :] * jnp.ones((3, 5, 4))       # linalg.broadcast
            # linalg.transpose, generic ops; y returned twice: the second a linalg.copy
            return y, z, x.T @ x, jnp.sort(x, axis=0), y

        x = np.arange(12.0).reshape(3, 4) / 7 - 0.5
        got = kvant.qjit(f)(x)
        want = jax.jit(f)(x)
        agree = all(bool(np.allclose(g, w, atol=1e-12)) for g, w in zip(got, want))
        print(json.dumps({"agree": agree, "linalg_package": "mlir.dialects.linalg" in sys.modules}))
    """)
    assert state == {"agree": True, "linalg_package": False}


def test_decorating_starts_the_worker_before_the_first_call():
    """``kvant.qjit(f)`` starts the compiler worker, so its start-up overlaps what the program
    does before calling ``f``; the first call then compiles on a worker that is ready."""
    state = run_fresh("""
        import json, time
        import pennylane as qml
        import kvant
        from kvant.compiler import driver

        @qml.qnode(qml.device("kvant.qubit", wires=1))
        def circuit(x):
            qml.RX(x, wires=0)
            return qml.expval(qml.PauliZ(0))

        compiled = kvant.qjit(circuit)
        proc = driver._worker._proc
        running = proc is not None and proc.poll() is None
        time.sleep(3)  # the worker becomes ready meanwhile
        value = float(compiled(0.4))
        print(json.dumps({"running": running, "same_worker": driver._worker._proc is proc,
                          "value": value}))
    """)
    assert state["running"] is True
    assert state["same_worker"] is True
    assert state["value"] == pytest.approx(np.cos(0.4), abs=1e-12)


def _mapped(library: str) -> str:
    return f"any({library!r} in line for line in open('/proc/self/maps'))"


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads /proc/self/maps (Linux)")
def test_import_loads_the_mlir_libraries_in_the_background_without_importing_them():
    """``import kvant`` maps the MLIR C API library in a thread while JAX and PennyLane are
    imported (its later import then only initialises the bindings), without importing any
    Python module of the bindings; KVANT_PRELOAD=0 turns this off."""
    code = f"""
        import json, sys
        import kvant
        from kvant import _preload
        _preload.wait()
        print(json.dumps({{"mapped": {_mapped("libMLIRPythonCAPI.so")},
                          "llvm": {_mapped("libLLVM.so")},
                          "imported": [n for n in sys.modules if n == "mlir"
                                       or n.startswith("mlir.")]}}))
    """
    assert run_fresh(code) == {"mapped": True, "llvm": True, "imported": []}
    os.environ["KVANT_PRELOAD"] = "0"
    try:
        assert run_fresh(code) == {"mapped": False, "llvm": False, "imported": []}
    finally:
        del os.environ["KVANT_PRELOAD"]


def test_fork_right_after_import_compiles_in_the_child():
    """A ``fork`` waits for the loading thread (a child forked while it held the dynamic
    loader's lock could never load a library): a child forked at once compiles."""
    state = run_fresh("""
        import json, os
        import pennylane as qml
        import kvant

        pid = os.fork()
        if pid == 0:
            @qml.qnode(qml.device("kvant.qubit", wires=1))
            def circuit(x):
                qml.RY(x, wires=0)
                return qml.expval(qml.PauliZ(0))

            value = float(kvant.qjit(circuit)(0.25))
            os._exit(0 if abs(value - __import__("math").cos(0.25)) < 1e-12 else 3)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"child_exit": os.waitstatus_to_exitcode(status)}))
    """)
    assert state == {"child_exit": 0}


def test_the_frontends_context_loads_only_kvants_dialects():
    """The frontend's MLIR context is made without the bindings' site initialisation, which
    loads every upstream dialect (~50) into each new context: only the dialects kvant builds
    programs from are loaded (the others stay registered, for the passes)."""
    state = run_fresh("""
        import json
        import kvant
        from kvant import _mlir
        context = _mlir.shared_context()
        print(json.dumps({"gpu": context.is_registered_operation("gpu.launch"),
                          "func": context.is_registered_operation("func.func"),
                          "quantum": context.is_registered_operation("quantum.alloc")}))
    """)
    assert state["func"] is True and state["quantum"] is True
    assert state["gpu"] is False
