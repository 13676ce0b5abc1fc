"""The compiler client: hands MLIR to the worker process and caches shared libraries on disk.

The worker
    One long-lived process per client process (``worker.py``), started in isolated mode. A
    request that does not end in a reply -- an interrupt (Ctrl-C), a timeout
    (``KVANT_COMPILE_TIMEOUT`` seconds), a crash, any exception while waiting -- kills the worker
    before the exception propagates: a worker is never reused with a reply pending, and its build
    directory is removed only once it is dead. A process forked from this one starts its own
    worker (the parent's pipes are closed in the child).

The disk cache
    ``cache_root()/KEY/`` holds ``program.so``, ``manifest.json`` (the key and the library's
    SHA-256) and, when asked for, ``stages.json``. The key hashes the MLIR, the pipeline, the
    optimisation level, kvant's version, the fingerprints of kvant's compiled parts (the MLIR
    extension and the runtime, so a rebuilt compiler never reuses a stale library) and the host
    CPU's features (the code is generated for this CPU). An entry is built in a private
    ``build-*`` directory and published by one ``rename``: other processes see a complete entry
    or none. Before a library is loaded, its entry must be a directory and its library a regular
    file, both owned by this user and writable by nobody else, with the manifest's key and
    hash matching; anything else is removed with a ``CacheWarning`` and compiled again. A cache
    root that cannot be used (read-only, another user's, not a directory) is replaced by a
    private temporary one, with a warning.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import platform
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from kvant import _paths
from kvant._version import __version__
from kvant.compiler import pipeline as pipelines
from kvant.compiler import protocol, toolchain
from kvant.errors import CacheWarning, CompileError, UnsupportedError

LIBRARY = "program.so"
MANIFEST = "manifest.json"
STAGES = "stages.json"
DEFAULT_TIMEOUT = 900.0  # seconds: ~100x the compile time of the largest benchmark program


def cache_dir() -> Path:
    """The configured cache root (``KVANT_CACHE_DIR``, else ``$XDG_CACHE_HOME/kvant``)."""
    root = os.environ.get("KVANT_CACHE_DIR")
    if root:
        return Path(root).absolute()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kvant"


#: diagnostics of the passes that refuse, by name, what kvant does not support (rather than
#: report a failure): raised as UnsupportedError
_REFUSALS = ("kvant cannot differentiate the host callback",)

#: what LLVM, MLIR and Python write when an allocation fails
_OUT_OF_MEMORY = (
    "out of memory",
    "Allocation failed",
    "MemoryError",
    "std::bad_alloc",
    "failed to map segment",
)


def compile_timeout() -> float | None:
    """Seconds a compilation may take (``KVANT_COMPILE_TIMEOUT``; 0 or 'none': no limit)."""
    text = os.environ.get("KVANT_COMPILE_TIMEOUT", "").strip().lower()
    if not text:
        return DEFAULT_TIMEOUT
    if text in ("0", "none", "inf"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise CompileError(f"KVANT_COMPILE_TIMEOUT={text!r} is not a number of seconds") from None
    return value if value > 0 else None


# -- the cache root ---------------------------------------------------------------------------

_roots: dict[str, Path] = {}  # configured root -> the root in use (itself, or a fallback)
_roots_lock = threading.Lock()


def _private_directory_problem(path: Path, st: os.stat_result) -> str | None:
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a directory"
    if st.st_uid != os.getuid():
        return f"it belongs to another user (uid {st.st_uid})"
    if st.st_mode & 0o022:
        return f"others can write into it (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def cache_root() -> Path:
    """The cache root in use: the configured one if it is a directory of this user that only
    this user can write into (created mode 0700 when missing), else a private temporary one."""
    configured = cache_dir()
    with _roots_lock:
        root = _roots.get(str(configured))
        if root is None or not root.is_dir():  # first use, or removed while the process runs
            root = _roots[str(configured)] = _usable_root(configured)
        return root


def _usable_root(configured: Path) -> Path:
    try:
        if not configured.exists():
            configured.parent.mkdir(parents=True, exist_ok=True)
            try:
                configured.mkdir(mode=0o700)
            except FileExistsError:
                pass
            else:
                os.chmod(configured, 0o700)  # mkdir's mode is filtered by the umask
        st = os.stat(configured)
        problem = _private_directory_problem(configured, st)
        if problem and problem.startswith("others can write") and st.st_uid == os.getuid():
            # this user's own cache, created by an older kvant under a permissive umask
            os.chmod(configured, 0o700)
            problem = None
        if problem is None and not os.access(configured, os.W_OK | os.X_OK):
            problem = "it is not writable"
    except OSError as exc:
        problem = f"{exc.strerror or exc}"
    if problem is None:
        return configured
    fallback = Path(tempfile.mkdtemp(prefix="kvant-cache-"))
    owner = os.getpid()
    atexit.register(lambda: os.getpid() == owner and shutil.rmtree(fallback, ignore_errors=True))
    warnings.warn(
        f"kvant cannot use the cache directory {configured} ({problem}); compiled programs are "
        f"cached in {fallback} for this process only (set KVANT_CACHE_DIR to choose another)",
        CacheWarning,
        stacklevel=4,
    )
    return fallback


# -- the cache key ----------------------------------------------------------------------------


@functools.cache
def host_cpu() -> str:
    """The CPU the generated code is tuned for: its model and feature flags (Linux), else what
    the platform module reports."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            described = {}
            for line in f:
                name, _, value = line.partition(":")
                name = name.strip()
                if (
                    name in ("model name", "flags", "Features", "CPU part", "isa")
                    and name not in described
                ):
                    described[name] = " ".join(sorted(value.split()))
                if not line.strip() and described:
                    break  # the first processor's block is enough
        if described:
            return (
                platform.machine()
                + "|"
                + "|".join(f"{k}={v}" for k, v in sorted(described.items()))
            )
    except OSError:
        pass
    return "|".join((platform.machine(), platform.processor(), platform.platform()))


