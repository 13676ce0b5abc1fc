"""Lowering rules; importing this package fills ``kvant.lowering.registry.RULES``."""

from kvant.lowering.rules import (  # noqa: F401
    callbacks,
    calls,
    control_flow,
    cumulative,
    elementwise,
    lax_control_flow,
    linalg,
    quantum,
    random,
    scatter,
    sorting,
    structural,
)
