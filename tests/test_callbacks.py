"""Host callbacks: Python functions called by compiled code (kvant.pure_callback,
jax.pure_callback, jax.debug.print / callback, kvant.debug.print), their derivatives by a user
fwd/bwd pair, their failures, and the disk cache. References: the same computation in JAX
(jax.jit, jax.grad) and PennyLane's default.qubit with JAX."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant

# -- values -----------------------------------------------------------------------------------


def test_functional_form_with_a_python_type():
    @kvant.qjit
    def f(x):
        return jnp.cos(kvant.pure_callback(lambda y: np.sin(y), float)(x**2))

    for x in (0.654, -1.3):
        assert np.isclose(f(x), np.cos(np.sin(x**2)), rtol=1e-14)


def test_decorator_with_return_annotation_and_integer_result():
    @kvant.pure_callback
    def host_floor(x) -> int:
        return int(np.floor(x))

    @kvant.qjit
    def f(x):
        n = host_floor(x * 3.0)
        return n + 1, n.dtype == jnp.int64

    out, is_int = f(1.7)
    assert int(out) == int(np.floor(5.1)) + 1
    assert bool(is_int)


def test_arrays_of_several_shapes_and_dtypes_in_and_out():
    spec = (
        jax.ShapeDtypeStruct((2, 3), jnp.float64),
        jax.ShapeDtypeStruct((3,), jnp.complex128),
        jax.ShapeDtypeStruct((), jnp.bool_),
        jax.ShapeDtypeStruct((2,), jnp.int32),
    )

    def host(m, v, flag):
        m, v, flag = np.asarray(m), np.asarray(v), bool(flag)
        return (
            m * 2.0 + v[:, None].T,
            np.fft.fft(v).astype(np.complex128),
            np.asarray(not flag),
            np.asarray([m.shape[0], v.size], np.int32),
        )

    @kvant.qjit
    def f(m, v, flag):
        a, b, c, d = kvant.pure_callback(host, spec)(m, v, flag)
        return a.sum(axis=0), b * 1j, c, d + 1

    m = np.arange(6.0).reshape(2, 3)
    v = np.array([0.5, -1.0, 2.0])
    a, b, c, d = f(m, v, True)
    np.testing.assert_allclose(a, (m * 2.0 + v).sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(b, np.fft.fft(v) * 1j, rtol=1e-14)
    assert bool(c) is False and c.dtype == np.bool_
    np.testing.assert_array_equal(d, [3, 4])
    assert d.dtype == np.int32


def test_catalyst_documentation_example_fft():
    # the example of catalyst.pure_callback's documentation, against jnp.fft directly
    @kvant.qjit
    def fn(x):
        x = jnp.cos(x)
        result_shape = jax.ShapeDtypeStruct(x.shape, jnp.complex128)

        @kvant.pure_callback
        def callback_fn(y) -> result_shape:
            return jax.jit(jnp.fft.fft)(y)

        return callback_fn(x)

    x = jnp.array([0.1, 0.2])
    np.testing.assert_allclose(fn(x), jnp.fft.fft(jnp.cos(x)), rtol=1e-14)


def test_outside_qjit_the_function_is_called():
    cb = kvant.pure_callback(lambda x: x * 2, float)
    assert cb(3.0) == 6.0


def test_missing_result_type_is_refused():
    with pytest.raises(TypeError, match="result type"):
        kvant.pure_callback(lambda x: x)


def test_jax_pure_callback_inside_qjit():
    def host(x):
        return np.asarray(np.tanh(x) * 3.0)

    def program(x):
        y = jax.pure_callback(host, jax.ShapeDtypeStruct(x.shape, x.dtype), x)
        return jnp.sum(y**2)

    x = np.linspace(-1.0, 1.0, 5)
    assert np.isclose(kvant.qjit(program)(x), jax.jit(program)(x), rtol=1e-14)


def test_callback_called_twice_in_a_loop_and_twice_in_program():
    calls = []

    @kvant.pure_callback
    def add_one(x) -> float:
        calls.append(float(x))
        return x + 1.0

    @kvant.qjit
    def f(x):
        def body(i, acc):
            return add_one(acc) * 2.0

        return add_one(jax.lax.fori_loop(0, 3, body, x))

    x = 0.25
    expected = x
    for _ in range(3):
        expected = (expected + 1.0) * 2.0
    assert np.isclose(f(x), expected + 1.0)
    assert len(calls) == 4  # once per iteration, once after


# -- inside QNodes ----------------------------------------------------------------------------


def _circuit(angle_fn, dev, diff_method="best"):
    @qml.qnode(dev, diff_method=diff_method)
    def circuit(x):
        qml.RX(x, wires=0)
        qml.RY(angle_fn(x), wires=1)  # a callback between gates feeds a gate angle
        qml.CNOT(wires=[0, 1])
        return qml.expval(qml.PauliZ(1))

    return circuit


def test_callback_between_gates_feeds_a_gate_angle():
    host = kvant.pure_callback(lambda x: np.sin(x) * 2.0, float)
    compiled = kvant.qjit(_circuit(host, qml.device("kvant.qubit", wires=2)))
    reference = _circuit(lambda x: jnp.sin(x) * 2.0, qml.device("default.qubit", wires=2))
    for x in (0.3, 1.1):
        assert np.isclose(compiled(x), reference(x), atol=1e-12)


def test_jax_pure_callback_inside_a_qnode_under_pennylane_qjit():
    def angle(x):
        return jax.pure_callback(
            lambda y: np.asarray(np.cos(y) + 0.5), jax.ShapeDtypeStruct((), jnp.float64), x
        )

    compiled = qml.qjit(_circuit(angle, qml.device("lightning.qubit", wires=2)), compiler="kvant")
    reference = _circuit(lambda x: jnp.cos(x) + 0.5, qml.device("default.qubit", wires=2))
    assert np.isclose(compiled(0.7), reference(0.7), atol=1e-12)


# -- derivatives ------------------------------------------------------------------------------


def _differentiable_sin():
    """sin as a callback with a user VJP whose backward pass is itself a callback (Catalyst's
    documented pattern)."""

    @kvant.pure_callback
    def host_sin(x) -> jax.ShapeDtypeStruct((2,), jnp.float64):
        return np.sin(x)

    @host_sin.fwd
    def host_sin_fwd(x):
        return host_sin(x), x

    @host_sin.bwd
    def host_sin_bwd(x, dy):
        def vjp(x, dy) -> jax.ShapeDtypeStruct((2,), jnp.float64):
            return np.cos(x) * dy

        return (kvant.pure_callback(vjp)(x, dy),)

    return host_sin


def test_grad_through_a_callback_with_fwd_and_bwd():
    host_sin = _differentiable_sin()

    def cost(x, sin):
        y = jnp.array([jnp.cos(x[0]), x[1] ** 2])
        return jnp.sum(jnp.exp(sin(y)) * jnp.array([1.0, -2.0]))

    @kvant.qjit
    def grad_kvant(x):
        return kvant.grad(lambda z: cost(z, host_sin))(x)

    x = jnp.array([0.1, 0.7])
    expected = jax.grad(lambda z: cost(z, jnp.sin))(x)
    np.testing.assert_allclose(grad_kvant(x), expected, rtol=1e-12)


def test_catalyst_documentation_example_gradient():
    # catalyst.pure_callback's documented custom VJP example, against JAX on jnp.sin
    @kvant.pure_callback
    def callback_fn(x) -> float:
        return np.sin(x[0]) * x[1]

    @callback_fn.fwd
    def callback_fn_fwd(x):
        return callback_fn(x), x

    @callback_fn.bwd
    def callback_fn_vjp(res, dy):
        def vjp(x, dy) -> (jax.ShapeDtypeStruct((2,), jnp.float64),):
            return (np.array([np.cos(x[0]) * dy * x[1], np.sin(x[0]) * dy]),)

        return kvant.pure_callback(vjp)(res, dy)

    def f(x, inner):
        y = jnp.array([jnp.cos(x[0]), x[1]])
        return jnp.sin(inner(y))

    x = jnp.array([0.1, 0.2])
    got = kvant.qjit(kvant.grad(lambda z: f(z, callback_fn)))(x)
    expected = jax.grad(lambda z: f(z, lambda y: jnp.sin(y[0]) * y[1]))(x)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_jacobian_and_value_and_grad_through_a_callback():
    host_sin = _differentiable_sin()

    @kvant.qjit
    def both(x):
        jac = kvant.jacobian(lambda z: host_sin(z) * z)(x)
        value, grad = kvant.value_and_grad(lambda z: jnp.sum(host_sin(z)) ** 2)(x)
        return jac, value, grad

    x = jnp.array([0.4, -0.9])
    jac, value, grad = both(x)
    np.testing.assert_allclose(jac, jax.jacobian(lambda z: jnp.sin(z) * z)(x), rtol=1e-12)
    assert np.isclose(value, jnp.sum(jnp.sin(x)) ** 2)
    np.testing.assert_allclose(grad, jax.grad(lambda z: jnp.sum(jnp.sin(z)) ** 2)(x), rtol=1e-12)


@pytest.mark.parametrize("diff_method", ["adjoint", "parameter-shift"])
def test_grad_through_a_qnode_whose_gate_angle_comes_from_a_callback(diff_method):
    calls = []

    @kvant.pure_callback
    def host_angle(x) -> float:
        calls.append(float(x))
        return np.sin(x) * 2.0

    @host_angle.fwd
    def host_angle_fwd(x):
        return host_angle(x), x

    @host_angle.bwd
    def host_angle_bwd(x, dy):
        return (2.0 * jnp.cos(x) * dy,)

    compiled = _circuit(host_angle, qml.device("kvant.qubit", wires=2), diff_method)
    reference = _circuit(lambda x: jnp.sin(x) * 2.0, qml.device("default.qubit", wires=2))

    @kvant.qjit
    def d_compiled(x):
        return kvant.grad(compiled)(x)

    for x in (0.3, -1.2):
        calls.clear()
        assert np.isclose(d_compiled(x), jax.grad(reference)(x), atol=1e-10)
        # the QNode's classical part and the reverse sweep's fwd; the circuit evaluations of
        # the derivative method take the angle from their parameter vector
        assert calls == [x, x]


def test_grad_without_bwd_is_refused_by_name():
    @kvant.pure_callback
    def numpy_sin(x) -> float:
        return np.sin(x)

    @kvant.qjit
    def g(x):
        return kvant.grad(lambda z: numpy_sin(z) * 2.0)(x)

    with pytest.raises(kvant.UnsupportedError, match="numpy_sin"):
        g(0.5)


def test_grad_ignores_callbacks_off_the_differentiated_path():
    @kvant.pure_callback
    def numpy_cos(x) -> float:
        return np.cos(x)

    @kvant.qjit
    def g(x):
        def f(z):
            jax.debug.print("z = {}", z)
            return z**3, numpy_cos(z)  # the callback feeds the auxiliary output only

        return kvant.grad(f, has_aux=True)(x)

    d, aux = g(0.5)
    assert np.isclose(d, 3 * 0.25) and np.isclose(aux, np.cos(0.5))


def test_fd_differentiates_any_callback():
    numpy_sin = kvant.pure_callback(lambda x: np.sin(x), float)
    g = kvant.qjit(kvant.grad(lambda z: numpy_sin(z) * 2.0, method="fd", h=1e-7))
    assert np.isclose(g(0.5), 2.0 * np.cos(0.5), atol=1e-5)


def test_fwd_without_bwd_is_refused():
    @kvant.pure_callback
    def f(x) -> float:
        return x

    @f.fwd
    def f_fwd(x):
        return f(x), x

    with pytest.raises(TypeError, match="no bwd"):
        kvant.qjit(lambda x: f(x))(1.0)


# -- failures ---------------------------------------------------------------------------------


def test_an_exception_in_the_callback_is_raised_naming_it_and_the_process_stays_usable():
    @kvant.pure_callback
    def fragile(x) -> float:
        if x < 0:
            raise ValueError("negative input")
        return np.sqrt(x)

    @kvant.qjit
    def f(x):
        return fragile(x) + 1.0

    with pytest.raises(kvant.KvantRuntimeError, match="fragile") as info:
        f(-1.0)
    assert isinstance(info.value.__cause__, ValueError)
    assert "negative input" in str(info.value)
    assert np.isclose(f(4.0), 3.0)  # the next call runs normally
    with pytest.raises(kvant.KvantRuntimeError, match="fragile"):
        f(-2.0)


def test_a_result_of_the_wrong_shape_is_an_error_naming_the_callback():
    bad = kvant.pure_callback(lambda x: np.zeros(3), jax.ShapeDtypeStruct((2,), jnp.float64))
    bad.__name__ = "bad_shape"

    @kvant.qjit
    def f(x):
        return bad(x)

    with pytest.raises(kvant.KvantRuntimeError, match=r"float64\[3\].*declared float64\[2\]"):
        f(1.0)


def test_failure_inside_a_qnode_and_a_loop():
    state = {"n": 0}

    @kvant.pure_callback
    def third_call_fails(x) -> float:
        state["n"] += 1
        if state["n"] == 3:
            raise RuntimeError("third")
        return x

    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(x):
        @kvant.for_loop(0, 5, 1)
        def loop(i):
            qml.RX(third_call_fails(x + i), wires=0)

        loop()
        return qml.expval(qml.PauliZ(0))

    with pytest.raises(kvant.KvantRuntimeError, match="third_call_fails"):
        kvant.qjit(circuit)(0.1)
    assert state["n"] == 3  # the program called no host function after the failure


# -- printing ---------------------------------------------------------------------------------


def _printing_program(x):
    jax.debug.print("start x={x}", x=x)
    y = x * 2.0

    def body(i, acc):
        kvant.debug.print("step {} acc={}", i, acc)
        return acc + y

    total = jax.lax.fori_loop(0, 3, body, x)
    jax.debug.callback(lambda t: print(f"callback sees {float(t):.3f}"), total)
    kvant.debug.callback(lambda t, s: print(f"kvant callback {float(t + s):.3f}"), total, y)
    return total


def test_debug_print_in_program_order_with_python_prints(capsys):
    x = np.float64(0.5)
    jax.jit(_printing_program)(x).block_until_ready()
    expected = capsys.readouterr().out
    assert expected.count("\n") == 6

    compiled = kvant.qjit(_printing_program)
    print("before")
    compiled(x)
    print("after")
    out = capsys.readouterr().out
    assert out == "before\n" + expected + "after\n"


def test_debug_print_inside_a_qnode():
    code = textwrap.dedent(
        """
        import sys
        import jax, pennylane as qml
        import kvant

        @qml.qnode(qml.device("kvant.qubit", wires=1))
        def circuit(x):
            qml.RX(x, wires=0)
            m = qml.expval(qml.PauliZ(0))
            kvant.debug.print("angle {:.4f}", x)
            return m

        print("python first", flush=False)
        value = kvant.qjit(circuit)(0.25)
        print("python last", float(value))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == ["python first", "angle 0.2500"], done.stdout
    assert lines[2].startswith("python last") and np.isclose(
        float(lines[2].split()[-1]), np.cos(0.25)
    )