@functools.cache
def _extension_path() -> str:
    import importlib.util

    spec = importlib.util.find_spec("kvant._kvant_mlir")
    if spec is None or not spec.origin:
        raise CompileError(
            "kvant's MLIR extension (_kvant_mlir) is not built: run `make install` "
            "or `pip install .` in the kvant source tree"
        )
    return str(Path(spec.origin).resolve())


def _fingerprint() -> str:
    parts = [f"kvant-{__version__}", host_cpu()]
    for path in (_extension_path(), _paths.runtime_library()):
        st = os.stat(path)
        parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def cache_key(source: bytes, pipeline: str, opt_level: int, cpu: str = "native") -> str:
    parts = [source, pipeline.encode(), str(opt_level).encode(), cpu.encode()]
    return hashlib.sha256(b"\0".join(parts + [_fingerprint().encode()])).hexdigest()[:32]


# -- entries ----------------------------------------------------------------------------------


def _sha256_of(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _read_json(path: Path) -> dict:
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path.name} is not a regular file")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        data = json.loads(f.read().decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path.name} does not hold an object")
    return data


def verify_entry(entry: Path, key: str) -> str | None:
    """Why the cache entry ``entry`` must not be used (``None``: it is sound); raises
    ``FileNotFoundError`` when there is no entry."""
    st = os.lstat(entry)
    if stat.S_ISLNK(st.st_mode):
        return "it is a symbolic link"
    problem = _private_directory_problem(entry, st)
    if problem:
        return problem
    library = entry / LIBRARY
    try:
        st = os.lstat(library)
        if not stat.S_ISREG(st.st_mode):
            return f"{LIBRARY} is not a regular file"
        if st.st_uid != os.getuid():
            return f"{LIBRARY} belongs to another user (uid {st.st_uid})"
        if st.st_mode & 0o022:
            return f"others can write {LIBRARY} (mode {stat.S_IMODE(st.st_mode):o})"
        if not st.st_mode & stat.S_IRUSR:  # even when the superuser could read it anyway
            return f"{LIBRARY} is not readable (mode {stat.S_IMODE(st.st_mode):o})"
        manifest = _read_json(entry / MANIFEST)
        if manifest.get("key") != key:
            return f"its manifest is for another program ({manifest.get('key')!r})"
        if manifest.get("size") != st.st_size or manifest.get("sha256") != _sha256_of(library):
            return f"{LIBRARY} is not the library its manifest records"
    except (OSError, ValueError) as exc:  # missing, unreadable, not UTF-8, not JSON, ...
        return f"{type(exc).__name__}: {exc}"
    return None


