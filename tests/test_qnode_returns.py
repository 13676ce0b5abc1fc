"""QNodes that return classical values (issue 14, item 2): mid-circuit measurement outcomes,
Python and JAX scalars, arrays computed inside the QNode, mixed with measurements in tuples and
dicts, returned as Catalyst's qml.qjit returns them (PennyLane's own QNodes refuse them): as
they are, or once per shot under mcm_method="one-shot". Values are checked against closed forms
and the measurements they must agree with; the structure against Catalyst where it is
installed."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant

jax.config.update("jax_enable_x64", True)


def _numbers(x, arr):
    qml.RX(x, wires=0)
    return {
        "e": qml.expval(qml.PauliZ(0)),
        "s": jnp.sin(arr) * x,
        "n": x,
        "py": (3, 2.5, True),
        "arr": arr,
    }


def test_numbers_and_arrays_are_returned_with_their_dtypes():
    f = qml.qjit(qml.QNode(_numbers, qml.device("kvant.qubit", wires=1)), compiler="kvant")
    x, arr = 0.7, jnp.arange(3.0)
    got = f(x, arr)
    assert set(got) == {"e", "s", "n", "py", "arr"}
    np.testing.assert_allclose(got["e"], np.cos(x), atol=1e-12)
    np.testing.assert_allclose(got["s"], np.sin(np.arange(3.0)) * x, atol=1e-15)
    assert got["n"] == x and got["n"].dtype == np.float64
    three, half, true = got["py"]
    assert (int(three), float(half), bool(true)) == (3, 2.5, True)
    assert (three.dtype, half.dtype, true.dtype) == (np.int64, np.float64, np.bool_)
    np.testing.assert_array_equal(got["arr"], arr)


def test_a_qnode_may_return_classical_values_only():
    @kvant.qjit
    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def f(x, arr):
        qml.RX(x, wires=0)
        return x * 2, jnp.cumsum(arr) ** 2

    two_x, squares = f(1.5, jnp.arange(4.0))
    assert two_x == 3.0
    np.testing.assert_array_equal(squares, np.cumsum(np.arange(4.0)) ** 2)


def test_an_outcome_under_single_branch_statistics_is_the_measured_bit():
    """Catalyst's default without shots: the outcome as a bool scalar; after measuring, the
    wire is in the measured state, so <Z> = 1 - 2 m exactly."""

    def fn(x):
        qml.RX(x, wires=0)
        m = qml.measure(0)
        return qml.expval(qml.PauliZ(0)), m, {"a": m, "b": 2 * m + 1}

    f = qml.qjit(
        qml.QNode(
            fn, qml.device("lightning.qubit", wires=1), mcm_method="single-branch-statistics"
        ),
        compiler="kvant",
    )
    seen = set()
    for _ in range(60):
        ev, m, d = f(np.pi / 2)
        assert m.shape == () and m.dtype == np.bool_
        assert ev == 1.0 - 2.0 * bool(m)
        assert d["a"] == m and d["b"] == 2 * int(m) + 1 and d["b"].dtype == np.int64
        seen.add(bool(m))
    assert seen == {False, True}  # both branches over 60 executions (all one: p = 2^-59)


@pytest.mark.parametrize("mcm_method", ["one-shot", None])
def test_one_shot_returns_classical_values_once_per_shot(mcm_method):
    """Each shot's outcome agrees with the same shot's sample of the measured wire; values
    that do not depend on outcomes are repeated for every shot, as Catalyst returns them."""

    def fn(x):
        qml.RX(x, wires=0)
        m = qml.measure(0)
        return m, qml.sample(wires=[0]), {"twice": 2 * m + 1, "x": x * 2}, qml.expval(m)

    shots = 500
    f = qml.qjit(
        qml.set_shots(
            qml.QNode(fn, qml.device("kvant.qubit", wires=1), mcm_method=mcm_method), shots
        ),
        compiler="kvant",
    )
    m, samples, d, mean = f(1.2)
    assert m.shape == (shots,) and m.dtype == np.bool_
    np.testing.assert_array_equal(m, samples[:, 0].astype(bool))
    np.testing.assert_array_equal(d["twice"], 2 * m.astype(np.int64) + 1)
    assert d["x"].shape == (shots,)
    np.testing.assert_array_equal(d["x"], np.full(shots, 2.4))
    assert mean == np.mean(np.asarray(m, dtype=np.float64))
    assert 0 < np.sum(m) < shots


def test_explicit_one_shot_without_measurements_repeats_classical_values():
    @qml.qjit(compiler="kvant")
    @qml.set_shots(7)
    @qml.qnode(qml.device("kvant.qubit", wires=1), mcm_method="one-shot")
    def f(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliZ(0)), x + 1

    _, value = f(0.5)
    np.testing.assert_array_equal(value, np.full(7, 1.5))


def test_an_outcome_returned_without_shots_or_mcm_method_is_one_branchs_bit():
    """Catalyst's quick start returns qml.measure(0) from a QNode without shots: the bit of the
    branch taken (its default there is single-branch statistics; PennyLane's QNodes cannot
    return outcomes, and the exact deferred statistics have no value for one)."""

    def fn(x):
        qml.RX(x, wires=0)
        return qml.measure(0)

    f = qml.qjit(qml.QNode(fn, qml.device("kvant.qubit", wires=1)), compiler="kvant")
    assert bool(f(np.pi)) is True and bool(f(0.0)) is False
    draws = [bool(f(np.pi / 2)) for _ in range(40)]
    assert 0 < sum(draws) < 40  # a fresh branch per call
    # asked for the exact statistics: refused by name
    deferred = qml.QNode(fn, qml.device("kvant.qubit", wires=1), mcm_method="deferred")
    with pytest.raises(kvant.UnsupportedError, match="single-branch-statistics"):
        qml.qjit(deferred, compiler="kvant")(0.3)


def test_classical_values_are_differentiated_with_the_measurements():
    """A value computed inside the QNode from its arguments is computed by the calling program,
    so classical AD differentiates it: d/dx [<Z> + x^2 sin x]."""

    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliZ(0)), x**2 * jnp.sin(x)

    def cost(x):
        e, c = circuit(x)
        return e + c

    f = kvant.qjit(kvant.grad(cost))
    for x in (0.3, 1.9):
        want = -np.sin(x) + 2 * x * np.sin(x) + x**2 * np.cos(x)
        np.testing.assert_allclose(f(x), want, atol=1e-10)
    g = qml.qjit(qml.grad(cost), compiler="kvant")
    np.testing.assert_allclose(g(0.3), -np.sin(0.3) + 0.6 * np.sin(0.3) + 0.09 * np.cos(0.3))


def test_a_value_returned_twice():
    """One value in two places of the result (the compiler gives each result its own buffer)."""

    def fn(x):
        qml.RX(x, wires=0)
        m = qml.measure(0)
        return m, m, (x, x)

    f = qml.qjit(
        qml.QNode(fn, qml.device("kvant.qubit", wires=1), mcm_method="single-branch-statistics"),
        compiler="kvant",
    )
    a, b, (c, d) = f(np.pi)
    assert bool(a) and bool(b) and c == d == np.pi


def _structure(tree):
    return jax.tree_util.tree_map(
        lambda a: (np.shape(a), np.asarray(a).dtype), tree, is_leaf=lambda x: x is None
    )


def _outcome(x, arr):
    qml.RX(x, 0)
    return qml.measure(0)


def _mixed(x, arr):
    qml.RX(x, 0)
    m = qml.measure(0)
    return qml.expval(qml.PauliZ(1)), m, {"a": m, "b": 2 * m + 1}


def _python_numbers(x, arr):
    qml.RX(x, 0)
    return qml.expval(qml.PauliZ(0)), 3, 2.5, True


def _arrays(x, arr):
    qml.RX(x, 0)
    return {"e": qml.expval(qml.PauliZ(0)), "s": jnp.sin(arr) * x, "n": x}


def _classical(x, arr):
    qml.RX(x, 0)
    return x * 2, arr


def _outcome_and_number(x, arr):
    qml.RX(x, 0)
    m = qml.measure(0)
    return qml.expval(qml.PauliZ(0)), x * 2, m


CASES = {
    "outcome": _outcome,
    "mixed": _mixed,
    "numbers": _python_numbers,
    "arrays": _arrays,
    "classical": _classical,
    "outcome and number": _outcome_and_number,
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize(
    "shots, mcm_method",
    [
        (None, "single-branch-statistics"),
        (5, "one-shot"),
        (5, None),
        (5, "single-branch-statistics"),
    ],
)
def test_the_structure_and_dtypes_are_catalysts(case, shots, mcm_method):
    pytest.importorskip("catalyst")
    fn = CASES[case]

    def build(**kwargs):
        return qml.qjit(
            qml.set_shots(
                qml.QNode(fn, qml.device("lightning.qubit", wires=2), mcm_method=mcm_method), shots
            ),
            **kwargs,
        )

    args = (0.7, jnp.arange(3.0))
    assert _structure(build(compiler="kvant")(*args)) == _structure(build()(*args))
