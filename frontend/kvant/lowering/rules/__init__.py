"""Lowering rules; importing this package fills ``kvant.lowering.registry.RULES``."""

from kvant.lowering.rules import calls, control_flow, elementwise, quantum, structural  # noqa: F401
