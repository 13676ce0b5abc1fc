"""The compiler worker: a separate process that runs the MLIR pass pipeline, emits the object
file and links the shared library.

It runs apart from the user's interpreter because MLIR and LLVM are built with assertions, and an
assertion aborts the whole process: here, that ends only the worker, and the client turns it into
a ``CompileError``. Requests and replies are ``protocol`` frames on stdin/stdout.

The client starts it as a script in isolated mode (``python -I worker.py EXTENSION PATH...``):
nothing from the user's working directory, ``PYTHONPATH`` or user site is importable, only the
standard library, the interpreter's site-packages and the directories the client names (where
the ``mlir`` bindings are). It imports neither the ``kvant`` package (which imports JAX and
PennyLane, most of a fresh worker's start-up time), nor NumPy, nor anything of the user's:
kvant's MLIR extension is loaded from its file, the pipeline, the runtime's directory and the
linker come in each request.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _load_by_path(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def link_shared_library(linker: list[str], obj: Path, out: Path, runtime_dir: Path) -> None:
    """Link ``obj`` against the runtime into ``out``.

    ``linker`` is the command the client resolved (``toolchain.linker_command``): a system
    linker (``ld``) directly when there is one -- through the C compiler driver the same link takes
    ~20 ms instead of under 10 ms (/usr/bin/time on the 240-gate benchmark program: 0.02 s vs
    0.00-0.01 s) -- else a C compiler driver, whose flags differ by a ``-Wl,`` prefix.
    libm and libc are not named: reading libc.so.6's symbol table took 12 of the 15 ms of the
    link. The calls the program makes into them (sin, malloc, ...) resolve when it is loaded,
    through the runtime library, which needs both.

    The library looks for the runtime first beside itself (``$ORIGIN``: an ahead-of-time library
    shipped with a copy of libkvant_rt.so), then where this kvant's runtime is.
    """
    driver = linker[-1] == "--driver"
    command = linker[:-1] if driver else list(linker)
    runpath = f"$ORIGIN:{runtime_dir}"
    command += ["-shared", "-o", str(out), str(obj), f"-L{runtime_dir}", "-lkvant_rt"]
    command += [f"-Wl,-rpath,{runpath}"] if driver else ["-rpath", runpath]
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"linking failed ({' '.join(command)}):\n{done.stderr}")


# One MLIR context serves many compilations: it is renewed every CONTEXT_REUSE compilations, so
# what it interns (types, attributes, constants) cannot grow without bound in a long session.
CONTEXT_REUSE = 64
_context = None
_context_uses = 0


def _new_context(extension) -> None:
    global _context, _context_uses
    contexts = sys.modules.get("_kvant_mlir_context") or _load_by_path(
        "_kvant_mlir_context", _HERE.parent / "_mlir_context.py"
    )
    _context = contexts.lean_context(extension)
    _context_uses = 0


def _compilation_context(extension):
    global _context_uses
    if _context is None or _context_uses >= CONTEXT_REUSE:
        _new_context(extension)
    _context_uses += 1
    return _context


def compile_module(request: dict, extension) -> dict:
    from mlir import ir, passmanager

    timings = {}
    cpu_at_start = time.process_time()
    with _compilation_context(extension):
        t0 = time.perf_counter()
        module = ir.Module.parse(request["mlir"])
        timings["parse"] = time.perf_counter() - t0
        # The pipeline comes as its stages, [name, textual pipeline] each, run one after the
        # other (the same passes in the same order as one pipeline), so that the time of each
        # stage is known: a stage that grows faster than the program shows in the benchmarks.
        stages = request["pipeline"]
        if isinstance(stages, str):
            stages = [["passes", stages]]
        for name, text in stages:
            t0 = time.perf_counter()
            pm = passmanager.PassManager.parse(text)
            # The frontend verified the module it built; re-verifying after each of ~40 passes
            # costs ~20% of the pass time. KVANT_VERIFY_PASSES=1 turns it back on to debug one.
            pm.enable_verifier(bool(request.get("verify_passes")))
            pm.run(module.operation)
            timings[name] = time.perf_counter() - t0
        reply = {"ok": True}
        if request.get("keep_stages"):
            reply["mlir_lowered"] = str(module)
            reply["llvm_ir"] = extension.translate_to_llvm_ir(module)
        workdir = Path(request["workdir"])
        obj = workdir / "program.o"
        t0 = time.perf_counter()
        extension.emit_object(
            module, str(obj), int(request.get("opt_level", 2)), request.get("cpu", "native")
        )
        timings["codegen"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if request.get("link", True):
        link_shared_library(
            request["linker"], obj, workdir / "program.so", Path(request["runtime_dir"])
        )
        obj.unlink()
    timings["link"] = time.perf_counter() - t0
    # processor time of this process (the linker, a child, not included): with other work on
    # the machine's cores, it shows what wall times cannot
    timings["worker_cpu"] = time.process_time() - cpu_at_start
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


def memory_limit() -> int | None:
    """The address space a compilation may use, in bytes (``KVANT_COMPILE_MEMORY``, in MiB; 0
    or 'none': no limit); by default half of the machine's memory, so that a compilation that
    runs away fails with a ``CompileError`` before the machine swaps. Read by the client too,
    for its message."""
    text = os.environ.get("KVANT_COMPILE_MEMORY", "").strip().lower()
    if text in ("0", "none", "inf"):
        return None
    if text:
        try:
            return int(float(text) * 2**20)
        except ValueError:
            return None  # the client reports the bad value
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None
    return max(physical // 2, 4 * 2**30)


def main(argv: list[str]) -> None:
    extension_path, *paths = argv
    limit = memory_limit()
    if limit is not None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # Ctrl-C in a terminal reaches the whole foreground process group; the client decides what
    # an interrupt ends (it kills this process when it gives up waiting).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.path[:0] = paths
    protocol = _load_by_path("_kvant_worker_protocol", _HERE / "protocol.py")

    # Replies own the real stdout. Anything else written to file descriptor 1 -- by Python code,
    # or by C++ (LLVM, the MLIR passes) -- goes to stderr.
    channel = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    # The bindings import NumPy when they find it, for attribute builders that only code which
    # builds IR uses; the worker parses IR. Importing it was ~0.15 of the ~0.3 s the worker took
    # to be ready (python -X importtime): it is blocked here, which the bindings allow for (they
    # catch the ImportError).
    sys.modules["numpy"] = None
    import mlir.ir  # noqa: F401  (the bindings' libraries, which the extension links against)

    extension = _load_by_path("kvant._kvant_mlir", Path(extension_path))
    # The first context is made before the first request arrives: the client is still tracing
    # and lowering the program then.
    _new_context(extension)
    ready_at = time.time()  # the client compares it with when it started this process
    requests = protocol.FrameReader(sys.stdin.fileno())
    while True:
        try:
            request = requests.receive()
        except EOFError:
            return
        try:
            reply = compile_module(request, extension)
        except Exception as exc:  # every failure goes back to the client as text
            reply = {"ok": False, "error": describe_failure(exc)}
        reply["ready_at"] = ready_at
        protocol.send(channel, reply)


if __name__ == "__main__":
    main(sys.argv[1:])
