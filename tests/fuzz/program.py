"""The program representation: a small tree of dataclasses that renders to Python source.

A fuzz program is one hybrid function ``program(x, n)`` — ``x`` a float64 vector (the
differentiable argument), ``n`` an int64 scalar (trip counts and wires computed at run time) —
that calls one or more QNodes. It is rendered as the body of ``make(device, diff_method, cf,
reference, shots_on)``:

- ``device``/``diff_method``: the device name and each QNode's ``diff_method``;
- ``cf``: the module whose ``for_loop`` / ``while_loop`` / ``cond`` the program uses (``qml``
  for ``qml.qjit(compiler="kvant")`` and the reference, ``kvant`` for ``kvant.qjit``; outside a
  compiled function both run as Python);
- ``reference``: QNodes with mid-circuit measurements get ``mcm_method="deferred"`` on the
  reference side (the exact simulation PennyLane differentiates with backprop);
- ``shots_on``: QNodes with shots get them only when true; the analytic reference replaces
  ``sample``/``counts`` by ``probs`` on the same wires, which the statistics are checked against.

Every node is a plain dataclass, so the shrinker can walk and rebuild trees generically.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------------------------
# Expressions (float or int valued; the generator keeps track of which)
# ---------------------------------------------------------------------------------------------


@dataclass
class Const:
    value: float | int

    def render(self):
        return repr(self.value)


@dataclass
class Var:
    """A name in scope: ``x[i]``-style entries are ``Index``; this is a bare name (loop index,
    loop carry, cond value, mid-circuit measurement, QNode result entry)."""

    name: str

    def render(self):
        return self.name


@dataclass
class Index:
    """``base[i]`` with a static index (an entry of ``x``, of a QNode parameter vector ``p``, or
    of a QNode result)."""

    base: str
    i: int

    def render(self):
        return f"{self.base}[{self.i}]"


@dataclass
class Unary:
    fn: str  # a jnp function name, or "neg"
    a: object

    def render(self):
        if self.fn == "neg":
            return f"(-{self.a.render()})"
        return f"jnp.{self.fn}({self.a.render()})"


@dataclass
class Binary:
    op: str  # + - * % // < > >= ==
    a: object
    b: object

    def render(self):
        return f"({self.a.render()} {self.op} {self.b.render()})"


@dataclass
class Cast:
    """An int-valued expression used as a float (``jnp.float64(i)``) or a comparison as int."""

    dtype: str
    a: object

    def render(self):
        return f"jnp.asarray({self.a.render()}, dtype=jnp.{self.dtype})"


@dataclass
class McmValue:
    """A value of mid-circuit measurement outcomes as PennyLane's ``MeasurementValue`` defines
    it: ``m`` (an outcome), ``affine`` (``2 * m0 + m1``), ``diff`` (``m0 - m1``), ``scaled``
    (``3.5 * m0 - m1``), ``and``/``or`` (``m0 & m1``, ``m0 | m1``: logical), ``not`` (``~m0``),
    ``list`` (``[m0, m1]``, for ``probs``/``sample``/``counts`` of several outcomes)."""

    kind: str
    names: list

    def render(self):
        n = self.names
        if self.kind == "m":
            return n[0]
        if self.kind == "list":
            return "[" + ", ".join(n) + "]"
        if self.kind == "not":
            return f"(~{n[0]})"
        if self.kind == "affine":
            return f"(2 * {n[0]} + {n[1]})"
        if self.kind == "scaled":
            return f"(3.5 * {n[0]} - {n[1]})"
        op = {"diff": "-", "and": "&", "or": "|"}[self.kind]
        return f"({n[0]} {op} {n[1]})"

    def norm(self):
        """The largest |value| the outcomes give (for statistical bounds)."""
        return {"affine": 3.0, "scaled": 3.5}.get(self.kind, 1.0)

    def dtype(self):
        """The dtype of the value of one execution (kvant's and PennyLane's)."""
        if self.kind in ("m", "not", "and", "or"):
            return "bool"
        return "float64" if self.kind == "scaled" else "int64"


FLOAT_LEAVES = (Const, Var, Index)


def is_simple(e) -> bool:
    return isinstance(e, FLOAT_LEAVES)


# ---------------------------------------------------------------------------------------------
# Wires
# ---------------------------------------------------------------------------------------------


@dataclass
class Wire:
    w: int

    def render(self):
        return str(self.w)


@dataclass
class RunTimeWire:
    """``lo + (base + off) % k``: a wire of the contiguous pool ``[lo, lo + k)`` computed at run
    time. Wires of one gate share ``base`` and have distinct ``off``, so they are distinct."""

    base: object  # int expression
    off: int
    lo: int
    k: int

    def render(self):
        inner = (
            f"({self.base.render()} + {self.off}) % {self.k}"
            if self.off
            else f"{self.base.render()} % {self.k}"
        )
        return f"{self.lo} + {inner}" if self.lo else inner


def wires_text(wires):
    if len(wires) == 1:
        return wires[0].render()
    return "[" + ", ".join(w.render() for w in wires) + "]"


# ---------------------------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------------------------


@dataclass
class Gate:
    name: str
    params: list
    wires: list
    pauli: str | None = None  # PauliRot's word
    decomposed: bool = False  # not in the runtime's table: kvant uses PennyLane's decomposition

    def call_text(self):
        """``(callable, argument text)``, so adjoint/ctrl of a gate can wrap the callable."""
        args = [p.render() for p in self.params]
        if self.pauli is not None:
            args.append(repr(self.pauli))
        if self.name == "GlobalPhase" and not self.wires:
            return f"qml.{self.name}", ", ".join(args)
        args.append(f"wires={wires_text(self.wires)}")
        return f"qml.{self.name}", ", ".join(args)


@dataclass
class Adjoint:
    body: list
    as_gate: bool = False  # ``qml.adjoint(qml.RX)(a, wires=0)`` rather than of a region


@dataclass
class Ctrl:
    body: list
    controls: list  # static wires
    values: list  # control values (0/1)
    as_gate: bool = False


@dataclass
class ForLoop:
    var: str
    lo: object
    hi: object
    step: int
    body: list
    carry: str | None = None  # name of a float carried value
    carry_init: object = None
    carry_update: object = None
    python: bool = False  # ``for var in range(lo, hi)`` (converted by AutoGraph on kvant's side)


@dataclass
class WhileLoop:
    var: str
    bound: object  # int expression: iterate var = 0, 1, ... while var < bound
    body: list
    python: bool = False  # a Python ``while`` (AutoGraph)
    named_cond: bool = False  # the condition a named function, not a lambda (AutoGraph)


@dataclass
class If:
    pred: object  # classical boolean expression
    then: list
    orelse: list | None = None
    python: bool = False  # a Python ``if`` (AutoGraph)


@dataclass
class CondValue:
    """``name = cf.cond(pred, lambda: a, lambda: b)()``: a value chosen by a classical predicate,
    used afterwards as a gate parameter."""

    name: str
    pred: object
    a: object
    b: object
    python: bool = False  # ``if pred: name = a else: name = b`` (AutoGraph)
    #: the dtypes of ``a`` and ``b`` when they differ (cond_dtypes): kvant's cond gives their
    #: ``jnp.promote_types``; the reference (Python's ``if``) casts the chosen value to it
    dtypes: tuple | None = None


@dataclass
class Measure:
    name: str
    wire: int
    reset: bool = False
    postselect: int | None = None
    #: in a single-branch-statistics QNode, a measurement without postselect: the runner
    #: enumerates its outcomes on the reference side (postselecting each) and accepts kvant's
    #: values if they are those of some branch of nonzero probability
    branch: int | None = None


@dataclass
class MeasCond:
    """``cf.cond(m, region)()``, or ``cf.cond(m, qml.RX)(a, wires=0)`` for a single gate."""

    mcm: str
    body: list
    as_gate: bool = False


# ---------------------------------------------------------------------------------------------
# Observables and measurements
# ---------------------------------------------------------------------------------------------


@dataclass
class PauliWord:
    factors: list  # [(letter, Wire | RunTimeWire)]

    def render(self):
        return " @ ".join(
            f"qml.Pauli{p}({w.render()})" if p != "I" else f"qml.Identity({w.render()})"
            for p, w in self.factors
        )

    def norm(self):
        return 1.0


@dataclass
class Hermitian:
    matrix: list  # rows of complex numbers (rounded)
    wires: list

    def render(self):
        rows = ", ".join(
            "[" + ", ".join(_complex_text(z) for z in row) + "]" for row in self.matrix
        )
        return f"qml.Hermitian(np.array([{rows}]), wires={wires_text(self.wires)})"

    def norm(self):
        # a bound on the spectral radius: the Frobenius norm
        return sum(abs(z) ** 2 for row in self.matrix for z in row) ** 0.5


@dataclass
class MultiWireObservable:
    """An observable on several wires without a Pauli-word form of its own in kvant:
    ``projector`` (``qml.Projector`` of a basis state, ``values`` its bits), ``state_projector``
    (of a real state vector, ``values``), ``identity`` (``qml.PauliZ(w0) @ qml.I([w1, ...])``),
    ``overlap`` (``qml.PauliZ(w0) @ qml.Hermitian(diag(values), [w0, w1])``, factors sharing a
    wire)."""

    kind: str
    wires: list
    values: list

    def render(self):
        if self.kind == "projector":
            return f"qml.Projector({list(self.values)!r}, wires={wires_text(self.wires)})"
        if self.kind == "state_projector":
            return f"qml.Projector(np.array({list(self.values)!r}), wires={wires_text(self.wires)})"
        if self.kind == "identity":
            rest = "[" + ", ".join(w.render() for w in self.wires[1:]) + "]"
            return f"qml.PauliZ({self.wires[0].render()}) @ qml.I({rest})"
        assert self.kind == "overlap"
        return (
            f"qml.PauliZ({self.wires[0].render()}) @ qml.Hermitian(np.diag({list(self.values)!r}),"
            f" wires={wires_text(self.wires)})"
        )

    def norm(self):
        return max([1.0] + [abs(v) for v in self.values]) if self.kind == "overlap" else 1.0


@dataclass
class Hamiltonian:
    coeffs: list  # float expressions (trainable when they depend on x)
    terms: list  # PauliWord
    style: str = "hamiltonian"  # "hamiltonian": qml.Hamiltonian(...); "sum": c0 * P0 + c1 * P1

    def render(self):
        if self.style == "sum":
            return " + ".join(
                f"{c.render()} * ({t.render()})" for c, t in zip(self.coeffs, self.terms)
            )
        coeffs = (
            "jnp.stack(["
            + ", ".join(f"jnp.asarray({c.render()}, dtype=jnp.float64)" for c in self.coeffs)
            + "])"
        )
        return f"qml.Hamiltonian({coeffs}, [{', '.join(t.render() for t in self.terms)}])"

    def norm(self, bound=4.0):
        return bound * len(self.terms)  # coefficients are O(1); used for statistical bounds only


@dataclass
class Measurement:
    """``kind``: expval var probs state sample counts — of ``obs`` / ``wires``, or of
    mid-circuit outcomes ``op`` (a ``McmValue``: ``qml.expval(2 * m0 + m1)``,
    ``qml.probs(op=[m0, m1])``, ``qml.sample(m0)``); or a classical value returned beside the
    measurements: ``classical`` (``value``, an expression of the QNode's arguments) and
    ``outcome`` (the ``McmValue`` ``op`` itself)."""

    kind: str
    obs: object = None
    wires: list | None = None  # probs/sample/counts; None: all wires
    op: McmValue | None = None
    value: object = None

    def render(self, shots_on_name="shots_on"):
        if self.kind == "classical":
            return self.value.render()
        if self.kind == "outcome":
            return self.op.render()
        if self.op is not None:
            if self.kind in ("expval", "var"):
                return f"qml.{self.kind}({self.op.render()})"
            if self.kind == "probs":
                return f"qml.probs(op={self.op.render()})"
            # sample/counts: probabilities of the same outcomes for the analytic reference
            return (
                f"(qml.{self.kind}({self.op.render()}) if {shots_on_name} "
                f"else qml.probs(op={self.op.render()}))"
            )
        if self.kind in ("expval", "var"):
            return f"qml.{self.kind}({self.obs.render()})"
        if self.kind == "state":
            return "qml.state()"
        wires = (
            ""
            if self.wires is None
            else f"wires={wires_text(self.wires) if len(self.wires) > 1 else '[' + self.wires[0].render() + ']'}"
        )
        if self.kind == "probs":
            return f"qml.probs({wires})"
        # sample/counts: probabilities on the same wires for the analytic reference
        return f"(qml.{self.kind}({wires}) if {shots_on_name} else qml.probs({wires}))"

    def num_values(self, num_wires):
        """The number of outcomes of ``probs``/``sample``/``counts``."""
        if self.op is not None:
            return 2 ** len(self.op.names)
        return 2 ** (num_wires if self.wires is None else len(self.wires))


# ---------------------------------------------------------------------------------------------
# QNodes and programs
# ---------------------------------------------------------------------------------------------


@dataclass
class QNode:
    name: str
    num_wires: int
    num_params: int
    body: list
    measurements: list
    shots: int | None = None
    transform: str | None = None  # a PennyLane compilation transform applied to the QNode
    one_shot: bool = False  # mcm_method="one-shot" (with shots)
    #: mcm_method="single-branch-statistics" on the kvant side: each execution follows one
    #: sampled outcome; the reference enumerates the outcomes (see ``Measure.branch``)
    single_branch: bool = False
    #: the results as ``{"k0": ..., "k1": ...}`` rather than a tuple (qnode_classical_returns)
    returns_dict: bool = False
    #: postselect_mode="fill-shots": under one-shot, every shot is postselected
    fill_shots: bool = False

    def has_mcm(self):
        return any(isinstance(op, Measure) for op in walk_ops(self.body))

    def has_classical_returns(self):
        return any(m.kind in ("classical", "outcome") for m in self.measurements)

    def result_name(self, k, j):
        """The name of measurement ``j``'s result in ``program`` (QNode ``k``)."""
        if self.returns_dict:
            return f"r{k}['k{j}']"
        return f"r{k}" if len(self.measurements) == 1 else f"r{k}[{j}]"

    def extra_wires(self):
        """Wires deferred measurement adds on the reference side: one per measurement executed
        (a measurement in a loop counts for each iteration; ``MAX_TRIPS`` bounds them)."""
        return _count_measures(self.body)


MAX_TRIPS = 4  # the generator keeps run-time trip counts at most this


def _count_measures(ops, mult=1):
    total = 0
    for op in ops:
        if isinstance(op, Measure):
            total += mult
        elif isinstance(op, (ForLoop, WhileLoop)):
            total += _count_measures(op.body, mult * MAX_TRIPS)
        else:
            for body in child_bodies(op):
                total += _count_measures(body, mult)
    return total


@dataclass
class Program:
    """A whole fuzz program. ``pre[k]``: the parameter expressions of QNode k (over ``x``, ``n``
    and results of QNodes before k); ``post``: output expressions over the results."""

    seed: int
    mode: str  # forward | derivatives
    qnodes: list
    pre: list  # list[list[expr]]
    post: list  # list[expr]: forward: extra outputs; derivatives: the differentiated outputs
    x: list  # the value of x
    n: int
    features: list = field(default_factory=list)
    # derivatives mode
    derivative: str = "grad"  # grad | jacobian | vjp | jvp
    method: str = "auto"  # auto | fd
    diff_method: str = "best"
    via: str = (
        "qml"  # qml: qml.qjit(compiler="kvant") + qml.grad...; kvant: kvant.qjit + kvant.grad
    )
    device: str = "kvant.qubit"  # the compiled side's device
    vector: list | None = None  # cotangent (vjp) or tangent (jvp)
    #: classical statements of ``program`` before the QNodes (``CondValue``s, cond_dtypes)
    stmts: list = field(default_factory=list)
    autograph: bool = False  # the compiled side uses qjit(autograph=True)

    def free_measures(self):
        return [
            op
            for q in self.qnodes
            for op in walk_ops(q.body)
            if isinstance(op, Measure) and op.branch is not None
        ]

    def uses_decomposition(self):
        return any(
            isinstance(op, Gate) and op.decomposed for q in self.qnodes for op in walk_ops(q.body)
        )

    def has_shots(self):
        return any(q.shots for q in self.qnodes)

    def render(self):
        return render_program(self)


def child_bodies(op):
    if isinstance(op, (Adjoint, Ctrl, ForLoop, WhileLoop, MeasCond)):
        return [op.body]
    if isinstance(op, If):
        return [op.then] + ([op.orelse] if op.orelse is not None else [])
    return []


def walk_ops(ops):
    for op in ops:
        yield op
        for body in child_bodies(op):
            yield from walk_ops(body)


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def _complex_text(z):
    z = complex(z)
    if z.imag == 0:
        return repr(z.real)
    return f"complex({z.real!r}, {z.imag!r})"


class _Writer:
    def __init__(self):
        self.lines = []
        self.counter = itertools.count()

    def emit(self, indent, text):
        self.lines.append("    " * indent + text)

    def fresh(self, prefix):
        return f"{prefix}{next(self.counter)}"


def _render_body(w: _Writer, ind: int, ops):
    if not ops:
        w.emit(ind, "pass")
    for op in ops:
        _render_op(w, ind, op)


def _region(w, ind, body, prefix, args=""):
    name = w.fresh(prefix)
    w.emit(ind, f"def {name}({args}):")
    _render_body(w, ind + 1, body)
    return name


def _render_op(w: _Writer, ind: int, op):
    if isinstance(op, Gate):
        fn, args = op.call_text()
        w.emit(ind, f"{fn}({args})")
    elif isinstance(op, Adjoint):
        if op.as_gate and len(op.body) == 1 and isinstance(op.body[0], Gate):
            fn, args = op.body[0].call_text()
            w.emit(ind, f"qml.adjoint({fn})({args})")
        else:
            name = _region(w, ind, op.body, "region")
            w.emit(ind, f"qml.adjoint({name})()")
    elif isinstance(op, Ctrl):
        controls = op.controls[0] if len(op.controls) == 1 else list(op.controls)
        values = op.values[0] if len(op.values) == 1 else list(op.values)
        options = f"control={controls}, control_values={values}"
        if op.as_gate and len(op.body) == 1 and isinstance(op.body[0], Gate):
            fn, args = op.body[0].call_text()
            w.emit(ind, f"qml.ctrl({fn}, {options})({args})")
        else:
            name = _region(w, ind, op.body, "region")
            w.emit(ind, f"qml.ctrl({name}, {options})()")
    elif isinstance(op, ForLoop) and op.python:
        if op.carry:
            w.emit(ind, f"{op.carry} = {op.carry_init.render()}")
        w.emit(ind, f"for {op.var} in range({op.lo.render()}, {op.hi.render()}):")
        _render_body(w, ind + 1, op.body)
        if op.carry:
            w.emit(ind + 1, f"{op.carry} = {op.carry_update.render()}")
    elif isinstance(op, WhileLoop) and op.python:
        w.emit(ind, f"{op.var} = 0")
        w.emit(ind, f"while {op.var} < {op.bound.render()}:")
        _render_body(w, ind + 1, op.body)
        w.emit(ind + 1, f"{op.var} = {op.var} + 1")
    elif isinstance(op, If) and op.python:
        w.emit(ind, f"if {op.pred.render()}:")
        _render_body(w, ind + 1, op.then)
        if op.orelse is not None:
            w.emit(ind, "else:")
            _render_body(w, ind + 1, op.orelse)
    elif isinstance(op, ForLoop):
        name = w.fresh("loop")
        w.emit(ind, f"@cf.for_loop({op.lo.render()}, {op.hi.render()}, {op.step})")
        if op.carry:
            w.emit(ind, f"def {name}({op.var}, {op.carry}):")
            _render_body(w, ind + 1, op.body)
            w.emit(ind + 1, f"return {op.carry_update.render()}")
            w.emit(ind, f"{name}({op.carry_init.render()})")
        else:
            w.emit(ind, f"def {name}({op.var}):")
            _render_body(w, ind + 1, op.body)
            w.emit(ind, f"{name}()")
    elif isinstance(op, WhileLoop) and op.named_cond:
        name, cond = w.fresh("loop"), w.fresh("cond")
        # AutoGraph does not convert a function with a lambda as a while loop's condition
        w.emit(ind, f"def {cond}({op.var}):")
        w.emit(ind + 1, f"return {op.var} < {op.bound.render()}")
        w.emit(ind, f"@cf.while_loop({cond})")
        w.emit(ind, f"def {name}({op.var}):")
        _render_body(w, ind + 1, op.body)
        w.emit(ind + 1, f"return {op.var} + 1")
        w.emit(ind, f"{name}(0)")
    elif isinstance(op, WhileLoop):
        name = w.fresh("loop")
        w.emit(ind, f"@cf.while_loop(lambda {op.var}: {op.var} < {op.bound.render()})")
        w.emit(ind, f"def {name}({op.var}):")
        _render_body(w, ind + 1, op.body)
        w.emit(ind + 1, f"return {op.var} + 1")
        w.emit(ind, f"{name}(0)")
    elif isinstance(op, If):
        then = _region(w, ind, op.then, "then")
        if op.orelse is not None:
            orelse = _region(w, ind, op.orelse, "orelse")
            w.emit(ind, f"cf.cond({op.pred.render()}, {then}, {orelse})()")
        else:
            w.emit(ind, f"cf.cond({op.pred.render()}, {then})()")
    elif isinstance(op, CondValue):
        # with dtypes: the chosen value under a name of its own (AutoGraph cannot convert a
        # loop whose body reassigns a variable it first assigned there)
        name = op.name + "_" if op.dtypes else op.name
        if op.python:
            w.emit(ind, f"if {op.pred.render()}:")
            w.emit(ind + 1, f"{name} = {op.a.render()}")
            w.emit(ind, "else:")
            w.emit(ind + 1, f"{name} = {op.b.render()}")
        else:
            w.emit(
                ind,
                f"{name} = cf.cond({op.pred.render()}, lambda: {op.a.render()}, lambda: {op.b.render()})()",
            )
        if op.dtypes:
            # kvant's cond promotes the branches' dtypes (jnp.promote_types); the reference
            # chose one branch in Python, so it casts the chosen value to the same dtype
            a, b = (f"jnp.{d}" for d in op.dtypes)
            w.emit(ind, f"{op.name} = promoted({name}, {a}, {b})")
    elif isinstance(op, Measure):
        options = [f"reset={op.reset}"] if op.reset else []
        if op.postselect is not None:
            options.append(f"postselect={op.postselect}")
        elif op.branch is not None:
            # a free measurement: the reference run enumerating branches sets BRANCH[...]
            options.append(f"postselect=BRANCH.get({op.name!r})")
        w.emit(ind, f"{op.name} = qml.measure({', '.join([str(op.wire)] + options)})")
    elif isinstance(op, MeasCond):
        if op.as_gate and len(op.body) == 1 and isinstance(op.body[0], Gate):
            fn, args = op.body[0].call_text()
            w.emit(ind, f"cf.cond({op.mcm}, {fn})({args})")
        else:
            name = _region(w, ind, op.body, "then")
            w.emit(ind, f"cf.cond({op.mcm}, {name})()")
    else:
        raise TypeError(f"unknown op {op!r}")


def render_qnode(w: _Writer, ind: int, q: QNode):
    wires = q.num_wires + q.extra_wires() if q.has_mcm() else q.num_wires
    options = "diff_method=diff_method"
    if q.has_mcm():
        if q.one_shot:
            options += ', mcm_method="one-shot" if shots_on else "deferred"'
            if q.fill_shots:
                options += ', postselect_mode="fill-shots"'
        elif q.single_branch:
            options += ', mcm_method="deferred" if reference else "single-branch-statistics"'
        else:
            options += ', **({"mcm_method": "deferred"} if reference else {})'
    if q.has_classical_returns():
        w.emit(ind, f"@measurements_only(estimate_outcomes={q.one_shot}, reference=reference)")
    if q.transform:
        w.emit(ind, f"@qml.transforms.{q.transform}")
    if q.shots:
        w.emit(ind, f"@qml.set_shots({q.shots} if shots_on else None)")
    w.emit(ind, f"@qml.qnode(qml.device(device, wires={wires}), {options})")
    w.emit(ind, f"def {q.name}(p, n):")
    _render_body(w, ind + 1, q.body)
    ms = [m.render() for m in q.measurements]
    if q.returns_dict:
        w.emit(ind + 1, "return {" + ", ".join(f'"k{j}": {m}' for j, m in enumerate(ms)) + "}")
    else:
        w.emit(ind + 1, "return " + (ms[0] if len(ms) == 1 else "(" + ", ".join(ms) + ")"))


#: The reference side of a QNode returning classical values beside its measurements
#: (qnode_classical_returns): default.qubit's QNodes return measurement processes only, so the
#: same function runs as a QNode returning just those, and the values beside them are put back
#: in place after the execution. An outcome ``m`` (a MeasurementValue) is, in a branch the
#: reference postselects, the value of its postselected outcomes; under one-shot, where kvant
#: returns it once per shot, its exact mean ``qml.expval(m)`` (compared statistically).
MEASUREMENTS_ONLY = """\
def measurements_only(estimate_outcomes, reference):
    from pennylane.measurements import MeasurementProcess, MeasurementValue

    def wrap(qnode):
        if not reference:
            return qnode
        box = {}

        def quantum(*args):
            is_leaf = lambda v: isinstance(v, (MeasurementProcess, MeasurementValue))
            leaves, box["tree"] = jax.tree_util.tree_flatten(qnode.func(*args), is_leaf=is_leaf)
            box["leaves"] = leaves
            # the program's measurements first, in the order they were made (PennyLane checks)
            mps = [leaf for leaf in leaves if isinstance(leaf, MeasurementProcess)]
            for leaf in leaves:
                if isinstance(leaf, MeasurementValue):
                    if estimate_outcomes:
                        mps.append(qml.expval(leaf))
                    else:
                        bits = [bool(mp.postselect) for mp in leaf.measurements]
                        box[id(leaf)] = jnp.asarray(leaf.processing_fn(*bits))
            return tuple(mps)

        inner = qnode.update(func=quantum)

        def run(*args):
            results = list(inner(*args))
            count = sum(isinstance(leaf, MeasurementProcess) for leaf in box["leaves"])
            measured, estimated = iter(results[:count]), iter(results[count:])
            out = []
            for leaf in box["leaves"]:
                if isinstance(leaf, MeasurementProcess):
                    out.append(next(measured))
                elif isinstance(leaf, MeasurementValue):
                    out.append(next(estimated) if estimate_outcomes else box[id(leaf)])
                else:
                    out.append(leaf)
            return jax.tree_util.tree_unflatten(box["tree"], out)

        return run

    return wrap
"""


def render_make(p: Program) -> str:
    """The source of ``make(device, diff_method, cf, reference=False, shots_on=True)``."""
    w = _Writer()
    w.emit(0, "def make(device, diff_method, cf, reference=False, shots_on=True, BRANCH={}):")
    if any(
        isinstance(op, CondValue) and op.dtypes
        for op in list(walk_ops(p.stmts)) + [o for q in p.qnodes for o in walk_ops(q.body)]
    ):
        w.emit(1, "def promoted(value, a, b):")
        w.emit(
            2, "# a cond whose branches have different dtypes: kvant's gives the promoted dtype;"
        )
        w.emit(2, "# the reference chose a branch in Python, and casts the value to that dtype")
        w.emit(
            2, "return jnp.asarray(value, dtype=jnp.promote_types(a, b)) if reference else value"
        )
        w.emit(0, "")
    if any(q.has_classical_returns() for q in p.qnodes):
        w.lines += ["    " + line for line in MEASUREMENTS_ONLY.splitlines()]
        w.emit(0, "")
    for q in p.qnodes:
        render_qnode(w, 1, q)
        w.emit(0, "")
    w.emit(1, "def program(x, n):")
    for op in p.stmts:
        _render_op(w, 2, op)
    for k, (q, params) in enumerate(zip(p.qnodes, p.pre)):
        stack = ", ".join(f"jnp.asarray({e.render()}, dtype=jnp.float64)" for e in params) or ""
        w.emit(2, f"p{k} = jnp.stack([{stack}])" if params else f"p{k} = jnp.zeros(1)")
        w.emit(2, f"r{k} = {q.name}(p{k}, n)")
    if p.mode == "forward":
        outs = [f"r{k}" for k in range(len(p.qnodes))] + [e.render() for e in p.post]
        w.emit(2, "return (" + ", ".join(outs) + ",)")
    elif p.derivative == "grad":
        w.emit(2, "return " + p.post[0].render())
    else:
        w.emit(
            2,
            "return jnp.stack(["
            + ", ".join(f"jnp.asarray({e.render()}, dtype=jnp.float64)" for e in p.post)
            + "])",
        )
    w.emit(1, "return program")
    return "\n".join(w.lines) + "\n"


def render_harness(p: Program) -> str:
    """``compiled(make, x, n)`` (kvant) and ``reference(make, x, n, BRANCH)`` (default.qubit +
    JAX, eager: PennyLane runs ``for_loop``/``cond`` as Python there) for ``p``'s mode."""
    cf = "kvant" if p.via == "kvant" else "qml"
    qjit = "kvant.qjit({})" if p.via == "kvant" else 'qml.qjit({}, compiler="kvant")'
    if p.autograph:
        # Python control flow in the program: AutoGraph makes it compiled control flow; the
        # reference runs the same Python on concrete values
        qjit = qjit[:-1] + ", autograph=True)"
    method = f", method={p.method!r}"
    lines = ["def compiled(make, x, n):", f"    fn = make({p.device!r}, {p.diff_method!r}, {cf})"]
    ref = [
        "def reference(make, x, n, BRANCH={}):",
        "    # PennyLane caches eigendecompositions across calls, JAX tracers included",
        "    qml.Hermitian._eigs.clear()",
        "    qml.ops.op_math.CompositeOp._eigs.clear()",
        '    fn = make("default.qubit", "backprop", qml, reference=True, shots_on=False, BRANCH=BRANCH)',
        "    with jax.disable_jit():",
    ]
    if p.mode == "forward":
        lines.append(f"    return {qjit.format('fn')}(x, n)")
        ref.append("        return fn(x, n)")
    elif p.derivative in ("grad", "jacobian"):
        lines.append(
            f"    return {qjit.format(f'lambda x, n: {cf}.{p.derivative}(fn, argnums=0{method})(x, n)')}(x, n)"
        )
        ref.append(f"        return jax.{p.derivative}(fn, argnums=0)(x, n)")
    elif p.derivative == "vjp":
        v = f"jnp.array({p.vector!r})"
        lines.append(
            f"    return {qjit.format(f'lambda x, n: {cf}.vjp(lambda x: fn(x, n), [x], [{v}]{method})')}(x, n)"
        )
        ref += [
            "        out, pullback = jax.vjp(lambda x: fn(x, n), x)",
            f"        return out, pullback({v})",
        ]
    else:
        v = f"jnp.array({p.vector!r})"
        lines.append(
            f"    return {qjit.format(f'lambda x, n: {cf}.jvp(lambda x: fn(x, n), [x], [{v}]{method})')}(x, n)"
        )
        ref.append(f"        return jax.jvp(lambda x: fn(x, n), (x,), ({v},))")
    return "\n".join(lines + [""] + ref) + "\n"


PRELUDE = (
    "import jax\nimport jax.numpy as jnp\nimport numpy as np\nimport pennylane as qml\n\n"
    "import kvant\n"
)


def render_program(p: Program) -> str:
    """A module defining ``make``, ``compiled`` and ``reference`` (see ``render_harness``)."""
    return PRELUDE + "\n\n" + render_make(p) + "\n\n" + render_harness(p)


def replace(node, **changes):
    return dataclasses.replace(node, **changes)
