"""PennyLane transforms of a QNode called inside qjit: ``qml.gradients.param_shift(qnode)``,
``qml.metric_tensor(qnode)``, ``qml.transforms.cancel_inverses(qnode)``, ...

A transformed QNode carries its transforms in ``qnode.compile_pipeline``. PennyLane applies them
to the QNode's tape: each transform turns tapes into tapes plus a classical post-processing
function of their results, and transforms with a classical cotransform (the gradient
transforms) contract the result with the Jacobian of the gate parameters with respect to the
QNode's arguments, which PennyLane computes with ``jax.jacobian``. kvant does the same at trace
time, with the arguments as traced values: the QNode's quantum function builds the tape, the
pipeline produces the tapes to execute, each is captured as a QNode call of its own, and the
post-processing runs on their results as traced JAX code.

The tape is built by running the quantum function once, unrolled: kvant's compiled control flow
and mid-circuit measurements (which exist only inside a captured QNode) cannot be in it. The
compilation transforms that look at nothing but gates and keep the circuit's unitary (up to a
global phase) are applied differently, so that they work with control flow too: to each batch of
gates the QNode emits between control flow, mid-circuit measurements and gates on wires known
only at run time (``segment_rewriter``). Rewriting each straight-line run of gates is how a
compiler applies a peephole optimization; the QNode's value is the same as PennyLane's, which
applies them to the unrolled tape. Every other transform still needs the tape.
"""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import pennylane as qml

from kvant.errors import UnsupportedError


class _TapeConstruction:
    """The scope while a transformed QNode's tape is built: kvant's control flow and
    ``measure`` call ``flush`` first, and are refused there by name."""

    def __init__(self, name: str, transforms: str):
        self.name = name
        self.transforms = transforms

    def flush(self):
        raise UnsupportedError(
            f"QNode '{self.name}' is transformed by {self.transforms}: PennyLane transforms act "
            "on the QNode's tape, which kvant builds by running the quantum function once, so "
            "compiled control flow (for_loop, while_loop, cond) and mid-circuit measurements are "
            "not supported in it; use Python control flow, or apply no transform"
        )


#: Transforms that rewrite gates into gates with the same unitary up to a global phase, from the
#: gates alone: applied to any straight-line run of gates they keep the QNode's value.
#: (``undo_swaps`` and ``transpile`` move gates between wires and need the whole circuit;
#: ``merge_amplitude_embedding`` needs its start.)
GATE_LOCAL = frozenset(
    {
        "cancel_inverses",
        "merge_rotations",
        "commute_controlled",
        "single_qubit_fusion",
        "remove_barrier",
        "combine_global_phases",
        "unitary_to_rot",
        "decompose",
        "compile",
    }
)


def _transform_name(bound) -> str:
    return getattr(bound.tape_transform, "__name__", "") or str(bound.pass_name)


def _gate_local(bound) -> bool:
    if bound.tape_transform is None or _transform_name(bound) not in GATE_LOCAL:
        return False
    # qml.compile runs the transforms it is given: gate-local only if every one of them is
    inner = (bound.kwargs or {}).get("pipeline") if _transform_name(bound) == "compile" else None
    return inner is None or all(
        getattr(t, "__name__", getattr(getattr(t, "tape_transform", None), "__name__", ""))
        in GATE_LOCAL
        for t in inner
    )


def segment_rewriter(pipeline):
    """The rewrite a ``QuantumScope`` applies to each batch of gates it emits, or None when a
    transform of ``pipeline`` is not in ``GATE_LOCAL``.

    Gates on wires known only at run time split a batch into runs and stay as they are: a
    transform compares wires by label, and two run-time wires may be the same wire.
    """
    if not all(_gate_local(bound) for bound in pipeline):
        return None

    def rewrite(operations):
        out, run = [], []

        def close_run():
            if run:
                try:
                    (tape,), _ = copy.copy(pipeline)((qml.tape.QuantumScript(list(run)),))
                except UnsupportedError:
                    raise
                except Exception as exc:  # PennyLane's own failure inside the transform
                    raise UnsupportedError(
                        f"PennyLane's {_names(pipeline)} failed on the gates "
                        f"{', '.join(op.name for op in run)} inside compiled code "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
                    ) from exc
                out.extend(tape.operations)
                run.clear()

        for op in operations:
            if any(isinstance(w, jax.core.Tracer) for w in op.wires):
                close_run()
                out.append(op)
            else:
                run.append(_jax_parameters(op))
        close_run()
        return out

    return rewrite


