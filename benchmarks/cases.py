"""Benchmark cases. Each case measures kvant and, where installed, the same program on a peer."""

from __future__ import annotations

import statistics
import time


def median_time(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def calls_per_sample(fn, target=0.05) -> int:
    """How many calls make one timing sample last ~target seconds (to time µs-scale calls)."""
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    return max(1, min(100_000, int(target / once)))


class QuickstartProgram:
    """The README's quick-start program: compile time (trace + lower + compile + link, empty
    cache) and steady-state call time, against PennyLane + JAX (jax.jit of the same program on
    default.qubit) when importable."""

    name = "quickstart"

    @staticmethod
    def _program(device_name):
        import jax.numpy as jnp
        import pennylane as qml

        import kvant

        @qml.qnode(qml.device(device_name, wires=2))
        def circuit(x, y):
            qml.RX(x, wires=0)
            qml.RY(y, wires=1)
            qml.CNOT(wires=[0, 1])
            return qml.expval(qml.PauliZ(1))

        def cost(x, y):
            return jnp.sin(circuit(x, y)) ** 2

        return lambda x, y: (cost(x, y), kvant.grad(cost, argnums=(0, 1), method="fd")(x, y))

    def run(self, repeat: int):
        import shutil

        import jax

        import kvant
        from kvant.compiler import driver

        rows = []
        compile_samples = []
        for _ in range(repeat):
            f = kvant.qjit(self._program("kvant.qubit"))
            t0 = time.perf_counter()
            f(0.7, -0.4)
            compile_samples.append(time.perf_counter() - t0)
            # every sample compiles: empty the disk cache the previous sample filled
            shutil.rmtree(driver.cache_dir(), ignore_errors=True)
        compile_time = statistics.median(compile_samples)

        f = kvant.qjit(self._program("kvant.qubit"))
        f(0.7, -0.4)
        n = calls_per_sample(lambda: f(0.7, -0.4))
        call_time = median_time(lambda: [f(0.7, -0.4) for _ in range(n)], repeat) / n

        # Peer: the same cost and gradient with JAX's own jit on default.qubit (backprop).
        import jax.numpy as jnp
        import pennylane as qml

        @qml.qnode(qml.device("default.qubit", wires=2))
        def circuit(x, y):
            qml.RX(x, wires=0)
            qml.RY(y, wires=1)
            qml.CNOT(wires=[0, 1])
            return qml.expval(qml.PauliZ(1))

        def cost(x, y):
            return jnp.sin(circuit(x, y)) ** 2

        def make_peer():
            return jax.jit(lambda x, y: (cost(x, y), jax.grad(cost, argnums=(0, 1))(x, y)))

        peer_compile = []
        for _ in range(repeat):
            g = make_peer()
            t0 = time.perf_counter()
            jax.block_until_ready(g(0.7, -0.4))
            peer_compile.append(time.perf_counter() - t0)
        g = make_peer()
        jax.block_until_ready(g(0.7, -0.4))
        m = calls_per_sample(lambda: jax.block_until_ready(g(0.7, -0.4)))
        peer_call = median_time(lambda: [jax.block_until_ready(g(0.7, -0.4)) for _ in range(m)], repeat) / m

        peer = "jax.jit + default.qubit (backprop)"
        rows.append(dict(case=self.name, measure="compile time (first call)", kvant=compile_time,
                         unit="s", peer=peer, peer_value=statistics.median(peer_compile)))
        rows.append(dict(case=self.name, measure="call time", kvant=call_time, unit="s",
                         peer=peer, peer_value=peer_call))
        return rows


CASES = [QuickstartProgram()]
