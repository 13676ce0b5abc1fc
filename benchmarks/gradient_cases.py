"""Benchmark cases of compiled derivatives (issue 5): the gradient of the hardware-efficient
ansatz, 100 steps of gradient descent inside one compiled program, the Jacobian of
probabilities and the gradient of a cost of probabilities as the number of measured wires
grows, and the compile time of each program.

Peers, where installed: Catalyst 0.15.0 (catalyst.qjit of catalyst.grad / jacobian on
lightning.qubit, the same QNodes) and PennyLane + Lightning's adjoint method without qjit.

Each (program, compiler) pair is measured in a fresh Python process, run as

    python benchmarks/gradient_cases.py '{"program": ..., "compiler": ..., ...}'

which first compiles a small program with the same compiler (the first compilation in a process
pays one-off costs: imports, kvant's compiler worker, Catalyst's tools), then reports the
program's compile time (first call minus one steady call) and its steady call time. Separate
processes also keep one peer's memory from another's numbers (and a peer that runs out of memory
from the whole run): each is limited to MEMORY_LIMIT bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import median_time

MEMORY_LIMIT = 12 << 30
TIMEOUT = 1800  # seconds per measurement


# ---- the programs -------------------------------------------------------------------------


def ansatz(num_wires: int, layers: int, device_name: str, diff_method: str, observable="sum"):
    """The hardware-efficient ansatz: RY + RZ on every wire per layer, then a CNOT ring.
    Parameters: an array [layers, num_wires, 2]. observable="sum": <sum_i Z_i> as one
    Hamiltonian; "expvals": the sum of the n expectation values <Z_i> (the same function)."""
    import jax.numpy as jnp
    import pennylane as qml

    def gates(params):
        for layer in range(layers):
            for w in range(num_wires):
                qml.RY(params[layer, w, 0], wires=w)
                qml.RZ(params[layer, w, 1], wires=w)
            for w in range(num_wires):
                qml.CNOT(wires=[w, (w + 1) % num_wires])

    device = qml.device(device_name, wires=num_wires)
    if observable == "sum":
        hamiltonian = qml.Hamiltonian(
            jnp.ones(num_wires), [qml.PauliZ(i) for i in range(num_wires)]
        )

        @qml.qnode(device, diff_method=diff_method)
        def cost(params):
            gates(params)
            return qml.expval(hamiltonian)

        return cost

    @qml.qnode(device, diff_method=diff_method)
    def terms(params):
        gates(params)
        return [qml.expval(qml.PauliZ(i)) for i in range(num_wires)]

    return lambda params: jnp.sum(jnp.stack(terms(params)))


def probs_circuit(device_name: str, m: int, num_wires=12, diff_method="parameter-shift"):
    """The 2-layer ansatz on num_wires qubits returning probs over its first m wires."""
    import pennylane as qml

    @qml.qnode(qml.device(device_name, wires=num_wires), diff_method=diff_method)
    def circuit(params):
        for layer in range(2):
            for w in range(num_wires):
                qml.RY(params[layer, w, 0], wires=w)
                qml.RZ(params[layer, w, 1], wires=w)
            for w in range(num_wires):
                qml.CNOT(wires=[w, (w + 1) % num_wires])
        return qml.probs(wires=list(range(m)))

    return circuit


def probs_cost(device_name: str, m: int, num_wires: int, diff_method: str):
    """A scalar of probs over the first m wires: sum_i w_i p_i with fixed weights, as in a
    classifier's loss."""
    import jax.numpy as jnp

    circuit = probs_circuit(device_name, m, num_wires, diff_method=diff_method)
    weights = jnp.linspace(-1.0, 1.0, 2**m)

    def cost(params):
        return jnp.sum(weights * circuit(params))

    return cost


def params_for(num_wires, layers):
    import numpy as np

    return np.random.default_rng(0).uniform(0, np.pi, size=(layers, num_wires, 2))


def _toolkit(compiler):
    """(qjit, grad, jacobian, for_loop, device name) of a compiler."""
    if compiler == "kvant":
        import kvant

        return kvant.qjit, kvant.grad, kvant.jacobian, kvant.for_loop, "kvant.qubit"
    if compiler == "catalyst":
        import catalyst

        return catalyst.qjit, catalyst.grad, catalyst.jacobian, catalyst.for_loop, "lightning.qubit"
    import jax  # PennyLane + Lightning without qjit: JAX's transforms of the QNode

    return (lambda f: f), jax.grad, jax.jacobian, None, "lightning.qubit"


