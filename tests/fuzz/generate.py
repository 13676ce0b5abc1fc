"""Random valid programs from a seed: ``generate(seed, mode, features) -> Program``.

The same seed, mode and feature set always give the same program (one ``random.Random(seed)``
drives every choice, and nothing else does). Each feature in ``FEATURES`` switches one family of
constructs on; a program only uses constructs whose feature is enabled. The generator keeps
within what PennyLane ``default.qubit`` runs:

- wires of one operation are distinct; a wire computed at run time is ``lo + (base + off) % k``
  inside the pool ``[lo, lo + k)`` of wires free at that point (``qml.ctrl`` takes its control
  wires out of the pool of its body);
- no measurement inside ``adjoint`` / ``ctrl``; a mid-circuit measurement without
  ``postselect`` ("free") only at the top level of a QNode body, so the reference can enumerate
  its outcomes; inside regions they carry an explicit ``postselect``;
- no ``qml.state()`` and no wire-less ``probs``/``sample`` in QNodes with mid-circuit
  measurements (deferred measurement adds wires on the reference side);
- QNodes with shots have no mid-circuit measurement unless they use ``mcm_method="one-shot"``;
- trip counts stay at most ``program.MAX_TRIPS``.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np

from tests.fuzz.program import (
    MAX_TRIPS,
    Adjoint,
    Binary,
    Cast,
    CondValue,
    Const,
    Ctrl,
    ForLoop,
    Gate,
    Hamiltonian,
    Hermitian,
    If,
    Index,
    McmValue,
    MeasCond,
    Measure,
    Measurement,
    MultiWireObservable,
    PauliWord,
    Program,
    QNode,
    RunTimeWire,
    Unary,
    Var,
    WhileLoop,
    Wire,
    child_bodies,
    walk_ops,
)

#: the runtime's gate table (runtime/include/kvant/gates.def), as (num_params, num_wires);
#: num_wires -1: any number. Read from kvant so a new gate is fuzzed as soon as it is added.
try:
    from kvant.tracing.gate_table import GATES as RUNTIME_GATES
except Exception:  # pragma: no cover - the fuzzer's generator can run without kvant built
    RUNTIME_GATES = {}

#: gates outside the runtime's table, which kvant runs through PennyLane's decompositions
DECOMPOSED_GATES = {
    "U1": (1, 1),
    "U2": (2, 1),
    "U3": (3, 1),
    "CH": (0, 2),
    "PSWAP": (1, 2),
    "SISWAP": (0, 2),
    "ECR": (0, 2),
    "CCZ": (0, 3),
    "CPhaseShift00": (1, 2),
    "CPhaseShift01": (1, 2),
    "SingleExcitationPlus": (1, 2),
    "SingleExcitationMinus": (1, 2),
    "FermionicSWAP": (1, 2),
    "OrbitalRotation": (1, 4),
    "PauliRot": (1, -1),
}

#: Every feature the generator knows, with what it switches on.
FEATURES = {
    "decomposed_gates": "gates outside the runtime table (PennyLane decompositions)",
    "adjoint_gate": "qml.adjoint of a gate",
    "ctrl_gate": "qml.ctrl of a gate, control values 0/1",
    "adjoint_region": "qml.adjoint of a quantum function with gates, loops and conds (W1)",
    "ctrl_region": "qml.ctrl of a quantum function with gates, loops and conds (W2)",
    "for_loop": "for_loop with run-time bounds, optionally carrying a float",
    "while_loop": "while_loop with a run-time bound",
    "cond": "cond on a classical predicate, with else branch",
    "cond_value": "a value returned by cond used as a gate parameter (R1)",
    "runtime_wires": "wires computed at run time from n and loop indices",
    "decomposed_runtime_wires": "decomposed gates on wires computed at run time",
    "fermionic_swap": "FermionicSWAP among the decomposed gates",
    "mcm": "qml.measure at the top of a QNode body (exact statistics: deferred), cond on the outcome",
    "mcm_postselect": "qml.measure with postselect",
    "mcm_in_loops": "qml.measure (postselected) inside loops (deferred: for loops with bounds "
    "known while tracing, unrolled)",
    "mcm_in_conds": "qml.measure inside a cond on classical values (deferred QNodes)",
    "mcm_single_branch": 'mcm_method="single-branch-statistics": outcomes enumerated on the reference side',
    "mcm_reset": "qml.measure with reset=True",
    "multi_qnode": "several QNodes per program",
    "chain": "QNode results as parameters of later QNodes",
    "hermitian": "expval/var of qml.Hermitian",
    "multiwire_obs": "qml.Projector, qml.I on several wires in a product, a product whose "
    "factors share a wire",
    "hamiltonian": "expval of Hamiltonians with constant coefficients",
    "hamiltonian_trainable": "Hamiltonian coefficients computed from the argument (W7)",
    "var": "qml.var",
    "probs": "qml.probs (with and without wires)",
    "state": "qml.state",
    "shots": "QNodes with shots: sample, counts, sampled expval/var/probs (forward mode)",
    "sample_one_wire": "qml.sample of a single wire (R5)",
    "obs_runtime_wire": "an observable on a wire computed at run time (R3)",
    "one_shot": 'mcm_method="one-shot" with shots (W3)',
    "transforms": "PennyLane compilation transforms applied to a QNode (W6)",
    "mcm_stats": "statistics of mid-circuit outcomes as QNode results: expval/var of an outcome "
    "and of arithmetic on outcomes (2 * m0 + m1, m0 - m1, 3.5 * m0 - m1, m0 & m1, m0 | m1, ~m0), "
    "probs(op=m) and probs(op=[m0, m1]); with one-shot also sample and counts of outcomes "
    "(issue 14)",
    "qnode_classical_returns": "QNodes returning classical values beside measurements, in tuples "
    "and dicts: values and arrays computed from the arguments, and outcomes themselves under "
    "single-branch-statistics (the branch the reference postselects) and one-shot (once per "
    "shot) (issue 14)",
    "cond_dtypes": "cond with branches of different dtypes (bool/int32/int64/float32/float64, "
    "Python numbers): kvant promotes them, the reference casts the chosen value to "
    "jnp.promote_types of both (issue 14)",
    "one_shot_postselect": 'a postselected outcome under mcm_method="one-shot" with '
    'postselect_mode="fill-shots" (every shot postselected): the statistics of the conditional '
    "distribution, which the reference computes exactly (issue 14)",
    "autograph": "loops and conds written as Python for/while/if, compiled with autograph=True; "
    "the reference runs the same Python on concrete values (issue 14)",
}

#: features that still give mismatches or crashes, with why; the CI slice leaves them out
#: (``--features stable``), the long campaign includes them. (Issue 11's W1-W7, R1-R6 and the
#: fuzzer's B1-B3 are fixed: everything else is fuzzed in CI.)
KNOWN_BROKEN: dict[str, str] = {
    # feature -> why it is left out of CI (a bug being fixed); empty: everything is fuzzed in CI
}

DIFF_METHODS = ("adjoint", "parameter-shift", "best")
DERIVATIVES = ("grad", "jacobian", "vjp", "jvp")
#: not cancel_inverses: PennyLane's own raises on valid circuits with adjoint/ctrl regions
#: ("zip() argument 2 is longer than argument 1" in its _check_equality), so the reference fails
TRANSFORMS = ("merge_rotations", "commute_controlled", "single_qubit_fusion")
SHOTS = 3000
NUM_X = 4
SMOOTH = ("sin", "cos", "tanh")


def _names_in(node) -> set:
    """Every ``Var``/``Index`` name in ``node`` (an operation, expression or list)."""
    out = set()
    if isinstance(node, list):
        for x in node:
            out |= _names_in(x)
    elif isinstance(node, Var):
        out.add(node.name)
    elif isinstance(node, Index):
        out.add(node.base)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            out |= _names_in(getattr(node, f.name))
    return out


def _names_in_closures(ops) -> set:
    """The names read inside the functions ``ops`` render (regions, loop bodies, lambdas)."""
    out = set()
    for op in ops:
        python = getattr(op, "python", False)
        gate_form = getattr(op, "as_gate", False) and len(getattr(op, "body", [])) == 1
        if isinstance(op, CondValue):
            if not python:
                out |= _names_in([op.a, op.b])
        elif isinstance(op, (ForLoop, WhileLoop, If, Adjoint, Ctrl, MeasCond)):
            if python or gate_form:
                for body in child_bodies(op):
                    out |= _names_in_closures(body)
                # the bound, predicate, carry are read outside any function
            else:
                out |= _names_in(child_bodies(op))
                if isinstance(op, WhileLoop):
                    out |= _names_in(op.bound)  # in the condition function
                if isinstance(op, ForLoop) and op.carry:
                    out |= _names_in(op.carry_update)
    return out


def _int_valued(expr) -> bool:
    return isinstance(expr, Binary) and isinstance(expr.a, Var) and expr.a.name == "n"


def _is_array(expr) -> bool:
    return isinstance(expr, Binary) and isinstance(expr.a, Unary) and expr.a.a == Var("p")


def _constant(expr) -> bool:
    return isinstance(expr, Const) or (
        isinstance(expr, Binary) and _constant(expr.a) and _constant(expr.b)
    )


class _Scope:
    """What a piece of a QNode body may use: wire pool, int and float values, outcomes."""

    def __init__(
        self,
        lo,
        k,
        ints,
        floats,
        mcms,
        depth=0,
        loops=0,
        quantum_only=False,
        top=True,
        static_loops=True,
        in_cond=False,
    ):
        self.lo, self.k = lo, k
        self.ints, self.floats, self.mcms = list(ints), list(floats), list(mcms)
        self.depth, self.loops = depth, loops
        self.quantum_only = quantum_only  # inside adjoint/ctrl: no measurements
        self.top = top
        # every enclosing loop a for loop with constant bounds (a deferred QNode unrolls it)
        self.static_loops = static_loops
        self.in_cond = in_cond  # inside a cond branch on classical values

    def child(self, **changes):
        s = _Scope(
            self.lo,
            self.k,
            self.ints,
            self.floats,
            self.mcms,
            self.depth + 1,
            self.loops,
            self.quantum_only,
            top=False,
            static_loops=self.static_loops,
            in_cond=self.in_cond,
        )
        for key, value in changes.items():
            setattr(s, key, value)
        return s


class Generator:
    def __init__(self, seed, mode, features):
        self.rng = random.Random(seed)
        # Features added later draw from a generator of their own and replace a construct
        # after it was generated, so the programs of the other features' seeds stay as they were
        self.late_rng = random.Random(f"late-{seed}")
        self.seed, self.mode = seed, mode
        self.features = set(features)
        self.names = 0
        self.extra_budget = 0

    # -- helpers ------------------------------------------------------------------------------
    def late(self):
        """Draw from ``late_rng`` inside the block: constructs of features added later, so the
        programs of the other features stay as they were."""
        gen = self

        class _Late:
            def __enter__(self):
                gen.rng, self.saved = gen.late_rng, gen.rng

            def __exit__(self, *exc):
                gen.rng = self.saved

        return _Late()

    def late_on(self, feature, p=1.0):
        return feature in self.features and self.late_rng.random() < p

    def on(self, feature, p=1.0):
        return feature in self.features and self.rng.random() < p

    def fresh(self, prefix):
        self.names += 1
        return f"{prefix}{self.names}"

    def const(self):
        return Const(round(self.rng.uniform(-1.5, 1.5), 3))

    # -- expressions --------------------------------------------------------------------------
    def float_expr(self, leaves, depth=0):
        """A smooth float expression over ``leaves`` (Exprs) and constants."""
        r = self.rng.random()
        if depth >= 2 or r < 0.45:
            return self.rng.choice(leaves) if leaves and self.rng.random() < 0.85 else self.const()
        if r < 0.65:
            return Unary(self.rng.choice(SMOOTH), self.float_expr(leaves, depth + 1))
        op = self.rng.choice(["+", "-", "*"])
        return Binary(op, self.float_expr(leaves, depth + 1), self.float_expr(leaves, depth + 1))

    def gate_param(self, scope):
        leaves = list(scope.floats)
        for i in scope.ints:
            if self.rng.random() < 0.3:
                leaves.append(Binary("*", Cast("float64", i), self.const()))
        return self.float_expr(leaves)

    def int_base(self, scope):
        """An int expression for run-time wires: n, a loop index, or a sum of both."""
        base = self.rng.choice(scope.ints)
        if len(scope.ints) > 1 and self.rng.random() < 0.3:
            base = Binary("+", base, self.rng.choice(scope.ints))
        return base

    def trip_bound(self):
        """An int expression in [1, MAX_TRIPS] for n in [1, 3]."""
        return self.rng.choice(
            [
                Var("n"),
                Binary("+", Var("n"), Const(1)),
                Const(2),
                Binary("+", Binary("%", Var("n"), Const(2)), Const(1)),
            ]
        )

    def classical_pred(self, scope):
        if scope.ints and self.rng.random() < 0.5:
            i = self.rng.choice(scope.ints)
            return Binary(self.rng.choice(["<", ">=", "=="]), Binary("%", i, Const(2)), Const(1))
        return Binary(
            self.rng.choice([">", "<"]),
            self.rng.choice(scope.floats) if scope.floats else self.const(),
            Const(round(self.rng.uniform(-0.5, 0.5), 2)),
        )

    # -- wires --------------------------------------------------------------------------------
    def wires(self, scope, count, decomposed=False):
        if count > scope.k:
            return None
        runtime = self.on("runtime_wires", 0.35)
        if decomposed and not self.on("decomposed_runtime_wires", 0.3):
            runtime = False
        if runtime and scope.ints:
            base = self.int_base(scope)
            offs = self.rng.sample(range(scope.k), count)
            return [RunTimeWire(base, off, scope.lo, scope.k) for off in offs]
        return [Wire(scope.lo + w) for w in self.rng.sample(range(scope.k), count)]

    # -- gates --------------------------------------------------------------------------------
    def gate(self, scope):
        table = dict(RUNTIME_GATES)
        decomposed = set()
        if self.on("decomposed_gates", 0.3):
            table = dict(DECOMPOSED_GATES)
            decomposed = set(table)
        options = [
            (name, np_, nw)
            for name, (np_, nw) in sorted(table.items())
            if max(nw, 1) <= scope.k
            and (name != "FermionicSWAP" or "fermionic_swap" in self.features)
        ]
        name, nparams, nwires = self.rng.choice(options)
        if nwires == -1:
            nwires = self.rng.randint(1, min(scope.k, 3))
        wires = self.wires(scope, nwires, decomposed=bool(decomposed))
        if wires is None:
            return None
        params = [self.gate_param(scope) for _ in range(nparams)]
        pauli = None
        if name == "PauliRot":
            pauli = "".join(self.rng.choice("XYZ") for _ in wires)
        if name == "GlobalPhase" and self.rng.random() < 0.5:
            wires = []
        return Gate(name, params, wires, pauli=pauli, decomposed=name in decomposed)

    # -- operations ---------------------------------------------------------------------------
    def ops(self, scope, count):
        out = []
        for _ in range(count):
            op = self.op(scope)
            if isinstance(op, list):
                out += op
            elif op is not None:
                out.append(op)
        return out

    def op(self, scope):
        choices = [("gate", 6)]
        if scope.depth < 2:
            choices += [
                ("adjoint_gate", 1),
                ("ctrl_gate", 1),
                ("adjoint_region", 1),
                ("ctrl_region", 1),
                ("for_loop", 1.5),
                ("while_loop", 1),
                ("cond", 1),
                ("cond_value", 0.7),
            ]
        # A deferred QNode (exact statistics) unrolls loops with constant bounds and defers
        # measurements in a cond; measurements in other loops are refused (as by PennyLane)
        deferred = not self.single_branch and not self.one_shot
        in_loop = (
            scope.loops and "mcm_in_loops" in self.features and (scope.static_loops or not deferred)
        )
        in_cond = scope.in_cond and "mcm_in_conds" in self.features and deferred
        if not scope.quantum_only and (scope.top or in_loop or in_cond):
            choices += [
                ("mcm", 1.2 if scope.top or (in_cond and not scope.loops) else 0),
                ("mcm_postselect", 0 if scope.in_cond else 0.6),
            ]
        kinds = [k for k, w in choices if k == "gate" or k in self.features]
        weights = [w for k, w in choices if k == "gate" or k in self.features]
        kind = self.rng.choices(kinds, weights)[0]
        return getattr(self, "op_" + kind)(scope)

    def op_gate(self, scope):
        return self.gate(scope)

    def op_adjoint_gate(self, scope):
        g = self.gate(scope)
        return g and Adjoint([g], as_gate=True)

    def _controls(self, scope):
        if scope.k < 2:
            return None
        n = self.rng.randint(1, min(2, scope.k - 1))
        controls = [scope.lo + scope.k - 1 - j for j in range(n)]
        values = [self.rng.randint(0, 1) for _ in controls]
        return controls, values, scope.child(k=scope.k - n, quantum_only=True)

    def op_ctrl_gate(self, scope):
        c = self._controls(scope)
        if c is None:
            return None
        controls, values, inner = c
        inner.depth = scope.depth  # a single gate: no nesting
        g = self.gate(inner)
        return g and Ctrl([g], controls, values, as_gate=True)

    def region_body(self, scope):
        return self.ops(scope, self.rng.randint(1, 3))

    def op_adjoint_region(self, scope):
        return Adjoint(self.region_body(scope.child(quantum_only=True)))

    def op_ctrl_region(self, scope):
        c = self._controls(scope)
        if c is None:
            return None
        controls, values, inner = c
        return Ctrl(self.region_body(inner), controls, values)

    def op_for_loop(self, scope):
        var = self.fresh("i")
        lo = self.rng.choice([0, 1])
        hi = self.trip_bound()
        if "mcm_in_loops" in self.features and self.rng.random() < 0.4:
            hi = Const(self.rng.randint(1, MAX_TRIPS))  # bounds known while tracing
        if lo:
            hi = Binary("+", hi, Const(1))
        inner = scope.child(
            ints=scope.ints + [Var(var)],
            loops=scope.loops + 1,
            static_loops=scope.static_loops and _constant(hi),
        )
        carry = None
        if self.rng.random() < 0.4:
            carry = self.fresh("c")
            inner.floats = inner.floats + [Var(carry)]
        body = self.region_body(inner)
        if carry is None:
            return ForLoop(var, Const(lo), hi, 1, body)
        init = self.float_expr(scope.floats)
        update = self.rng.choice(
            [
                Binary("+", Binary("*", Var(carry), Const(0.5)), self.float_expr(scope.floats)),
                Unary(self.rng.choice(SMOOTH), Binary("+", Var(carry), self.const())),
            ]
        )
        return ForLoop(var, Const(lo), hi, 1, body, carry, init, update)

    def op_while_loop(self, scope):
        var = self.fresh("i")
        inner = scope.child(ints=scope.ints + [Var(var)], loops=scope.loops + 1, static_loops=False)
        return WhileLoop(var, self.trip_bound(), self.region_body(inner))

    def op_cond(self, scope):
        # PennyLane refuses measurements inside a conditional region
        pred = self.classical_pred(scope)
        # measurements inside (deferred, each on an ancilla of its own) or not
        measuring = (
            "mcm_in_conds" in self.features and not scope.quantum_only and self.rng.random() < 0.5
        )
        branch = (
            (lambda: scope.child(mcms=[], in_cond=True))
            if measuring
            else (lambda: scope.child(quantum_only=True))
        )
        then = self.region_body(branch())
        orelse = self.region_body(branch()) if self.rng.random() < 0.6 else None
        return If(pred, then, orelse)

    def op_cond_value(self, scope):
        name = self.fresh("v")
        op = CondValue(
            name,
            self.classical_pred(scope),
            self.float_expr(scope.floats),
            self.float_expr(scope.floats),
        )
        if self.late_on("cond_dtypes", 0.5):
            with self.late():
                op = self.typed_cond_value(name, op.pred, scope.floats, scope.ints)
            scope.floats.append(Cast("float64", Var(name)))
        else:
            scope.floats.append(Var(name))
        return op

    def typed_value(self, floats, ints):
        """``(expression, dtype name)``: a value of a random dtype (cond_dtypes); Python numbers
        are weakly typed (int64 / float64 under x64)."""
        kinds = ["bool", "int32", "int64", "py_int", "float64", "py_float"]
        if self.mode == "forward":  # float32 rounding: no derivatives through it
            kinds.append("float32")
        kind = self.rng.choice(kinds)
        if kind == "bool":
            return Binary(">", self.float_expr(floats), Const(self.const().value)), "bool_"
        if kind in ("int32", "int64"):
            base = self.rng.choice(ints) if ints else Const(self.rng.randint(-3, 3))
            return Cast(kind, Binary("+", base, Const(self.rng.randint(-3, 3)))), kind
        if kind == "py_int":
            return Const(self.rng.randint(-3, 5)), "int64"
        if kind == "float32":
            return Cast("float32", self.float_expr(floats)), "float32"
        if kind == "py_float":
            return self.const(), "float64"
        return Cast("float64", self.float_expr(floats)), "float64"

    def typed_cond_value(self, name, pred, floats, ints):
        (a, da), (b, db) = self.typed_value(floats, ints), self.typed_value(floats, ints)
        return CondValue(name, pred, a, b, dtypes=(da, db))

    def _measure(self, scope, postselect, free):
        multiplicity = MAX_TRIPS**scope.loops
        if self.extra_budget + multiplicity > 6:
            return None
        self.extra_budget += multiplicity
        wire = scope.lo + self.rng.randrange(scope.k)
        name = self.fresh("m")
        reset = self.on("mcm_reset", 0.4)
        m = Measure(name, wire, reset, postselect, branch=0 if free else None)
        scope.mcms.append(name)
        out = [m]
        if postselect is not None:
            # both outcomes possible (almost surely), so the postselection is defined
            out.insert(0, Gate("RX", [Const(round(self.rng.uniform(0.4, 2.7), 3))], [Wire(wire)]))
        # use the outcome: a gate or a region conditioned on it
        if self.rng.random() < 0.8:
            body = (
                [self.gate(scope)]
                if self.rng.random() < 0.6
                else self.region_body(scope.child(mcms=[], quantum_only=True))
            )
            body = [op for op in body if op is not None]
            if body:
                out.append(
                    MeasCond(
                        name,
                        body,
                        as_gate=len(body) == 1
                        and isinstance(body[0], Gate)
                        and self.rng.random() < 0.6,
                    )
                )
        return out

    def op_mcm(self, scope):
        return self._measure(scope, None, free=self.single_branch)

    def op_mcm_postselect(self, scope):
        return self._measure(scope, self.rng.randint(0, 1), free=False)

    # -- measurements -------------------------------------------------------------------------
    def pauli_word(self, W):
        size = self.rng.randint(1, min(W, 3))
        wires = self.rng.sample(range(W), size)
        factors = [(self.rng.choice("XYZI" if size > 1 else "XYZ"), Wire(w)) for w in wires]
        if self.on("obs_runtime_wire", 0.5) and size == 1:
            factors = [(factors[0][0], RunTimeWire(Var("n"), self.rng.randrange(W), 0, W))]
        return PauliWord(factors)

    def hermitian(self, W):
        size = self.rng.randint(1, min(W, 2))
        d = 2**size
        a = np.array(
            [
                [
                    complex(round(self.rng.gauss(0, 1), 2), round(self.rng.gauss(0, 1), 2))
                    for _ in range(d)
                ]
                for _ in range(d)
            ]
        )
        h = (a + a.conj().T) / 2
        return Hermitian(
            [[complex(round(z.real, 3), round(z.imag, 3)) for z in row] for row in h],
            [Wire(w) for w in self.rng.sample(range(W), size)],
        )

    def hamiltonian(self, W, num_params):
        terms = [self.pauli_word(W) for _ in range(self.rng.randint(1, 3))]
        coeffs = []
        for _ in terms:
            if self.on("hamiltonian_trainable", 0.6):
                coeffs.append(self.float_expr([Index("p", i) for i in range(num_params)]))
            else:
                coeffs.append(self.const())
        return Hamiltonian(coeffs, terms, style=self.rng.choice(["hamiltonian", "sum"]))

    def multiwire_observable(self, W):
        rng = self.late_rng
        kinds = ["projector", "state_projector"] + (["identity", "overlap"] if W > 1 else [])
        kind = rng.choice(kinds)
        size = rng.randint(2, W) if kind in ("identity", "overlap") else rng.randint(1, W)
        wires = [Wire(w) for w in rng.sample(range(W), min(size, 2 if kind == "overlap" else W))]
        if kind == "projector":
            values = [rng.randint(0, 1) for _ in wires]
        elif kind == "state_projector":
            v = np.array([rng.gauss(0, 1) for _ in range(2 ** len(wires))])
            values = [float(z) for z in v / np.linalg.norm(v)]
        elif kind == "overlap":
            values = [round(rng.uniform(-1.5, 1.5), 3) for _ in range(4)]
        else:
            values = []
        return MultiWireObservable(kind, wires, values)

    def observable(self, W, num_params):
        obs = self._observable(W, num_params)
        if "multiwire_obs" in self.features and self.late_rng.random() < 0.15:
            return self.multiwire_observable(W)
        return obs

    def _observable(self, W, num_params):
        r = self.rng.random()
        if r < 0.2 and "hermitian" in self.features:
            return self.hermitian(W)
        if r < 0.45 and "hamiltonian" in self.features:
            return self.hamiltonian(W, num_params)
        return self.pauli_word(W)

    def measurements(self, W, num_params, has_mcm, shots):
        kinds = ["expval"] * 3
        if "var" in self.features:
            kinds.append("var")
        if "probs" in self.features:
            kinds.append("probs")
        # PennyLane's adjoint and parameter-shift do not differentiate states: only with "fd"
        state_ok = self.mode == "forward" or self.method == "fd"
        if "state" in self.features and not has_mcm and not shots and state_ok:
            kinds.append("state")
        if shots and not has_mcm:
            kinds += ["sample", "counts"]
        out = []
        for _ in range(self.rng.randint(1, 3)):
            kind = self.rng.choice(kinds)
            if kind in ("expval", "var"):
                obs = self.observable(W, num_params)
                # var of a Hamiltonian is not differentiated: PennyLane's backprop of it is off
                # by ~1e-5 (a wrong reference)
                if kind == "var" and isinstance(obs, Hamiltonian) and self.mode == "derivatives":
                    obs = self.pauli_word(W)
                out.append(Measurement(kind, obs))
            elif kind == "state":
                out.append(Measurement("state"))
            else:
                wires = None
                if has_mcm or self.rng.random() < 0.6:
                    wires = [Wire(w) for w in self.rng.sample(range(W), self.rng.randint(1, W))]
                one_wire = (W if wires is None else len(wires)) == 1
                if kind == "sample" and one_wire and "sample_one_wire" not in self.features:
                    kind = "counts"  # R5: sample of one wire has the wrong shape
                out.append(Measurement(kind, wires=wires))
        return out

    # -- QNodes and the program ---------------------------------------------------------------
    def qnode(self, k, deterministic_refs):
        W = self.rng.randint(1, 4)
        shots = None
        self.one_shot = False
        if self.mode == "forward" and self.on("shots", 0.3):
            shots = SHOTS
            self.one_shot = self.on("one_shot", 0.5)
        if self.mode == "forward" and self.on("sample_one_wire", 0.2):
            W, shots = 1, SHOTS
        # a sampled branch has no derivative (an expected refusal): rare in derivatives mode
        self.single_branch = not shots and self.on(
            "mcm_single_branch", 0.3 if self.mode == "forward" else 0.05
        )
        num_params = self.rng.randint(1, 4)
        self.extra_budget = 0
        scope = _Scope(0, W, [Var("n")], [Index("p", i) for i in range(num_params)], [])
        saved = set(self.features)
        if shots and not self.one_shot:
            self.features -= {"mcm", "mcm_postselect"}
        if self.one_shot:
            self.features -= {"mcm_postselect"}
        body = self.ops(scope, self.rng.randint(2, 6))
        self.features = saved
        q = QNode(
            f"circuit{k}",
            W,
            num_params,
            body,
            [],
            shots=shots,
            one_shot=self.one_shot,
            single_branch=self.single_branch,
        )
        has_mcm = q.has_mcm()
        q.one_shot = q.one_shot and has_mcm
        q.single_branch = q.single_branch and has_mcm
        q.measurements = self.measurements(W, num_params, has_mcm, shots)
        if q.one_shot:
            # sampled estimates compared with the exact average over branches
            q.measurements = [m for m in q.measurements if m.kind in ("expval", "probs")] or [
                Measurement("expval", self.pauli_word(W))
            ]
        if self.on("transforms", 0.1):
            q.transform = self.rng.choice(TRANSFORMS)
        # features added later (late_rng)
        top_mcms = [
            op.name for op in body if isinstance(op, Measure)
        ]  # measured at the top of the body: their outcomes are in scope at the return
        if q.one_shot and self.late_on("one_shot_postselect", 0.4):
            # a postselected outcome under one-shot: every shot postselected (fill-shots), the
            # estimates those of the conditional distribution the reference computes exactly
            with self.late():
                wire, name = self.rng.randrange(W), self.fresh("m")
                at = self.rng.randint(0, len(body))
                angle = Const(round(self.rng.uniform(0.4, 2.7), 3))
                body[at:at] = [
                    Gate("RX", [angle], [Wire(wire)]),
                    Measure(name, wire, postselect=self.rng.randint(0, 1)),
                ]
                q.fill_shots = True
                top_mcms.append(name)
        if top_mcms and self.late_on("mcm_stats", 0.6):
            with self.late():
                q.measurements += [
                    self.mcm_statistic(top_mcms, q) for _ in range(self.rng.randint(1, 2))
                ]
        if not q.transform and self.late_on("qnode_classical_returns", 0.35):
            with self.late():
                self.classical_returns(q, top_mcms)
        if "autograph" in self.features:
            self.python_control_flow(q.body)
        return q

    def python_control_flow(self, body):
        """autograph: some loops and conds of ``body`` as Python ``for``/``while``/``if``.
        AutoGraph (PennyLane's and so kvant's) cannot convert a Python loop or ``if`` when a
        nested function (a region, a lambda) reads its index, carried value or a value assigned
        in its body ("the variable 'i' is potentially uninitialized", "some branches did not
        define a value for variable 'v'"): those stay ``for_loop``/``while_loop``/``cond``.
        """
        ops = list(walk_ops(body))
        for op in ops:
            if isinstance(op, (ForLoop, WhileLoop, If, CondValue)):
                op.python = self.late_rng.random() < 0.6
            if isinstance(op, WhileLoop):
                op.named_cond = True  # AutoGraph refuses lambdas as while conditions
        for op in reversed(ops):  # inner ones first: whether they are functions is decided
            if isinstance(op, (ForLoop, WhileLoop, If)) and op.python:
                names = set()
                if isinstance(op, ForLoop):
                    names = {op.var, op.carry}
                elif isinstance(op, WhileLoop):
                    names = {op.var}
                # and every value assigned in the body (cond values, inner loops' carries)
                bodies = child_bodies(op)
                for inner in walk_ops([o for b in bodies for o in b]):
                    if isinstance(inner, CondValue):
                        names.add(inner.name)
                    elif isinstance(inner, ForLoop):
                        names |= {inner.var, inner.carry}
                    elif isinstance(inner, WhileLoop):
                        names.add(inner.var)
                if any(names & _names_in_closures(b) for b in bodies):
                    op.python = False

    def mcm_value(self, names, kinds):
        kind = self.rng.choice(kinds if len(names) > 1 else [k for k in kinds if k in ("m", "not")])
        count = {"m": 1, "not": 1}.get(kind, 2)
        return McmValue(kind, self.rng.sample(names, count))

    def mcm_statistic(self, names, q):
        """A statistic of outcomes measured at the top of ``q``'s body (mcm_stats)."""
        kinds = ["expval", "expval", "var", "probs"]
        if q.one_shot:
            kinds += ["sample", "counts"]
        kind = self.rng.choice(kinds)
        if kind in ("expval", "var"):
            values = ["m", "not", "affine", "diff", "scaled", "and", "or"]
            return Measurement(kind, op=self.mcm_value(names, values))
        if len(names) > 1 and self.rng.random() < 0.5:
            op = McmValue("list", self.rng.sample(names, self.rng.randint(2, min(3, len(names)))))
        else:
            op = McmValue("m", [self.rng.choice(names)])
        return Measurement(kind, op=op)

    def classical_returns(self, q, names):
        """Classical values beside ``q``'s measurements (qnode_classical_returns): values of the
        arguments; outcomes where kvant returns them (single-branch-statistics: the branch's,
        one-shot: once per shot; the exact statistics have no single outcome to return)."""
        if q.shots and not q.one_shot:
            return  # with shots only one-shot QNodes (per-shot values)
        p = [Index("p", i) for i in range(q.num_params)]
        extra = []
        for _ in range(self.rng.randint(1, 2)):
            r = self.rng.random()
            if names and (q.single_branch or q.one_shot) and r < 0.4:
                extra.append(
                    Measurement(
                        "outcome",
                        op=self.mcm_value(names, ["m", "not", "affine", "diff", "and", "or"]),
                    )
                )
            elif r < 0.6:
                extra.append(Measurement("classical", value=self.float_expr(p)))
            elif r < 0.85:
                fn = self.rng.choice(SMOOTH)
                array = Binary("*", Unary(fn, Var("p")), self.const())
                extra.append(Measurement("classical", value=array))
            else:
                value = Binary("+", Var("n"), Const(self.rng.randint(0, 3)))
                extra.append(Measurement("classical", value=value))
        ms = q.measurements + extra
        self.rng.shuffle(ms)
        q.measurements = ms
        q.returns_dict = self.rng.random() < 0.4

    def scalars(self, k, q):
        """Float scalar expressions of QNode k's results (for chaining and post-processing)."""
        out = []
        for j, m in enumerate(q.measurements):
            base = q.result_name(k, j)
            if m.kind in ("classical", "outcome"):
                # values of the arguments (differentiated by classical AD); not outcomes
                if m.kind == "classical" and not _int_valued(m.value):
                    out.append(Index(base, 0) if _is_array(m.value) else Var(base))
            elif m.kind in ("expval", "var"):
                out.append(Var(base))
            elif m.kind == "probs":
                size = m.num_values(q.num_wires)
                out.append(Index(base, self.rng.randrange(size)))
            elif m.kind == "state":
                i = self.rng.randrange(2**q.num_wires)
                amp = Index(base, i)
                # |a|^2 as Re(a conj(a)): smooth at a = 0, where JAX's derivative of |a| is NaN
                a2 = Unary("real", Binary("*", amp, Unary("conj", amp)))
                phase_free = any(isinstance(op, Gate) and op.decomposed for op in walk_ops(q.body))
                # PennyLane's decompositions may change the global phase: then only |amplitude|^2
                out.append(
                    self.rng.choice(
                        [a2] if phase_free else [a2, Unary("real", amp), Unary("imag", amp)]
                    )
                )
        return out

    def program(self):
        self.method = self.rng.choice(["auto", "auto", "fd"])
        x = [round(self.rng.uniform(-2, 2), 3) for _ in range(NUM_X)]
        n = self.rng.randint(1, 3)
        count = self.rng.randint(1, 3) if "multi_qnode" in self.features else 1
        qnodes, pre, available = [], [], []
        stmts, typed = [], []
        if self.late_on("cond_dtypes", 0.4):
            # classical conds of mixed dtypes in the program itself, before the QNodes
            with self.late():
                for _ in range(self.rng.randint(1, 2)):
                    name = self.fresh("d")
                    xs = [Index("x", i) for i in range(NUM_X)]
                    pred = Binary(self.rng.choice([">", "<"]), self.rng.choice(xs), self.const())
                    stmts.append(self.typed_cond_value(name, pred, xs, [Var("n")]))
                    stmts[-1].python = self.late_on("autograph", 0.6)
                    typed.append(Cast("float64", Var(name)))
        for k in range(count):
            q = self.qnode(k, available)
            leaves = [Index("x", i) for i in range(NUM_X)] + typed
            if "chain" in self.features:
                leaves += available
            pre.append([self.float_expr(leaves) for _ in range(q.num_params)])
            qnodes.append(q)
            if not q.shots:
                available += self.scalars(k, q)
        xs = [Index("x", i) for i in range(NUM_X)]
        p = Program(self.seed, self.mode, qnodes, pre, [], x, n, features=sorted(self.features))
        p.via = self.rng.choice(["qml", "kvant"])
        p.device = self.rng.choice(["kvant.qubit", "lightning.qubit", "default.qubit"])
        p.stmts = stmts
        p.autograph = any(
            getattr(op, "python", False)
            for op in list(walk_ops(stmts)) + [o for q in qnodes for o in walk_ops(q.body)]
        )
        if self.mode == "forward":
            if available:
                p.post = [self.float_expr(available + xs) for _ in range(self.rng.randint(1, 2))]
            # the mixed-dtype values themselves: their promoted dtype is compared
            p.post += [Var(op.name) for op in stmts]
            return p
        p.derivative = self.rng.choice(DERIVATIVES)
        p.method = self.method
        p.diff_method = self.rng.choice(DIFF_METHODS)
        if p.derivative == "grad":
            p.post = [self._sum(available, xs)]
        else:
            p.post = [self.float_expr(available + xs) for _ in range(self.rng.randint(1, 3))]
            # every QNode result reaches some output
            p.post[0] = self._sum(available, xs)
        if p.derivative == "vjp":
            p.vector = [round(self.rng.uniform(-1, 1), 3) for _ in p.post]
        elif p.derivative == "jvp":
            p.vector = [round(self.rng.uniform(-1, 1), 3) for _ in range(NUM_X)]
        return p

    def _sum(self, available, xs):
        terms = [Binary("*", self.const(), s) for s in available] or [self.float_expr(xs)]
        total = terms[0]
        for t in terms[1:]:
            total = Binary("+", total, t)
        if self.rng.random() < 0.3:
            total = Unary(self.rng.choice(SMOOTH), total)
        return total


def generate(seed: int, mode: str, features=None) -> Program:
    """The program of ``seed`` in ``mode`` ("forward" or "derivatives") with ``features`` (all
    of ``FEATURES`` when None)."""
    features = set(FEATURES) if features is None else set(features)
    unknown = features - set(FEATURES)
    if unknown:
        raise ValueError(f"unknown fuzz features: {sorted(unknown)}; known: {sorted(FEATURES)}")
    if mode == "derivatives":
        features -= {"shots", "one_shot", "sample_one_wire"}
    return Generator(seed, mode, features).program()
