"""Statistics of mid-circuit measurement values (qml.expval(m), qml.var(2 * m0 + m1),
qml.probs(op=[m0, m1]), qml.sample(m), qml.counts(m0 ^ m1)) under each mcm_method, against
PennyLane's default.qubit: exact values without shots (deferred), estimates within a few standard
errors with shots, structure and dtypes as default.qubit returns them (issue 14, item 1)."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant

jax.config.update("jax_enable_x64", True)

SHOTS = 4000


def _random_circuit(rng, postselect=False):
    """A random circuit on 3 wires with 3 mid-circuit measurements (one reset, one optionally
    postselected, the outcomes deciding later gates); returns ``body(x) -> (m0, m1, m2)``."""
    gates = [(rng.choice(["RX", "RY"]), int(rng.integers(3))) for _ in range(3)]
    wires = [int(w) for w in rng.integers(3, size=3)]
    reset = int(rng.integers(3))
    post = int(rng.integers(3)) if postselect else None
    post_value = int(rng.integers(2))
    scale = float(rng.uniform(0.3, 1.5))

    def body(x):
        for k, (name, w) in enumerate(gates):
            getattr(qml, name)(x * (k + 1) * scale, wires=w)
        qml.CNOT(wires=[0, 1])
        ms = []
        for k, w in enumerate(wires):
            ms.append(
                qml.measure(w, reset=(k == reset), postselect=post_value if k == post else None)
            )
            qml.cond(ms[-1], qml.RY)(x + 0.3 * k, wires=(w + 1) % 3)
            qml.Hadamard(wires=(w + 2) % 3)
        return ms

    return body


def _values(m0, m1, m2):
    """Measurement values and arithmetic on them, as PennyLane's MeasurementValue supports."""
    return {
        "m": m0,
        "not": ~m1,
        "affine": 2 * m0 + m1,
        "float": 3.5 * m2 - m0,
        "xor": m0 ^ m2,
        "and": m1 & ~m2,
        "eq": m0 == m1,
        # outcomes added as the integers 0 and 1 (JAX alone adds booleans as a logical or)
        "sum": m0 + m1,
        "sum3": m0 + m1 + m2,
        "diff": m0 - m2,
        "parity": (m1 + m2) % 2,
        # &, |, ^, ~ of integers computed from outcomes are logical, as PennyLane's
        "any": (m0 + m1 + m2) & 1,
        "either": (m0 + m2) | 0,
        "one_of": (m1 + m2) ^ True,
        "none": ~(m0 + m1),
    }


def _analytic(body):
    def fn(x):
        m0, m1, m2 = body(x)
        v = _values(m0, m1, m2)
        return (
            *(qml.expval(v[k]) for k in v),
            *(qml.var(v[k]) for k in v),
            qml.probs(op=m1),
            qml.probs(op=v["not"]),
            qml.probs(op=[m0, m2]),
            qml.probs(op=[m2, m1, m0]),
        )

    return fn


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("postselect", [False, True])
def test_exact_statistics_of_random_circuits_match_default_qubit(seed, postselect):
    body = _random_circuit(np.random.default_rng(seed), postselect)
    fn = _analytic(body)
    ours = qml.qjit(qml.QNode(fn, qml.device("lightning.qubit", wires=3)), compiler="kvant")
    ref = qml.QNode(fn, qml.device("default.qubit"), mcm_method="deferred")
    for x in (0.4, 1.7):
        want = ref(x)
        if postselect and not np.isfinite(np.asarray(want[0])):
            continue  # the postselected outcome has probability 0 here
        got = ours(x)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert np.shape(g) == np.shape(w)
            assert np.asarray(g).dtype == np.float64
            np.testing.assert_allclose(g, w, atol=1e-10)


def test_tree_traversal_and_the_default_without_shots_are_the_exact_statistics():
    body = _random_circuit(np.random.default_rng(5))
    fn = _analytic(body)
    ref = qml.QNode(fn, qml.device("default.qubit"), mcm_method="deferred")(0.9)
    for method in ("tree-traversal", None):
        got = qml.qjit(
            qml.QNode(fn, qml.device("kvant.qubit", wires=3), mcm_method=method),
            compiler="kvant",
        )(0.9)
        for g, w in zip(got, ref):
            np.testing.assert_allclose(g, w, atol=1e-10)


