"""Forward mode (issue 15, part 3): the cost of ``kvant.jvp`` of a function of 1,000 parameters
in one tangent direction, against one evaluation of the function, in one run:

    python benchmarks/jvp_forward_mode.py [--repeat N] [--json PATH]

Cases (all compiled by kvant.qjit, the tangent a random direction):

- ``classical``: f(x) = tanh(W x) * sin(x) + cumsum(x)^2, x in R^1000, W a 1000x1000 argument
  that is not differentiated; 1,000 outputs;
- ``prelude``: 1,000 parameters feed a classical prelude (8 angles = W x) in front of a 4-qubit
  circuit (adjoint method) that returns its 16 probabilities;
- ``many-gates``: 1,000 parameters feed 1,000 gates directly (RY/RZ layers and CNOT rings on 4
  wires, adjoint method), returning <Z> on each wire.

For each: the median call time of the function (forward), of jvp (forward mode, values and
tangent), and of what jvp cost before forward mode: the Jacobian (reverse mode, one sweep per
output element) contracted with the tangent. Ratios are to the forward time of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import machine, median_time

N = 1000


def cases():
    import jax
    import jax.numpy as jnp
    import numpy as np
    import pennylane as qml

    jax.config.update("jax_enable_x64", True)  # kvant's programs compute in float64
    rng = np.random.default_rng(7)
    x = jnp.asarray(rng.normal(size=N) * 0.1)
    t = jnp.asarray(rng.normal(size=N))

    def classical(x, w):
        return jnp.tanh(w @ x) * jnp.sin(x) + jnp.cumsum(x) ** 2

    w_classical = jnp.asarray(rng.normal(size=(N, N)) / np.sqrt(N))

    dev4 = qml.device("kvant.qubit", wires=4)

    @qml.qnode(dev4, diff_method="adjoint")
    def small_circuit(angles):
        for w in range(4):
            qml.RY(angles[w], wires=w)
        for w in range(4):
            qml.CNOT(wires=[w, (w + 1) % 4])
        for w in range(4):
            qml.RX(angles[4 + w], wires=w)
        return qml.probs(wires=range(4))

    def prelude(x, w):
        return small_circuit(jnp.sin(w @ x))

    w_prelude = jnp.asarray(rng.normal(size=(8, N)) / np.sqrt(N))

    layers = N // 8

    @qml.qnode(dev4, diff_method="adjoint")
    def many_gates(x, w):
        params = x.reshape(layers, 4, 2)
        for layer in range(layers):
            for wire in range(4):
                qml.RY(params[layer, wire, 0], wires=wire)
                qml.RZ(params[layer, wire, 1], wires=wire)
            for wire in range(4):
                qml.CNOT(wires=[wire, (wire + 1) % 4])
        return [qml.expval(qml.PauliZ(wire)) for wire in range(4)]

    return {
        "classical": (classical, x, w_classical, t),
        "prelude": (prelude, x, w_prelude, t),
        "many-gates": (many_gates, x, jnp.zeros(()), t),
    }


def measure(name, fn, x, w, t, repeat):
    import jax.numpy as jnp

    import kvant

    def flat(*args):
        out = fn(*args)
        return jnp.stack(out) if isinstance(out, (list, tuple)) else out

    forward = kvant.qjit(flat)
    jvp = kvant.qjit(lambda x, w, t: kvant.jvp(flat, [x, w], [t], argnums=0))
    jacobian = kvant.qjit(lambda x, w, t: kvant.jacobian(flat, argnums=0)(x, w) @ t)
    # compile and check against each other (tests/test_forward_mode.py checks against JAX)
    y, dy = jvp(x, w, t)
    reference = jacobian(x, w, t)
    assert jnp.allclose(forward(x, w), y, atol=1e-10)
    assert jnp.allclose(dy, reference, atol=1e-8), (name, dy, reference)
    # Interleaved, one call of each per round, so that both see the same load of the machine
    # (other processes share its cores): medians of the per-round times.
    forward_times, jvp_times = [], []
    for _ in range(repeat):
        forward_times.append(median_time(lambda: forward(x, w).block_until_ready(), 1))
        jvp_times.append(median_time(lambda: jvp(x, w, t)[1].block_until_ready(), 1))
    t_forward, t_jvp = statistics.median(forward_times), statistics.median(jvp_times)
    t_jac = median_time(
        lambda: jacobian(x, w, t).block_until_ready(), max(1, repeat // 5), warmup=True
    )
    return {
        "case": name,
        "forward_s": t_forward,
        "jvp_s": t_jvp,
        "jacobian_times_tangent_s": t_jac,
        "jvp_over_forward": t_jvp / t_forward,
        "jacobian_over_forward": t_jac / t_forward,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    for name, (fn, x, w, t) in cases().items():
        rows.append(measure(name, fn, x, w, t, args.repeat))
        r = rows[-1]
        jac_ms = r["jacobian_times_tangent_s"] * 1e3
        print(
            f"{name:11s} forward {r['forward_s'] * 1e3:9.3f} ms  jvp {r['jvp_s'] * 1e3:9.3f} ms "
            f"(x{r['jvp_over_forward']:.2f})  Jacobian.t {jac_ms:10.3f} ms "
            f"(x{r['jacobian_over_forward']:.1f})",
            flush=True,
        )
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    report = {"machine": machine(), "load": load, "repeat": args.repeat, "rows": rows}
    print(f"# {report['machine']}; {load}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
