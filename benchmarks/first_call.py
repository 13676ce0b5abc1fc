"""First call in a fresh process, kvant side by side with the best alternative, and where
kvant's time goes.

    python benchmarks/first_call.py [--repeat N] [--omp-threads T] [--out FILE]

Every number comes from a fresh Python process of its own. Each round runs, for each program of
``PROGRAMS`` (2 qubits / 3 gates, 240 and 480 gates unrolled, as in ``cases.CompileTime``):

* kvant and the alternative the way a user does (``import kvant``; ``f = kvant.qjit(circuit)``;
  ``f(0.3)``): the process reports its import and its first call (``f(0.3)`` until the result is
  a Python float), and this script times the whole process (interpreter start to exit, teardown
  included);
* kvant once more step by step, each step timed: import (kvant, with JAX and PennyLane; the
  MLIR and LLVM libraries are mapped by a thread meanwhile), decorating (which starts the
  compiler worker), loading the compiler's modules (MLIR bindings, lowering rules), trace,
  lower (MLIR + bytecode), the worker's start (from decorating to its being ready: it overlaps
  the process's own work), parse, passes, codegen, link (the worker's own timings), the
  client's whole wait for the library (JAX's CPU client is created meanwhile), load (dlopen),
  run, result as a JAX array;

and ``import pennylane`` against ``import kvant``. kvant's and the alternative's processes are
interleaved, their order alternating from round to round, so that both meet the same load; the
load average is recorded with each process. Reported: the median over the rounds with the
spread (min-max), the ratio of the medians, and the median of the per-round ratios.

The alternative is PennyLane Catalyst when it is installed (``make bench`` installs 0.15.0), else
PennyLane's default.qubit under ``jax.jit``. Every kvant process starts with an empty program
cache. The processes run with ``OMP_NUM_THREADS`` set (default 1: each simulator on one thread,
on a machine whose cores others share) and with Python's bytecode cache enabled, after one
untimed warm-up run of each program, as in an installed package (a ``PYTHONDONTWRITEBYTECODE``
in the environment would make kvant, whose sources are not precompiled in an editable install,
recompile its modules in every process).
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
sys.path.insert(0, str(HERE))

from timing import machine  # noqa: E402

PROGRAMS = {
    "2 qubits, 3 gates": "_small_program(compiler)",
    "240 gates": "_layered_program(4, 20, False, compiler)",
    "480 gates": "_layered_program(8, 20, False, compiler)",
}

# A user's script: one program, first call, then the interpreter exits.
USER_PATH = """
import time
_t0 = time.perf_counter()
import {compiler_module} as compiler
_import = time.perf_counter() - _t0
import json, sys
sys.path.insert(0, {here!r})
from cases import _small_program, _layered_program
{setup}
f = compiler.qjit(circuit) if {qjit} else jax.jit(circuit)
_t0 = time.perf_counter()
value = float(f(0.3))
_first_call = time.perf_counter() - _t0
print(json.dumps({{"import": _import, "first call": _first_call, "value": value}}))
"""

IMPORT = """
import time
_t0 = time.perf_counter()
import {module}
_import = time.perf_counter() - _t0
import json
print(json.dumps({{"import": _import}}))
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
t0 = t()
kvant.qjit(circuit)  # decorating starts the worker, which overlaps all that follows
times["decorate (starts the worker)"] = t() - t0
t0 = t()
from kvant.compiler import driver
from kvant import _mlir
from kvant.execution.library import CompiledLibrary, jax_cpu_device, to_jax
from kvant.lowering import lower_program
from kvant.tracing.context import TracingContext
times["load compiler modules"] = t() - t0
t0 = t()
with TracingContext.tracing():
    closed = jax.make_jaxpr(lambda x: [circuit(x)])(jax.ShapeDtypeStruct((), np.float64))
times["trace"] = t() - t0
t0 = t()
bytecode = _mlir.to_bytecode(lower_program(closed, "jit_circuit", _mlir.shared_context()))
times["lower"] = t() - t0
t0 = t()
artifact = driver.compile_mlir(bytecode, while_waiting=jax_cpu_device)  # as qjit does
compile_total = t() - t0
from kvant.compiler.pipeline import STAGES
for name in ("worker_start", "parse", "passes", "codegen", "link"):
    times[name] = artifact.timings.get(name, 0.0)
times["passes"] += sum(artifact.timings.get(stage, 0.0) for stage in STAGES)
times["compile (client's wait)"] = compile_total
t0 = t()
library = CompiledLibrary(artifact.library, "jit_circuit", [v.aval for v in closed.jaxpr.invars],
                          [v.aval for v in closed.jaxpr.outvars])
