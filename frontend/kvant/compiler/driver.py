"""The compiler client: hands MLIR to the worker process and caches shared libraries on disk.

The disk cache key is a hash of the MLIR text, the pipeline and the fingerprints of kvant's
compiled parts (the MLIR extension and the runtime), so a rebuilt compiler never reuses a stale
library, and a new Python process reuses libraries compiled by an earlier one.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from kvant import _paths
from kvant.compiler import pipeline as pipelines
from kvant.compiler import protocol
from kvant.errors import CompileError


def cache_dir() -> Path:
    root = os.environ.get("KVANT_CACHE_DIR")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kvant"


def _fingerprint() -> str:
    parts = ["kvant-0.1.0"]
    ext = sys.modules.get("kvant._kvant_mlir")
    for path in (getattr(ext, "__file__", None), _paths.runtime_library()):
        if path:
            st = os.stat(path)
            parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


@dataclass
class CompiledArtifact:
    library: Path
    mlir_lowered: str | None
    llvm_ir: str | None
    from_cache: bool


class _Worker:
    """One long-lived worker process; restarted after it dies."""

    def __init__(self):
        self._proc = None
        self._stderr = None
        self._lock = threading.Lock()

    def _start(self):
        env = dict(os.environ)
        # The worker must import the same kvant as this process, however it was found.
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "kvant.compiler.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )

    def request(self, message: dict) -> dict:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            try:
                protocol.send(self._proc.stdin, message)
                return protocol.receive(self._proc.stdout)
            except (EOFError, BrokenPipeError, OSError):
                code = self._proc.wait()
                self._stderr.seek(0)
                log = self._stderr.read().decode(errors="replace")
                self._proc = None
                raise CompileError(
                    "the kvant compiler crashed while compiling this program "
                    f"(worker exit status {code}); its last output:\n{_tail(log)}"
                ) from None

    def close(self):
        if self._proc is not None and self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


_worker = _Worker()
atexit.register(_worker.close)


def compile_mlir(module: str | bytes, *, keep_stages: bool = False, opt_level: int = 2,
                 use_cache: bool = True, pipeline: str | None = None) -> CompiledArtifact:
    """Compile an MLIR module (kvant's dialects included), given as text or as MLIR bytecode,
    to a shared library."""
    pipeline = pipeline or pipelines.pipeline()
    source = module.encode() if isinstance(module, str) else module
    key = hashlib.sha256(
        b"\0".join([source, pipeline.encode(), str(opt_level).encode(), _fingerprint().encode()])
    ).hexdigest()[:32]
    entry_dir = cache_dir() / key
    library = entry_dir / "program.so"
    if use_cache and library.exists():
        meta = json.loads((entry_dir / "stages.json").read_text()) if (entry_dir / "stages.json").exists() else {}
        if not keep_stages or meta.get("llvm_ir") is not None:
            return CompiledArtifact(library, meta.get("mlir_lowered"), meta.get("llvm_ir"), True)

    cache_dir().mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="build-", dir=cache_dir()))
    try:
        reply = _worker.request(
            {
                "mlir": module,
                "pipeline": pipeline,
                "workdir": str(workdir),
                "keep_stages": keep_stages,
                "opt_level": opt_level,
            }
        )
        if not reply["ok"]:
            raise CompileError(f"kvant could not compile this program:\n{reply['error']}")
        (workdir / "stages.json").write_text(
            json.dumps({"mlir_lowered": reply.get("mlir_lowered"), "llvm_ir": reply.get("llvm_ir")})
        )
        # Publish atomically: a concurrent process either sees a complete entry or none.
        try:
            if entry_dir.exists():
                shutil.rmtree(entry_dir, ignore_errors=True)
            os.replace(workdir, entry_dir)
        except OSError:
            entry_dir = workdir  # another process won the race; use our own copy
        return CompiledArtifact(entry_dir / "program.so", reply.get("mlir_lowered"), reply.get("llvm_ir"), False)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
