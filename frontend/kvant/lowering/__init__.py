"""JAXPR → MLIR (upstream dialects + ``quantum`` + ``gradient``)."""

from __future__ import annotations

from mlir import ir

from kvant.errors import CompileError
from kvant.lowering import rules  # noqa: F401  (fills the rule table)
from kvant.lowering.core import ModuleLowering


def lower_program(
    closed_jaxpr, name: str, context: ir.Context, host_functions: list | None = None
) -> ir.Module:
    """Lower a traced program; its entry point is the public function ``name`` with C interface.
    ``host_functions``, if given, receives the program's table of host functions (the callbacks
    its ``host.callback`` ops name by number, with their operand and result types)."""
    with context, ir.Location.unknown():
        lowering = ModuleLowering()
        attributes = {"llvm.emit_c_interface": ir.UnitAttr.get()}
        lowering.function(None, name, closed_jaxpr, public=True, attributes=attributes)
        try:
            lowering.module.operation.verify()
        except ir.MLIRError as exc:
            raise CompileError(f"kvant produced invalid MLIR (a kvant bug): {exc}") from exc
    if host_functions is not None:
        host_functions.extend(lowering.host_functions)
    return lowering.module
