"""Tracing a Python function into a closed sub-JAXPR from inside an outer trace."""

from __future__ import annotations

from jax._src import api_util
from jax._src import core as jax_core
from jax._src import linear_util as lu
from jax._src.interpreters import partial_eval as pe


def trace_subjaxpr(fn, flat_args, name: str, in_avals=None):
    """Trace ``fn(*flat_args) -> list of arrays`` to a closed JAXPR.

    Values that ``fn`` closes over (constants, or tracers of an enclosing trace) become leading
    inputs of the returned JAXPR and are returned as ``consts``: the caller passes them first.
    ``in_avals`` overrides the abstract values taken from ``flat_args``.
    """
    if in_avals is None:
        in_avals = [jax_core.get_aval(x) for x in flat_args]
    dbg = api_util.debug_info(name, fn, tuple(flat_args), {})
    wrapped = lu.wrap_init(lambda *a: list(fn(*a)), debug_info=dbg)
    jaxpr, _, consts = pe.trace_to_jaxpr_dynamic(wrapped, in_avals)
    closed = jax_core.ClosedJaxpr(pe.convert_constvars_jaxpr(jaxpr), ())
    return closed, list(consts)
