"""Benchmark cases of compiled derivatives (issue 5): the gradient of the hardware-efficient
ansatz, 100 steps of gradient descent inside one compiled program, the Jacobian of
probabilities as the number of measured wires grows, and the compile time of each program.

Peers, where installed: Catalyst 0.15.0 (catalyst.qjit of catalyst.grad / jacobian on
lightning.qubit, the same QNodes) and PennyLane + Lightning's adjoint method without qjit.
A compile time is the first call minus one steady-state call (both compilers compile on the
first call)."""

from __future__ import annotations

import time

from timing import median_time


def _steady(f, *args, repeat: int) -> float:
    """Median time of one call of ``f(*args)`` once compiled (several calls per sample when
    calls are short)."""
    import jax

    jax.block_until_ready(f(*args))
    t0 = time.perf_counter()
    jax.block_until_ready(f(*args))
    once = max(time.perf_counter() - t0, 1e-7)
    n = max(1, min(10_000, int(0.05 / once)))
    return median_time(lambda: [jax.block_until_ready(f(*args)) for _ in range(n)], repeat) / n


def _first_and_steady(make, args, repeat: int) -> tuple[float, float]:
    """(compile time, steady call time) of the program ``make()`` builds, compiled afresh."""
    import jax

    f = make()
    t0 = time.perf_counter()
    jax.block_until_ready(f(*args))
    first = time.perf_counter() - t0
    steady = _steady(f, *args, repeat=repeat)
    return max(first - steady, 0.0), steady


def _catalyst():
    try:
        import catalyst
    except ImportError:
        return None
    return catalyst


def _warm_up(catalyst):
    """One small gradient program through each compiler first: the first compilation in a
    process also pays one-off costs (imports, kvant's compiler worker, Catalyst's tools), which
    are not the program's compile time."""
    import kvant

    args = (_params(2, 1),)
    _first_and_steady(lambda: kvant.qjit(kvant.grad(ansatz(2, 1, "kvant.qubit", "adjoint"))), args, 1)
    if catalyst is not None:
        _first_and_steady(lambda: catalyst.qjit(catalyst.grad(ansatz(2, 1, "lightning.qubit", "adjoint", "expvals"))),
                          args, 1)


def ansatz(num_wires: int, layers: int, device_name: str, diff_method: str, observable="sum"):
    """The hardware-efficient ansatz: RY + RZ on every wire per layer, then a CNOT ring.
    Parameters: an array [layers, num_wires, 2]. observable="sum": <sum_i Z_i> as one
    Hamiltonian; "expvals": the sum of the n expectation values <Z_i> (the same function)."""
    import jax.numpy as jnp
    import pennylane as qml

    hamiltonian = qml.Hamiltonian(jnp.ones(num_wires), [qml.PauliZ(i) for i in range(num_wires)])

    def gates(params):
        for layer in range(layers):
            for w in range(num_wires):
                qml.RY(params[layer, w, 0], wires=w)
                qml.RZ(params[layer, w, 1], wires=w)
            for w in range(num_wires):
                qml.CNOT(wires=[w, (w + 1) % num_wires])

    device = qml.device(device_name, wires=num_wires)
    if observable == "sum":
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


def _params(num_wires, layers):
    import numpy as np

    return np.random.default_rng(0).uniform(0, np.pi, size=(layers, num_wires, 2))