def build(spec):
    """The compiled (or, for "lightning", plain) program a spec names, and its arguments."""
    qjit, grad, jacobian, for_loop, device = _toolkit(spec["compiler"])
    program = spec["program"]
    if program == "ansatz":
        n, layers = spec["qubits"], spec["layers"]
        method = "adjoint" if spec["compiler"] == "lightning" else spec["method"]
        cost = ansatz(n, layers, device, method, spec.get("observable", "sum"))
        return qjit(grad(cost)), (params_for(n, layers),)
    if program == "optimise":
        n = spec["qubits"]
        cost = ansatz(n, 3, device, "adjoint", spec.get("observable", "sum"))

        def train(params):
            def step(i, p):
                return p - 0.1 * grad(cost)(p)

            return for_loop(0, spec["steps"], 1)(step)(params)

        return qjit(train), (params_for(n, 3),)
    if program == "probs":
        return qjit(jacobian(probs_circuit(device, spec["wires"]))), (params_for(12, 2),)
    if program == "probs_cost":
        n = spec["qubits"]
        cost = probs_cost(device, spec["wires"], n, spec["method"])
        return qjit(grad(cost)), (params_for(n, 2),)
    raise ValueError(f"unknown program {program!r}")


def _steady(f, args, repeat: int) -> float:
    """Median time of one call once compiled (several calls per sample when calls are short)."""
    import jax

    jax.block_until_ready(f(*args))
    t0 = time.perf_counter()
    jax.block_until_ready(f(*args))
    once = max(time.perf_counter() - t0, 1e-7)
    n = max(1, min(10_000, int(0.05 / once)))
    return median_time(lambda: [jax.block_until_ready(f(*args)) for _ in range(n)], repeat) / n


def measure_here(spec) -> dict:
    """Compile time and steady call time of `spec`, in this process (after a warm-up)."""
    import jax

    warm_up = dict(
        program="ansatz",
        compiler=spec["compiler"],
        qubits=2,
        layers=1,
        method="adjoint",
        observable="expvals",
    )
    f, args = build(warm_up)
    jax.block_until_ready(f(*args))
    f, args = build(spec)
    t0 = time.perf_counter()
    jax.block_until_ready(f(*args))
    first = time.perf_counter() - t0
    steady = _steady(f, args, spec.get("repeat", 3))
    return {"compile": max(first - steady, 0.0), "steady": steady}


