"""How a QNode with mid-circuit measurements is executed: its ``mcm_method``.

* ``"deferred"`` and ``"tree-traversal"``: the exact statistics of the mixture of branches
  (sampled from it with shots); kvant defers the measurements onto ancilla wires
  (``tracing.deferred``). ``mcm_method=None`` means this without shots, as on PennyLane's
  devices.
* ``"one-shot"`` (``None`` with shots): every shot is an execution of its own, with its own
  mid-circuit outcomes; the terminal measurements are recorded per shot and their statistics
  taken over the shots, so they estimate the statistics of the mixture. A postselected
  measurement keeps its outcome in every shot (PennyLane's ``postselect_mode="fill-shots"``).
* ``"single-branch-statistics"``: one execution; each mid-circuit measurement samples one
  outcome, and the terminal measurements are the statistics of that one branch (with shots, all
  shots are drawn from the branch's final state).

What a method cannot compute exactly is refused by name, never replaced by another method.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from kvant.errors import UnsupportedError
from kvant.tracing.primitives import cond_p, for_p, measure_p, while_p

METHODS = ("one-shot", "single-branch-statistics")


def measure_eqns(jaxpr):
    """The ``measure`` equations of a closed JAXPR, regions included."""
    for eqn in jaxpr.jaxpr.eqns:
        if eqn.primitive is measure_p:
            yield eqn
        elif eqn.primitive is for_p or eqn.primitive is while_p:
            yield from measure_eqns(eqn.params["body"])
        elif eqn.primitive is cond_p:
            for branch in eqn.params["branches"]:
                yield from measure_eqns(branch)


def requested_method(qnode, shots) -> str:
    """The method the QNode asks for: its ``mcm_method``, or the default for its shots
    (``"tree-traversal"`` is computed as ``"deferred"``: both give the exact statistics)."""
    options = getattr(qnode, "execute_kwargs", {}) or {}
    requested = options.get("mcm_method")
    if requested is None:
        requested = "one-shot" if shots is not None else "deferred"
    return "deferred" if requested == "tree-traversal" else requested


def method(qnode, jaxpr, shots, kinds, requested=None) -> str | None:
    """The method that executes ``qnode`` (traced into ``jaxpr``; ``requested``: the method it
    was traced for, by default ``requested_method``), or None when it measures nothing
    mid-circuit."""
    measures = list(measure_eqns(jaxpr))
    if not measures:
        return None
    name = getattr(qnode.func, "__name__", "qnode")
    options = getattr(qnode, "execute_kwargs", {}) or {}
    if requested is None:
        requested = requested_method(qnode, shots)
    if requested == "deferred":
        # Both give the exact statistics of the mixture of branches without shots (and samples
        # of it with shots); kvant computes them by deferring the measurements.
        from kvant.tracing.deferred import cannot_defer

        why = cannot_defer(jaxpr)
        if why is not None:
            raise UnsupportedError(
                f"QNode '{name}': {why}, so kvant cannot compute the exact statistics of "
                f"mcm_method={options.get('mcm_method')!r}; use shots with "
                "mcm_method='one-shot', or mcm_method='single-branch-statistics' (one sampled "
                "branch per execution)"
            )
        postselects = any(eqn.params["postselect"] is not None for eqn in measures)
        if shots is not None and postselects and options.get("postselect_mode") == "hw-like":
            # as PennyLane under jax.jit, which raises for it too; without a postselect_mode
            # both keep every shot ('fill-shots')
            raise UnsupportedError(
                f"QNode '{name}': postselect_mode='hw-like' keeps only the shots that pass the "
                "postselection, a number known only at run time, which mcm_method='deferred' "
                "cannot give in compiled code (PennyLane refuses it under jax.jit too); use "
                "postselect_mode='fill-shots' (every shot postselected, the default here)"
            )
        return "deferred"
    if requested not in METHODS:
        raise UnsupportedError(
            f"QNode '{name}': mcm_method={requested!r} is not supported by kvant; it executes "
            "mid-circuit measurements with 'one-shot' (each shot its own branch, needs shots) "
            "or 'single-branch-statistics' (one sampled branch per execution)"
        )
    if requested == "one-shot":
        if shots is None:
            raise ValueError(
                f"QNode '{name}': mcm_method='one-shot' needs shots; set them with "
                "@qml.set_shots(n), or use mcm_method='single-branch-statistics'"
            )
    return requested


#: the sample value of a shot that failed its postselection (PennyLane's under jax.jit)
INVALID_SAMPLE = np.iinfo(np.int32).min


#: attempts at a shot that must pass its postselections ('fill-shots'); a shot failing them
#: all counts as invalid (statistics over no shot are NaN, as for an impossible postselection)
MAX_ATTEMPTS = 1000


def run_one_shot(trace_one_shot, bind, shots: int, seed, kinds, pads=lambda: False, refill=False):
    """Execute the one-shot circuit ``shots`` times and reduce each output over the shots.

    ``trace_one_shot()`` traces one execution (measurements recorded per shot: expectation
    values and variances as the observable's single-shot value, probabilities as a one-hot
    vector, samples as one row, counts as one count); ``bind(jaxpr, consts, shots, seed)``
    binds a QNode call. A seeded device seeds the first shot only, so the shots differ and the
    run is still reproducible.
    """
    from kvant.tracing.control_flow import trace_for, trace_while

    jaxpr, consts = trace_one_shot()
    out_avals = jaxpr.out_avals
    first_jaxpr, first_consts = (jaxpr, consts) if seed is None else trace_one_shot()

    def execute(jaxpr, consts, seed):
        values = bind(jaxpr, consts, 1, seed)
        if not (refill and pads()):
            return values

        # the shot again until it passes its postselections (the last value: whether it did)
        def again(attempts, *values):
            return (attempts + 1, *bind(jaxpr, consts, 1, None))

        state = trace_while(
            lambda attempts, *values: jnp.logical_and(~values[-1], attempts < MAX_ATTEMPTS),
            again,
            (jnp.asarray(1), *values),
        )
        return list(state[1:])

    first = execute(first_jaxpr, first_consts, seed)
    buffers = [jnp.zeros((shots, *a.shape), a.dtype).at[0].set(v) for a, v in zip(out_avals, first)]

    def shot(i, *rows):
        values = execute(jaxpr, consts, None)
        out = tuple(r.at[i].set(v) for r, v in zip(rows, values))
        return out[0] if len(out) == 1 else out  # trace_for's loop-state convention

    state = trace_for(1, shots, 1, shot, tuple(buffers))
    stacked = [state] if len(buffers) == 1 else list(state or ())
    valid = stacked.pop() if pads() else None  # the traced execution recorded validity
    return [_reduce(kind, rows, valid, refill) for kind, rows in zip(kinds, stacked)]


def _reduce(kind: str, rows, valid=None, refill=False):
    """The statistic of one output over the shots (``rows[k]`` is shot k's record); ``valid``:
    which shots passed their postselections (statistics over those; the samples of the others
    are INVALID_SAMPLE, as PennyLane pads them under jax.jit), None for all."""
    if valid is not None:
        mask = valid.reshape((-1,) + (1,) * (rows.ndim - 1))
    if kind in ("expval", "probs", "var"):
        if valid is None:
            mean = jnp.mean(rows, axis=0)
            square = jnp.mean(rows**2, axis=0) if kind == "var" else None
        else:  # NaN when no shot passed, as PennyLane's
            kept = jnp.sum(valid)
            mean = jnp.sum(jnp.where(mask, rows, 0), axis=0) / kept
            square = jnp.sum(jnp.where(mask, rows**2, 0), axis=0) / kept if kind == "var" else None
        return mean if kind != "var" else square - mean**2
    if kind == "sample":
        if valid is not None:
            rows = jnp.where(mask, rows, jnp.asarray(INVALID_SAMPLE, rows.dtype))
        return rows.reshape((rows.shape[0] * rows.shape[1], *rows.shape[2:]))
    if kind == "counts":
        return jnp.sum(rows if valid is None else jnp.where(mask, rows, 0), axis=0)
    if kind == "other" and valid is not None and not refill:
        # one per shot, the failed ones too ('hw-like'; 'fill-shots' ran them until they
        # passed): no value marks a failed shot's classical value
        raise UnsupportedError(
            "a QNode under mcm_method='one-shot' with a postselection under postselect_mode="
            "'hw-like' returns classical values (outcomes, numbers computed in it) once per "
            "shot, including the shots that fail the postselection; return statistics "
            "(qml.sample(m), qml.expval(m), ...) or use postselect_mode='fill-shots'"
        )
    if kind == "other":  # a classical value the QNode returns: one per shot, as Catalyst does
        return rows
    raise UnsupportedError(f"the measurement '{kind}' is not supported with mcm_method='one-shot'")
