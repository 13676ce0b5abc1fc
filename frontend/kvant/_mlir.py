"""MLIR contexts with kvant's dialects registered into the upstream Python bindings."""

from __future__ import annotations

from mlir import ir


def extension():
    """kvant's compiled MLIR extension (dialects, passes, LLVM emission)."""
    try:
        from kvant import _kvant_mlir
    except ImportError as exc:  # pragma: no cover - only on a broken install
        raise ImportError(
            "kvant's MLIR extension (_kvant_mlir) is not built: run `make install` or "
            "`pip install .` in the kvant source tree"
        ) from exc
    return _kvant_mlir


def new_context() -> ir.Context:
    context = ir.Context()
    extension().register_dialects(context)
    return context


_shared = None


def shared_context() -> ir.Context:
    """One context for all the modules the frontend builds in this process: creating and
    registering a context per compilation costs more than the small module it holds, and types
    cached per context stay valid."""
    global _shared
    if _shared is None:
        _shared = new_context()
    return _shared