def measure(spec) -> dict | None:
    """measure_here in a fresh process; None (with the reason printed) when it fails."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    # An empty program cache per process: the warm-up must really compile (starting kvant's
    # worker), and the measured program must not be found compiled.
    env = {**os.environ, "KVANT_CACHE_DIR": tempfile.mkdtemp(prefix="kvant-bench-")}
    try:
        out = subprocess.run(
            [sys.executable, __file__, json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            preexec_fn=limit,
            env=env,
        )
    except subprocess.TimeoutExpired:
        print(f"[bench] {spec}: no result within {TIMEOUT} s", flush=True)
        return None
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["(no output)"])[-1]
        print(f"[bench] {spec}: failed: {tail}", flush=True)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def _installed(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


# ---- the cases --------------------------------------------------------------------------------


#: Compile time is the first call minus a steady call: meaningless once a call takes seconds
#: (its run-to-run spread exceeds the compile time), so no compile row then.
MAX_STEADY_FOR_COMPILE_TIME = 2.0


def _rows(case, measure_text, mine, peers):
    """A steady-time row per peer that gave a result, and a compile-time row."""
    rows = []
    for peer_name, peer in peers or [(None, None)]:
        row = dict(case=case, measure=measure_text, kvant=mine["steady"], unit="s")
        if peer is not None:
            row.update(peer=peer_name, peer_value=peer["steady"])
        rows.append(row)
    slowest = max([mine["steady"]] + [peer["steady"] for _, peer in peers if peer is not None])
    if slowest > MAX_STEADY_FOR_COMPILE_TIME:
        return rows
    compile_row = dict(
        case="gradient compile time",
        measure=f"{case}: {measure_text}",
        kvant=mine["compile"],
        unit="s",
    )
    for peer_name, peer in peers:
        if peer is not None and peer_name.startswith("Catalyst"):
            compile_row.update(peer=peer_name.split(" (")[0], peer_value=peer["compile"])
    rows.append(compile_row)
    return rows


def _catalyst_name():
    import catalyst

    return f"Catalyst {catalyst.__version__}"


class AnsatzGradient:
    """Steady-state time of one compiled gradient of the ansatz's <sum Z>, by the adjoint method
    and by parameter-shift. Catalyst is timed with the observable as one Hamiltonian (n <= 8:
    at 12 qubits and more it takes minutes) and as a sum of expectation values; its faster
    form is reported."""

    name = "ansatz gradient"
    QUBITS = [4, 8, 12, 16, 20]
    LAYERS = [2, 3, 4, 5]

    def _sizes(self, method):
        for n in self.QUBITS:
            for layers in self.LAYERS:
                # parameter-shift runs 2 circuits per parameter: at 16 and 20 qubits only the
                # smallest and largest depth keep the run within the hour
                if method == "parameter-shift" and n >= 16 and layers not in (2, 5):
                    continue
                yield n, layers

    def run(self, repeat: int):
        rows = []
        for method in ("adjoint", "parameter-shift"):
            for n, layers in self._sizes(method):
                spec = dict(program="ansatz", qubits=n, layers=layers, method=method, repeat=repeat)
                mine = measure({**spec, "compiler": "kvant"})
                if mine is None:
                    continue
                peers = []
                if _installed("catalyst"):
                    best = None
                    for form in ("expvals", "sum") if n <= 8 else ("expvals",):
                        got = measure({**spec, "compiler": "catalyst", "observable": form})
                        if got is not None and (best is None or got["steady"] < best[1]["steady"]):
                            best = (form, got)
                    if best is not None:
                        peers.append((f"{_catalyst_name()} ({best[0]})", best[1]))
                if method == "adjoint":
                    got = measure({**spec, "compiler": "lightning"})
                    if got is not None:
                        peers.append(("PennyLane + Lightning adjoint (no qjit)", got))
                rows += _rows(self.name, f"{method}, {n} qubits, {layers} layers", mine, peers)
        return rows


class GradientDescent:
    """100 steps of gradient descent on the 3-layer ansatz inside one compiled program (the
    loop compiled too), adjoint method. Catalyst gets the sum of expectation values (its
    faster form)."""

    name = "100-step optimisation"
    QUBITS = [6, 8, 10]
    STEPS = 100

    def run(self, repeat: int):
        rows = []
        for n in self.QUBITS:
            spec = dict(program="optimise", qubits=n, steps=self.STEPS, repeat=repeat)
            mine = measure({**spec, "compiler": "kvant"})
            if mine is None:
                continue
            peers = []
            if _installed("catalyst"):
                got = measure({**spec, "compiler": "catalyst", "observable": "expvals"})
                if got is not None:
                    peers.append((_catalyst_name(), got))
            rows += _rows(self.name, f"{n} qubits, 3 layers, {self.STEPS} steps", mine, peers)
        return rows


class ProbsJacobian:
    """jacobian of probs over the first m = 1..6 wires of the 12-qubit, 2-layer ansatz
    (parameter-shift: the quantum Jacobian is computed once per evaluation whatever the number
    of outputs). The growth from m = 1 to m = 6 is the figure of merit."""

    name = "jacobian of probs, 12 qubits"
    WIRES = [1, 2, 3, 4, 5, 6]

    def run(self, repeat: int):
        rows, steady = [], {}
        for m in self.WIRES:
            spec = dict(program="probs", wires=m, repeat=repeat)
            mine = measure({**spec, "compiler": "kvant"})
            if mine is None:
                continue
            peers = []
            if _installed("catalyst"):
                got = measure({**spec, "compiler": "catalyst"})
                if got is not None:
                    peers.append((_catalyst_name(), got))
            steady[m] = (mine["steady"], peers[0][1]["steady"] if peers else None)
            rows += _rows(self.name, f"m = {m} wires ({2**m} outputs)", mine, peers)
        if 1 in steady and 6 in steady:
            growth = dict(
                case=self.name,
                measure="time at m = 6 / time at m = 1",
                kvant=steady[6][0] / steady[1][0],
                unit="x",
            )
            if steady[1][1] and steady[6][1]:
                growth.update(peer=_catalyst_name(), peer_value=steady[6][1] / steady[1][1])
            rows.append(growth)
        return rows


class ProbsCostGradient:
    """grad of a scalar of probs over the first m = 1..8 wires of the 16-qubit, 2-layer ansatz,
    adjoint method. One cotangent: kvant's adjoint sweep weights the 2^m outcomes into one
    vector (VJP form), so the time should hardly grow with m. The peers' adjoint methods take
    expectation values only ("The adjoint method can only be used for QNodes which return
    qp.expval", Catalyst 0.15.0), so they are timed with parameter-shift, the exact method
    they offer here."""

    name = "gradient of a probs cost, 16 qubits"
    QUBITS = 16
    WIRES = [1, 2, 4, 6, 8]

    def run(self, repeat: int):
        rows, steady = [], {}
        for m in self.WIRES:
            spec = dict(program="probs_cost", qubits=self.QUBITS, wires=m, repeat=repeat)
            mine = measure({**spec, "compiler": "kvant", "method": "adjoint"})
            if mine is None:
                continue
            peers = []
            shift = {**spec, "method": "parameter-shift"}
            if _installed("catalyst"):
                got = measure({**shift, "compiler": "catalyst"})
                if got is not None:
                    peers.append((f"{_catalyst_name()} (parameter-shift)", got))
            got = measure({**shift, "compiler": "lightning"})
            if got is not None:
                peers.append(("PennyLane + Lightning parameter-shift (no qjit)", got))
            steady[m] = mine["steady"]
            rows += _rows(self.name, f"m = {m} wires ({2**m} outcomes)", mine, peers)
        first, last = self.WIRES[0], self.WIRES[-1]
        if first in steady and last in steady:
            rows.append(
                dict(
                    case=self.name,
                    measure=f"time at m = {last} / time at m = {first}",
                    kvant=steady[last] / steady[first],
                    unit="x",
                )
            )
        return rows


GRADIENT_CASES = [AnsatzGradient(), GradientDescent(), ProbsJacobian(), ProbsCostGradient()]


if __name__ == "__main__":
    print(json.dumps(measure_here(json.loads(sys.argv[1]))))