def _jax_parameters(op):
    """``op`` with every parameter a JAX array: PennyLane's transforms combine parameters with
    ``qml.math``, which fails on a Python number next to a traced one (merge_rotations of
    ``RY(0.061)`` and ``RY(p[1])``: found by the fuzzer, seed 1932)."""
    if not op.data or all(isinstance(d, jax.Array) for d in op.data):
        return op
    return qml.ops.functions.bind_new_parameters(op, [jnp.asarray(d) for d in op.data])


def _names(pipeline) -> str:
    return ", ".join(str(bound.pass_name or bound.tape_transform.__name__) for bound in pipeline)


def _check(pipeline, name: str):
    for bound in pipeline:
        label = bound.pass_name or getattr(bound.tape_transform, "__name__", repr(bound))
        if bound.tape_transform is None:
            raise UnsupportedError(
                f"QNode '{name}': the transform {label} has no tape form kvant can apply"
            )


def capture_transformed_call(qnode, args, kwargs, capture, capture_rewritten):
    """The value of a call of a QNode with transforms. Transforms of gates alone: the QNode
    captured by ``capture_rewritten(qnode, args, kwargs, rewrite)`` with ``segment_rewriter``.
    Others: the pipeline applied to its tape, each resulting tape captured by
    ``capture(qnode, *args)`` (``capture_qnode_call``), PennyLane's post-processing applied to
    the results."""
    from kvant.tracing.qnode import _entered  # circular at import time

    name = getattr(qnode.func, "__name__", "qnode")
    pipeline = qnode.compile_pipeline
    if any(_transform_name(bound) == "defer_measurements" for bound in pipeline):
        # what kvant's mcm_method="deferred" computes (outcomes held on ancilla wires,
        # everything that depends on them controlled on them), so the QNode runs that way
        qnode = _deferred(qnode, name)
        if not qnode.compile_pipeline:
            return capture_rewritten(qnode, args, kwargs, None)
        pipeline = qnode.compile_pipeline
    _check(pipeline, name)
    rewrite = segment_rewriter(pipeline)
    if rewrite is not None:
        return capture_rewritten(qnode, args, kwargs, rewrite)
    program = copy.copy(pipeline)
    with _entered(_TapeConstruction(name, _names(pipeline))):
        tape = qml.workflow.construct_tape(qnode, level=0)(*args, **kwargs)
        # the classical Jacobians of gradient transforms (jax.jacobian of the tape's parameters
        # in the arguments), traced here
        program.set_classical_component(qnode, args, kwargs)
        tapes, postprocess = program((tape,))
    if program.is_informative:
        # the post-processing computes the result from the tapes themselves (e.g.
        # adjoint_metric_tensor simulates them classically): as in PennyLane, nothing executes
        return postprocess(tapes)[0]
    results = tuple(_capture_tape(t, qnode, name, capture) for t in tapes)
    return postprocess(results)[0]


def _deferred(qnode, name):
    """``qnode`` with mcm_method="deferred" in place of its defer_measurements transform."""
    asked = (getattr(qnode, "execute_kwargs", {}) or {}).get("mcm_method")
    if asked not in (None, "deferred"):
        raise UnsupportedError(
            f"QNode '{name}' is transformed by defer_measurements but asks for mcm_method={asked!r}"
        )
    deferred = qnode.update(mcm_method="deferred")
    kept = [b for b in qnode.compile_pipeline if _transform_name(b) != "defer_measurements"]
    deferred._compile_pipeline = type(qnode.compile_pipeline)(kept)
    return deferred


def _capture_tape(tape, qnode, name, capture):
    """One tape executed as a QNode call: its parameters are the call's arguments."""
    params = tape.get_parameters(trainable_only=False)
    # bind_new_parameters counts indices among the trainable parameters: make them all so
    every = tape.copy()
    every.trainable_params = list(range(len(params)))

    def replay(*values):
        with qml.QueuingManager.stop_recording():  # new operators queue themselves
            bound = every.bind_new_parameters(list(values), list(range(len(values))))
        for op in bound.operations:
            qml.apply(op)
        measurements = [qml.apply(m) for m in bound.measurements]
        return measurements[0] if len(measurements) == 1 else tuple(measurements)

    replay.__name__ = name
    circuit = qml.QNode(replay, qnode.device, diff_method=qnode.diff_method, shots=tape.shots)
    return capture(circuit, *params)