def _close(estimate, value, variance, shots=SHOTS, sigmas=5.0):
    bound = sigmas * np.sqrt(np.maximum(variance, 1e-4) / shots)
    assert np.all(np.abs(np.asarray(estimate) - value) <= bound), (estimate, value, bound)


def _sampled(body):
    def fn(x):
        m0, m1, m2 = body(x)
        v = _values(m0, m1, m2)
        return (
            qml.expval(v["affine"]),
            qml.var(v["float"]),
            qml.probs(op=[m0, m2]),
            qml.sample(m1),
            qml.sample(v["float"]),
            qml.sample([m0, m1]),
            qml.counts(v["affine"]),
            qml.counts([m2, m0]),
            qml.expval(v["xor"]),
        )

    return fn


def _exact_of_sampled(body):
    def fn(x):
        m0, m1, m2 = body(x)
        v = _values(m0, m1, m2)
        return (
            qml.expval(v["affine"]),
            qml.var(v["affine"]),
            qml.var(v["float"]),
            qml.probs(op=[m0, m2]),
            qml.probs(op=m1),
            qml.expval(v["float"]),
            qml.var(v["float"]),
            qml.probs(op=[m0, m1]),
            qml.expval(v["xor"]),
            qml.var(v["xor"]),
        )

    return fn


# random circuits whose statistics are not degenerate (with postselection: of nonzero
# probability), the last three postselecting
SAMPLED_SEEDS = [(100, False), (106, False), (112, False), (115, True), (119, True), (125, True)]


@pytest.mark.parametrize("method", ["one-shot", "deferred", None])
@pytest.mark.parametrize("seed, postselect", SAMPLED_SEEDS)
def test_sampled_statistics_estimate_the_exact_ones(method, seed, postselect):
    body = _random_circuit(np.random.default_rng(seed), postselect=postselect)
    fn = _sampled(body)
    # every shot postselected, so samples have a fixed length (one-shot's 'hw-like' keeps a
    # number of shots known only at run time: tests/test_mcm_methods.py)
    kwargs = {"postselect_mode": "fill-shots"}
    ours = qml.qjit(
        qml.set_shots(
            qml.QNode(fn, qml.device("kvant.qubit", wires=3), mcm_method=method, **kwargs),
            SHOTS,
        ),
        compiler="kvant",
    )
    exact = qml.QNode(_exact_of_sampled(body), qml.device("default.qubit"), mcm_method="deferred")
    x = 1.3
    e_aff, v_aff, v_flt, p02, p1, e_flt, _, p01, e_xor, v_xor = exact(x)
    affine, var_float, probs02, s1, s_float, s01, c_aff, c20, xor = ours(x)
    _close(affine, e_aff, v_aff)
    assert abs(var_float - v_flt) < 0.2 * max(v_flt, 0.1) + 0.05
    _close(probs02, p02, p02 * (1 - p02))
    _close(xor, e_xor, v_xor)
    # samples: shapes and dtypes as default.qubit returns them, means as the exact statistics
    assert s1.shape == (SHOTS,) and s1.dtype == np.int64
    _close(np.mean(s1), p1[1], p1[1] * (1 - p1[1]))
    assert s_float.shape == (SHOTS,) and s_float.dtype == np.float64
    _close(np.mean(s_float), e_flt, v_flt)
    assert s01.shape == (SHOTS, 2) and s01.dtype == np.int64
    joint = np.bincount(s01[:, 0] * 2 + s01[:, 1], minlength=4) / SHOTS
    _close(joint, p01, p01 * (1 - p01))
    # counts: every value the op takes is a key (float keys; bit strings for a list)
    assert sorted(c_aff) == [0.0, 1.0, 2.0, 3.0] and sum(c_aff.values()) == SHOTS
    mean = sum(k * c for k, c in c_aff.items()) / SHOTS
    _close(mean, e_aff, v_aff)
    assert sorted(c20) == ["00", "01", "10", "11"] and sum(c20.values()) == SHOTS
    # c20 keys are (m2, m0); p02 is indexed (m0, m2)
    for key, count in c20.items():
        p = p02[int(key[1]) * 2 + int(key[0])]
        _close(count / SHOTS, p, p * (1 - p))


