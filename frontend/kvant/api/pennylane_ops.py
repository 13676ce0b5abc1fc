"""The rest of PennyLane's ``ops`` interface (``../shared/reference/pennylane-compiler-interface.md``).

``adjoint`` and ``ctrl`` build PennyLane operators, which the QNode capture understands; the
control flow lives in ``api.control_flow``. The rest arrives with later work (the full
differentiation API, mid-circuit measurement); until then it fails with a message that says so,
rather than with an AttributeError inside PennyLane.
"""

from __future__ import annotations

from pennylane.ops.op_math.adjoint import create_adjoint_op
from pennylane.ops.op_math.controlled import create_controlled_op

from kvant.tracing.qnode import measure  # noqa: F401  (mid-circuit measurement)


def adjoint(fn, lazy=True):
    return create_adjoint_op(fn, lazy)


def ctrl(op, control, control_values=None, work_wires=None, work_wire_type="borrowed"):
    return create_controlled_op(
        op, control, control_values=control_values, work_wires=work_wires,
        work_wire_type=work_wire_type,
    )


from kvant.api.differentiation import jvp, value_and_grad, vjp  # noqa: E402,F401
