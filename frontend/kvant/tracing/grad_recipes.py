"""Gates whose class defines its own parameter-shift recipe (``grad_recipe``).

PennyLane's parameter-shift gradient uses a gate's ``grad_recipe`` (``df/dp = Σ c f(a p + s)``),
which a user may set to any rule, exact or not; its adjoint and backprop methods ignore it.
kvant's derivative passes shift gates by their own exact rules, so where PennyLane would use a
user's recipe — a QNode with ``diff_method="parameter-shift"``, or ``"best"`` with shots —
kvant refuses to differentiate by name instead of silently using another rule. Forward
evaluation is unaffected. The names are kept per QNode body (the JAXPR a ``kvant_qnode``
equation carries) and given, when a derivative with method="auto" is traced, to the
admissibility table (``decideAutoMethod``, mlir/lib/Gradient/QuantumDerivatives/AutoMethod.cpp),
which decides whether PennyLane would apply them.
"""

from __future__ import annotations

import weakref

_BY_BODY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _has_recipe(op) -> bool:
    recipe = getattr(op, "grad_recipe", None)
    return isinstance(recipe, (tuple, list)) and any(r is not None for r in recipe)


def user_recipes(op) -> set[str]:
    """Names of the operation (or the bases of its adjoint / controlled form) whose class,
    defined outside PennyLane, has a ``grad_recipe``."""
    names = set()
    while op is not None:
        if not type(op).__module__.startswith("pennylane") and _has_recipe(op):
            names.add(op.name)
        op = getattr(op, "base", None)
    return names


def record(body, names):
    if names:
        _BY_BODY[body] = frozenset(names)


def recorded(body) -> frozenset:
    return _BY_BODY.get(body, frozenset())