times["load"] = t() - t0
t0 = t()
outputs = library(np.asarray(0.3))
times["run"] = t() - t0
t0 = t()
float(to_jax(outputs[0]))
times["result as a JAX array"] = t() - t0
print(json.dumps(times))
"""


def _alternative() -> tuple[str, str, str, bool]:
    """(label, module, setup code, whether it has qjit)."""
    try:
        import catalyst

        return f"Catalyst {catalyst.__version__}", "catalyst", "import jax", True
    except ImportError:
        import pennylane as qml

        # default.qubit instead of lightning.qubit, interface jax, under jax.jit
        setup = (
            "import jax, pennylane as qml\n"
            "jax.config.update('jax_enable_x64', True)\n"
            "circuit = {program}\n"
            "circuit = qml.QNode(circuit.func, qml.device('default.qubit', "
            "wires=len(circuit.device.wires)), interface='jax')"
        )
        return f"PennyLane {qml.__version__} default.qubit + jax.jit", "pennylane", setup, False


class Runner:
    def __init__(self, omp_threads: int):
        self.env = dict(os.environ, OMP_NUM_THREADS=str(omp_threads))
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.loads: list[float] = []

    def run(self, code: str, fresh_cache: bool = True) -> tuple[float, dict]:
        """(whole process seconds, the JSON object it printed last)."""
        env = dict(self.env)
        if fresh_cache:
            env["KVANT_CACHE_DIR"] = tempfile.mkdtemp(prefix="kvant-first-call-")
        self.loads.append(os.getloadavg()[0])
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        elapsed = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-3000:])
        return elapsed, json.loads(done.stdout.strip().splitlines()[-1])


def _summary(samples: list[float]) -> str:
    return f"{statistics.median(samples):.3f} s ({min(samples):.3f}–{max(samples):.3f})"


def _ratios(kvant: list[float], other: list[float]) -> str:
    of_medians = statistics.median(kvant) / statistics.median(other)
    paired = statistics.median(k / o for k, o in zip(kvant, other))
    return f"{of_medians:.2f} | {paired:.2f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="rounds (fresh processes each)")
    parser.add_argument("--omp-threads", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "results" / "first_call.md"))
    parser.add_argument(
        "--program",
        action="append",
        choices=list(PROGRAMS),
        help="run only these programs (default: all)",
    )
    args = parser.parse_args(argv)
    programs = {name: PROGRAMS[name] for name in args.program or PROGRAMS}
    label, module, setup, has_qjit = _alternative()
    os.environ["OMP_NUM_THREADS"] = str(args.omp_threads)  # for the children and machine()
    runner = Runner(args.omp_threads)
    started = time.strftime("%Y-%m-%d %H:%M")
    load_at_start = os.getloadavg()

    codes = {}
    for name, program in programs.items():
        other_setup = (
            setup.format(program=program)
            if "{program}" in setup
            else f"{setup}\ncircuit = {program}"
        )
        codes[name] = {
            "kvant": USER_PATH.format(
                here=str(HERE), compiler_module="kvant", setup=f"circuit = {program}", qjit=True
            ),
            label: USER_PATH.format(
                here=str(HERE), compiler_module=module, setup=other_setup, qjit=has_qjit
            ),
            "steps": STEPS.format(here=str(HERE), program=program),
        }
    imports = {name: IMPORT.format(module=name) for name in ("pennylane", "kvant")}

    print(
        f"alternative: {label}; {args.repeat} rounds; OMP_NUM_THREADS={args.omp_threads}; "
        f"load average at start {load_at_start[0]:.2f} {load_at_start[1]:.2f} "
        f"{load_at_start[2]:.2f}",
        flush=True,
    )
    # warm-up (untimed): bytecode caches written, files in the page cache
    for code in imports.values():
        runner.run(code)
    for per_program in codes.values():
        for code in per_program.values():
            runner.run(code)
    runner.loads.clear()

    # samples[key][measure] -> list over rounds
    samples: dict = {}

    def record(key, measure, value):
        samples.setdefault(key, {}).setdefault(measure, []).append(value)

    for round_ in range(args.repeat):
        order = ["pennylane", "kvant"] if round_ % 2 == 0 else ["kvant", "pennylane"]
        for name in order:
            whole, reported = runner.run(imports[name])
            record(("import", name), "import (in process)", reported["import"])
            record(("import", name), "whole process", whole)
        for program, per_program in codes.items():
            order = ["kvant", label] if round_ % 2 == 0 else [label, "kvant"]
            for who in order:
                whole, reported = runner.run(per_program[who])
                record((program, who), "first call", reported["first call"])
                record((program, who), "import", reported["import"])
                record((program, who), "whole process", whole)
                record((program, who), "value", reported["value"])
            _, steps = runner.run(per_program["steps"])
            for step, seconds in steps.items():
                record((program, "steps"), step, seconds)
        print(f"round {round_ + 1}/{args.repeat} done (load {os.getloadavg()[0]:.2f})", flush=True)

    load_at_end = os.getloadavg()
    loads = runner.loads
    lines = [
        "# First call in a fresh process",
        "",
        f"Measured {started} on {machine()}; command: `python benchmarks/first_call.py "
        f"--repeat {args.repeat} --omp-threads {args.omp_threads}"
        + "".join(f" --program '{p}'" for p in args.program or ())
        + f"`. Alternative: {label}. "
        f"Every number is from a fresh process, {args.repeat} rounds, kvant's and the "
        "alternative's processes interleaved (order alternating by round); median over the "
        "rounds with (min–max). OMP_NUM_THREADS="
        f"{args.omp_threads} for both; bytecode caches enabled and warm; empty kvant program "
        "cache in every process.",
        "",
        f"Load average (1 min) when each process started: median {statistics.median(loads):.2f}, "
        f"min {min(loads):.2f}, max {max(loads):.2f}; 1/5/15 min at start "
        f"{load_at_start[0]:.2f} / {load_at_start[1]:.2f} / {load_at_start[2]:.2f}, at end "
        f"{load_at_end[0]:.2f} / {load_at_end[1]:.2f} / {load_at_end[2]:.2f} "
        f"({os.cpu_count()} cores).",
        "",
        "Ratios: kvant / the other, as the ratio of the medians | the median of the per-round "
        "ratios (processes of one round ran back to back).",
        "",
        "## import",
        "",
        "| measure | import kvant | import pennylane | ratio of medians | median of ratios |",
        "|---|---|---|---|---|",
    ]
    for measure in ("import (in process)", "whole process"):
        k = samples[("import", "kvant")][measure]
        p = samples[("import", "pennylane")][measure]
        lines.append(f"| {measure} | {_summary(k)} | {_summary(p)} | {_ratios(k, p)} |")
    lines += [
        "",
        "`import (in process)`: the `import` statement alone; `whole process`: `python -c "
        "'import X'` from start to exit.",
        "",
        "## First call",
        "",
        f"| program | measure | kvant | {label} | ratio of medians | median of ratios |",
        "|---|---|---|---|---|---|",
    ]
    for program in programs:
        for measure in ("first call", "import", "whole process"):
            k = samples[(program, "kvant")][measure]
            o = samples[(program, label)][measure]
            lines.append(
                f"| {program} | {measure} | {_summary(k)} | {_summary(o)} | {_ratios(k, o)} |"
            )
    lines += [
        "",
        "`first call`: `f(0.3)` on a freshly decorated function until its result is a Python "
        "float (trace, lower, compile, link, load, run); `import`: `import kvant` / `import "
        f"{module}` in that process; `whole process`: the user's script from interpreter start "
        "to exit (import, building the QNode, decorating, first call, teardown).",
        "",
        "## kvant's first call step by step",
        "",
        "Separate processes, the steps of `qjit` run one by one (`STEPS` in the script). "
        "Decorating starts the worker, which runs beside `load compiler modules`, `trace` and "
        "`lower`; `worker_start` is from starting it to its being ready, `compile (client's "
        "wait)` what the process then still waited for the library.",
        "",
        "| step | " + " | ".join(programs) + " |",
        "|---|" + "---|" * len(programs),
    ]
    steps = list(samples[(next(iter(programs)), "steps")])
    for step in steps:
        cells = []
        for program in programs:
            values = samples[(program, "steps")][step]
            cells.append(
                f"{statistics.median(values) * 1000:.1f} ms "
                f"({min(values) * 1000:.1f}–{max(values) * 1000:.1f})"
            )
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    values_agree = all(
        abs(
            statistics.median(samples[(p, "kvant")]["value"])
            - statistics.median(samples[(p, label)]["value"])
        )
        < 1e-9
        for p in programs
    )
    lines += [
        "",
        f"Both compute the same values: {values_agree}.",
        "",
        "kvant's first call runs in two processes: this one (compiler modules, trace, lower) and "
        "the worker (started when the function is decorated: its start-up, then the "
        "compilation), each loading the MLIR and LLVM libraries (this one in a thread during "
        "`import kvant`); the alternative compiles in its own process, whose import loaded "
        "them. With a core free for each, kvant's two overlap; on a machine whose other work "
        "leaves one core, they take turns, and a small program's first call costs their sum.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    (out.with_suffix(".json")).write_text(
        json.dumps(
            {
                "started": started,
                "alternative": label,
                "omp_threads": args.omp_threads,
                "loads": loads,
                "load_at_start": load_at_start,
                "load_at_end": load_at_end,
                "samples": {" / ".join(k): v for k, v in samples.items()},
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