def test_the_structure_and_dtypes_are_default_qubits():
    """Against default.qubit with shots and the same mcm_method: the same pytree, shapes and
    dtypes (counts: default.qubit lists only the outcomes it saw, kvant every possible one)."""
    body = _random_circuit(np.random.default_rng(7))
    fn = _sampled(body)
    for method in ("one-shot", "deferred"):
        ours = qml.qjit(
            qml.set_shots(qml.QNode(fn, qml.device("kvant.qubit", wires=3), mcm_method=method), 50),
            compiler="kvant",
        )(0.8)
        ref = qml.set_shots(qml.QNode(fn, qml.device("default.qubit"), mcm_method=method), 50)(
            jnp.asarray(0.8)
        )
        assert len(ours) == len(ref)
        for g, w in zip(ours, ref):
            if isinstance(w, dict):
                assert isinstance(g, dict)
                assert set(w) <= set(g)  # kvant lists every possible outcome, counted or not
                assert all(np.asarray(g[k]).dtype == np.int64 for k in g)
                assert sum(int(c) for c in g.values()) == 50
                continue
            assert np.shape(g) == np.shape(w), (method, g, w)
            assert np.asarray(g).dtype == np.asarray(w).dtype, (method, g, w)


def test_single_branch_statistics_are_those_of_the_sampled_branch():
    """One branch per execution: expval(m) is the outcome itself, var 0, probs and counts
    one-hot; sample(m) is the outcome itself, as Catalyst returns it. Over executions the
    branches are drawn with their probabilities."""

    def fn(x):
        qml.RX(x, wires=0)
        m0 = qml.measure(0)
        qml.cond(m0, qml.RY)(x, wires=1)
        m1 = qml.measure(1)
        return (
            qml.expval(m0),
            qml.var(2 * m0 + m1),
            qml.probs(op=[m0, m1]),
            qml.counts(m0 ^ m1),
            qml.sample(m0),
            qml.sample(2 * m0 + m1),
            qml.expval(2 * m0 + m1),
        )

    f = qml.qjit(
        qml.set_shots(
            qml.QNode(
                fn, qml.device("lightning.qubit", wires=2), mcm_method="single-branch-statistics"
            ),
            10,
        ),
        compiler="kvant",
    )
    x = 1.2
    seen = []
    for _ in range(300):
        e0, var, probs, counts, s0, s_aff, e_aff = f(x)
        b0 = bool(s0)
        assert s0.shape == () and s0.dtype == np.bool_
        assert s_aff.shape == () and s_aff.dtype == np.int64
        b1 = int(s_aff) - 2 * b0
        assert b1 in (0, 1)
        assert e0 == float(b0) and var == 0.0 and e_aff == float(s_aff)
        np.testing.assert_array_equal(probs, np.eye(4)[2 * b0 + b1])
        assert counts == {0.0: 10 * (b0 == b1), 1.0: 10 * (b0 != b1)}
        seen.append(2 * b0 + b1)

    def joint(x):
        qml.RX(x, wires=0)
        m0 = qml.measure(0)
        qml.cond(m0, qml.RY)(x, wires=1)
        return qml.probs(op=[m0, qml.measure(1)])

    exact = qml.QNode(joint, qml.device("default.qubit"))(x)
    freq = np.bincount(seen, minlength=4) / len(seen)
    _close(freq, exact, exact * (1 - exact), shots=len(seen))


