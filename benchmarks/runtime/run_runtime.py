"""Runtime benchmarks: kvant's state-vector simulator beside PennyLane Lightning (lightning.qubit)
and qulacs, plus the memory-bound floor, in one run.

    .venv/bin/python benchmarks/runtime/run_runtime.py [--quick] [--build-dir build/runtime-dev]

kvant is timed by the C++ driver kvant_rt_bench (built with the runtime: target kvant_rt_bench)
calling the C API directly, as compiled programs do. Lightning's gates are timed through its
StateVectorC128 bindings (one Python -> C++ call per gate), its adjoint Jacobian through a
PennyLane QNode with diff_method="adjoint" (so it includes PennyLane's per-call Python
overhead, which dominates at small n); qulacs through a QuantumCircuit run in C++.
Writes benchmarks/results/runtime.md, runtime.json and runtime.png.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import timing  # noqa: E402  (shared with benchmarks/run.py)

RESULTS = ROOT / "benchmarks" / "results"


# ------------------------------------------------------------------ helpers


def median_time(fn, repeat):
    return timing.median_time(fn, repeat, warmup=True)


def repeats_for(n):
    return 5 if n >= 24 else 9 if n >= 20 else 21


def gates_per_sample(n):
    # Same rule as kvant_rt_bench.
    return 4 * n if n >= 20 else max(n, (1 << 22) >> n)


machine = timing.machine


# ------------------------------------------------------------------ kvant


def find_bench(build_dir: Path) -> Path:
    exe = build_dir / "kvant_rt_bench"
    if not exe.exists():
        venv = ROOT / ".venv" / "bin"
        subprocess.run(
            [
                str(venv / "cmake"),
                "-S",
                str(ROOT / "runtime"),
                "-B",
                str(build_dir),
                "-G",
                "Ninja",
                f"-DCMAKE_MAKE_PROGRAM={venv / 'ninja'}",
            ],
            check=True,
        )
        subprocess.run(
            [str(venv / "cmake"), "--build", str(build_dir), "--target", "kvant_rt_bench"],
            check=True,
        )
    return exe


def run_kvant(exe: Path, cases: list[str], env: dict | None = None) -> list[dict]:
    out = subprocess.run(
        [str(exe), *cases],
        check=True,
        capture_output=True,
        text=True,
        env=None if env is None else dict(os.environ, **env),
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# ------------------------------------------------------------------ circuits for the peers
# Keep in sync with bench_runtime.cpp.

ONE_QUBIT = ["RX", "RY", "RZ", "Hadamard", "PhaseShift"]
TWO_QUBIT = ["CNOT", "CZ", "SWAP"]


def layered_ops(n):
    """[(name, wires, angle or None)] of the 200-gate layered circuit."""
    ops, layer = [], 0
    while len(ops) < 200:
        rot = ("RX", "RY", "RZ")[layer % 3]
        for w in range(n):
            if len(ops) < 200:
                ops.append((rot, [w], 0.1 * (layer + 1) + 0.01 * w))
        for start in (0, 1):
            for w in range(start, n - 1, 2):
                if len(ops) < 200:
                    ops.append(("CNOT", [w, w + 1], None))
        layer += 1
    return ops


# ------------------------------------------------------------------ Lightning


def lightning_available():
    try:
        import pennylane_lightning.lightning_qubit_ops  # noqa: F401

        return True
    except Exception:  # deliberately broad
        return False


def lightning_gate(name, n):
    from pennylane_lightning.lightning_qubit_ops import StateVectorC128

    sv = StateVectorC128(n)
    for w in range(n):
        sv.Hadamard([w], False, [])
    per = gates_per_sample(n)
    fn = getattr(sv, name)
    if name in TWO_QUBIT:
        calls = [([k % n, (k + 1) % n], []) for k in range(per)]
    elif name in ("Hadamard",):
        calls = [([k % n], []) for k in range(per)]
    else:
        calls = [([k % n], [0.3 + 1e-3 * k]) for k in range(per)]

    def run():
        for wires, params in calls:
            fn(wires, False, params)

    return median_time(run, repeats_for(n)) / per


def lightning_layered(n):
    from pennylane_lightning.lightning_qubit_ops import StateVectorC128

    sv = StateVectorC128(n)
    ops = [
        (getattr(sv, name), wires, [] if a is None else [a]) for name, wires, a in layered_ops(n)
    ]

    def run():
        for fn, wires, params in ops:
            fn(wires, False, params)

    return median_time(run, repeats_for(n))


def lightning_rx_wire(n, w):
    from pennylane_lightning.lightning_qubit_ops import StateVectorC128

    sv = StateVectorC128(n)
    return median_time(lambda: sv.RX([w], False, [0.37]), repeats_for(n))


def pennylane_ansatz(qml, n, layers, params):
    k = 0
    for _ in range(layers):
        for w in range(n):
            qml.RY(params[k], wires=w)
            qml.RZ(params[k + 1], wires=w)
            k += 2
        if n > 1:
            for w in range(n):
                qml.CNOT(wires=[w, (w + 1) % n])


def lightning_adjoint(n, layers):
    import numpy as np
    import pennylane as qml

    dev = qml.device("lightning.qubit", wires=n)
    H = qml.Hamiltonian([1.0] * n, [qml.PauliZ(w) for w in range(n)])

    @qml.qnode(dev, diff_method="adjoint")
    def circuit(p):
        pennylane_ansatz(qml, n, layers, p)
        return qml.expval(H)

    p = qml.numpy.array(0.1 + 0.05 * np.arange(2 * n * layers), requires_grad=True)
    rep = 5 if n >= 20 else 9 if n >= 16 else 21
    fwd = median_time(lambda: circuit(p), rep)
    jac = qml.jacobian(circuit)
    grad = median_time(lambda: jac(p), rep)
    return fwd, grad


# ------------------------------------------------------------------ qulacs


def qulacs_available():
    try:
        import qulacs  # noqa: F401

        return True
    except Exception:  # deliberately broad
        return False


def _qulacs_add(circuit, n, name, wires, angle):
    # qulacs numbers qubits from the least significant bit and rotates by exp(+i t P / 2).
    q = [n - 1 - w for w in wires]
    if name == "RX":
        circuit.add_RX_gate(q[0], -angle)
    elif name == "RY":
        circuit.add_RY_gate(q[0], -angle)
    elif name == "RZ":
        circuit.add_RZ_gate(q[0], -angle)
    elif name == "Hadamard":
        circuit.add_H_gate(q[0])
    elif name == "PhaseShift":
        circuit.add_U1_gate(q[0], angle)
    elif name == "CNOT":
        circuit.add_CNOT_gate(q[0], q[1])
    elif name == "CZ":
        circuit.add_CZ_gate(q[0], q[1])
    elif name == "SWAP":
        circuit.add_SWAP_gate(q[0], q[1])
    else:
        raise ValueError(name)


def qulacs_gate(name, n):
    import qulacs

    state = qulacs.QuantumState(n)
    per = gates_per_sample(n)
    c = qulacs.QuantumCircuit(n)
    for k in range(per):
        wires = [k % n, (k + 1) % n] if name in TWO_QUBIT else [k % n]
        _qulacs_add(c, n, name, wires, 0.3 + 1e-3 * k)
    return median_time(lambda: c.update_quantum_state(state), repeats_for(n)) / per


def qulacs_layered(n):
    import qulacs

    state = qulacs.QuantumState(n)
    c = qulacs.QuantumCircuit(n)
    for name, wires, a in layered_ops(n):
        _qulacs_add(c, n, name, wires, a)
    return median_time(lambda: c.update_quantum_state(state), repeats_for(n))


def qulacs_rx_wire(n, w):
    import qulacs

    state = qulacs.QuantumState(n)
    c = qulacs.QuantumCircuit(n)
    _qulacs_add(c, n, "RX", [w], 0.37)
    return median_time(lambda: c.update_quantum_state(state), repeats_for(n))


# ------------------------------------------------------------------ report


def fmt_t(s):
    if s is None:
        return "–"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "–"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer sizes (smoke test of the runner)")
    ap.add_argument("--build-dir", default=str(ROOT / "build" / "runtime-dev"))
    ap.add_argument("--tag", default="", help="suffix for the result files (runtime-TAG.md, ...)")
    ap.add_argument(
        "--sweeps-only",
        action="store_true",
        help="only the sweep-equivalents table (kvant alone), written to runtime-sweeps.md",
    )
    args = ap.parse_args(argv)
    if args.sweeps_only:
        exe = find_bench(Path(args.build_dir))
        rows = {"sweeps": sweep_equivalents(exe, [16] if args.quick else SWEEP_NS)}
        stem = "runtime-sweeps" + (f"-{args.tag}" if args.tag else "")
        cmd = "python benchmarks/runtime/run_runtime.py --sweeps-only" + (
            " --quick" if args.quick else ""
        )
        L = [
            "# kvant runtime: sweep-equivalents",
            "",
            f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d %H:%M')}. Command: `{cmd}`.",
            "",
            *sweeps_section(rows["sweeps"]),
        ]
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{stem}.md").write_text("\n".join(L) + "\n")
        print("\n".join(L))
        return 0

    gate_ns = [12, 16] if args.quick else [12, 16, 20, 24]
    layered_ns = [16] if args.quick else [20, 24]
    adj_ns = [4, 8] if args.quick else [4, 8, 12, 16, 20]
    adj_layers = [2, 3] if args.quick else [2, 3, 4, 5]
    rx_n = 18 if args.quick else 24

    exe = find_bench(Path(args.build_dir))
    have_l, have_q = lightning_available(), qulacs_available()
    print(f"[runtime bench] kvant: {exe}; lightning: {have_l}; qulacs: {have_q}", flush=True)

    cases = [f"gate1:{n}" for n in gate_ns] + [f"gate2:{n}" for n in gate_ns]
    cases += [f"layered:{n}" for n in layered_ns]
    cases += [f"adjoint:{n}:{L}" for n in adj_ns for L in adj_layers]
    cases += [f"rx:{rx_n}", f"sweep:{rx_n}"]
    kv = run_kvant(exe, cases)
    print("[runtime bench] kvant done", flush=True)

    def kval(case, n, **kw):
        for r in kv:
            if r["case"] == case and r["n"] == n and all(r.get(k) == v for k, v in kw.items()):
                return r
        return None

    rows = {"gates": [], "layered": [], "adjoint": [], "rx": {}}
    for n in gate_ns:
        for name in ONE_QUBIT + TWO_QUBIT:
            k = kval(name, n)["seconds"]
            lt = lightning_gate(name, n) if have_l else None
            qt = qulacs_gate(name, n) if have_q else None
            rows["gates"].append(dict(gate=name, n=n, kvant=k, lightning=lt, qulacs=qt))
        print(f"[runtime bench] gates at {n} done", flush=True)
    for n in layered_ns:
        k = kval("layered200", n)["seconds"]
        rows["layered"].append(
            dict(
                n=n,
                kvant=k,
                lightning=lightning_layered(n) if have_l else None,
                qulacs=qulacs_layered(n) if have_q else None,
            )
        )
    for n in adj_ns:
        for L in adj_layers:
            r = kval("adjoint", n, layers=L)
            lf, lg = lightning_adjoint(n, L) if have_l else (None, None)
            rows["adjoint"].append(
                dict(
                    n=n,
                    layers=L,
                    kvant_forward=r["forward"],
                    kvant_grad=r["seconds"],
                    lightning_forward=lf,
                    lightning_grad=lg,
                )
            )
        print(f"[runtime bench] adjoint at {n} done", flush=True)
    rx_k = [r["seconds"] for r in kv if r["case"] == "RX_wire" and r["n"] == rx_n]
    rx_l = [lightning_rx_wire(rx_n, w) for w in range(rx_n)] if have_l else []
    rx_q = [qulacs_rx_wire(rx_n, w) for w in range(rx_n)] if have_q else []
    sweep = kval("sweep", rx_n)["seconds"]
    rows["rx"] = dict(n=rx_n, sweep=sweep, kvant=rx_k, lightning=rx_l, qulacs=rx_q)

    rows["sweeps"] = sweep_equivalents(exe, [16] if args.quick else SWEEP_NS)
    write_report(rows, args)
    return 0


# Registers of the sweep-equivalents table and the ansatz layers of its gradient.
SWEEP_NS = [20, 24]
SWEEP_LAYERS = {16: 4, 20: 4, 24: 2}


def sweep_equivalents(exe: Path, ns) -> list[dict]:
    """Each size's layered circuit and ansatz forward/gradient in units of one in-place sweep
    over the same state, all from one kvant_rt_bench process (so the ratios share its load)."""
    cases = []
    for n in ns:
        cases += [f"sweep:{n}", f"layered:{n}", f"adjoint:{n}:{SWEEP_LAYERS[n]}", f"sweep:{n}"]
    kv = run_kvant(exe, cases)
    # The layout cases are one run each only in 16-qubit blocks (the default block size
    # depends on the machine's L2 and the register): their own process, blocks set.
    layouts = [f"layout:{n}" for n in ns if n >= 18]  # registers that queue and block
    if layouts:
        kv += run_kvant(exe, layouts, {"KVANT_RT_FORWARD_BLOCK_QUBITS": "16"})
    out = []
    for n in ns:
        sweeps = [r["seconds"] for r in kv if r["case"] == "sweep" and r["n"] == n]
        lay = next(r for r in kv if r["case"] == "layered200" and r["n"] == n)
        adj = next(r for r in kv if r["case"] == "adjoint" and r["n"] == n)
        out.append(
            dict(
                n=n,
                sweep=min(sweeps),
                sweep_max=max(sweeps),
                layered=lay["seconds"],
                layers=adj["layers"],
                forward=adj["forward"],
                grad=adj["seconds"],
                layout={
                    r["case"][len("layout_") :]: r["seconds"]
                    for r in kv
                    if r["case"].startswith("layout_") and r["n"] == n
                },
            )
        )
    return out


def sweeps_section(rows) -> list[str]:
    L = [
        "## Sweep-equivalents (issue 15: fewer sweeps than gates)",
        "",
        "Sweep: one in-place read-modify-write pass over a state of the same size with all threads "
        "(the faster of the two measured before and after the size's cases; the other in brackets). "
        "Layered: the 200-gate layered circuit. Ansatz: the hardware-efficient ansatz of the adjoint "
        "table; grad = forward run with the tape on + kvant_rt_adjoint_jacobian.",
        "",
        "| qubits | sweep | layered | layered / sweep | ansatz layers | fwd | grad | grad / fwd | "
        "fwd / sweep | grad / sweep |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        L.append(
            f"| {r['n']} | {fmt_t(r['sweep'])} ({fmt_t(r['sweep_max'])}) | {fmt_t(r['layered'])} | "
            f"{r['layered'] / r['sweep']:.1f} | {r['layers']} | {fmt_t(r['forward'])} | "
            f"{fmt_t(r['grad'])} | {r['grad'] / r['forward']:.2f} | {r['forward'] / r['sweep']:.1f} | "
            f"{r['grad'] / r['sweep']:.1f} |"
        )
    lay = [r for r in rows if r.get("layout")]
    if lay:
        L += [
            "",
            "Block layouts: one run of the forward pass (16-qubit blocks) on the wires of index bits "
            "3-15 (a contiguous block) and of bits 11-23 (gathered from runs of 8 amplitudes); heavy: "
            "RY and a CNOT chain on 13 wires, two rounds (50 gates); light: 13 RY. The difference is "
            "the most that renumbering qubits (a permutation pass, itself about one sweep) could "
            "save on such a run.",
            "",
            "| qubits | heavy contiguous | heavy gathered | difference / sweep | light contiguous | "
            "light gathered | difference / sweep |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in lay:
            t = r["layout"]
            L.append(
                f"| {r['n']} | {fmt_t(t['contiguous'])} | {fmt_t(t['gathered'])} | "
                f"{(t['gathered'] - t['contiguous']) / r['sweep']:.2f} | "
                f"{fmt_t(t['contiguous_light'])} | {fmt_t(t['gathered_light'])} | "
                f"{(t['gathered_light'] - t['contiguous_light']) / r['sweep']:.2f} |"
            )
    return L


def write_report(rows, args):
    RESULTS.mkdir(parents=True, exist_ok=True)
    cmd = "python benchmarks/runtime/run_runtime.py" + (" --quick" if args.quick else "")
    cmd += f" --tag {args.tag}" if args.tag else ""
    stem = "runtime" + (f"-{args.tag}" if args.tag else "")
    L = [
        "# kvant runtime benchmarks",
        "",
        f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d %H:%M')}. Command: `{cmd}`.",
        "Times are medians; ratios are kvant / peer (below 1: kvant faster).",
        "",
    ]

    L += [
        "## Gate throughput (time per gate, cycled over all wires / neighbouring pairs)",
        "",
        "| gate | qubits | kvant | Lightning | qulacs | kvant/Lightning | kvant/qulacs |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows["gates"]:
        L.append(
            f"| {r['gate']} | {r['n']} | {fmt_t(r['kvant'])} | {fmt_t(r['lightning'])} | "
            f"{fmt_t(r['qulacs'])} | {ratio(r['kvant'], r['lightning'])} | {ratio(r['kvant'], r['qulacs'])} |"
        )

    L += [
        "",
        "## 200-gate layered circuit (RX/RY/RZ layers + CNOT brick, gates only)",
        "",
        "| qubits | kvant | Lightning | qulacs | kvant/Lightning | kvant/qulacs |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows["layered"]:
        L.append(
            f"| {r['n']} | {fmt_t(r['kvant'])} | {fmt_t(r['lightning'])} | {fmt_t(r['qulacs'])} | "
            f"{ratio(r['kvant'], r['lightning'])} | {ratio(r['kvant'], r['qulacs'])} |"
        )

    L += [
        "",
        "## Adjoint Jacobian, hardware-efficient ansatz (RY+RZ per qubit per layer, CNOT ring, <sum Z>)",
        "",
        "kvant grad = forward run with the tape on + kvant_rt_adjoint_jacobian (state allocation included); "
        "Lightning = qml.jacobian of a lightning.qubit QNode with diff_method='adjoint'.",
        "",
        "| qubits | layers | params | kvant fwd | kvant grad | grad/fwd | Lightning fwd | Lightning grad | "
        "Lightning grad/fwd | kvant grad / Lightning grad |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows["adjoint"]:
        L.append(
            f"| {r['n']} | {r['layers']} | {2 * r['n'] * r['layers']} | {fmt_t(r['kvant_forward'])} | "
            f"{fmt_t(r['kvant_grad'])} | {ratio(r['kvant_grad'], r['kvant_forward'])} | "
            f"{fmt_t(r['lightning_forward'])} | {fmt_t(r['lightning_grad'])} | "
            f"{ratio(r['lightning_grad'], r['lightning_forward'])} | {ratio(r['kvant_grad'], r['lightning_grad'])} |"
        )

    rx = rows["rx"]
    L += [
        "",
        f"## Single-qubit rotation at {rx['n']} qubits against the memory-bound floor",
        "",
        f"Floor: one in-place read-modify-write sweep over the same {16 << rx['n'] >> 20} MiB with all threads: "
        f"{fmt_t(rx['sweep'])}.",
        "",
        "| simulator | RX median over wires | min | max | median / sweep |",
        "|---|---|---|---|---|",
    ]
    for name in ("kvant", "lightning", "qulacs"):
        ts = rx[name]
        if ts:
            L.append(
                f"| {name} | {fmt_t(statistics.median(ts))} | {fmt_t(min(ts))} | {fmt_t(max(ts))} | "
                f"{statistics.median(ts) / rx['sweep']:.2f} |"
            )
    L.append("")
    L.append(
        "Per wire (ms): "
        + "; ".join(
            f"{name}: " + " ".join(f"{t * 1e3:.1f}" for t in rx[name])
            for name in ("kvant", "lightning", "qulacs")
            if rx[name]
        )
    )
    L += ["", *sweeps_section(rows["sweeps"])]
    (RESULTS / f"{stem}.md").write_text("\n".join(L) + "\n")
    (RESULTS / f"{stem}.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(L))
    plot(rows, stem)


def plot(rows, stem):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:  # deliberately broad
        print(f"[runtime bench] no plot: {e}")
        return
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for ax, gate in zip(axes[:2], ("RX", "CNOT")):
        rs = [r for r in rows["gates"] if r["gate"] == gate]
        for key, style in (("kvant", "o-"), ("lightning", "s--"), ("qulacs", "^:")):
            pts = [(r["n"], r[key]) for r in rs if r[key]]
            if pts:
                ax.semilogy(*zip(*pts), style, label=key)
        ax.set_title(f"{gate}: time per gate")
        ax.set_xlabel("qubits")
        ax.set_ylabel("seconds")
        ax.legend()
    ax = axes[2]
    for L in sorted({r["layers"] for r in rows["adjoint"]}):
        rs = [r for r in rows["adjoint"] if r["layers"] == L]
        ax.semilogy([r["n"] for r in rs], [r["kvant_grad"] for r in rs], "o-", label=f"kvant L={L}")
        if rs[0]["lightning_grad"]:
            ax.semilogy(
                [r["n"] for r in rs],
                [r["lightning_grad"] for r in rs],
                "s--",
                label=f"Lightning L={L}",
            )
    ax.set_title("adjoint Jacobian (ansatz)")
    ax.set_xlabel("qubits")
    ax.set_ylabel("seconds")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{stem}.png", dpi=110)


if __name__ == "__main__":
    sys.exit(main())
