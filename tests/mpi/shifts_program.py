"""A compiled program run by tests/test_distributed.py for mpi="shifts": once as a single
process without MPI, then under ``mpiexec -n 2`` and ``-n 4`` with the shifted circuits of its
parameter-shift gradients dealt out over the ranks.

Usage: python shifts_program.py OUT_DIR MODE, MODE "off" (mpi=False) or "shifts". Each rank
writes OUT_DIR/rank<r>.json with the program's results, how many shifted circuits this rank
evaluated and how many the program dealt out (runtime counters), and whether MPI was mapped;
the single-process run also writes default.qubit's values.
"""

import ctypes
import json
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml

import kvant

jax.config.update("jax_enable_x64", True)

OUT, MODE = sys.argv[1], sys.argv[2]
MPI = "shifts" if MODE == "shifts" else False
N = 4
SHOTS = 4000
rank = 0
if MPI:
    from mpi4py import MPI as mpi4py_MPI

    rank = mpi4py_MPI.COMM_WORLD.rank

H = qml.Hamiltonian(
    [0.5, -1.2, 0.8], [qml.PauliZ(0) @ qml.PauliZ(3), qml.PauliX(1), qml.PauliY(0) @ qml.PauliX(2)]
)


def layer(x):
    """Two-term gates and four-term ones (the controlled rotations)."""
    qml.RX(x[0], wires=0)
    qml.RY(x[1], wires=1)
    qml.CRX(x[2], wires=[0, 2])
    qml.IsingXX(x[3], wires=[1, 3])
    qml.Rot(x[4], x[5], x[0], wires=2)
    qml.CRZ(x[1], wires=[2, 3])
    qml.CNOT(wires=[3, 0])
    qml.CRY(x[2], wires=[1, 0])
    qml.RZ(x[3], wires=1)


def circuits(dev, method="parameter-shift"):
    @qml.qnode(dev, diff_method=method)
    def several(x):
        layer(x)
        return (
            qml.expval(qml.PauliZ(0)),
            qml.var(qml.PauliX(1) @ qml.PauliY(3)),
            qml.expval(H),
            qml.probs(wires=[0, 2]),
        )

    @qml.qnode(dev, diff_method=method)
    def single(x):
        layer(x)
        return qml.expval(qml.PauliZ(1) @ qml.PauliX(2))

    return several, single


def sampled_circuit(dev):
    @qml.set_shots(SHOTS)
    @qml.qnode(dev, diff_method="parameter-shift")
    def sampled(x):
        layer(x)
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(2))

    return sampled


def cost(several, x):
    e, v, h, p = several(x)
    return e + 0.5 * v - h + jnp.dot(p, jnp.arange(4.0))


def main():
    dev = qml.device("kvant.qubit", wires=N, mpi=MPI)
    several, single = circuits(dev)
    sampled = sampled_circuit(dev)

    @kvant.qjit(seed=77)
    def program(x):
        return (
            several(x),
            kvant.grad(lambda y: cost(several, y))(x),
            kvant.jacobian(lambda y: several(y)[3])(x),
            kvant.jacobian(lambda y: several(y)[1])(x),
            kvant.grad(lambda y: kvant.grad(single)(y)[2])(x),  # a row of the Hessian
            kvant.grad(sampled)(x),
        )

    from kvant.execution.library import runtime

    stats = (ctypes.c_int64 * 11)()
    runtime().kvant_rt_distributed_stats(stats, 11)
    owned0, dealt0 = stats[9], stats[10]
    x = jnp.array([0.3, 1.1, -0.7, 0.5, 1.3, -0.4])
    (e, v, h, p), g, jp, jv, hrow, gs = program(x)
    runtime().kvant_rt_distributed_stats(stats, 11)
    with open("/proc/self/maps") as f:
        mpi_mapped = any("libmpi" in line for line in f)
    result = {
        "values": [float(e), float(v), float(h), *np.asarray(p).tolist()],
        "grad_cost": np.asarray(g).tolist(),
        "jac_probs": np.asarray(jp).tolist(),
        "jac_var": np.asarray(jv).tolist(),
        "hessian_row": np.asarray(hrow).tolist(),
        "grad_sampled": np.asarray(gs).tolist(),
        "owned": int(stats[9] - owned0),
        "dealt": int(stats[10] - dealt0),
        "ranks": int(stats[0]),
        "mpi_mapped": mpi_mapped,
    }
    if not MPI:
        ref_several, ref_single = circuits(qml.device("default.qubit", wires=N), "backprop")
        e, v, h, p = ref_several(x)

        def ref_zz(y):
            @qml.qnode(qml.device("default.qubit", wires=N), diff_method="backprop")
            def zz(y):
                layer(y)
                return qml.expval(qml.PauliZ(0) @ qml.PauliZ(2))

            return zz(y)

        @jax.jit  # one XLA compilation (~7 s); op by op every primitive compiled (~24 s)
        def derivatives(x):
            return {
                "grad_cost": jax.grad(lambda y: cost(ref_several, y))(x),
                "jac_probs": jax.jacobian(lambda y: ref_several(y)[3])(x),
                "jac_var": jax.jacobian(lambda y: ref_several(y)[1])(x),
                "hessian_row": jax.hessian(ref_single)(x)[2],
                "grad_sampled": jax.grad(ref_zz)(x),
            }

        result["reference"] = {
            "values": [float(e), float(v), float(h), *np.asarray(p).tolist()],
            **{k: np.asarray(d).tolist() for k, d in derivatives(x).items()},
        }
    with open(os.path.join(OUT, f"rank{rank}.json"), "w") as f:
        json.dump(result, f)


main()