def test_single_branch_without_shots_and_postselection():
    def fn(x):
        qml.RX(x, wires=0)
        m0 = qml.measure(0, postselect=1)
        return qml.expval(m0), qml.probs(op=m0), qml.var(m0)

    f = qml.qjit(
        qml.QNode(
            fn, qml.device("lightning.qubit", wires=1), mcm_method="single-branch-statistics"
        ),
        compiler="kvant",
    )
    for _ in range(5):
        e, p, v = f(0.7)
        assert e == 1.0 and v == 0.0
        np.testing.assert_array_equal(p, [0.0, 1.0])


def test_kvant_api_and_values_decided_in_an_unrolled_loop():
    """kvant.qjit with kvant.measure; outcomes measured in a loop with static bounds are
    deferred one ancilla per iteration."""

    @kvant.qjit
    @qml.qnode(qml.device("kvant.qubit", wires=2))
    def ours(x):
        qml.RX(x, wires=0)
        total = 0
        for k in range(3):
            m = kvant.measure(0)
            qml.cond(m, qml.RY)(0.5 * (k + 1), wires=0)
            total = total + m
        return qml.expval(total), qml.var(total)

    @qml.qnode(qml.device("default.qubit"))
    def ref(x):
        qml.RX(x, wires=0)
        total = 0
        for k in range(3):
            m = qml.measure(0)
            qml.cond(m, qml.RY)(0.5 * (k + 1), wires=0)
            total = total + m
        return qml.expval(total), qml.var(total)

    for x in (0.3, 2.0):
        np.testing.assert_allclose(ours(x), ref(x), atol=1e-10)


@pytest.mark.parametrize("diff_method", ["adjoint", "parameter-shift", "best"])
def test_exact_statistics_are_differentiated_as_default_qubit_differentiates_them(diff_method):
    def fn(x, y):
        qml.RX(x, wires=0)
        qml.RY(y, wires=1)
        qml.CNOT(wires=[0, 1])
        m0 = qml.measure(0)
        qml.measure(1, postselect=1)
        qml.cond(m0, qml.RX)(y, wires=0)
        m2 = qml.measure(0)
        return (
            qml.expval(2 * m0 + m2),
            qml.var(m0 ^ m2),
            qml.probs(op=[m0, m2]),
        )

    def cost(x, y):
        e, v, p = fn_q(x, y)
        return e * 0.3 + v + p[1] * 1.7 - p[2]

    fn_q = qml.QNode(fn, qml.device("kvant.qubit", wires=2), diff_method=diff_method)
    ours = qml.qjit(lambda x, y: qml.grad(cost, argnums=(0, 1))(x, y), compiler="kvant")

    ref_q = qml.QNode(fn, qml.device("default.qubit"), interface="jax")

    def ref_cost(x, y):
        e, v, p = ref_q(x, y)
        return e * 0.3 + v + p[1] * 1.7 - p[2]

    for x, y in ((0.4, 1.1), (2.1, -0.7)):
        want = jax.grad(ref_cost, argnums=(0, 1))(jnp.asarray(x), jnp.asarray(y))
        np.testing.assert_allclose(ours(x, y), want, atol=1e-8)


def test_sampled_outcomes_are_not_differentiated():
    def fn(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.measure(0))

    f = qml.QNode(fn, qml.device("kvant.qubit", wires=1), mcm_method="single-branch-statistics")
    with pytest.raises(Exception, match="mid-circuit measurement is not differentiable"):
        qml.qjit(qml.grad(f), compiler="kvant")(0.3)


def _refused(fn, match, shots=None, method=None, exc=kvant.UnsupportedError):
    qnode = qml.QNode(fn, qml.device("kvant.qubit", wires=2), mcm_method=method)
    if shots:
        qnode = qml.set_shots(qnode, shots)
    with pytest.raises(exc, match=match):
        qml.qjit(qnode, compiler="kvant")(0.5)