def test_debug_print_outside_qjit_prints_at_once(capsys):
    kvant.debug.print("value {}", 3)
    assert capsys.readouterr().out == "value 3\n"


# -- the disk cache ---------------------------------------------------------------------------


def test_identical_programs_with_different_callbacks_share_the_library_not_the_function():
    def make(offset):
        cb = kvant.pure_callback(lambda x: x + offset, float)

        def program(x):
            return cb(x) * 3.0

        return kvant.qjit(program)

    first, second = make(1.0), make(2.0)
    assert np.isclose(first(0.5), 4.5)
    assert np.isclose(second(0.5), 7.5)
    assert second._last.from_cache  # the same MLIR: one library serves both
    assert np.isclose(first(0.5), 4.5)


def test_another_process_uses_its_own_callback_from_the_cached_library(cache_dir):
    code = textwrap.dedent(
        """
        import sys
        import kvant

        offset = float(sys.argv[1])
        cb = kvant.pure_callback(lambda x: x + offset, float)

        @kvant.qjit
        def program(x):
            return cb(x) * 3.0

        print(float(program(0.5)), program._last.from_cache)
        """
    )
    results = []
    for offset in ("10.0", "20.0"):
        done = subprocess.run(
            [sys.executable, "-c", code, offset],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "KVANT_CACHE_DIR": cache_dir},
        )
        assert done.returncode == 0, done.stderr
        value, from_cache = done.stdout.split()
        results.append((float(value), from_cache))
    assert np.isclose(results[0][0], 31.5) and np.isclose(results[1][0], 61.5)
    assert results[1][1] == "True"


