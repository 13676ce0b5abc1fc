"""The table of lowering rules: one rule per JAX primitive (JAX's own habit, see
``jax/_src/interpreters/mlir.py``).

A rule is called as ``rule(ctx, *operands, **eqn.params)`` with ``ctx`` a ``RuleContext`` and
the operands the MLIR values of the equation's inputs; it returns one MLIR value or a list of them
(one per equation output).
"""

from __future__ import annotations

from collections.abc import Callable

RULES: dict[str, Callable] = {}


def register(*primitive_names: str):
    def decorate(rule):
        for name in primitive_names:
            if name in RULES:
                raise RuntimeError(f"two lowering rules for primitive '{name}'")
            RULES[name] = rule
        return rule

    return decorate
