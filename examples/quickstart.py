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


@kvant.qjit
def cost_and_gradient(x, y):
    cost = jnp.sin(circuit(x, y)) ** 2  # classical post-processing of a quantum result
    dcost = kvant.grad(lambda a, b: jnp.sin(circuit(a, b)) ** 2, argnums=(0, 1), method="fd")(x, y)
    return cost, dcost


x, y = 0.7, -0.4
cost, (dx, dy) = cost_and_gradient(x, y)
print(f"cost(x={x}, y={y}) = {float(cost):.8f}")
print(f"finite-difference gradient: d/dx = {float(dx):.6f}, d/dy = {float(dy):.6f}")

# The same with PennyLane's own entry point.
program = qml.qjit(compiler="kvant")(
    lambda x: qml.grad(lambda a: jnp.sin(circuit(a, y)) ** 2, method="fd", argnums=0)(x)
)
print(f"qml.qjit(compiler='kvant') with qml.grad: d/dx = {float(program(x)):.6f}")

# Closed form: <Z1> = cos x cos y, so d/dx sin^2(<Z1>) = -sin(2 cos x cos y) sin x cos y.
exact = -jnp.sin(2 * jnp.cos(x) * jnp.cos(y)) * jnp.sin(x) * jnp.cos(y)
print(f"closed form d/dx = {float(exact):.6f}")