# -- ahead of time ----------------------------------------------------------------------------


def test_ahead_of_time_compilation_is_refused_by_name(tmp_path, capsys):
    source = tmp_path / "prog.py"
    source.write_text(
        textwrap.dedent(
            """
            import numpy as np
            import kvant

            @kvant.pure_callback
            def host_log(x) -> float:
                return np.log(x)

            def cost(x):
                return host_log(x) * 2.0
            """
        )
    )
    from kvant import cli

    code = cli.main(["compile", f"{source}:cost", "--args", "f64", "-o", str(tmp_path / "c.so")])
    err = capsys.readouterr().err
    assert code == 1
    assert "host_log" in err and "ahead of time" in err
    assert not (tmp_path / "c.so").exists()


def test_ahead_of_time_compilation_of_mlir_with_callbacks_is_refused(tmp_path, capsys):
    source = tmp_path / "prog.mlir"
    source.write_text(
        textwrap.dedent(
            """
            func.func @program(%x: tensor<f64>) -> tensor<f64> attributes {llvm.emit_c_interface} {
              %y = host.callback 0 "f" (%x) {pure} : (tensor<f64>) -> tensor<f64>
              return %y : tensor<f64>
            }
            """
        )
    )
    from kvant import cli

    code = cli.main(["compile", str(source), "-o", str(tmp_path / "p.so")])
    assert code == 1
    assert "host callbacks" in capsys.readouterr().err
    assert not (tmp_path / "p.so").exists()


