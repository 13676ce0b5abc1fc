"""Shrinking a failing program, and printing it as a pytest function.

``shrink(program, outcome, evaluate)`` is greedy delta debugging over the program tree: it tries
reductions from the largest to the smallest — drop a QNode, drop a measurement or an output,
drop an operation, unwrap a region (adjoint, ctrl, loop, cond) into its body, turn run-time wires
into fixed ones, simplify observables, replace an expression by one of its operands or a
constant — keeps the first that still fails the same way (same class; for crashes and refusals
the same message, numbers aside; for mismatches the same kind of difference), and starts over,
until no reduction keeps the failure or the evaluation budget is spent.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import textwrap

from tests.fuzz.program import (
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
    MeasCond,
    Measure,
    Measurement,
    MultiWireObservable,
    PauliWord,
    Program,
    RunTimeWire,
    Unary,
    Var,
    WhileLoop,
    Wire,
    render_harness,
    render_make,
)

OP_LISTS = ("body", "then", "orelse")
EXPRESSIONS = (Unary, Binary, Cast)


# ---------------------------------------------------------------------------------------------
# Generic tree walking
# ---------------------------------------------------------------------------------------------


def transform(obj, fn):
    """A copy of ``obj`` with ``fn`` applied bottom-up to every dataclass node."""
    if isinstance(obj, list):
        return [transform(x, fn) for x in obj]
    if isinstance(obj, tuple):
        return tuple(transform(x, fn) for x in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: transform(getattr(obj, f.name), fn) for f in dataclasses.fields(obj)}
        return fn(dataclasses.replace(obj, **changes))
    return obj


def paths(obj, path=()):
    """Every (path, value) of the tree: a path is a tuple of field names and list indices."""
    yield path, obj
    if isinstance(obj, list):
        for i, x in enumerate(obj):
            yield from paths(x, path + (i,))
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from paths(getattr(obj, f.name), path + (f.name,))


def get(obj, path):
    for step in path:
        obj = obj[step] if isinstance(step, int) else getattr(obj, step)
    return obj


def put(obj, path, value):
    """A deep copy of ``obj`` with the node at ``path`` replaced by ``value``."""
    obj = copy.deepcopy(obj)
    parent = get(obj, path[:-1])
    if isinstance(path[-1], int):
        parent[path[-1]] = value
    else:
        setattr(parent, path[-1], value)
    return obj


def substitute_names(obj, mapping):
    """Replace ``Var``/``Index`` nodes whose name ``mapping`` maps: to the returned name, or by
    a constant when it returns a non-string (the value the name stood for)."""

    def fn(node):
        if isinstance(node, Var) and node.name in mapping:
            new = mapping[node.name]
            return Var(new) if isinstance(new, str) else new
        if isinstance(node, Index) and node.base in mapping:
            new = mapping[node.base]
            return Index(new, node.i) if isinstance(new, str) else new
        return node

    return transform(obj, fn)


def _result_names(p):
    names = set()
    for _, node in paths(p):
        if isinstance(node, Var) and re.fullmatch(r"r\d+(\[\d+\])?", node.name):
            names.add(node.name)
        if isinstance(node, Index) and re.fullmatch(r"r\d+(\[\d+\])?", node.base):
            names.add(node.base)
    return names


def _rename_results(p, rename):
    """Apply ``rename(k, j) -> (k', j') | None`` to every QNode result name ``r{k}`` /
    ``r{k}[j]`` (j None for a QNode with one measurement); None: a constant instead."""
    mapping = {}
    for name in _result_names(p):
        m = re.fullmatch(r"r(\d+)(?:\[(\d+)\])?", name)
        k, j = int(m.group(1)), (int(m.group(2)) if m.group(2) else None)
        new = rename(k, j)
        if new is None:
            mapping[name] = Const(0.5)
        else:
            k2, j2 = new
            mapping[name] = f"r{k2}" if j2 is None else f"r{k2}[{j2}]"
    return substitute_names(p, mapping)


# ---------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------


def _drop_qnode(p: Program, k):
    q = copy.deepcopy(p)
    del q.qnodes[k]
    del q.pre[k]
    q = _rename_results(q, lambda a, j: None if a == k else ((a - 1 if a > k else a), j))
    for i, qn in enumerate(q.qnodes):
        qn.name = f"circuit{i}"
    return q


def _drop_measurement(p: Program, k, j):
    q = copy.deepcopy(p)
    count = len(q.qnodes[k].measurements)
    del q.qnodes[k].measurements[j]

    def rename(a, b):
        if a != k:
            return a, b
        if b == j or b is None:
            return None
        b = b - 1 if b > j else b
        return a, (None if count - 1 == 1 else b)

    return _rename_results(q, rename)


def _unwrap(op):
    """The operations a region becomes when its wrapper goes away (loop indices and carries
    replaced by their first values)."""
    if isinstance(op, (Adjoint, Ctrl, MeasCond)):
        return op.body
    if isinstance(op, ForLoop):
        mapping = {op.var: op.lo}
        if op.carry:
            mapping[op.carry] = op.carry_init
        return substitute_names(op.body, mapping)
    if isinstance(op, WhileLoop):
        return substitute_names(op.body, {op.var: Const(0)})
    if isinstance(op, If):
        return op.then
    return None


def _without_measure(p, name):
    """``p`` without the mid-circuit measurement ``name`` and what conditions on it."""

    def fn(node):
        if isinstance(node, Measurement) and node.op is not None and name in node.op.names:
            return Measurement("expval", PauliWord([("Z", Wire(0))]))
        for field in OP_LISTS:
            ops = getattr(node, field, None)
            if isinstance(ops, list) and any(isinstance(o, (Measure, MeasCond)) for o in ops):
                kept = [
                    o
                    for o in ops
                    if not (isinstance(o, Measure) and o.name == name)
                    and not (isinstance(o, MeasCond) and o.mcm == name)
                ]
                node = dataclasses.replace(node, **{field: kept})
        return node

    return transform(p, fn)


def candidates(p: Program):
    """Smaller programs, largest reductions first."""
    if len(p.qnodes) > 1:
        for k in range(len(p.qnodes)):
            yield f"drop QNode {k}", _drop_qnode(p, k)
    for k, q in enumerate(p.qnodes):
        if len(q.measurements) > 1:
            for j in range(len(q.measurements)):
                yield f"drop measurement {k}.{j}", _drop_measurement(p, k, j)
    min_post = 0 if p.mode == "forward" else 1
    if len(p.post) > min_post:
        for i in range(len(p.post)):
            q = copy.deepcopy(p)
            del q.post[i]
            if q.vector is not None and p.derivative == "vjp":
                del q.vector[i]
            yield f"drop output {i}", q
    if p.mode == "derivatives" and p.derivative != "grad":
        q = copy.deepcopy(p)
        q.derivative, q.post, q.vector = "grad", q.post[:1], None
        yield "grad instead", q
    for k, q in enumerate(p.qnodes):
        if q.returns_dict:
            # a tuple: its entries named as the other QNodes' results (and shrunk as those)
            tupled = put(p, _path_of(p, q) + ("returns_dict",), False)
            mapping = {
                f"r{k}['k{j}']": (f"r{k}" if len(q.measurements) == 1 else f"r{k}[{j}]")
                for j in range(len(q.measurements))
            }
            yield "tuple instead of dict", substitute_names(tupled, mapping)
    for q in p.qnodes:
        if q.transform:
            yield "no transform", put(p, _path_of(p, q) + ("transform",), None)
        if q.shots:
            yield "no shots", put(p, _path_of(p, q) + ("shots",), None)
    if p.device != "kvant.qubit":
        yield "kvant.qubit", dataclasses.replace(copy.deepcopy(p), device="kvant.qubit")
    all_paths = list(paths(p))
    # operations: drop, then unwrap
    for path, node in all_paths:
        if path and path[-1] in OP_LISTS and isinstance(node, list):
            for i, op in enumerate(node):
                if isinstance(op, Measure):
                    yield f"drop measure {op.name}", _without_measure(p, op.name)
                else:
                    yield f"drop op at {path + (i,)}", put(p, path, node[:i] + node[i + 1 :])
    for path, node in all_paths:
        if path and path[-1] in OP_LISTS and isinstance(node, list):
            for i, op in enumerate(node):
                inner = _unwrap(op)
                if inner is not None:
                    yield (
                        f"unwrap {type(op).__name__}",
                        put(p, path, node[:i] + list(inner) + node[i + 1 :]),
                    )
                if isinstance(op, If) and op.orelse is not None:
                    yield "drop else", put(p, path + (i, "orelse"), None)
                if isinstance(op, CondValue):
                    yield (
                        "cond value to constant",
                        substitute_names(put(p, path, node[:i] + node[i + 1 :]), {op.name: op.a}),
                    )
                if isinstance(op, Measure) and (op.reset or op.postselect is not None):
                    yield (
                        "plain measure",
                        put(
                            p,
                            path + (i,),
                            dataclasses.replace(op, reset=False, postselect=None, branch=0),
                        ),
                    )
                if (
                    isinstance(op, (Adjoint, Ctrl, MeasCond))
                    and op.as_gate is False
                    and len(op.body) == 1
                    and isinstance(op.body[0], Gate)
                ):
                    yield "gate form", put(p, path + (i,), dataclasses.replace(op, as_gate=True))
    # wires, observables, expressions
    for path, node in all_paths:
        if isinstance(node, Gate) and any(isinstance(w, RunTimeWire) for w in node.wires):
            fixed = [
                Wire(w.lo + (w.off % w.k)) if isinstance(w, RunTimeWire) else w for w in node.wires
            ]
            yield "fixed wires", put(p, path + ("wires",), fixed)
        if isinstance(node, Hamiltonian):
            yield "one term", put(p, path, node.terms[0])
            if len(node.terms) > 1:
                yield (
                    "fewer terms",
                    put(
                        p,
                        path,
                        dataclasses.replace(node, coeffs=node.coeffs[:-1], terms=node.terms[:-1]),
                    ),
                )
        if isinstance(node, (Hermitian, MultiWireObservable)):
            yield "PauliZ", put(p, path, PauliWord([("Z", node.wires[0])]))
        if isinstance(node, PauliWord) and len(node.factors) > 1:
            yield "shorter word", put(p, path, PauliWord(node.factors[:1]))
        if isinstance(node, Measurement) and node.kind in (
            "var",
            "probs",
            "state",
            "sample",
            "counts",
        ):
            wire = Wire(0)
            yield "expval instead", put(p, path, Measurement("expval", PauliWord([("Z", wire)])))
    for path, node in all_paths:
        if isinstance(node, EXPRESSIONS):
            for child in (node.a,) + ((node.b,) if isinstance(node, Binary) else ()):
                yield "simpler expression", put(p, path, child)
        if (
            isinstance(node, (Unary, Binary, Index, Var))
            and path
            and path[0] in ("qnodes", "pre", "post")
        ):
            if not (isinstance(node, Var) and node.name == "n"):
                yield "constant", put(p, path, Const(0.5))


def _path_of(p, qnode):
    return ("qnodes", p.qnodes.index(qnode))


def same_failure(a, b):
    return a.cls == b.cls and (a.cls in ("timeout",) or a.signature == b.signature)


def shrink(program, outcome, evaluate, budget=120, log=None):
    """The smallest program found that fails like ``outcome``; ``evaluate(program) -> Outcome``.
    Returns ``(program, outcome, evaluations)``."""
    current, current_outcome, spent = program, outcome, 0
    improved = True
    while improved and spent < budget:
        improved = False
        for what, candidate in candidates(current):
            if spent >= budget:
                break
            try:
                candidate.render()
            except Exception:  # a reduction that does not render is skipped
                continue
            spent += 1
            result = evaluate(candidate)
            if same_failure(result, outcome):
                if log:
                    log(f"    shrink: {what} (size {size(candidate)})")
                current, current_outcome, improved = candidate, result, True
                break
    return current, current_outcome, spent


def size(p):
    return sum(1 for _ in paths(p))


# ---------------------------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------------------------


def to_pytest(p: Program, outcome=None) -> str:
    """A self-contained pytest function comparing kvant with default.qubit on ``p``."""
    name = f"test_fuzz_{p.mode}_seed_{p.seed}"
    what = f"{outcome.cls}: {outcome.detail[:200]}" if outcome else ""
    body = [
        f'"""Found by tests/fuzz (seed {p.seed}, {p.mode}, shrunk). {what}"""'.replace("\n", " ")
    ]
    body += render_make(p).splitlines()
    body += render_harness(p).splitlines()
    body.append(f"x = jnp.array({p.x!r})")
    body.append(f"n = {p.n}")
    body.append("got = compiled(make, x, n)")
    free = [m.name for m in p.free_measures()]
    tol = (
        "atol=2e-4, rtol=1e-3"
        if p.mode == "derivatives" and p.method == "fd"
        else "atol=1e-7, rtol=1e-6"
    )
    leaves = "jax.tree_util.tree_leaves"
    same = f"all(close(g, w) for g, w in zip({leaves}(got), {leaves}(want))) and len({leaves}(got)) == len({leaves}(want))"
    if p.has_shots():
        body.append(
            "# QNodes with shots: shapes as PennyLane gives them, estimates within a generous"
        )
        body.append("# bound of the exact values (the reference has sample/counts as probs)")
        body.append("want = reference(make, x, n)")
        body += _sampled_checks(p, tol)
    elif free:
        body.append(
            "# kvant samples one outcome per mid-circuit measurement: compare with each branch"
        )
        body.append(f"close = lambda g, w: np.allclose(np.asarray(g), np.asarray(w), {tol})")
        body.append("import itertools")
        body.append(f"names = {free!r}")
        body.append("matches = []")
        body.append("for bits in itertools.product((0, 1), repeat=len(names)):")
        body.append("    want = reference(make, x, n, BRANCH=dict(zip(names, bits)))")
        body.append(f"    if not any(np.isnan(np.asarray(w)).any() for w in {leaves}(want)):")
        body.append(f"        matches.append({same})")
        body.append("assert any(matches)")
    else:
        body.append("want = reference(make, x, n)")
        body.append(f"assert len({leaves}(got)) == len({leaves}(want))")
        body.append(f"for g, w in zip({leaves}(got), {leaves}(want)):")
        body.append(f"    np.testing.assert_allclose(np.asarray(g), np.asarray(w), {tol})")
    return f"def {name}():\n" + textwrap.indent("\n".join(body), "    ") + "\n"


def _sampled_checks(p, tol):
    from tests.fuzz.run import sampled_shape

    lines = []
    for k, q in enumerate(p.qnodes):
        for j, m in enumerate(q.measurements):
            if q.returns_dict:
                at = f"[{k}]['k{j}']"
            else:
                at = f"[{k}]" + ("" if len(q.measurements) == 1 else f"[{j}]")
            if not q.shots:
                lines.append(f"np.testing.assert_allclose(got{at}, want{at}, {tol})")
            elif m.kind == "outcome":
                # once per shot; the reference has its exact mean
                lines.append(f"assert np.shape(got{at}) == ({q.shots},)")
                lines.append(
                    f"assert abs(np.mean(np.asarray(got{at}, dtype=float)) - want{at}) < 0.15"
                )
            elif m.kind == "counts":
                lines.append(f"assert sum(int(v) for v in got{at}.values()) == {q.shots}")
            elif m.kind == "sample":
                shape = sampled_shape(q, m)[0]
                lines.append(f"assert np.shape(got{at}) == {shape}")
                if len(shape) == 1:  # of one outcome
                    lines.append(
                        f"np.testing.assert_allclose(np.mean(got{at}), want{at}[1], atol=0.1)"
                    )
                    continue
                weights = "2 ** np.arange(np.shape(got" + at + ")[1])[::-1]"
                lines.append(
                    f"np.testing.assert_allclose(np.bincount(np.asarray(got{at}) @ {weights}, "
                    f"minlength=len(want{at})) / {q.shots}, want{at}, atol=0.1)"
                )
            else:
                lines.append(
                    f"np.testing.assert_allclose(got{at}, want{at}, atol=0.15 * max(1.0, np.max(np.abs(want{at}))))"
                )
    return lines


TEST_PRELUDE = (
    "import jax\nimport jax.numpy as jnp\nimport numpy as np\nimport pennylane as qml\n\n"
    'import kvant\n\njax.config.update("jax_enable_x64", True)\n'
)
