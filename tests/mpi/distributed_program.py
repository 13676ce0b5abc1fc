"""A compiled program run by tests/test_distributed.py: once as a single process (mpi=False),
then under ``mpiexec -n 2`` and ``-n 4`` with its QNodes' registers distributed (mpi=True).

Usage: python distributed_program.py OUT_DIR MPI(0/1). Each rank writes OUT_DIR/rank<r>.json
with every result of the program, the distribution its last register had, and whether MPI was
mapped into the process; the single-process run also writes default.qubit's values.
"""

import json
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml

import kvant

jax.config.update("jax_enable_x64", True)

OUT, MPI_ON = sys.argv[1], sys.argv[2] == "1"
N = 9  # with 4 ranks: 2 global wires, 7 local
rank = 0
if MPI_ON:
    from mpi4py import MPI

    rank = MPI.COMM_WORLD.rank


def unitary():
    # a fixed 4x4 unitary (QR of a fixed matrix)
    a = np.arange(16).reshape(4, 4) + 1j * np.cos(np.arange(16)).reshape(4, 4)
    q, _ = np.linalg.qr(a)
    return q


U = unitary()
H = qml.Hamiltonian(
    [0.5, -1.2, 0.8],
    [qml.PauliZ(0) @ qml.PauliZ(8), qml.PauliX(1), qml.PauliY(0) @ qml.PauliX(4) @ qml.PauliZ(7)],
)


def layer(x):
    """Gates on every wire, many of them on the top wires (the global ones when distributed)."""
    for w in range(N):
        qml.RY(x[w], wires=w)
    qml.CNOT(wires=[0, 5])
    qml.CRX(x[1], wires=[8, 0])
    qml.IsingXX(x[2], wires=[0, 1])
    qml.Toffoli(wires=[0, 1, 8])
    qml.MultiRZ(x[3], wires=range(N))
    qml.SWAP(wires=[0, 7])
    qml.Hadamard(wires=1)
    qml.Rot(x[4], x[5], x[6], wires=0)
    qml.DoubleExcitation(x[7], wires=[0, 1, 2, 3])
    qml.ctrl(qml.RZ(x[8], wires=2), control=0)
    qml.QubitUnitary(U, wires=[1, 0])
    qml.SingleExcitation(x[0], wires=[1, 6])
    qml.CZ(wires=[1, 8])
    qml.S(wires=0)
    qml.IsingZZ(x[2], wires=[0, 1])
    qml.PhaseShift(x[3], wires=1)


def circuits(dev, adjoint="adjoint", shift="parameter-shift"):
    @qml.qnode(dev, diff_method=adjoint)
    def exact(x):
        layer(x)
        return (
            qml.expval(qml.PauliZ(0)),
            qml.var(qml.PauliX(1) @ qml.PauliY(8)),
            qml.expval(H),
            qml.probs(wires=[0, 4, 8]),
        )

    @qml.qnode(dev)
    def state(x):
        layer(x)
        return qml.state()

    @qml.qnode(dev, diff_method=shift)
    def shifted(x):
        layer(x)
        return qml.expval(qml.PauliZ(1) @ qml.PauliZ(0))

    @qml.qnode(dev)
    def deferred(x):
        layer(x)
        m = qml.measure(0)
        qml.cond(m, qml.RX)(x[0], wires=8)
        return qml.expval(qml.PauliZ(8)), qml.probs(op=m)

    return exact, state, shifted, deferred


def sampled_circuits(dev):
    @qml.set_shots(300)
    @qml.qnode(dev, mcm_method="one-shot")
    def one_shot(x):
        layer(x)
        m = qml.measure(1, reset=True)
        qml.cond(m, qml.PauliX)(wires=8)
        return qml.sample(wires=[0, 8]), qml.expval(m), qml.counts(wires=[1, 0])

    return one_shot


def layer_expval(x):
    layer(x)
    return qml.expval(qml.PauliY(0) @ qml.PauliZ(1))


