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
