"""First call in a fresh process: where the time goes, and how it compares.

    python benchmarks/first_call.py [--repeat N]

For each program of ``cases.CompileTime`` that this script runs (2 qubits / 3 gates, 240 and 480
gates unrolled), N fresh Python processes each

* run the program the way a user does (``import kvant``; ``kvant.qjit(f)(0.3)``): the parent
  times the whole process, interpreter start included ("process");
* or do the same steps one by one, each timed: import (kvant, with JAX and PennyLane), trace,
  lower (MLIR + bytecode), worker start (from starting it, before tracing, to its being ready:
  it overlaps trace and lower), parse, passes, codegen, link (the worker's own timings), the
  client's whole wait for the compiled library, load (dlopen), run.

The same program is run, the same way, with the best alternative installed: Catalyst when it is
(``make bench`` installs it), else PennyLane's default.qubit under ``jax.jit``. Every kvant
process starts with an empty program cache. Medians over the N processes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

PROGRAMS = {
    "2 qubits, 3 gates": "_small_program(compiler)",
    "240 gates": "_layered_program(4, 20, False, compiler)",
    "480 gates": "_layered_program(8, 20, False, compiler)",
}

USER_PATH = """
import sys, time
sys.path.insert(0, {here!r})
import {compiler_module} as compiler
from cases import _small_program, _layered_program
{setup}
f = compiler.qjit(circuit) if {qjit} else jax.jit(circuit)
float(f(0.3))
"""

STEPS = """
import sys, time, json
t = time.perf_counter
t0 = t()
import kvant, jax, numpy as np
times = {{"import": t() - t0}}
sys.path.insert(0, {here!r})
from cases import _small_program, _layered_program
compiler = kvant
circuit = {program}
from kvant import _mlir
from kvant.compiler import driver
from kvant.execution.library import CompiledLibrary
from kvant.lowering import lower_program
from kvant.tracing.context import TracingContext
driver.start_worker()  # as qjit does: the worker starts while the program is traced and lowered
t0 = t()
with TracingContext.tracing():
    closed = jax.make_jaxpr(lambda x: [circuit(x)])(jax.ShapeDtypeStruct((), np.float64))
times["trace"] = t() - t0
t0 = t()
bytecode = _mlir.to_bytecode(lower_program(closed, "jit_circuit", _mlir.shared_context()))
times["lower"] = t() - t0
t0 = t()
artifact = driver.compile_mlir(bytecode)
compile_total = t() - t0
for name in ("worker_start", "parse", "passes", "codegen", "link"):
    times[name] = artifact.timings.get(name, 0.0)
times["compile (client, total)"] = compile_total
t0 = t()
library = CompiledLibrary(artifact.library, "jit_circuit", [v.aval for v in closed.jaxpr.invars],
                          [v.aval for v in closed.jaxpr.outvars])
times["load"] = t() - t0
t0 = t()
library(np.asarray(0.3))
times["run"] = t() - t0
print(json.dumps(times))
"""


def _python(code: str, env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return elapsed, done.stdout


def _alternative() -> tuple[str, str, str, bool]:
    """(label, module, setup code, whether it has qjit)."""
    try:
        import catalyst  # noqa: F401

        return f"Catalyst {catalyst.__version__}", "catalyst", "import jax", True
    except ImportError:
        import pennylane as qml

        # default.qubit instead of lightning.qubit, interface jax, under jax.jit
        setup = ("import jax, pennylane as qml\n"
                 "jax.config.update('jax_enable_x64', True)\n"
                 "circuit = {program}\n"
                 "circuit = qml.QNode(circuit.func, qml.device('default.qubit', "
                 "wires=len(circuit.device.wires)), interface='jax')")
        return f"PennyLane {qml.__version__} default.qubit + jax.jit", "pennylane", setup, False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    label, module, setup, has_qjit = _alternative()
    print(f"alternative: {label}; {args.repeat} fresh processes per number (medians)\n")

    def median_process(code, fresh_cache=True):
        samples = []
        for _ in range(args.repeat):
            env = dict(os.environ)
            if fresh_cache:
                env["KVANT_CACHE_DIR"] = tempfile.mkdtemp(prefix="kvant-first-call-")
            samples.append(_python(code, env)[0])
        return statistics.median(samples)

    bare = median_process("pass")
    imports = {name: median_process(f"import {name}") for name in ("pennylane", "kvant")}
    print(f"interpreter start: {bare:.3f} s; import pennylane: {imports['pennylane']:.3f} s; "
          f"import kvant: {imports['kvant']:.3f} s "
          f"(ratio {imports['kvant'] / imports['pennylane']:.2f})\n")

    for name, program in PROGRAMS.items():
        kvant_code = USER_PATH.format(here=str(HERE), compiler_module="kvant",
                                      setup=f"circuit = {program}", qjit=True)
        other_setup = setup.format(program=program) if "{program}" in setup else \
            f"{setup}\ncircuit = {program}"
        other_code = USER_PATH.format(here=str(HERE), compiler_module=module,
                                      setup=other_setup, qjit=has_qjit)
        kvant_total = median_process(kvant_code)
        other_total = median_process(other_code)
        steps = []
        for _ in range(args.repeat):
            env = dict(os.environ, KVANT_CACHE_DIR=tempfile.mkdtemp(prefix="kvant-first-call-"))
            steps.append(json.loads(_python(STEPS.format(here=str(HERE), program=program),
                                            env)[1].strip().splitlines()[-1]))
        print(f"{name}: first call, whole process: kvant {kvant_total:.3f} s, "
              f"{label} {other_total:.3f} s, ratio {kvant_total / other_total:.2f}")
        for step in steps[0]:
            print(f"    {step:24s} {statistics.median(s[step] for s in steps) * 1000:8.1f} ms")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