def test_reentrant_callback_calls_another_compiled_program():
    inner = kvant.qjit(lambda x: jnp.sin(x) * 2.0)

    @kvant.pure_callback
    def host(x) -> float:
        return np.asarray(inner(x))

    outer = kvant.qjit(lambda x: host(x) + 1.0)
    assert np.isclose(outer(0.3), np.sin(0.3) * 2.0 + 1.0)


# -- transformations and control flow ---------------------------------------------------------


def test_vmap_calls_the_function_once_per_element():
    calls = []

    @kvant.pure_callback
    def host_norm(v) -> float:
        calls.append(1)
        return np.linalg.norm(v)

    @kvant.qjit
    def f(m):
        return kvant.vmap(host_norm)(m) + jax.vmap(
            lambda v: jax.pure_callback(
                lambda u: np.asarray(np.max(u)),
                jax.ShapeDtypeStruct((), jnp.float64),
                v,
                vmap_method="sequential",
            )
        )(m)

    m = np.arange(12.0).reshape(4, 3) - 5.0
    np.testing.assert_allclose(f(m), np.linalg.norm(m, axis=1) + m.max(axis=1), rtol=1e-14)
    assert len(calls) == 4


def test_grad_through_a_callback_inside_a_loop():
    host_sin = _differentiable_sin()

    def cost(x, sin):
        def body(i, acc):
            return sin(acc * 0.9 + x)

        return jnp.sum(jax.lax.fori_loop(0, 3, body, x) ** 2)

    x = jnp.array([0.3, -0.6])
    got = kvant.qjit(kvant.grad(lambda z: cost(z, host_sin)))(x)
    np.testing.assert_allclose(got, jax.grad(lambda z: cost(z, jnp.sin))(x), rtol=1e-12)


