"""Benchmark cases. Each case measures kvant and, where installed, the same program on a peer."""

from __future__ import annotations

import statistics
import time

from timing import median_time


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

        return lambda x, y: (cost(x, y), kvant.grad(cost, argnums=(0, 1))(x, y))

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
        peer_call = (
            median_time(lambda: [jax.block_until_ready(g(0.7, -0.4)) for _ in range(m)], repeat) / m
        )

        peer = "jax.jit + default.qubit (backprop)"
        rows.append(
            dict(
                case=self.name,
                measure="compile time (first call)",
                kvant=compile_time,
                unit="s",
                peer=peer,
                peer_value=statistics.median(peer_compile),
            )
        )
        rows.append(
            dict(
                case=self.name,
                measure="call time",
                kvant=call_time,
                unit="s",
                peer=peer,
                peer_value=peer_call,
            )
        )
        return rows


def _layered_program(num_wires: int, layers: int, use_for_loop: bool, compiler):
    """RX + RY on every wire then a CNOT ring, per layer: 3 * num_wires gates per layer."""
    import pennylane as qml

    @qml.qnode(qml.device("lightning.qubit", wires=num_wires))
    def circuit(x):
        def layer(i):
            for w in range(num_wires):
                qml.RX(x * (i + 1), wires=w)
                qml.RY(x / (w + 1), wires=w)
            for w in range(num_wires):
                qml.CNOT(wires=[w, (w + 1) % num_wires])

        if use_for_loop:
            compiler.for_loop(0, layers, 1)(layer)()
        else:
            for i in range(layers):
                layer(i)
        return qml.expval(qml.PauliZ(0))

    return circuit


def _small_program(compiler):
    import pennylane as qml

    @qml.qnode(qml.device("lightning.qubit", wires=2))
    def circuit(x):
        qml.Hadamard(wires=0)
        qml.RX(x, wires=1)
        qml.CNOT(wires=[0, 1])
        return qml.expval(qml.PauliZ(1))

    return circuit


class CompileTime:
    """Compile time (trace + lower + compile + link, first call minus a steady call) of forward
    programs, kvant against PennyLane Catalyst when it is installed."""

    name = "compile time"
    PROGRAMS = [
        ("2 qubits, 3 gates", lambda c: _small_program(c)),
        ("4 qubits, 20 layers unrolled (240 gates)", lambda c: _layered_program(4, 20, False, c)),
        ("4 qubits, 20 layers in for_loop", lambda c: _layered_program(4, 20, True, c)),
        ("8 qubits, 20 layers unrolled (480 gates)", lambda c: _layered_program(8, 20, False, c)),
    ]

    @staticmethod
    def _first_call_time(make_compiled, repeat):
        samples = []
        for _ in range(repeat):
            f = make_compiled()
            t0 = time.perf_counter()
            f(0.3)
            first = time.perf_counter() - t0
            t0 = time.perf_counter()
            f(0.3)
            samples.append(first - (time.perf_counter() - t0))
        return statistics.median(samples)

    def run(self, repeat: int):
        import shutil

        import kvant
        from kvant.compiler import driver

        try:
            import catalyst
        except ImportError:
            catalyst = None
        kvant.qjit(lambda x: x + 1.0)(1.0)  # start the compiler worker outside the timings

        def kvant_compiled(program):
            def make():
                shutil.rmtree(driver.cache_dir(), ignore_errors=True)  # every sample compiles
                return kvant.qjit(program(kvant))

            return make

        rows = []
        for label, program in self.PROGRAMS:
            kvant_time = self._first_call_time(kvant_compiled(program), repeat)
            row = dict(case=self.name, measure=label, kvant=kvant_time, unit="s")
            if catalyst is not None:
                row["peer"] = f"Catalyst {catalyst.__version__}"
                row["peer_value"] = self._first_call_time(
                    lambda: catalyst.qjit(program(catalyst)), repeat
                )
            rows.append(row)
        return rows


class CallOverhead:
    """Steady-state time of one call of a compiled 1-qubit program (RX, expval): the cost of
    crossing from Python into compiled code and back."""

    name = "call overhead"

    def run(self, repeat: int):
        import pennylane as qml

        import kvant

        try:
            import catalyst
        except ImportError:
            catalyst = None

        def program():
            @qml.qnode(qml.device("lightning.qubit", wires=1))
            def circuit(x):
                qml.RX(x, wires=0)
                return qml.expval(qml.PauliZ(0))

            return circuit

        def per_call(f):
            f(0.3)
            n = calls_per_sample(lambda: f(0.3))
            return median_time(lambda: [f(0.3) for _ in range(n)], repeat) / n

        row = dict(
            case=self.name,
            measure="1-qubit program, one call",
            kvant=per_call(kvant.qjit(program())),
            unit="s",
        )
        if catalyst is not None:
            row["peer"] = f"Catalyst {catalyst.__version__}"
            row["peer_value"] = per_call(catalyst.qjit(program()))
        return [row]


from gradient_cases import GRADIENT_CASES  # noqa: E402

CASES = [QuickstartProgram(), CompileTime(), CallOverhead(), *GRADIENT_CASES]