class AnsatzGradient:
    """Steady-state time (and compile time) of one compiled gradient of the ansatz's <sum Z>,
    by the adjoint method and by parameter-shift. Catalyst is timed with the observable as one
    Hamiltonian and as a sum of expectation values, and its faster form is reported (it is
    far slower with the Hamiltonian)."""

    name = "ansatz gradient"
    QUBITS = [4, 8, 12, 16, 20]
    LAYERS = [2, 3, 4, 5]

    def _sizes(self, method):
        for n in self.QUBITS:
            for layers in self.LAYERS:
                # parameter-shift runs 2 circuits per parameter: at 16 and 20 qubits only the
                # smallest and largest depth keep the run within minutes
                if method == "parameter-shift" and n >= 16 and layers not in (2, 5):
                    continue
                yield n, layers

    def run(self, repeat: int):
        import jax

        import kvant

        catalyst = _catalyst()
        _warm_up(catalyst)
        rows = []
        for method in ("adjoint", "parameter-shift"):
            for n, layers in self._sizes(method):
                params = _params(n, layers)
                reps = repeat if n < 16 else max(1, repeat // 2)
                compile_time, steady = _first_and_steady(
                    lambda: kvant.qjit(kvant.grad(ansatz(n, layers, "kvant.qubit", method))), (params,), reps)
                measure = f"{method}, {n} qubits, {layers} layers"
                row = dict(case=self.name, measure=measure, kvant=steady, unit="s")
                compile_row = dict(case="gradient compile time", measure=measure, kvant=compile_time, unit="s")
                if catalyst is not None:
                    best = None
                    for form in ("expvals", "sum"):
                        if form == "sum" and n > 8:
                            continue  # minutes per gradient with the Hamiltonian at n >= 12
                        c, s = _first_and_steady(
                            lambda: catalyst.qjit(catalyst.grad(ansatz(n, layers, "lightning.qubit", method, form))),
                            (params,), reps)
                        if best is None or s < best[1]:
                            best = (c, s, form)
                    row.update(peer=f"Catalyst {catalyst.__version__} ({best[2]})", peer_value=best[1])
                    compile_row.update(peer=f"Catalyst {catalyst.__version__}", peer_value=best[0])
                rows += [row, compile_row]
                if method == "adjoint":
                    lightning = jax.grad(ansatz(n, layers, "lightning.qubit", "adjoint"))
                    rows.append(dict(case=self.name, measure=measure, kvant=steady, unit="s",
                                     peer="PennyLane + Lightning adjoint (no qjit)",
                                     peer_value=_steady(lightning, params, repeat=reps)))
        return rows


class GradientDescent:
    """100 steps of gradient descent on the 3-layer ansatz inside one compiled program (the
    loop compiled too), adjoint method."""

    name = "100-step optimisation"
    QUBITS = [6, 8, 10]
    STEPS = 100

    @staticmethod
    def _program(cost, grad, for_loop):
        def train(params):
            def step(i, p):
                return p - 0.1 * grad(cost)(p)

            return for_loop(0, GradientDescent.STEPS, 1)(step)(params)

        return train

    def run(self, repeat: int):
        import kvant

        catalyst = _catalyst()
        _warm_up(catalyst)
        rows = []
        for n in self.QUBITS:
            params = _params(n, 3)
            compile_time, steady = _first_and_steady(
                lambda: kvant.qjit(self._program(ansatz(n, 3, "kvant.qubit", "adjoint"), kvant.grad, kvant.for_loop)),
                (params,), repeat)
            measure = f"{n} qubits, 3 layers, {self.STEPS} steps"
            row = dict(case=self.name, measure=measure, kvant=steady, unit="s")
            compile_row = dict(case="gradient compile time", measure=f"optimisation, {measure}", kvant=compile_time, unit="s")
            if catalyst is not None:
                c, s = _first_and_steady(
                    lambda: catalyst.qjit(self._program(ansatz(n, 3, "lightning.qubit", "adjoint", "expvals"),
                                                        catalyst.grad, catalyst.for_loop)),
                    (params,), repeat)
                row.update(peer=f"Catalyst {catalyst.__version__}", peer_value=s)
                compile_row.update(peer=f"Catalyst {catalyst.__version__}", peer_value=c)
            rows += [row, compile_row]
        return rows


class ProbsJacobian:
    """jacobian of probs over the first m = 1..6 wires of the 12-qubit, 2-layer ansatz
    (parameter-shift: the quantum Jacobian is computed once per evaluation whatever the number
    of outputs). The growth from m = 1 to m = 6 is the figure of merit."""

    name = "jacobian of probs, 12 qubits"
    WIRES = [1, 2, 3, 4, 5, 6]

    @staticmethod
    def _circuit(device_name, m):
        import pennylane as qml

        @qml.qnode(qml.device(device_name, wires=12), diff_method="parameter-shift")
        def circuit(params):
            for layer in range(2):
                for w in range(12):
                    qml.RY(params[layer, w, 0], wires=w)
                    qml.RZ(params[layer, w, 1], wires=w)
                for w in range(12):
                    qml.CNOT(wires=[w, (w + 1) % 12])
            return qml.probs(wires=list(range(m)))

        return circuit

    def run(self, repeat: int):
        import kvant

        catalyst = _catalyst()
        _warm_up(catalyst)
        params = _params(12, 2)
        rows = []
        for m in self.WIRES:
            compile_time, steady = _first_and_steady(
                lambda: kvant.qjit(kvant.jacobian(self._circuit("kvant.qubit", m))), (params,), repeat)
            row = dict(case=self.name, measure=f"m = {m} wires ({2 ** m} outputs)", kvant=steady, unit="s")
            compile_row = dict(case="gradient compile time", measure=f"jacobian of probs, m = {m}", kvant=compile_time, unit="s")
            if catalyst is not None:
                c, s = _first_and_steady(
                    lambda: catalyst.qjit(catalyst.jacobian(self._circuit("lightning.qubit", m))), (params,), repeat)
                row.update(peer=f"Catalyst {catalyst.__version__}", peer_value=s)
                compile_row.update(peer=f"Catalyst {catalyst.__version__}", peer_value=c)
            rows += [row, compile_row]
        first = rows[0]
        last = rows[-2]
        growth = dict(case=self.name, measure="time at m = 6 / time at m = 1", kvant=last["kvant"] / first["kvant"], unit="x")
        if "peer_value" in first:
            growth.update(peer=first["peer"], peer_value=last["peer_value"] / first["peer_value"])
        rows.append(growth)
        return rows


GRADIENT_CASES = [AnsatzGradient(), GradientDescent(), ProbsJacobian()]