def test_complex_results_carry_jax_cotangents_to_bwd():
    # bwd is written in JAX's convention (here JAX's own vjp of the same function); kvant's
    # complex cotangents are the conjugates of JAX's, converted on the way in and out
    def phases(x):
        return jnp.exp(1j * x * jnp.array([1.0, 2.0]))

    @kvant.pure_callback
    def host_phases(x) -> jax.ShapeDtypeStruct((2,), jnp.complex128):
        return np.exp(1j * np.asarray(x) * np.array([1.0, 2.0]))

    @host_phases.fwd
    def host_phases_fwd(x):
        return host_phases(x), x

    @host_phases.bwd
    def host_phases_bwd(x, ct):
        return jax.vjp(phases, x)[1](ct)

    def cost(x, fn):
        z = fn(x)
        return jnp.real(jnp.sum(z * jnp.array([0.3 - 0.7j, 1.1 + 0.2j]))) + jnp.imag(z[0]) ** 2

    for x in (0.4, -1.3):
        got = kvant.qjit(kvant.grad(lambda t: cost(t, host_phases)))(x)
        assert np.isclose(got, jax.grad(lambda t: cost(t, phases))(x), rtol=1e-12)


def test_debug_print_in_compiled_loops_and_branches(capsys):
    def program(x):
        @kvant.for_loop(0, 3, 1)
        def loop(i, acc):
            kvant.debug.print("i={} acc={:.3f}", i, acc)
            return acc * 2.0

        y = loop(x)

        @kvant.cond(y > 1.0)
        def branch():
            kvant.debug.print("big {:.3f}", y)
            return y

        @branch.otherwise
        def branch():
            kvant.debug.print("small {:.3f}", y)
            return -y

        return branch()

    value = kvant.qjit(program)(0.2)
    out = capsys.readouterr().out
    assert out == "i=0 acc=0.200\ni=1 acc=0.400\ni=2 acc=0.800\nbig 1.600\n"
    assert np.isclose(value, 1.6)


def test_jax_grad_of_a_callback_inside_qjit_is_refused_by_name():
    host_sin = _differentiable_sin()
    with pytest.raises(kvant.UnsupportedError, match="kvant.grad"):
        kvant.qjit(jax.grad(lambda x: jnp.sum(host_sin(x))))(jnp.array([0.1, 0.2]))


def test_redefining_bwd_takes_effect():
    @kvant.pure_callback
    def host_sin(x) -> float:
        return np.sin(x)

    @host_sin.fwd
    def host_sin_fwd(x):
        return host_sin(x), x

    @host_sin.bwd
    def wrong_bwd(x, dy):
        return (jnp.sin(x) * dy,)

    assert np.isclose(kvant.qjit(kvant.grad(host_sin))(0.4), np.sin(0.4))

    @host_sin.bwd
    def right_bwd(x, dy):
        return (jnp.cos(x) * dy,)

    assert np.isclose(kvant.qjit(kvant.grad(host_sin))(0.4), np.cos(0.4))
