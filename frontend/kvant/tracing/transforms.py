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
and mid-circuit measurements (which exist only inside a captured QNode) are refused there.
"""

from __future__ import annotations

import copy

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


def _names(pipeline) -> str:
    return ", ".join(str(bound.pass_name or bound.tape_transform.__name__) for bound in pipeline)


def _check(pipeline, name: str):
    for bound in pipeline:
        label = bound.pass_name or getattr(bound.tape_transform, "__name__", repr(bound))
        if bound.tape_transform is None:
            raise UnsupportedError(
                f"QNode '{name}': the transform {label} has no tape form kvant can apply"
            )


def capture_transformed_call(qnode, args, kwargs, capture):
    """The value of a call of a QNode with transforms: the pipeline applied to its tape, each
    resulting tape captured by ``capture(qnode, *args)`` (``capture_qnode_call``), PennyLane's
    post-processing applied to the results."""
    from kvant.tracing.qnode import _entered  # circular at import time

    name = getattr(qnode.func, "__name__", "qnode")
    pipeline = qnode.compile_pipeline
    _check(pipeline, name)
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