def cost(exact, x):
    e, v, h, _ = exact(x)
    return e + 0.5 * v - h


def main():
    dev = qml.device("kvant.qubit", wires=N, mpi=MPI_ON)
    exact, state, shifted, deferred = circuits(dev)
    one_shot = sampled_circuits(dev)

    @kvant.qjit(seed=1234)
    def program(x):
        return (
            exact(x),
            state(x),
            kvant.grad(lambda y: cost(exact, y))(x),
            shifted(x),
            kvant.grad(shifted)(x),
            deferred(x),
            one_shot(x),
        )

    x = jnp.linspace(0.2, 1.4, N)
    (e, v, h, p), s, g, sh, gsh, (d_e, d_p), (samples, m, counts) = program(x)
    import ctypes

    from kvant.execution.library import runtime

    stats = (ctypes.c_int64 * 8)()
    runtime().kvant_rt_distributed_stats(stats, 8)

    # the qjit option, on a device that does not ask for MPI itself
    @kvant.qjit(mpi=MPI_ON)
    def by_option(x):
        return qml.QNode(layer_expval, qml.device("lightning.qubit", wires=N))(x)

    option_value = float(by_option(x))
    option_stats = (ctypes.c_int64 * 8)()
    runtime().kvant_rt_distributed_stats(option_stats, 8)
    with open("/proc/self/maps") as f:
        mpi_mapped = any("libmpi" in line for line in f)
    result = {
        "expval": float(e),
        "var": float(v),
        "hamiltonian": float(h),
        "probs": np.asarray(p).tolist(),
        "state_re": np.real(np.asarray(s)).tolist(),
        "state_im": np.imag(np.asarray(s)).tolist(),
        "grad_adjoint": np.asarray(g).tolist(),
        "shifted": float(sh),
        "grad_param_shift": np.asarray(gsh).tolist(),
        "deferred_expval": float(d_e),
        "deferred_probs": np.asarray(d_p).tolist(),
        "samples": np.asarray(samples).tolist(),
        "mcm_expval": float(m),
        "counts": {str(k): int(c) for k, c in sorted(dict(counts).items())},
        "ranks": int(stats[0]),
        "global_wires": int(stats[1]),
        "swaps": int(stats[2]),
        "mpi_mapped": mpi_mapped,
        "option_value": option_value,
        "option_global_wires": int(option_stats[1]),
    }
    if not MPI_ON:
        # independent references for the exact quantities
        # default.qubit's backprop (its adjoint method has no var or probs)
        ref_exact, ref_state, ref_shifted, _ = circuits(
            qml.device("default.qubit", wires=N), "backprop", "backprop"
        )
        # without fixed wires: the deferred measurement's wire is added
        ref_deferred = circuits(qml.device("default.qubit"), "backprop", "backprop")[3]
        # differentiated by autograd: ~0.2 s, where JAX op by op took ~16 s (every primitive
        # compiled on its own)
        x = qml.numpy.array(np.asarray(x), requires_grad=True)
        e, v, h, p = ref_exact(x)
        s = ref_state(x)
        result["reference"] = {
            "expval": float(e),
            "var": float(v),
            "hamiltonian": float(h),
            "probs": np.asarray(p).tolist(),
            "state_re": np.real(np.asarray(s)).tolist(),
            "state_im": np.imag(np.asarray(s)).tolist(),
            "grad_adjoint": np.asarray(qml.grad(lambda y: cost(ref_exact, y))(x)).tolist(),
            "shifted": float(ref_shifted(x)),
            "grad_param_shift": np.asarray(qml.grad(ref_shifted)(x)).tolist(),
            "deferred_expval": float(ref_deferred(x)[0]),
            "deferred_probs": np.asarray(ref_deferred(x)[1]).tolist(),
            "option_value": float(qml.QNode(layer_expval, qml.device("default.qubit", wires=N))(x)),
        }
    with open(os.path.join(OUT, f"rank{rank}.json"), "w") as f:
        json.dump(result, f)


main()
