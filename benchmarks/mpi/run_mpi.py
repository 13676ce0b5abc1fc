"""The distributed register's benchmark: per-rank memory, bytes exchanged, time for P = 1, 2, 4.

    python benchmarks/mpi/run_mpi.py [--qubits 26] [--layers 2] [--build-dir build/py/runtime]

Runs kvant_rt_mpi_bench (benchmarks/mpi/bench_distributed.cpp, built with the runtime when MPI
is present) once on an ordinary register (P = 1) and under mpiexec with 2 and 4 ranks on a
distributed one, checks that every rank's measured values equal the 1-process ones to 1e-12,
and writes benchmarks/results/distributed.md and .json. docs/distributed.md reads the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"


def run(command, env):
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed:\n{done.stdout}\n{done.stderr}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qubits", type=int, default=26)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--build-dir", default=str(ROOT / "build" / "py" / "runtime"))
    args = parser.parse_args()
    build = Path(args.build_dir)
    bench = build / "kvant_rt_mpi_bench"
    if not bench.exists():
        sys.exit(f"{bench} not found: the runtime was built without MPI")
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or "mpiexec"
    version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True).stdout
    flags = ["--oversubscribe"] if "Open MPI" in version else []
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.setdefault("KVANT_RT_MPI_LIBRARY", str(build / "libkvant_rt_mpi.so"))
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    n, layers = str(args.qubits), str(args.layers)
    rows = {1: run([bench, n, layers, "local"], env)}
    for p in (2, 4):
        rows[p] = run([mpiexec, "-n", str(p), *flags, bench, n, layers, "dist"], env)
    reference = rows[1][0]
    worst = 0.0
    for p, ranks in rows.items():
        for r in ranks:
            diff = max(abs(a - b) for a, b in zip(r["values"], reference["values"]))
            worst = max(worst, diff)
            if diff > 1e-12:
                sys.exit(f"P={p} rank {r['rank']}: values differ from 1 process by {diff:.3g}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "distributed.json").write_text(json.dumps(rows, indent=1))
    mib = 1 << 20
    one_peak = reference["peak_rss_bytes"]
    lines = [
        f"# Distributed register: {args.qubits} qubits, {args.layers} layers",
        "",
        "`python benchmarks/mpi/run_mpi.py` on this machine (2 cores, ranks oversubscribed,",
        "one thread per rank, Open MPI's shared-memory transport). Circuit: per layer RY on every",
        "wire, a CNOT chain over all wires, RZ on every wire; then <Z_w> for every wire and",
        f"<X_0 X_n-1>. Every rank's values equal the 1-process run's (largest difference "
        f"{worst:.1e}).",
        "",
        "| P | state per rank (MiB) | peak RSS per rank (MiB, max) | vs 1 process | "
        "exchange buffer (MiB) | swaps per rank | MiB sent per swap | MiB sent per rank | "
        "in exchanges (s) | exchange rate (GB/s) | gates (s) | measurements (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p, ranks in rows.items():
        peak = max(r["peak_rss_bytes"] for r in ranks)
        r0 = ranks[0]
        swaps = r0["swaps"]
        sent = r0["bytes_sent"]
        exchange = max(r["exchange_seconds"] for r in ranks)
        lines.append(
            f"| {p} | {r0['state_bytes'] / mib:.0f} | {peak / mib:.0f} | {peak / one_peak:.2f} | "
            f"{r0['buffer_bytes'] / mib:.0f} | {swaps} | "
            f"{(sent / swaps / mib) if swaps else 0:.0f} | {sent / mib:.0f} | "
            f"{exchange:.2f} | {(sent / exchange / 1e9) if exchange else 0:.2f} | "
            f"{max(r['gate_seconds'] for r in ranks):.2f} | "
            f"{max(r['measure_seconds'] for r in ranks):.2f} |"
        )
    (RESULTS / "distributed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
