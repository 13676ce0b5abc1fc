"""value_and_grad, jvp and vjp, inside qjit (compiled, method "auto" or "fd") and outside
(JAX), through kvant's API and PennyLane's; docs/acceptance-gradients.md A15, A16, A27, E13."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant


def _rx_z(diff_method="adjoint"):
    @qml.qnode(qml.device("kvant.qubit", wires=1), diff_method=diff_method)
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliZ(0))

    return circuit


def _classical(x):
    return jnp.stack([jnp.sin(x[0]), x[1] ** 2, x[0] * x[1]])


@pytest.mark.parametrize("api", ["kvant", "pennylane"])
def test_a15_value_and_grad(api):
    circuit = _rx_z()
    if api == "kvant":
        value, grad = kvant.qjit(kvant.value_and_grad(circuit))(0.3)
    else:
        value, grad = qml.qjit(compiler="kvant")(lambda x: qml.value_and_grad(circuit)(x))(0.3)
    assert value == pytest.approx(0.9553364891, abs=1e-10)
    assert grad == pytest.approx(-0.2955202067, abs=1e-8)


@pytest.mark.parametrize("transform", ["value_and_grad", "jvp", "vjp"])
@pytest.mark.parametrize("method", ["auto", "fd"])
def test_value_and_derivative_come_from_one_evaluation(transform, method):
    """The value is the derivative's own forward pass: the program holds one differentiation op
    (withValues, or gradient.jvp) and no other evaluation of the cost."""
    circuit = _rx_z()
    program = {
        "value_and_grad": lambda x: kvant.value_and_grad(circuit, method=method)(x),
        "jvp": lambda x: kvant.jvp(circuit, [x], [1.0], method=method),
        "vjp": lambda x: kvant.vjp(circuit, [x], [1.0], method=method),
    }[transform]
    f = kvant.qjit(program)
    value, derivative = f(0.3)
    assert value == pytest.approx(0.9553364891, abs=1e-10)
    derivative = derivative[0] if transform == "vjp" else derivative
    assert derivative == pytest.approx(-0.2955202067, abs=1e-8 if method == "auto" else 1e-6)
    entry = f.mlir.split("func.func @jit_")[1]
    if transform == "jvp" and method == "auto":  # forward mode: values and tangents, one op
        assert entry.count("gradient.jvp") == 1 and "gradient.grad" not in entry
    else:
        assert entry.count("gradient.grad") == 1 and "withValues" in entry
    assert "call @qnode" not in entry


def test_value_and_grad_outside_qjit_is_jax():
    f = lambda x: jnp.sin(x) * x
    value, grad = kvant.value_and_grad(f)(0.7)
    assert (value, grad) == pytest.approx((np.sin(0.7) * 0.7, np.cos(0.7) * 0.7 + np.sin(0.7)))


@pytest.mark.parametrize("api", ["kvant", "pennylane"])
def test_a16_jvp_of_classical_code(api):
    jvp = kvant.jvp if api == "kvant" else qml.jvp
    qjit = kvant.qjit if api == "kvant" else qml.qjit(compiler="kvant")
    primal, tangent = qjit(lambda x, t: jvp(_classical, [x], [t]))(
        jnp.array([0.1, 0.2]), jnp.array([0.3, 0.6])
    )
    np.testing.assert_allclose(primal, [0.0998334166, 0.04, 0.02], atol=1e-10)
    np.testing.assert_allclose(tangent, [0.2985012497, 0.24, 0.12], atol=1e-10)


def test_a27_jvp_with_argnums_through_a_qnode():
    @qml.qnode(qml.device("kvant.qubit", wires=2))
    def circuit(n, params):
        qml.RX(params[n, 0], wires=n)
        qml.RY(params[n, 1], wires=n)
        return qml.expval(qml.PauliZ(1))

    workflow = qml.qjit(compiler="kvant")(lambda p, t: qml.jvp(circuit, [1, p], [t], argnums=[1]))
    out, tangent = workflow(jnp.array([[0.54, 0.3154], [0.654, 0.123]]), jnp.ones((2, 2)))
    assert out == pytest.approx(0.78766064, abs=1e-8)
    assert tangent == pytest.approx(-0.70114352, abs=1e-8)


def test_vjp_against_jax():
    x, ct = jnp.array([0.1, 0.2]), jnp.array([1.0, -2.0, 0.5])
    out, (bar,) = kvant.qjit(lambda x, ct: kvant.vjp(_classical, [x], [ct]))(x, ct)
    want_out, pullback = jax.vjp(_classical, x)
    np.testing.assert_allclose(out, want_out, atol=1e-12)
    np.testing.assert_allclose(bar, pullback(ct)[0], atol=1e-12)
    # through a QNode, two outputs, and outside qjit
    circuit = _rx_z("parameter-shift")
    two = lambda x: (circuit(x[0]) * x[1], jnp.cos(x))
    cts = [jnp.array(2.0), jnp.array([1.0, -1.0])]
    got = kvant.qjit(lambda x: kvant.vjp(two, [x], cts))(jnp.array([0.4, 1.3]))
    _, eager = kvant.vjp(two, [jnp.array([0.4, 1.3])], cts)
    ref = lambda x: (jnp.cos(x[0]) * x[1], jnp.cos(x))
    want = jax.vjp(ref, jnp.array([0.4, 1.3]))[1](tuple(cts))[0]
    np.testing.assert_allclose(got[1][0], want, atol=1e-8)
    np.testing.assert_allclose(eager[0], want, atol=1e-8)


def test_e13_jvp_tangent_count_must_match():
    with pytest.raises(TypeError, match="tangent count must match"):
        kvant.qjit(lambda x, t: kvant.jvp(_classical, [x], [t, t]))(
            jnp.array([0.1, 0.2]), jnp.array([0.3, 0.6])
        )


def test_a25_jax_transformations_of_a_compiled_function():
    @qml.qnode(qml.device("kvant.qubit", wires=2))
    def circuit(x, y):
        qml.RX(x, wires=0)
        qml.RY(y, wires=1)
        qml.CNOT(wires=[0, 1])
        return qml.expval(qml.PauliZ(1))

    compiled = kvant.qjit(circuit)
    g = jax.grad(compiled, argnums=(0, 1))(0.5, 0.1)
    np.testing.assert_allclose(g, (-0.4770304079, -0.0876120655), atol=1e-8)
    np.testing.assert_allclose(jax.jit(jax.grad(compiled))(0.5, 0.1), -0.4770304079, atol=1e-8)
    assert jax.jit(compiled)(0.5, 0.1) == pytest.approx(np.cos(0.5) * np.cos(0.1), abs=1e-12)
    np.testing.assert_allclose(
        jax.vmap(compiled)(jnp.array([0.1, 0.5]), jnp.array([0.2, 0.1])),
        np.cos([0.1, 0.5]) * np.cos([0.2, 0.1]),
        atol=1e-12,
    )


def test_jax_grad_of_a_compiled_function_with_integer_and_static_arguments():
    @kvant.qjit(static_argnums=2)
    def f(x, n, power):
        return jnp.sum(jnp.sin(x) ** power) * n

    x = jnp.array([0.3, 0.8])
    want = jax.grad(lambda x: jnp.sum(jnp.sin(x) ** 3) * 2)(x)
    np.testing.assert_allclose(jax.grad(f)(x, 2, 3), want, atol=1e-12)


def _with_aux(x):
    """A scalar cost and auxiliary data: a pytree with an array, a float and an integer."""
    y = jnp.sin(x) * x[::-1]
    return jnp.sum(y**2), {"y": y, "norm": jnp.linalg.norm(x), "size": jnp.int32(x.size)}


@pytest.mark.parametrize("method", ["auto", "fd"])
def test_has_aux_follows_jax(method):
    """grad / value_and_grad / jacobian(has_aux=True): the function returns (output, aux); aux
    comes back undifferentiated, from the same evaluation."""
    x = jnp.array([0.3, -1.1, 0.8])
    atol = 1e-10 if method == "auto" else 1e-5
    want_grad, want_aux = jax.grad(_with_aux, has_aux=True)(x)
    for compiled in (True, False):
        wrap = kvant.qjit if compiled else (lambda f: f)
        got_grad, got_aux = wrap(lambda x: kvant.grad(_with_aux, has_aux=True, method=method)(x))(x)
        np.testing.assert_allclose(got_grad, want_grad, atol=atol)
        np.testing.assert_allclose(got_aux["y"], want_aux["y"], atol=1e-12)
        assert got_aux["norm"] == pytest.approx(float(want_aux["norm"]), abs=1e-12)
        assert int(got_aux["size"]) == 3
        (value, aux), g = wrap(
            lambda x: kvant.value_and_grad(_with_aux, has_aux=True, method=method)(x)
        )(x)
        assert value == pytest.approx(float(_with_aux(x)[0]), abs=1e-12)
        np.testing.assert_allclose(aux["y"], want_aux["y"], atol=1e-12)
        np.testing.assert_allclose(g, want_grad, atol=atol)
    vector = lambda x: (jnp.sin(x) * x[0], x**2)
    jac, aux = kvant.qjit(lambda x: kvant.jacobian(vector, has_aux=True, method=method)(x))(x)
    np.testing.assert_allclose(jac, jax.jacobian(vector, has_aux=True)(x)[0], atol=atol)
    np.testing.assert_allclose(aux, x**2, atol=1e-12)


def test_has_aux_needs_a_pair():
    with pytest.raises(TypeError, match="has_aux=True needs a function that returns a pair"):
        kvant.qjit(lambda x: kvant.grad(lambda x: jnp.sin(x), has_aux=True)(x))(0.3)


def test_vjp_is_one_reverse_sweep():
    """vjp differentiates <cotangents, f> with f's outputs as auxiliary values: one sweep, so a
    QNode of probabilities gets the adjoint method's VJP form, and the values come from the same
    evaluation."""

    def body(x):
        qml.RX(x[0], wires=0)
        qml.CRY(x[1], wires=[0, 1])
        qml.RY(x[0] * x[1], wires=2)
        qml.CNOT(wires=[1, 2])
        return qml.probs(wires=[0, 1, 2])

    circuit = qml.QNode(body, qml.device("kvant.qubit", wires=3), diff_method="adjoint")
    reference = qml.QNode(body, qml.device("default.qubit", wires=3), interface="jax")
    post = lambda c: lambda x: (c(x) * x[0], jnp.tanh(x))
    x = jnp.array([0.4, 1.3])
    cts = [jnp.linspace(-1.0, 1.0, 8), jnp.array([0.5, -2.0])]
    f = kvant.qjit(lambda x, a, b: kvant.vjp(post(circuit), [x], [a, b]), keep_intermediate=True)
    out, (bar,) = f(x, *cts)
    want_out, pullback = jax.vjp(post(reference), x)
    np.testing.assert_allclose(out[0], want_out[0], atol=1e-12)
    np.testing.assert_allclose(out[1], want_out[1], atol=1e-12)
    np.testing.assert_allclose(bar, pullback(tuple(cts))[0], atol=1e-10)
    entry = f.mlir.split("func.func @jit_")[1]
    assert entry.count("gradient.grad") == 1 and "numDiffResults = 1" in entry
    assert "kvant_rt_adjoint_vjp_mixed" in f.mlir_lowered
    assert "kvant_rt_adjoint_jacobian" not in f.mlir_lowered


def test_vjp_cotangents_must_match_the_outputs():
    with pytest.raises(TypeError, match=r"vjp: 1 cotangent\(s\) given for 2 output"):
        kvant.qjit(lambda x: kvant.vjp(lambda x: (x, x), [x], [x]))(jnp.array([0.1]))
    with pytest.raises(TypeError, match="vjp: cotangent 0 has shape"):
        kvant.qjit(lambda x: kvant.vjp(jnp.sin, [x], [jnp.ones(3)]))(jnp.array([0.1, 0.2]))


def test_auxiliary_data_may_come_from_any_qnode():
    """A QNode that feeds only the auxiliary data is run, not differentiated: its state is
    fine there."""
    dev = qml.device("kvant.qubit", wires=1)

    @qml.qnode(dev)
    def state(x):
        qml.RX(x, wires=0)
        return qml.state()

    cost = lambda x: (jnp.cos(x) ** 2, jnp.abs(state(x)) ** 2)
    g, probs = kvant.qjit(lambda x: kvant.grad(cost, has_aux=True)(x))(0.3)
    assert g == pytest.approx(-np.sin(0.6), abs=1e-12)
    np.testing.assert_allclose(probs, [np.cos(0.15) ** 2, np.sin(0.15) ** 2], atol=1e-12)


def test_has_aux_outside_qjit_needs_a_pair_too():
    for method in ("auto", "fd"):
        with pytest.raises(TypeError, match="has_aux=True needs a function that returns a pair"):
            kvant.grad(lambda x: jnp.stack([x**2, x]), has_aux=True, method=method)(1.0)


def test_vjp_argnums_count_from_the_parameters():
    f = lambda a, b: a * b
    x, y, c = jnp.array(2.0), jnp.array(3.0), jnp.array(1.0)
    out, (bar,) = kvant.qjit(lambda x, y, c: kvant.vjp(f, [x, y], [c], argnums=-1))(x, y, c)
    assert (out, bar) == pytest.approx((6.0, 2.0))
    with pytest.raises(ValueError, match="argnums=2 is out of range for 2 parameter"):
        kvant.qjit(lambda x, y, c: kvant.vjp(f, [x, y], [c], argnums=2))(x, y, c)


@pytest.mark.parametrize("api", ["kvant", "pennylane"])
def test_vjp_takes_a_bare_array_cotangent_and_pytrees(api):
    """PennyLane documents the cotangents as a pytree of the output's structure: a bare array
    for an array output (R2), a tuple for a tuple output; a flat list of one cotangent per
    output stays accepted."""
    vjp = kvant.vjp if api == "kvant" else qml.vjp
    qjit = kvant.qjit if api == "kvant" else qml.qjit(compiler="kvant")
    x, ct = jnp.array([0.1, 0.2]), jnp.array([1.0, -2.0, 0.5])
    want_out, pullback = jax.vjp(_classical, x)
    out, bar = qjit(lambda x, ct: vjp(_classical, [x], ct))(x, ct)
    np.testing.assert_allclose(out, want_out, atol=1e-12)
    np.testing.assert_allclose(bar[0], pullback(ct)[0], atol=1e-12)

    def pair(x):
        return {"a": jnp.sin(x), "b": x[0] * x[1]}

    cts = {"a": jnp.array([0.5, 2.0]), "b": jnp.array(-1.0)}
    out, bar = qjit(lambda x: vjp(pair, [x], cts))(x)
    want = jax.vjp(pair, x)[1](cts)[0]
    np.testing.assert_allclose(bar[0], want, atol=1e-12)
    circuit = _rx_z()
    out, bar = qjit(lambda x: vjp(circuit, [x], jnp.array(2.0)))(0.3)
    assert float(bar[0]) == pytest.approx(-2 * np.sin(0.3), abs=1e-10)


def test_jvp_integer_tangent_of_a_float_argument_is_refused_as_in_jax():
    circuit = _rx_z()
    with pytest.raises(TypeError):  # JAX's own refusal
        jax.jvp(jnp.sin, (1.0,), (1,))
    with pytest.raises(
        TypeError, match="tangent of argument 0 has dtype int64, the argument has dtype float64"
    ):
        kvant.qjit(lambda x: kvant.jvp(circuit, [x], [1]))(1.0)
    with pytest.raises(TypeError, match="tangents of floating-point arguments must be"):
        kvant.qjit(lambda x: kvant.jvp(_classical, [x], [jnp.array([1, 0])]))(jnp.array([0.1, 0.2]))
    # a float tangent is fine, and an integer argument that is not differentiated needs none
    out, tangent = kvant.qjit(lambda x: kvant.jvp(circuit, [x], [1.0]))(1.0)
    assert float(tangent) == pytest.approx(-np.sin(1.0), abs=1e-10)


def test_jax_differentiation_inside_qjit_is_refused_by_name():
    """jax.grad (or catalyst.grad, which is JAX's) of a QNode or of kvant's compiled control flow
    inside kvant.qjit names kvant's own transformations instead of failing inside JAX; jax.grad
    of a whole qjit function keeps working."""
    import pennylane as qml

    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliZ(0))

    def looped(x):
        return kvant.for_loop(0, 3, 1)(lambda i, y: y * x)(1.0)

    for fn in (circuit, looped):
        with pytest.raises(kvant.UnsupportedError, match="JAX's own differentiation"):
            kvant.qjit(jax.grad(fn))(0.3)
    assert float(jax.grad(kvant.qjit(circuit))(0.3)) == pytest.approx(-np.sin(0.3), abs=1e-12)
