"""qjit(autograph=True): Python control flow on traced values becomes compiled control flow
(PennyLane's AutoGraph, on kvant's cond / for_loop / while_loop). Every value is compared with
the same Python function run by default.qubit + JAX, where Python executes the control flow on
concrete values."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant

ATOL = 1e-10


def both(make, wires=3, autograph_via_pennylane=False):
    """(compiled with kvant and autograph, the reference) for a QNode-building ``make(dev)``."""
    compiled_qnode = make(qml.device("kvant.qubit", wires=wires))
    reference = make(qml.device("default.qubit", wires=wires))
    if autograph_via_pennylane:
        compiled = qml.qjit(compiled_qnode, compiler="kvant", autograph=True)
    else:
        compiled = kvant.qjit(compiled_qnode, autograph=True)
    return compiled, reference


def test_for_over_a_traced_range_and_if_on_a_traced_value_in_a_qnode():
    def make(dev):
        @qml.qnode(dev)
        def circuit(x, n):
            for i in range(n):
                qml.RX(x * (i + 1), wires=i % 3)
                qml.CNOT(wires=[i % 3, (i + 1) % 3])
            if x > 0.5:
                qml.Hadamard(0)
                qml.RY(x, wires=2)
            elif x > 0.0:
                qml.PauliX(1)
            else:
                qml.RZ(x, wires=1)
                qml.Hadamard(1)
            return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1)), qml.probs(wires=[1, 2])

        return circuit

    compiled, reference = both(make)
    for x, n in [(0.7, 3), (0.3, 5), (-0.4, 0), (1.2, 1), (0.05, 4)]:
        got = compiled(x, n)
        want = reference(x, n)
        for g, w in zip(got, want):
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), atol=ATOL)


def test_one_program_serves_every_trip_count_and_branch():
    """The loop bound and the branch are run-time values: one compilation for all of them."""

    def make(dev):
        @qml.qnode(dev)
        def circuit(x, n):
            for _ in range(n):
                qml.RY(x, wires=0)
            if n > 2:
                qml.RX(x, wires=1)
            return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1))

        return circuit

    compiled, reference = both(make)
    for n in range(5):
        np.testing.assert_allclose(compiled(0.4, n), reference(0.4, n), atol=ATOL)
    assert len(compiled._programs) == 1


def test_for_over_an_array_and_enumerate():
    def make(dev):
        @qml.qnode(dev)
        def circuit(weights):
            for w in weights:
                qml.RY(w, wires=0)
                qml.CNOT(wires=[0, 1])
            for i, w in enumerate(weights):
                qml.RX(w * i, wires=2)
            return qml.expval(qml.PauliZ(0)), qml.expval(qml.PauliY(2))

        return circuit

    compiled, reference = both(make)
    weights = jnp.array([0.3, -0.8, 1.1, 0.25])
    for g, w in zip(compiled(weights), reference(weights)):
        np.testing.assert_allclose(g, w, atol=ATOL)


def test_while_on_a_traced_condition_and_loop_carried_classical_values():
    def make(dev):
        @qml.qnode(dev)
        def circuit(x):
            angle = x
            steps = 0
            while angle < 2.0:
                qml.RX(angle, wires=0)
                angle = angle * 1.5 + 0.1
                steps += 1
            qml.RY(0.1 * steps, wires=1)
            return qml.expval(qml.PauliZ(0)), qml.expval(qml.PauliZ(1))

        return circuit

    compiled, reference = both(make)
    for x in (0.2, 0.9, 2.5):
        for g, w in zip(compiled(x), reference(x)):
            np.testing.assert_allclose(g, w, atol=ATOL)


def test_classical_code_and_called_functions_are_converted():
    """Functions the converted one calls are converted when called; classical loops and
    conditionals work outside QNodes too."""

    def clip_and_sum(values, limit):
        total = 0.0
        for v in values:
            if v > limit:
                total = total + limit
            else:
                total = total + v
        return total

    def make(dev):
        @qml.qnode(dev)
        def circuit(a):
            qml.RX(a, wires=0)
            return qml.expval(qml.PauliZ(0))

        def program(values, limit):
            s = clip_and_sum(values, limit)
            k = 0
            while k < 3:
                s = s * 0.9
                k += 1
            return circuit(s) + s

        return program

    compiled = kvant.qjit(make(qml.device("kvant.qubit", wires=1)), autograph=True)
    reference = make(qml.device("default.qubit", wires=1))
    values = jnp.array([0.2, 1.7, -0.3, 0.9])
    for limit in (0.5, 1.0, 2.0):
        np.testing.assert_allclose(compiled(values, limit), reference(values, limit), atol=ATOL)


def test_gradients_through_converted_control_flow():
    def make(dev):
        @qml.qnode(dev, diff_method="adjoint" if dev.name == "kvant.qubit" else "backprop")
        def circuit(x):
            for i in range(3):
                qml.RX(x * (i + 1), wires=i)
            if x > 0.3:
                qml.CNOT(wires=[0, 1])
            return qml.expval(qml.PauliZ(1) @ qml.PauliZ(2))

        return circuit

    device_qnode = make(qml.device("kvant.qubit", wires=3))
    reference = make(qml.device("default.qubit", wires=3))

    @kvant.qjit(autograph=True)
    def gradient(x):
        return kvant.grad(device_qnode)(x)

    for x in (0.1, 0.7):
        want = jax.grad(reference)(x)
        np.testing.assert_allclose(gradient(x), want, atol=1e-9)


def test_through_pennylanes_qjit():
    def make(dev):
        @qml.qnode(dev)
        def circuit(x, n):
            for _ in range(n):
                qml.RZ(x, wires=0)
                qml.RX(x, wires=0)
            return qml.expval(qml.PauliY(0))

        return circuit

    compiled, reference = both(make, wires=1, autograph_via_pennylane=True)
    for n in (0, 2, 3):
        np.testing.assert_allclose(compiled(0.6, n), reference(0.6, n), atol=ATOL)


@pytest.mark.parametrize("seed", range(6))
def test_random_programs(seed):
    """Random nests of for/if over traced values, against default.qubit with the same values."""
    rng = np.random.default_rng(seed)
    gates = [qml.RX, qml.RY, qml.RZ]
    picks = rng.integers(0, 3, size=6)
    wires = rng.integers(0, 3, size=6)
    threshold = float(rng.uniform(-0.5, 0.5))

    def make(dev):
        @qml.qnode(dev)
        def circuit(x, n):
            for i in range(n):
                gates[picks[0]](x + i, wires=int(wires[0]))
                if x * i > threshold:
                    gates[picks[1]](x, wires=int(wires[1]))
                    qml.CNOT(wires=[int(wires[2]), (int(wires[2]) + 1) % 3])
                else:
                    gates[picks[2]](-x, wires=int(wires[3]))
            j = 0
            while j < n:
                gates[picks[3]](0.3 * j, wires=int(wires[4]))
                j += 2
            return qml.expval(qml.PauliZ(int(wires[5]))), qml.probs(wires=[0, 1])

        return circuit

    compiled, reference = both(make)
    for _ in range(3):
        x, n = float(rng.uniform(-1, 1)), int(rng.integers(0, 5))
        for g, w in zip(compiled(x, n), reference(x, n)):
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), atol=ATOL)


def test_a_variable_defined_in_only_one_branch_is_named():
    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(x):
        if x > 0:
            y = x
        qml.RX(y, wires=0)  # y is undefined when x <= 0: the error under test
        return qml.expval(qml.PauliZ(0))

    with pytest.raises(Exception, match="'y'"):
        kvant.qjit(circuit, autograph=True)(0.3)


@pytest.mark.parametrize("transform", ["ctrl", "adjoint"])
def test_control_flow_inside_controlled_and_adjoint_functions(transform):
    """A function with an ``if`` on a traced value given to qml.ctrl / qml.adjoint (as Shor's
    adder in PennyLane's demo): AutoGraph converts the function, not kvant's wrapper of it."""

    def body(a, wires):
        if a > 0:
            qml.PhaseShift(a, wires=wires[0])
            qml.RX(a, wires=wires[0])
        else:
            qml.RY(a, wires=wires[0])

    def circuit(a):
        qml.Hadamard(0)
        qml.Hadamard(1)
        if transform == "ctrl":
            qml.ctrl(body, control=0)(a, [1])
        else:
            qml.adjoint(body)(a, [1])
        return qml.expval(qml.PauliX(0)), qml.expval(qml.PauliY(1))

    compiled = qml.qjit(
        qml.QNode(circuit, qml.device("kvant.qubit", wires=2)), compiler="kvant", autograph=True
    )
    reference = qml.QNode(circuit, qml.device("default.qubit", wires=2))
    for a in (0.4, -0.7):
        for g, w in zip(compiled(a), reference(a)):
            np.testing.assert_allclose(g, w, atol=ATOL)


def test_a_loop_that_cannot_be_compiled_runs_as_a_python_loop_with_a_warning():
    """As Catalyst's AutoGraph: a loop over a range known while tracing whose body cannot be a
    compiled loop (a Python list grows in it, or is indexed by the loop variable) is unrolled,
    with a warning; the gates traced by the failed attempt leave nothing behind."""
    angles = [0.1, 0.2, 0.3]

    def make(dev):
        @qml.qnode(dev)
        def circuit(x):
            for i in range(3):
                qml.RY(x, wires=i)
                qml.RX(angles[i], wires=i)  # a Python list indexed by the loop variable
                qml.CNOT(wires=[i, (i + 1) % 3])
            observables = []
            for i in range(3):
                observables.append(qml.expval(qml.PauliZ(i)))  # a Python list grows
            return observables

        return circuit

    compiled, reference = both(make)
    with pytest.warns(kvant.tracing.autograph.AutoGraphFallbackWarning, match="3 iterations"):
        got = compiled(0.4)
    np.testing.assert_allclose(got, reference(0.4), atol=ATOL)

    circuit = make(qml.device("kvant.qubit", wires=3))

    @kvant.qjit(autograph=True)
    def compiled_grad(x):
        return kvant.grad(lambda y: circuit(y)[2])(x)

    reference_grad = jax.grad(lambda x: reference(x)[2])
    with pytest.warns(kvant.tracing.autograph.AutoGraphFallbackWarning):
        np.testing.assert_allclose(compiled_grad(0.4), reference_grad(0.4), atol=ATOL)


def test_a_loop_over_a_traced_range_that_cannot_be_compiled_is_still_an_error():
    @kvant.qjit(autograph=True)
    def f(x, n):
        values = []
        for i in range(n):
            values.append(x * i)
        return x

    with pytest.raises(Exception, match="initialized with type <class 'list'>"):
        f(1.0, 3)


def test_a_loop_over_items_that_are_not_an_array_is_unrolled():
    """Catalyst's AutoGraph guide: a list that is not an array (strings here) is iterated by
    Python, with a warning."""

    def make(dev):
        @qml.qnode(dev)
        def circuit(x):
            for name in ["0", "1", "2"]:
                qml.RY(int(name) * x, wires=0)
            return qml.expval(qml.PauliZ(0))

        return circuit

    compiled, reference = both(make, wires=1)
    with pytest.warns(kvant.tracing.autograph.AutoGraphFallbackWarning, match="not an array"):
        np.testing.assert_allclose(compiled(0.4), reference(0.4), atol=ATOL)


@pytest.mark.parametrize("x", [0.5, 0.05, 3.0])
def test_break_on_a_traced_value_becomes_a_compiled_while_loop(x):
    """``break`` decided at run time: the loop stops where Python's would (it was a bare
    AssertionError from AutoGraph)."""

    def grow(x):
        for i in range(10):
            x = x + x**2 + 0.01 * i
            if x > 5:
                break
        return x

    compiled = kvant.qjit(grow, autograph=True)
    np.testing.assert_allclose(compiled(x), grow(x), rtol=1e-12)

    def make(dev):
        @qml.qnode(dev)
        def circuit(a):
            for w in range(3):
                qml.RX(a * (w + 1), wires=w)
                if a * (w + 1) > 1.0:
                    break
            return [qml.expval(qml.PauliZ(w)) for w in range(3)]

        return circuit

    qnode, reference = both(make)
    np.testing.assert_allclose(qnode(x), reference(x), atol=ATOL)


def test_a_refusal_under_autograph_names_the_users_line():
    """Found by the fuzzer: diagnostics named the line of AutoGraph's generated file
    (/tmp/__autograph_generated_file....py) instead of the user's."""

    @qml.qnode(qml.device("kvant.qubit", wires=1), mcm_method="single-branch-statistics")
    def circuit(x, n):
        for _ in range(n):
            qml.RX(x, wires=0)
        qml.measure(0)
        return qml.expval(qml.PauliZ(0))

    def cost(x, n):
        return circuit(x, n) * 2.0

    def g(x, n):
        return qml.grad(cost, argnums=0)(x, n)

    with pytest.raises(kvant.CompileError) as info:
        qml.qjit(g, compiler="kvant", autograph=True)(0.3, 2)
    message = str(info.value)
    assert "not differentiable" in message
    assert "__autograph_generated" not in message, message
    assert "test_autograph.py:" in message, message
