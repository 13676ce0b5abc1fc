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
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=600, env=dict(os.environ))
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
        print(json.dumps(dict(seen, value=value)))
    """)
    assert state["bindings_loaded"] is False
    assert state["lowering_loaded"] is False
    assert state["value"] == pytest.approx(np.cos(0.4), abs=1e-12)


def test_linalg_ops_are_built_without_the_linalg_python_package():
    """Reductions, broadcasts and transposes (linalg named and generic ops) compile and agree
    with jax.jit, without importing ``mlir.dialects.linalg``, which defines all of linalg's
    named ops in Python when imported."""
    state = run_fresh("""
        import json, sys
        import jax, jax.numpy as jnp, numpy as np
        import kvant

        def f(x):
            y = jnp.sum(x, axis=0) + jnp.max(x)           # linalg.reduce + linalg.fill
            z = x[:, None, :] * jnp.ones((3, 5, 4))       # linalg.broadcast
            return y, z, x.T @ x, jnp.sort(x, axis=0)     # linalg.transpose, generic ops

        x = np.arange(12.0).reshape(3, 4) / 7 - 0.5
        got = kvant.qjit(f)(x)
        want = jax.jit(f)(x)
        agree = all(bool(np.allclose(g, w, atol=1e-12)) for g, w in zip(got, want))
        print(json.dumps({"agree": agree, "linalg_package": "mlir.dialects.linalg" in sys.modules}))
    """)
    assert state == {"agree": True, "linalg_package": False}
