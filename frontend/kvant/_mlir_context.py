"""An MLIR context holding what kvant uses, made without the bindings' site initialisation.

``mlir.ir.Context()`` of the upstream bindings loads every dialect they were built with (~50)
into each new context: 11-15 ms, most of making a context, and on the critical path of the
first compilation in a process (both in the frontend, which builds the module, and in the
compiler worker). A context of the bindings' base class, given the same dialect registry (so
the passes find the interface implementations registered with it) and only kvant's dialects
loaded, takes 0.6-1.6 ms (three contexts made in a row in a fresh process, 2-core VM).

Dependency-free on purpose: the compiler worker loads this file by path, without the ``kvant``
package (see ``compiler/worker.py``).
"""

from __future__ import annotations

import mlir._mlir_libs as _site
from mlir._mlir_libs._mlir import ir as _ir

# The dialects programs are built from or parsed in; the passes load what they produce (llvm,
# memref, ...) themselves, as their dependent dialects.
_LOADED = ("builtin", "func", "arith", "math", "scf", "tensor", "complex")


def lean_context(extension):
    """A new context with kvant's dialects registered and loaded, single-threaded.

    Single-threaded: kvant's modules hold a handful of functions, the parallel verifier and
    pass manager gained nothing on them (the 480-gate program ran its pipeline ~7 ms faster on
    one thread), and a context without a thread pool has no threads for ``fork`` to lose."""
    # The base class, not mlir.ir.Context (the site subclass that loads every dialect).
    base = getattr(_ir, "_Context", _ir.Context)
    context = base()
    context.enable_multithreading(False)
    context.append_dialect_registry(_site.get_dialect_registry())
    extension.register_dialects(context)
    for name in _LOADED:
        context.get_dialect_descriptor(name)
    return context
