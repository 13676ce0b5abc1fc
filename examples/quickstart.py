"""kvant quick start: a hybrid program, compiled with its derivative, run on kvant's simulator."""

import jax.numpy as jnp
import pennylane as qml

import kvant

dev = qml.device("kvant.qubit", wires=2)


@qml.qnode(dev)
def circuit(x, y):
    qml.RX(x, wires=0)
    qml.RY(y, wires=1)
    qml.CNOT(wires=[0, 1])
    return qml.expval(qml.PauliZ(1))


def cost(x, y):
    return jnp.sin(circuit(x, y)) ** 2  # classical post-processing of a quantum result


@kvant.qjit
def cost_and_gradients(x, y):
    exact = kvant.grad(cost, argnums=(0, 1))(x, y)  # method="auto": AD + adjoint method
    approximate = kvant.grad(cost, argnums=(0, 1), method="fd")(x, y)
    return cost(x, y), exact, approximate


x, y = 0.7, -0.4
value, (dx, dy), (fx, fy) = cost_and_gradients(x, y)
print(f"cost(x={x}, y={y}) = {float(value):.8f}")
print(f"gradient (method='auto'): d/dx = {float(dx):.10f}, d/dy = {float(dy):.10f}")
print(f"gradient (method='fd'):   d/dx = {float(fx):.10f}, d/dy = {float(fy):.10f}")

# The same with PennyLane's own entry point.
program = qml.qjit(compiler="kvant")(lambda x: qml.grad(lambda a: cost(a, y), argnums=0)(x))
print(f"qml.qjit(compiler='kvant') with qml.grad: d/dx = {float(program(x)):.10f}")

# Closed form: <Z1> = cos x cos y, so d/dx sin^2(<Z1>) = -sin(2 cos x cos y) sin x cos y.
exact = -jnp.sin(2 * jnp.cos(x) * jnp.cos(y)) * jnp.sin(x) * jnp.cos(y)
print(f"closed form d/dx = {float(exact):.10f}")
