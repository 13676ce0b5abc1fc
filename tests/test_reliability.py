"""Bad input becomes a Python exception; a compiler crash does not take the interpreter down."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant
from kvant.compiler import driver

# memref.store into an i1 memref trips an assertion inside MLIR 22's finalize-memref-to-llvm
# (docs/toolchain.md): with assertions on, it aborts whatever process runs the pass.
ASSERTING_MODULE = """
func.func @jit_crash(%arg0: memref<4xi1>) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %true = arith.constant true
  memref.store %true, %arg0[%c0] : memref<4xi1>
  return
}
"""


def test_compiler_assertion_becomes_compile_error_and_process_survives():
    with pytest.raises(kvant.CompileError, match="crashed"):
        driver.compile_mlir(ASSERTING_MODULE, use_cache=False)
    # The interpreter is alive and the next compilation works (a fresh worker).
    f = kvant.qjit(lambda x: x * 3.0)
    assert float(f(2.0)) == 6.0


def test_invalid_ir_is_a_readable_compile_error():
    with pytest.raises(kvant.CompileError, match="could not compile"):
        driver.compile_mlir("func.func @f( {", use_cache=False)


def test_unsupported_primitive_names_primitive_and_line():
    @kvant.qjit
    def f(x):
        return jnp.linalg.eig(x)[0]

    with pytest.raises(kvant.UnsupportedError, match=r"'eig'.*test_reliability.py:\d+"):
        f(np.eye(2))


def test_error_inside_nested_loops_names_the_innermost_line_once():
    def f(x):
        def outer(i, c):
            def inner(j, d):
                return d + jnp.linalg.eig(jnp.eye(2) * d)[0].real.sum()  # the line named

            return jax.lax.fori_loop(0, 2, inner, c)

        return jax.lax.fori_loop(0, 3, outer, x)

    line = f.__code__.co_firstlineno + 3
    with pytest.raises(kvant.UnsupportedError) as info:
        kvant.qjit(f)(1.0)
    message = str(info.value)
    assert message.count("(at ") == 1, message
    assert message.endswith(f"test_reliability.py:{line})"), message


def test_wire_not_on_device():
    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(x):
        qml.RX(x, wires=3)
        return qml.expval(qml.PauliZ(0))

    with pytest.raises(ValueError, match="wire 3"):
        kvant.qjit(circuit)(0.1)


def test_non_measurement_return():
    """A QNode returns measurements and numbers or arrays (tests/test_qnode_returns.py); a
    value of another kind is named."""

    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliZ(0)), "done"

    with pytest.raises(TypeError, match="a QNode returns measurements"):
        kvant.qjit(circuit)(0.1)


@pytest.mark.parametrize(
    "kwargs, error, fragment",
    [
        ({"method": "nope"}, ValueError, "valid methods"),
        ({"method": "fd", "h": "abc"}, ValueError, "invalid finite-difference step"),
        ({"method": "fd", "h": -1.0}, ValueError, "invalid finite-difference step"),
        ({"method": "fd", "argnums": 1.5}, ValueError, "argnums should be an integer"),
    ],
)
def test_grad_option_errors(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        kvant.grad(lambda x: x, **kwargs)


def test_grad_of_non_callable():
    with pytest.raises(TypeError, match="callable"):
        kvant.grad("string")


def test_grad_needs_scalar_output():
    @kvant.qjit
    def f(x):
        return kvant.grad(lambda x: jnp.stack([x, x]), method="fd")(x)

    with pytest.raises(TypeError, match="use jacobian"):
        f(1.0)


def test_grad_of_integer_argument():
    @kvant.qjit
    def f(x, n):
        return kvant.grad(lambda x, n: x * n, argnums=1, method="fd")(x, n)

    with pytest.raises(TypeError, match="argument 1 .*floating-point"):
        f(1.0, 3)


def test_grad_argnums_out_of_range():
    @kvant.qjit
    def f(x):
        return kvant.grad(lambda x: x, argnums=2, method="fd")(x)

    with pytest.raises(ValueError, match="out of range"):
        f(1.0)


def test_what_method_auto_cannot_differentiate_is_refused_at_the_users_line():
    @qml.qnode(
        qml.device("kvant.qubit", wires=1),
        diff_method="adjoint",
        mcm_method="single-branch-statistics",
    )
    def measured(x):
        qml.RX(x, wires=0)
        qml.measure(0)
        return qml.expval(qml.PauliZ(0))

    @kvant.qjit
    def f(x):
        return kvant.grad(lambda x: measured(x) ** 2)(x)

    with pytest.raises(
        kvant.CompileError, match="QNode 'measured'.*mid-circuit measurement"
    ) as info:
        f(1.0)
    # at the user's line, without MLIR's dump of the operation
    assert re.search(r"test_reliability.py:\d+:\d+: QNode 'measured'", str(info.value))
    assert "see current operation" not in str(info.value)


def test_runtime_error_is_a_python_exception():
    """A wire known only at run time, out of range: the simulator reports it, the call raises
    KvantRuntimeError naming the problem, and the program stays usable."""

    @qml.qnode(qml.device("kvant.qubit", wires=2))
    def circuit(x, w):
        kvant.for_loop(0, 1, 1)(lambda i: qml.RX(x, wires=w + i))()
        return qml.expval(qml.PauliZ(0))

    f = kvant.qjit(circuit)
    with pytest.raises(kvant.KvantRuntimeError, match="out of range"):
        f(0.3, 5)
    assert abs(float(f(0.3, 0)) - np.cos(0.3)) < 1e-12


def test_postselecting_an_impossible_outcome_is_reported():
    """A sampled branch cannot be drawn: the runtime reports it. The exact (deferred)
    statistics conditioned on an outcome of probability zero are 0/0: NaN, as on default.qubit."""

    def fn():
        qml.measure(0, postselect=1)  # |0> never gives 1
        return qml.probs(wires=0)

    sampled = qml.QNode(
        fn, qml.device("kvant.qubit", wires=1), mcm_method="single-branch-statistics"
    )
    with pytest.raises(kvant.KvantRuntimeError, match="postselect"):
        kvant.qjit(sampled)()
    exact = kvant.qjit(qml.QNode(fn, qml.device("kvant.qubit", wires=1)))()
    reference = qml.QNode(fn, qml.device("default.qubit"), mcm_method="deferred")()
    assert np.all(np.isnan(exact)) and np.all(np.isnan(reference))


def test_non_numeric_argument_is_named():
    @kvant.qjit(static_argnums=0)
    def f(n, x, y):
        return x * n + y["a"]

    with pytest.raises(TypeError, match=r"argument y\['a'\] is str; compiled code takes numbers"):
        f(2, 1.0, {"a": "text"})
    with pytest.raises(TypeError, match=r"argument x is array of dtype <U1"):
        f(2, np.array(["x"]), {"a": 1.0})
    with pytest.raises(TypeError, match=r"argument x is object"):
        f(2, object(), {"a": 1.0})
    assert f(2, 1.5, {"a": 0.25}) == 3.25  # and good arguments still work


# -- messages name what the user wrote, not kvant's or JAX's internals -------------------------


def test_none_argument_is_named_when_the_function_computes_with_it():
    @kvant.qjit
    def f(x, offset):
        return jnp.sin(x) + offset

    with pytest.raises(TypeError, match=r"argument offset is None") as info:
        f(0.3, None)
    assert "Tracer" not in str(info.value)

    @kvant.qjit
    def g(x, offset=None):  # a function that handles None still runs
        return jnp.sin(x) if offset is None else jnp.sin(x) + offset

    assert float(g(0.3, None)) == pytest.approx(np.sin(0.3), abs=1e-15)


def test_returning_a_string_names_the_users_function():
    @kvant.qjit
    def labelled(x):
        return {"value": jnp.cos(x), "label": "energy"}

    with pytest.raises(
        TypeError,
        match=r"'labelled' returned the string 'energy' as "
        r"output\['label'\]",
    ) as info:
        labelled(0.3)
    assert "flat_fn" not in str(info.value)


def test_returning_a_string_under_jax_jit_names_the_users_function():
    import jax

    @kvant.qjit
    def labelled(x):
        return "energy"

    with pytest.raises(TypeError, match="'labelled' returned the string 'energy'") as info:
        jax.jit(labelled)(0.3)
    assert "flat_fn" not in str(info.value)


def test_non_measurement_return_says_what_was_returned():
    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(x):
        qml.RX(x, wires=0)
        return x * 2, "done"

    with pytest.raises(TypeError, match="returned the string 'done'") as info:
        kvant.qjit(circuit)(0.1)
    assert "Tracer" not in str(info.value)


def test_has_aux_without_a_pair_says_what_was_returned():
    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliZ(0))

    with pytest.raises(
        TypeError, match="returned a float64 scalar computed from the arguments"
    ) as info:
        kvant.qjit(lambda x: kvant.grad(circuit, has_aux=True)(x))(0.1)
    assert "Tracer" not in str(info.value)


def test_runtime_error_names_the_users_line():
    @qml.qnode(qml.device("kvant.qubit", wires=2))
    def circuit(x, w):
        qml.RY(x, wires=0)
        kvant.for_loop(0, 1, 1)(lambda i: qml.RX(x, wires=w + i))()  # the failing line
        return qml.expval(qml.PauliZ(0))

    import inspect

    lines, first = inspect.getsourcelines(circuit.func)
    failing = first + next(i for i, text in enumerate(lines) if "the failing line" in text)
    with pytest.raises(
        kvant.KvantRuntimeError,
        match=rf"test_reliability.py:{failing}: .*RX.*"
        r"out of range.*QNode 'circuit'",
    ):
        kvant.qjit(circuit)(0.3, 7)
