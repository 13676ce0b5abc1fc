"""Running one program on both sides and judging the result: ``evaluate(program) -> Outcome``.

The rendered module (``program.render_program``) is executed as is — the same text the shrinker
prints — so what was run is what the reader sees. The reference is ``default.qubit`` with
``diff_method="backprop"``, evaluated eagerly (``jax.disable_jit()``: PennyLane runs
``for_loop``/``while_loop``/``cond`` as Python outside a compiled function) and differentiated by
JAX.

Classes of outcome:

- ``match``; ``mismatch`` (values, shapes, dtypes or structure differ);
- ``crash``: kvant raised something that is not a clear refusal (a compiler crash or invalid
  MLIR, a JAX tracer error, an exception from inside PennyLane or JAX, an assertion), or the worker process
  died or hung (set by ``campaign``);
- ``refusal``: ``kvant.UnsupportedError``, a ``kvant.CompileError`` from a diagnostic of kvant's
  passes, or a ``ValueError``/``TypeError``/``NotImplementedError`` raised by kvant's own code — grouped by message for a human to judge;
- ``expected``: a refusal of what is mathematically undefined or what PennyLane itself does not
  support (``EXPECTED_REFUSALS``, each with its reason): not a gap in kvant;
- ``invalid``: the reference itself rejected the program (a generator bug: it must stay within
  what default.qubit runs); ``undefined``: every outcome branch of the reference is NaN (e.g. a
  postselection on a zero-probability outcome).

Mid-circuit measurements: kvant samples one branch per execution; a measurement the program
does not postselect ("free") is enumerated on the reference side by postselecting each outcome,
and kvant's values must equal those of some branch with nonzero probability.
"""

from __future__ import annotations

import itertools
import linecache
import math
import re
import sys
import traceback
import types
from dataclasses import dataclass

import numpy as np

from tests.fuzz.program import Program, render_program

EXACT_ATOL = 1e-7
EXACT_RTOL = 1e-6
FD_ATOL = 2e-4
FD_RTOL = 1e-3
Z = 6.0  # z-bound for sampled estimates


#: Refusals that are right: (pattern of the message, why). Any other refusal is a gap in kvant.
EXPECTED_REFUSALS = (
    (
        r"mid-circuit measurement is not differentiable with method",
        "the derivative of a sampled branch does not exist (the value is random); PennyLane's "
        "compiler refuses it too (docs/acceptance-gradients.md, E12)",
    ),
    (
        r"samples its mid-circuit measurement outcomes, so method='fd'",
        "finite differences of randomly sampled branches are not a derivative",
    ),
    (
        r"inside a while loop, or a for loop whose bounds are known only at run time",
        "PennyLane's deferral of compiled loops does not support measurements inside them",
    ),
    (
        r"inside a cond decided by a mid-circuit outcome",
        "PennyLane's deferral does not support measurements in a cond on an outcome",
    ),
)


@dataclass
class Outcome:
    cls: str  # match mismatch crash refusal expected invalid undefined timeout
    detail: str = ""
    signature: str = ""  # for grouping: what failed, with numbers stripped

    def failed(self):
        return self.cls in ("mismatch", "crash", "timeout")


def signature_of(text):
    """``text`` without what varies between programs failing the same way: numbers, quoted
    names, gate names."""
    text = re.sub(r"0x[0-9a-f]+", "0x?", text)
    text = re.sub(r"'[^']*'", "'?'", text)
    text = re.sub(r"\b(" + "|".join(_gate_names()) + r")\b", "<gate>", text)
    text = re.sub(r"-?\d+(\.\d+)?(e-?\d+)?", "#", text)
    return text[:160]


def _gate_names():
    from tests.fuzz.generate import DECOMPOSED_GATES, RUNTIME_GATES

    return sorted(set(DECOMPOSED_GATES) | set(RUNTIME_GATES), key=len, reverse=True)


_LOADED = []


def load(p: Program):
    """The rendered module of ``p``, executed as a module of its own: its text is registered
    with ``linecache`` and the module in ``sys.modules``, so ``inspect.getsource`` and
    ``inspect.getmodule`` find them (AutoGraph reads the source of the functions it converts)."""
    text = render_program(p)
    filename = f"<fuzz seed {p.seed} #{len(_LOADED)}>"
    name = f"fuzz_seed_{p.seed}_{len(_LOADED)}"
    for old_file, old_name in _LOADED[-3:-2]:  # keep the last programs only
        linecache.cache.pop(old_file, None)
        sys.modules.pop(old_name, None)
    _LOADED.append((filename, name))
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(text, filename, "exec"), module.__dict__)
    return module.__dict__


# ---------------------------------------------------------------------------------------------
# Exceptions
# ---------------------------------------------------------------------------------------------