def test_what_is_not_supported_is_refused_by_name():
    def probs_of_arithmetic(x):
        qml.RX(x, 0)
        m0, m1 = qml.measure(0), qml.measure(1)
        return qml.probs(op=2 * m0 + m1)

    _refused(probs_of_arithmetic, "not decided by exactly one mid-circuit measurement")

    def counts_from_arguments(x):
        qml.RX(x, 0)
        return qml.counts(x * qml.measure(0))

    _refused(counts_from_arguments, "from the QNode arguments", shots=10)

    def deferred_from_arguments(x):
        qml.RX(x, 0)
        return qml.expval(x * qml.measure(0))

    _refused(deferred_from_arguments, "computed from the QNode's arguments cannot be deferred")

    def not_an_outcome(x):
        qml.RX(x, 0)
        qml.measure(0)
        return qml.expval(jnp.sin(x))

    _refused(not_an_outcome, "no mid-circuit measurement decides")

    def same_twice(x):
        qml.RX(x, 0)
        m = qml.measure(0)
        return qml.probs(op=[m, ~m])

    _refused(same_twice, "names one mid-circuit measurement twice")

    def not_injective(x):
        qml.RX(x, 0)
        m = qml.measure(0)
        return qml.probs(op=m | True)

    _refused(not_injective, "the same for both outcomes")

    def samples_without_shots(x):
        qml.RX(x, 0)
        return qml.sample(qml.measure(0))

    _refused(samples_without_shots, "needs shots", exc=ValueError)


def test_statistics_of_arguments_dependent_values_with_sampled_outcomes():
    """Under one-shot and single-branch statistics a value computed from the arguments and the
    outcomes is measured at run time: E[x * m] = x P(m = 1)."""

    def fn(x):
        qml.RX(x, 0)
        return qml.expval(x * qml.measure(0))

    f = qml.qjit(
        qml.set_shots(
            qml.QNode(fn, qml.device("kvant.qubit", wires=1), mcm_method="one-shot"), SHOTS
        ),
        compiler="kvant",
    )
    x = 1.1
    p = np.sin(x / 2) ** 2
    _close(f(x), x * p, x**2 * p * (1 - p))


def test_outcomes_add_as_integers_in_conditions_and_returned_values():
    """``m0 + m1`` is the number of ones (PennyLane's MeasurementValue arithmetic), also in a
    condition and in an expectation value; outside QNodes JAX's own rules are unchanged."""

    def circuit(x):
        qml.RX(x, wires=0)
        qml.RX(1.1, wires=1)
        m0, m1 = qml.measure(0), qml.measure(1)
        qml.cond(m0 + m1 == 2, qml.PauliX)(2)
        qml.cond(m0 - m1 == -1, qml.RY)(0.4, wires=2)
        return qml.expval(qml.PauliZ(2)), qml.expval(m0 + m1)

    ours = qml.qjit(qml.QNode(circuit, qml.device("kvant.qubit", wires=3)), compiler="kvant")
    ref = qml.QNode(circuit, qml.device("default.qubit", wires=5), mcm_method="deferred")
    for x in (0.7, 2.0):
        for g, w in zip(ours(x), ref(x)):
            np.testing.assert_allclose(g, w, atol=1e-10)
    logical_or = kvant.qjit(lambda a, b: a + b)(jnp.array(True), jnp.array(True))
    assert logical_or.dtype == jnp.bool_ and bool(logical_or)


def test_counts_are_keyed_as_pennylane_keys_them():
    """PennyLane's deferred execution keys counts by the values in their dtype (np.True_ for a
    condition, integers for an outcome or a sum: the tutorial_how_to_collect_mcm_stats demo
    reads counts[True]); its one-shot execution by floats."""

    def circuit():
        qml.RX(0.9, wires=0)
        qml.RX(1.3, wires=1)
        m0, m1 = qml.measure(0), qml.measure(1)
        return qml.counts(m0 == m1), qml.counts(m0 + m1), qml.counts(m0)

    for method in ("deferred", "one-shot"):
        ours = qml.qjit(
            qml.QNode(circuit, qml.device("kvant.qubit", wires=2), shots=200, mcm_method=method),
            compiler="kvant",
        )()
        ref = qml.QNode(
            circuit, qml.device("default.qubit", wires=4), shots=200, mcm_method=method
        )()
        for got, want in zip(ours, ref):
            assert {np.dtype(type(k)) for k in got} == {np.dtype(type(k)) for k in want}, method
            assert set(want) <= set(got)