def _read_stages(entry: Path, key: str) -> dict | None:
    try:
        stages = _read_json(entry / STAGES)
    except (OSError, ValueError):
        return None
    if stages.get("key") != key or not isinstance(stages.get("llvm_ir"), str):
        return None
    return stages


def _write_json_atomically(path: Path, data: dict) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(temporary, path)


def _remove(path: Path) -> None:
    """Remove a file, symbolic link or directory tree, whatever its permissions: first moved
    aside in one rename, so no other process sees it half removed."""
    aside = path.with_name(f"trash-{uuid.uuid4().hex}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    st = os.lstat(aside)
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(aside)
        return

    def unlock(function, name, _exc):
        # a directory of mode 000 cannot be listed or emptied until it is ours to read again
        parent = os.path.dirname(name)
        for target in (parent, name):
            try:
                if os.lstat(target).st_uid == os.getuid() and stat.S_ISDIR(
                    os.lstat(target).st_mode
                ):
                    os.chmod(target, 0o700)
            except OSError:
                pass
        try:
            function(name)
        except OSError:
            pass

    os.chmod(aside, 0o700)
    shutil.rmtree(aside, onerror=unlock)
    if os.path.lexists(aside):
        shutil.rmtree(aside, ignore_errors=True)


def _discard_damaged(entry: Path, problem: str) -> None:
    warnings.warn(
        f"kvant: the cached program {entry} is damaged or not trustworthy ({problem}); it is "
        "removed and the program compiled again",
        CacheWarning,
        stacklevel=4,
    )
    try:
        _remove(entry)
    except OSError:
        pass


# -- the worker -------------------------------------------------------------------------------


def _worker_python_path() -> list[str]:
    """The directory the worker needs on its path: where the ``mlir`` bindings are. ``mlir`` is
    a namespace package, so any ``mlir/`` folder on this process's path (the working
    directory's, in a compiler project) is one of its locations: only the bindings' own is
    named, else the worker would import from that folder's parent."""
    import mlir

    return [
        str(Path(location).parent)
        for location in mlir.__path__
        if (Path(location) / "_mlir_libs").is_dir()
    ][:1]


def worker_command() -> list[str]:
    script = Path(__file__).resolve().with_name("worker.py")
    return [sys.executable, "-I", str(script), _extension_path(), *_worker_python_path()]


class _Worker:
    """One long-lived worker process; restarted after it dies or is discarded."""

    def __init__(self):
        self._proc = None
        self._reader = None
        self._stderr = None
        self._fresh = False  # started, and no request has been answered since
        self._lock = threading.Lock()

    def start(self):
        """Start the worker now if it is not running, without waiting for it: its start-up
        (~0.3 s: the interpreter, the MLIR bindings) then overlaps tracing and lowering."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._discard()
                self._start()

    def _start(self):
        self._fresh = True
        self.started_at = time.time()
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            worker_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            bufsize=0,
        )
        os.set_blocking(self._proc.stdin.fileno(), False)
        self._reader = protocol.FrameReader(self._proc.stdout.fileno())

    def _log(self) -> str:
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace")
        stray = bytes(self._reader.stray).decode(errors="replace") if self._reader else ""
        return _tail(stray + "\n" + text)

    def _discard(self) -> int | None:
        """Kill the worker (if alive) and wait for it: its build directory is then free."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        code = proc.wait()
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        return code

    def request(self, message: dict, timeout: float | None, while_waiting=None) -> dict:
        """The worker's reply; ``reply["timings"]["worker_start"]`` when this request started
        the worker (the seconds from starting it to its being ready). ``while_waiting()`` is
        called once the request is sent, before waiting for the reply."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._discard()
                self._start()
            started, self._fresh = self._fresh, False
            deadline = None if timeout is None else time.monotonic() + timeout
            try:
                protocol.send(self._proc.stdin.fileno(), message, deadline)
                if while_waiting is not None:
                    while_waiting()
                reply = self._reader.receive(deadline)
                if started and "ready_at" in reply:
                    reply.setdefault("timings", {})["worker_start"] = (
                        reply["ready_at"] - self.started_at
                    )
                return reply
            except TimeoutError:
                self._discard()
                raise CompileError(
                    f"the kvant compiler did not finish within {timeout:g} s and was stopped; "
                    "set KVANT_COMPILE_TIMEOUT (seconds, 0 for no limit) to allow longer "
                    "compilations"
                ) from None
            except (EOFError, OSError, protocol.ProtocolError, ValueError) as exc:
                log = self._log()
                code = self._discard()
                if any(sign in log for sign in _OUT_OF_MEMORY):
                    from kvant.compiler.worker import memory_limit

                    limit = memory_limit()
                    raise CompileError(
                        "the kvant compiler ran out of memory while compiling this program "
                        f"(its limit: {limit / 2**20:.0f} MiB of address space); set "
                        "KVANT_COMPILE_MEMORY (MiB, 0 for no limit) to allow more; its last "
                        f"output:\n{log}"
                    ) from None
                from kvant.compiler.worker import memory_limit

                limit = memory_limit()
                # Killed by a signal without a word: an allocation that failed under the limit
                # can end so (a thread's stack that could not be mapped)
                hint = (
                    f"; its address space is limited to {limit / 2**20:.0f} MiB: if it ran out, "
                    "set KVANT_COMPILE_MEMORY (MiB, 0 for no limit) to allow more"
                    if limit is not None and code is not None and code < 0
                    else ""
                )
                raise CompileError(
                    "the kvant compiler crashed while compiling this program "
                    f"(worker exit status {code}; {type(exc).__name__}{hint}); its last "
                    f"output:\n{log}"
                ) from None
            except BaseException:
                # KeyboardInterrupt or anything else while waiting: the reply may still come,
                # to a later request, so this worker must not serve another one.
                self._discard()
                raise

    def close(self):
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                proc.stdin.close()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()

    def forget_after_fork(self):
        """In a forked child: the parent's worker is not ours to use, wait for or stop."""
        proc, self._proc = self._proc, None
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            proc.returncode = -1  # never waited for here: it is the parent's child
        self._reader = None
        self._lock = threading.Lock()


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


_worker = _Worker()
start_worker = _worker.start
atexit.register(lambda: _worker.close())
os.register_at_fork(after_in_child=_worker.forget_after_fork)


# -- compiling --------------------------------------------------------------------------------


@dataclass
class CompiledArtifact:
    library: Path
    mlir_lowered: str | None
    llvm_ir: str | None
    from_cache: bool
    #: seconds: the worker's parse, each stage of the pipeline (``pipeline.STAGES``; one entry
    #: ``passes`` for another pipeline), codegen, link (and worker_start when this compilation
    #: started it), worker_cpu (the worker's processor time for all of it); empty for a
    #: cached library
    timings: dict = field(default_factory=dict)


def compile_mlir(
    module: str | bytes,
    *,
    keep_stages: bool = False,
    opt_level: int = 2,
    cpu: str = "native",
    use_cache: bool = True,
    pipeline: str | None = None,
    while_waiting=None,
) -> CompiledArtifact:
    """Compile an MLIR module (kvant's dialects included), given as text or as MLIR bytecode,
    to a shared library, with code for ``cpu`` ("native": this machine's; else an LLVM CPU name
    of its architecture, for a library that runs elsewhere). ``while_waiting()``, if given, is
    called while the worker compiles (not when the library comes from the cache): work of the
    caller's that can overlap."""
    pipeline = pipeline or pipelines.pipeline()
    source = module.encode() if isinstance(module, str) else module
    key = cache_key(source, pipeline, opt_level, cpu)
    root = cache_root()
    entry = root / key
    if use_cache:
        try:
            problem = verify_entry(entry, key)
        except FileNotFoundError:
            problem = "missing"
        if problem is None:
            stages = _read_stages(entry, key) if keep_stages else {}
            if stages is not None:
                return CompiledArtifact(
                    entry / LIBRARY, stages.get("mlir_lowered"), stages.get("llvm_ir"), True
                )
        elif problem != "missing":
            _discard_damaged(entry, problem)

    workdir = Path(tempfile.mkdtemp(prefix="build-", dir=root))
    try:
        reply = _worker.request(
            {
                "mlir": module,
                "pipeline": pipelines.staged(pipeline),
                "workdir": str(workdir),
                "keep_stages": keep_stages,
                "opt_level": opt_level,
                "cpu": cpu,
                "linker": list(toolchain.linker_command()),
                "runtime_dir": str(_paths.runtime_library().parent),
                "verify_passes": os.environ.get("KVANT_VERIFY_PASSES") == "1",
            },
            compile_timeout(),
            while_waiting,
        )
        if not reply["ok"]:
            error = reply["error"]
            if any(refusal in error for refusal in _REFUSALS):
                raise UnsupportedError(f"kvant cannot compile this program:\n{error}")
            raise CompileError(f"kvant could not compile this program:\n{error}")
        stages = {
            "key": key,
            "mlir_lowered": reply.get("mlir_lowered"),
            "llvm_ir": reply.get("llvm_ir"),
        }
        library = workdir / LIBRARY
        os.chmod(library, 0o700)  # the linker's mode follows the umask
        _write_json_atomically(
            workdir / MANIFEST,
            {
                "key": key,
                "sha256": _sha256_of(library),
                "size": os.lstat(library).st_size,
                "kvant": __version__,
            },
        )
        if keep_stages:
            _write_json_atomically(workdir / STAGES, stages)
        published = _publish(workdir, entry, key, stages if keep_stages else None)
        return CompiledArtifact(
            published / LIBRARY,
            stages["mlir_lowered"],
            stages["llvm_ir"],
            False,
            reply.get("timings", {}),
        )
    finally:
        if workdir.exists():
            shutil.rmtree(workdir, ignore_errors=True)


def _publish(workdir: Path, entry: Path, key: str, stages: dict | None) -> Path:
    """Move the finished build to its entry in one rename; if another process published the
    same program first, keep theirs (adding the stages if ours has them)."""
    for _ in range(3):
        try:
            os.rename(workdir, entry)
            return entry
        except FileNotFoundError:
            raise
        except OSError:
            pass  # the entry exists
        try:
            problem = verify_entry(entry, key)
        except FileNotFoundError:
            continue
        if problem is None:
            if stages is not None and _read_stages(entry, key) is None:
                _write_json_atomically(entry / STAGES, stages)
            return entry
        _discard_damaged(entry, problem)
    # The entry could not be replaced (e.g. another user's, in a directory we cannot change):
    # keep this build under a name of its own in the cache root.
    own = entry.with_name(f"{key}-{uuid.uuid4().hex[:8]}")
    os.rename(workdir, own)
    return own