def _raised_by_kvant(exc):
    """Raised by a ``raise`` statement of kvant's own code (not by Python inside kvant, as in
    ``'NoneType' object is not iterable``)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return (
        bool(frames)
        and "/kvant/" in frames[-1].filename.replace("\\", "/")
        and (frames[-1].line or "").lstrip().startswith("raise")
    )


def _refusal(text) -> Outcome:
    for pattern, why in EXPECTED_REFUSALS:
        if re.search(pattern, text):
            return Outcome("expected", f"{text} [expected: {why}]", signature_of(text))
    return Outcome("refusal", text, signature_of(text))


def classify_exception(exc) -> Outcome:
    import jax

    import kvant

    name = type(exc).__name__
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()] or [""]
    first = lines[0]
    if first.endswith(":") and len(lines) > 1:  # "kvant could not compile this program:" + why
        first += " " + lines[1]
    text = f"{name}: {first}"
    if isinstance(exc, kvant.UnsupportedError):
        return _refusal(text)
    if isinstance(exc, kvant.CompileError) and not any(
        marker in str(exc) for marker in ("crashed", "a kvant bug", "invalid MLIR")
    ):
        # a diagnostic of kvant's own passes at the user's line (what method="auto" cannot
        # differentiate, ...): a refusal by name; a dead worker or invalid IR stays a crash
        return _refusal(text)
    jax_error = isinstance(exc, (jax.errors.JAXTypeError, jax.errors.JAXIndexError)) or type(
        exc
    ).__module__.startswith("jax")
    if (
        type(exc) in (ValueError, TypeError, NotImplementedError)
        and not jax_error
        and _raised_by_kvant(exc)
    ):
        return _refusal(text)
    where = traceback.extract_tb(exc.__traceback__)
    origin = (
        f" (at {where[-1].filename.split('site-packages/')[-1]}:{where[-1].lineno})"
        if where
        else ""
    )
    return Outcome("crash", text + origin, signature_of(text))


# ---------------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------------


class Mismatch(Exception):
    pass


def _leaves(tree):
    import jax

    return jax.tree_util.tree_leaves(tree)


def _close(got, want, atol, rtol, where, phase_free=False):
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        raise Mismatch(f"{where}: shape {got.shape} != {want.shape}")
    if got.dtype != want.dtype:
        raise Mismatch(f"{where}: dtype {got.dtype} != {want.dtype}")
    if phase_free and np.iscomplexobj(want) and want.size:
        # states of programs with decomposed gates: PennyLane's decompositions may differ from
        # the gate's matrix by a global phase
        k = int(np.argmax(np.abs(want)))
        if abs(got.flat[k]) > 1e-9:
            got = got * (want.flat[k] / got.flat[k]) / abs(want.flat[k] / got.flat[k])
    if got.dtype == bool:  # outcomes and conditions
        if np.any(got != want):
            raise Mismatch(f"{where}: got {got} want {want}")
        return
    both_nan = (
        np.isnan(got) & np.isnan(want) if got.dtype.kind in "fc" else np.zeros(got.shape, bool)
    )
    bad = ~both_nan & ~(np.abs(got - want) <= atol + rtol * np.abs(want))
    if np.any(bad):
        i = np.argwhere(bad)[0] if got.ndim else ()
        i = tuple(int(j) for j in i)
        raise Mismatch(
            f"{where}: got {got[i] if got.ndim else got} want {want[i] if want.ndim else want}"
            f" (max |diff| {np.nanmax(np.abs(got - want)):.3g})"
        )


def _structure(got, want, where):
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            raise Mismatch(f"{where}: structure {_describe(got)} != {_describe(want)}")
        return True
    if isinstance(want, dict):
        if not isinstance(got, dict):
            raise Mismatch(f"{where}: {_describe(got)} where a dict is expected")
        return True
    if isinstance(got, (tuple, list, dict)):
        raise Mismatch(f"{where}: structure {_describe(got)} != {_describe(want)}")
    return False


def _describe(x):
    if isinstance(x, (tuple, list)):
        return f"{type(x).__name__}[{len(x)}]"
    if isinstance(x, dict):
        return "dict"
    return f"array{np.shape(x)}"


def compare_exact(p: Program, got, want):
    """Derivatives, and forward programs without shots."""
    atol, rtol = (
        (FD_ATOL, FD_RTOL)
        if p.mode == "derivatives" and p.method == "fd"
        else (EXACT_ATOL, EXACT_RTOL)
    )
    _compare_tree(
        got,
        want,
        "output",
        lambda g, w, where: _close(g, w, atol, rtol, where, p.uses_decomposition()),
    )


def _compare_tree(got, want, where, leaf):
    if _structure(got, want, where):
        if isinstance(want, dict):
            if set(got) != set(want):
                raise Mismatch(f"{where}: keys {sorted(got)} != {sorted(want)}")
            for key in want:
                _compare_tree(got[key], want[key], f"{where}[{key!r}]", leaf)
        else:
            for k, (g, w) in enumerate(zip(got, want)):
                _compare_tree(g, w, f"{where}[{k}]", leaf)
    else:
        leaf(got, want, where)


def sampled_shape(q, m):
    """Shape and dtype PennyLane gives a measurement with shots (``sample``: one row per shot,
    one column per wire, also for a single wire; estimates: as without shots)."""
    if m.kind == "sample" and m.op is not None:
        # of outcomes: one value per shot for one outcome, a row per shot for a list
        names = len(m.op.names)
        return ((q.shots,) if m.op.kind == "m" else (q.shots, names)), np.dtype("int64")
    if m.kind == "sample":
        return (q.shots, q.num_wires if m.wires is None else len(m.wires)), np.dtype("int64")
    if m.kind == "probs":
        return (m.num_values(q.num_wires),), np.dtype("float64")
    return (), np.dtype("float64")


def compare_forward_with_shots(p: Program, got, exact):
    """Forward programs where some QNodes have shots: the outputs of those QNodes are checked
    statistically against the exact values (``exact``: the analytic reference, sample/counts
    replaced by probs) and their shapes against PennyLane's (``sampled_shape``; running the
    reference with shots would be slow: one-shot runs one circuit per shot)."""
    _structure(got, exact, "output")
    for k, q in enumerate(p.qnodes):
        g, e = got[k], exact[k]
        if q.returns_dict:
            _structure(g, e, f"r{k}")
            if set(g) != set(e):
                raise Mismatch(f"r{k}: keys {sorted(g)} != {sorted(e)}")
            g, e = [g[f"k{j}"] for j in range(len(e))], [e[f"k{j}"] for j in range(len(e))]
        elif len(q.measurements) == 1:
            g, e = (g,), (e,)
        else:
            _structure(g, e, f"r{k}")
        for j, m in enumerate(q.measurements):
            where = f"r{k}[{j}] ({m.kind})"
            if q.shots and m.kind in ("classical", "outcome"):
                _check_per_shot(q, m, g[j], e[j], where)
                continue
            if not q.shots:
                _compare_tree(
                    g[j],
                    e[j],
                    where,
                    lambda a, b, w: _close(a, b, EXACT_ATOL, EXACT_RTOL, w, p.uses_decomposition()),
                )
                continue
            _check_sampled(q, m, g[j], e[j], sampled_shape(q, m), where)
    for k in range(len(p.qnodes), len(exact)):
        # post-processed values of sampled QNodes are random: only shapes and dtypes
        _close_shape(got[k], exact[k], f"output[{k}]")


def _check_per_shot(q, m, got, exact, where):
    """A classical value returned by a one-shot QNode: once per shot. A value of the arguments
    is the same in every shot; an outcome (``exact``: its exact mean) is estimated by the mean
    over shots."""
    got = np.asarray(got)
    if m.kind == "classical":
        want = np.broadcast_to(np.asarray(exact), (q.shots,) + np.shape(exact))
        _close(got, want, EXACT_ATOL, EXACT_RTOL, where)
        return
    _close_shape(got, ((q.shots,), np.dtype(m.op.dtype())), where)
    mean = float(np.mean(got.astype(np.float64)))
    bound = Z * m.op.norm() / math.sqrt(q.shots) + 1e-9
    if abs(mean - float(exact)) > bound:
        raise Mismatch(
            f"{where}: sampled mean {mean:.4f}, exact {float(exact):.4f} (bound {bound:.3f})"
        )


def _close_shape(got, want, where):
    """``want``: an array, or a (shape, dtype) pair."""
    got = np.asarray(got)
    shape, dtype = want if isinstance(want, tuple) else (np.shape(want), np.asarray(want).dtype)
    if got.shape != shape:
        raise Mismatch(f"{where}: shape {got.shape} != {shape}")
    if got.dtype != dtype:
        raise Mismatch(f"{where}: dtype {got.dtype} != {dtype}")


def _check_sampled(q, m, got, exact, shaped, where):
    shots = q.shots
    if m.kind == "sample":
        got = np.asarray(got)
        _close_shape(got, shaped, where)
        bits = got.reshape(shots, -1)
        if not np.all((bits == 0) | (bits == 1)):
            raise Mismatch(f"{where}: samples outside {{0, 1}}")
        freq = (
            np.bincount(bits @ (1 << np.arange(bits.shape[1])[::-1]), minlength=len(exact)) / shots
        )
        _statistical(freq, np.asarray(exact), shots, where)
    elif m.kind == "counts":
        if not isinstance(got, dict):
            raise Mismatch(f"{where}: counts is {_describe(got)}, not a dict")
        width = int(math.log2(len(np.asarray(exact))))
        total = sum(int(v) for v in got.values())
        if total != shots:
            raise Mismatch(f"{where}: counts total {total} != shots {shots}")
        freq = np.zeros(len(np.asarray(exact)))
        if m.op is not None and m.op.kind == "m":
            # of one outcome: keyed by its value (floats under one-shot, as PennyLane's)
            for key, v in got.items():
                if isinstance(key, str) or float(key) not in (0.0, 1.0):
                    raise Mismatch(f"{where}: counts key {key!r} is not an outcome value")
                freq[int(key)] += int(v) / shots
            _statistical(freq, np.asarray(exact), shots, where)
            return
        for key, v in got.items():
            if not (isinstance(key, str) and len(key) == width and set(key) <= {"0", "1"}):
                raise Mismatch(f"{where}: counts key {key!r} is not a {width}-bit string")
            freq[int(key, 2)] = int(v) / shots
        _statistical(freq, np.asarray(exact), shots, where)
    else:
        _close_shape(got, shaped, where)
        if m.kind == "probs":
            _statistical(np.asarray(got), np.asarray(exact), shots, where)
        else:
            scale = m.obs.norm() if m.op is None else m.op.norm()
            if m.kind == "var":
                scale = 2 * scale**2
            bound = Z * scale / math.sqrt(shots) + 1e-9
            if abs(float(got) - float(exact)) > bound:
                raise Mismatch(
                    f"{where}: sampled {float(got):.4f}, exact {float(exact):.4f} (bound {bound:.3f})"
                )


def _statistical(freq, p, shots, where):
    bound = Z * np.sqrt(np.clip(p * (1 - p), 1 / shots, None) / shots)
    bad = np.abs(freq - p) > bound
    if np.any(bad):
        i = int(np.argmax(bad))
        raise Mismatch(
            f"{where}: frequency {freq[i]:.4f} of outcome {i}, probability {p[i]:.4f} "
            f"(bound {bound[i]:.3f})"
        )


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def _has_nan(tree):
    return any(
        np.asarray(leaf).dtype.kind in "fc" and np.any(np.isnan(np.asarray(leaf)))
        for leaf in _leaves(tree)
    )


def reference_branches(p: Program, ns):
    """``[(branch, outputs)]`` of the reference over every outcome assignment of the free
    measurements, leaving out branches of zero probability: their outputs are NaN (the
    generator's classical functions are smooth and total, so NaN only comes from
    renormalizing a postselected state of probability zero)."""
    import jax.numpy as jnp

    x = jnp.array(p.x, dtype=jnp.float64)
    names = [m.name for m in p.free_measures()]
    out = []
    for bits in itertools.product((0, 1), repeat=len(names)):
        branch = dict(zip(names, bits))
        value = ns["reference"](ns["make"], x, p.n, BRANCH=branch)
        if not _has_nan(value):
            out.append((branch, value))
    return out


def evaluate(p: Program) -> Outcome:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    try:
        ns = load(p)
        branches = reference_branches(p, ns)
    except Exception as exc:  # any reference failure means the program is invalid
        text = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return Outcome(
            "invalid", f"reference: {text} (at {where.filename}:{where.lineno})", signature_of(text)
        )
    if not branches:
        return Outcome(
            "undefined", "the reference is NaN: a postselected outcome has probability 0"
        )
    try:
        got = ns["compiled"](ns["make"], jnp.array(p.x, dtype=jnp.float64), p.n)
        got = jax.tree_util.tree_map(np.asarray, got)
    except Exception as exc:  # deliberately broad
        return classify_exception(exc)
    failures = []
    for branch, want in branches:
        try:
            if p.has_shots():
                compare_forward_with_shots(p, got, want)
            else:
                compare_exact(p, got, want)
            return Outcome("match", f"branch {branch}" if branch else "")
        except Mismatch as m:
            failures.append(str(m))
    detail = (
        failures[0]
        if len(failures) == 1
        else f"no branch of {len(failures)} matches; first: {failures[0]}"
    )
    return Outcome("mismatch", detail, "mismatch: " + mismatch_kind(failures[0]))


def mismatch_kind(text):
    """What kind of difference a mismatch message reports (shape, dtype, value, ...), without
    the place: the shrinker keeps a reduction when the kind stays the same."""
    after = text.split(": ", 1)[1] if ": " in text else text
    word = after.split()[0] if after.split() else ""
    return {"got": "value", "sampled": "value", "frequency": "statistics"}.get(word, word)
