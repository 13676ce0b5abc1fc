"""The compiler worker: a separate process that runs the MLIR pass pipeline, emits the object
file and links the shared library.

It runs apart from the user's interpreter because MLIR and LLVM are built with assertions, and an
assertion aborts the whole process: here, that ends only the worker, and the client turns it into
a ``CompileError``. Requests and replies are ``protocol`` messages on stdin/stdout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path


def link_shared_library(obj: Path, out: Path, runtime_dir: Path) -> None:
    # The system linker directly: through the C compiler driver the same link takes ~20 ms
    # instead of under 10 ms (/usr/bin/time on the 240-gate benchmark program: 0.02 s vs 0.00-0.01 s).
    # libm and libc are not named: reading libc.so.6's symbol table took 12 of the 15 ms of the
    # link. The calls the program makes into them (sin, malloc, ...) resolve when it is loaded,
    # through the runtime library, which needs both.
    ld = shutil.which("ld")
    if ld is not None:
        cmd = [ld, "-shared", "-o", str(out), str(obj), f"-L{runtime_dir}", "-lkvant_rt",
               "-rpath", str(runtime_dir)]
    else:
        cmd = [os.environ.get("CC", "cc"), "-shared", "-o", str(out), str(obj),
               f"-L{runtime_dir}", "-lkvant_rt", f"-Wl,-rpath,{runtime_dir}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"linking failed ({' '.join(cmd)}):\n{done.stderr}")


# One MLIR context serves many compilations: creating one costs 6-10 ms (the bindings register
# every upstream dialect and start a thread pool), a fifth of compiling a small program. It is
# renewed every CONTEXT_REUSE compilations, so what it interns (types, attributes, constants)
# cannot grow without bound in a long session.
CONTEXT_REUSE = 64
_context = None
_context_uses = 0


def _compilation_context():
    global _context, _context_uses
    from kvant import _mlir

    if _context is None or _context_uses >= CONTEXT_REUSE:
        _context = _mlir.new_context()
        # The pass manager runs functions in parallel; kvant programs have a handful, and the
        # 480-gate benchmark program ran its pipeline ~7 ms faster on one thread.
        _context.enable_multithreading(False)
        _context_uses = 0
    _context_uses += 1
    return _context


def compile_module(request: dict) -> dict:
    from mlir import ir, passmanager

    from kvant import _mlir, _paths

    ext = _mlir.extension()
    timings = {}
    with _compilation_context():
        t0 = time.perf_counter()
        module = ir.Module.parse(request["mlir"])
        pm = passmanager.PassManager.parse(request["pipeline"])
        # The frontend verified the module it built; re-verifying after each of ~40 passes costs
        # ~20% of the pass time. KVANT_VERIFY_PASSES=1 turns it back on to debug a pass.
        pm.enable_verifier(os.environ.get("KVANT_VERIFY_PASSES") == "1")
        pm.run(module.operation)
        timings["passes"] = time.perf_counter() - t0
        reply = {"ok": True}
        if request.get("keep_stages"):
            reply["mlir_lowered"] = str(module)
            reply["llvm_ir"] = ext.translate_to_llvm_ir(module)
        workdir = Path(request["workdir"])
        obj = workdir / "program.o"
        t0 = time.perf_counter()
        ext.emit_object(module, str(obj), int(request.get("opt_level", 2)))
        timings["codegen"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if request.get("link", True):
        link_shared_library(obj, workdir / "program.so", _paths.runtime_library().parent)
        obj.unlink()
    timings["link"] = time.perf_counter() - t0
    reply["timings"] = timings
    return reply


_SOURCE_LOCATION = re.compile(r'"([^"]+)":(\d+):(\d+)')


def describe_failure(exc: Exception) -> str:
    """The errors a failing pass reported, each at the user's source line where the IR knows
    it, without MLIR's dump of the failing operation (compiler-internal text)."""
    diagnostics = getattr(exc, "error_diagnostics", None)
    if not diagnostics:
        return f"{type(exc).__name__}: {exc}"
    lines = []
    for diagnostic in diagnostics:
        found = _SOURCE_LOCATION.search(str(diagnostic.location))
        where = f"{found[1]}:{found[2]}:{found[3]}: " if found else ""
        lines.append(f"{where}{diagnostic.message}")
    return "\n".join(lines)


def main() -> None:
    from kvant.compiler import protocol

    # Replies own the real stdout; anything else printed goes to stderr.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr
    requests = sys.stdin.buffer
    while True:
        try:
            request = protocol.receive(requests)
        except EOFError:
            return
        try:
            reply = compile_module(request)
        except Exception as exc:  # every failure goes back to the client as text
            reply = {"ok": False, "error": describe_failure(exc)}
        protocol.send(channel, reply)


if __name__ == "__main__":
    main()
