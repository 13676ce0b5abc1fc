"""Compile time against program size, stage by stage (issue 15).

    python benchmarks/compile_scaling.py [--sizes 100,1000,...] [--program NAME ...]
                                         [--out benchmarks/results/compile_scaling.md]

Programs (``PROGRAMS``), each at every size N = number of gates in the program text:

* ``straight``: a QNode of N gates on 4 wires, layers of RX (even layers) or RY (odd layers)
  on every wire, each with its own parameter ``p[k]``, then a CNOT chain; ``<Z_0>``;
* ``straight-grad``: ``kvant.grad`` of it;
* ``loop``: the same N gates as the body of a ``kvant.for_loop`` of 2 iterations, parameters
  ``p[i, k]`` (a dynamic row);
* ``loop-grad``: ``kvant.grad`` of it.

Each (program, N) is compiled in a fresh Python process with an empty program cache, after
a small program compiled first in the same process (it starts the compiler worker and loads
the compiler's modules, which a size-independent first compilation pays). The process reports
``CompiledProgram.timings``: trace, lower (JAXPR -> MLIR), bytecode, then the worker's parse,
each stage of the pass pipeline (``kvant.compiler.pipeline.STAGES``), LLVM codegen and link;
``total`` is the client's whole compilation (trace to library), wall time; ``cpu`` the processor
time of the client and the compiler worker for it (the linker excluded), which other work on
the machine's cores changes less. The per-gate ratios are total(N) / N over total(1000) / 1000
and the same of cpu, measured in the same run.

Results go to ``--out`` (Markdown) and the same name with ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from timing import machine  # noqa: E402

WIRES = 4
SIZES = (100, 1000, 2000, 4000, 8000, 20000)
PROGRAMS = ("straight", "straight-grad", "loop", "loop-grad")
TIMEOUT = 1800  # seconds per measurement

#: the stages reported, in pipeline order
STAGES = (
    "trace",
    "lower",
    "bytecode",
    "parse",
    "gradient",
    "quantum",
    "host",
    "bufferize",
    "llvm",
    "codegen",
    "link",
)


def gates(params, n: int, row=None) -> None:
    """n gates on WIRES wires: a layer of rotations (RX on even layers, RY on odd ones), each
    with its own parameter, then a CNOT chain; repeated until there are n."""
    import pennylane as qml

    k = 0
    layer = 0
    while k < n:
        rotation = qml.RX if layer % 2 == 0 else qml.RY
        for w in range(WIRES):
            if k == n:
                return
            rotation(params[k] if row is None else params[row, k], wires=w)
            k += 1
        for w in range(WIRES - 1):
            if k == n:
                return
            qml.CNOT(wires=[w, w + 1])
            k += 1
        layer += 1


def program(name: str, n: int, device_name: str = "kvant.qubit"):
    """(function, argument shape) of a program; the function is not compiled."""
    import pennylane as qml

    import kvant

    device = qml.device(device_name, wires=WIRES)
    if name.startswith("straight"):

        @qml.qnode(device)
        def circuit(p):
            gates(p, n)
            return qml.expval(qml.PauliZ(0))

        shape = (n,)
    else:

        @qml.qnode(device)
        def circuit(p):
            @kvant.for_loop(0, 2, 1)
            def body(i, carry):
                gates(p, n, row=i)
                return carry

            body(0)
            return qml.expval(qml.PauliZ(0))

        shape = (2, n)
    return (kvant.grad(circuit) if name.endswith("-grad") else circuit), shape


def measure_here(name: str, n: int) -> dict:
    """The timings of compiling program ``name`` of ``n`` gates, in this process."""
    import jax
    import numpy as np

    import kvant

    jax.config.update("jax_enable_x64", True)
    warm, shape = program(name, 8)
    kvant.qjit(warm).compile(jax.ShapeDtypeStruct(shape, np.float64))

    function, shape = program(name, n)
    compiled = kvant.qjit(function)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    result = compiled.compile(jax.ShapeDtypeStruct(shape, np.float64))
    total = time.perf_counter() - t0
    cpu = time.process_time() - cpu0 + result.timings["worker_cpu"]
    assert not result.from_cache
    return {**result.timings, "total": total, "cpu": cpu}


def measure(name: str, n: int) -> dict:
    """measure_here in a fresh process with an empty program cache."""
    env = dict(os.environ, KVANT_CACHE_DIR=tempfile.mkdtemp(prefix="kvant-scaling-"))
    env.setdefault("OMP_NUM_THREADS", "1")
    done = subprocess.run(
        [sys.executable, __file__, "--one", json.dumps([name, n])],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name} at {n} gates failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(results: dict, sizes) -> list[str]:
    lines = []
    for name, by_size in results.items():
        lines += [
            f"### {name}",
            "",
            "| gates | " + " | ".join(STAGES) + " | total | per gate | cpu | cpu per gate |",
            "|---" * (len(STAGES) + 5) + "|",
        ]
        for n in sizes:
            t = by_size.get(str(n))
            if t is None:
                continue
            cells = [f"{t.get(stage, 0.0):.3f}" for stage in STAGES]
            per_gate, cpu_per_gate = t["total"] / n * 1e6, t["cpu"] / n * 1e6
            lines.append(
                f"| {n} | " + " | ".join(cells) + f" | {t['total']:.3f} | {per_gate:.0f} µs | "
                f"{t['cpu']:.3f} | {cpu_per_gate:.0f} µs |"
            )
        lines.append("")
    return lines


def ratios(results: dict, sizes, measure: str = "total") -> dict:
    """Per-gate time (``measure``) at each size over that at 1000 gates."""
    out = {}
    for name, by_size in results.items():
        base = by_size.get("1000")
        if base is None:
            continue
        out[name] = {
            str(n): (by_size[str(n)][measure] / n) / (base[measure] / 1000)
            for n in sizes
            if str(n) in by_size
        }
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--program", action="append", choices=PROGRAMS)
    parser.add_argument("--out", default=str(HERE / "results" / "compile_scaling.md"))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        name, n = json.loads(args.one)
        print(json.dumps(measure_here(name, n)))
        return 0

    sizes = [int(s) for s in args.sizes.split(",")]
    names = args.program or list(PROGRAMS)
    command = "python benchmarks/compile_scaling.py " + " ".join(
        a if " " not in a else repr(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    started = time.strftime("%Y-%m-%d %H:%M")
    load_at_start = os.getloadavg()
    results: dict = {}
    for name in names:
        for n in sizes:
            timings = measure(name, n)
            results.setdefault(name, {})[str(n)] = timings
            print(
                f"{name:14s} {n:6d} gates: total {timings['total']:7.3f} s "
                f"cpu {timings['cpu']:7.3f} s "
                + " ".join(f"{s}={timings.get(s, 0.0):.3f}" for s in STAGES)
                + f" (load {os.getloadavg()[0]:.2f})",
                flush=True,
            )
    load_at_end = os.getloadavg()
    per_gate = ratios(results, sizes)
    per_gate_cpu = ratios(results, sizes, "cpu")

    lines = [
        "# Compile time against program size",
        "",
        f"Measured {started} on {machine()}; command: `{command.strip()}`. Every number is "
        "from a fresh process with an empty program cache, after a small program compiled "
        "first in it; seconds. Load average (1/5/15 min) at start "
        f"{' / '.join(f'{x:.2f}' for x in load_at_start)}, at end "
        f"{' / '.join(f'{x:.2f}' for x in load_at_end)} (2 cores).",
        "",
        "Stages: trace (JAX + PennyLane), lower (JAXPR -> MLIR), bytecode; in the compiler "
        "worker: parse, the pass pipeline's stages (gradient, quantum, host, bufferize, llvm; "
        "`kvant pipeline`), codegen (LLVM, -O2), link; total: the whole compilation as the "
        "caller waits for it; cpu: the processor time of the caller and the worker for it.",
        "",
        "## Per-gate time relative to 1000 gates",
        "",
        "| program | time | " + " | ".join(str(n) for n in sizes) + " |",
        "|---" * (len(sizes) + 2) + "|",
    ]
    for kind, by_program in (("wall", per_gate), ("cpu", per_gate_cpu)):
        for name, by_size in by_program.items():
            lines.append(
                f"| {name} | {kind} | "
                + " | ".join(f"{by_size.get(str(n), float('nan')):.2f}" for n in sizes)
                + " |"
            )
    lines += ["", "## Stages", ""] + table(results, sizes)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    out.with_suffix(".json").write_text(
        json.dumps(
            {
                "command": command.strip(),
                "started": started,
                "machine": machine(),
                "load_at_start": load_at_start,
                "load_at_end": load_at_end,
                "results": results,
                "per_gate_ratio_to_1000": per_gate,
                "per_gate_cpu_ratio_to_1000": per_gate_cpu,
            },
            indent=1,
        )
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
