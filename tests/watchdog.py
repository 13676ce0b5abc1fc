"""pytest plugin: a test that runs too long fails by name, with the stacks of where it stopped.

CI stops the whole run at a hard limit. A test that never returns (a deadlock in the runtime's
thread pool, a child process waiting for a message that never comes) would use all of it and
leave no trace of where it stopped. After ``KVANT_TEST_TIMEOUT`` seconds (default 300; the
slowest test takes ~30 s on the 2-core CI machine) in one test -- setup, call and teardown
together -- the watchdog prints the test's id, the Python stack of every thread, and the native
stacks of this process and of every process it started (gdb, when installed), and ends this
process and those. Under pytest-xdist the controller then reports the worker's crash
against that test and goes on with a fresh worker; without xdist the run ends there.

The end of the run (pytest's terminal summary) prints every such report again, as CI shows
only the tail of the output. Loaded for every test by the project's root conftest.py;
``KVANT_TEST_TIMEOUT=0`` turns it off.
"""

from __future__ import annotations

import ctypes
import faulthandler
import os
import shutil
import subprocess
import sys
import tempfile
import threading

import pytest

_DEFAULT_SECONDS = 300.0
_SECONDS = pytest.StashKey[float]()
_REPORTS = pytest.StashKey[str]()


def _limit() -> float:
    text = os.environ.get("KVANT_TEST_TIMEOUT", "")
    if not text:
        return _DEFAULT_SECONDS
    try:
        value = float(text)
    except ValueError:
        raise pytest.UsageError(
            f"KVANT_TEST_TIMEOUT={text!r}: expected a number of seconds (0 turns the watchdog off)"
        ) from None
    if value < 0:
        raise pytest.UsageError(f"KVANT_TEST_TIMEOUT={text!r}: must not be negative")
    return value


def _descendants(root: int) -> list[int]:
    """Processes started by `root`, directly or not (from /proc; empty where there is none)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces; the parent pid follows it.
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:200]
    except OSError:
        return "?"


def _allow_tracing_by_children() -> None:
    # Under the Yama security module (ptrace_scope 1) a process may be traced only by its
    # ancestors; gdb is this process's child, so this process says it may trace it.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_ptracer, any_process = 0x59616D61, ctypes.c_ulong(-1)
        libc.prctl(pr_set_ptracer, any_process, 0, 0, 0)
    except (OSError, AttributeError):
        pass


# Frames inside the Python interpreter itself say nothing about where a test hangs.
_INTERPRETER_FRAMES = (
    " at Python/",
    " at Objects/",
    " at ./Include/",
    " at Modules/",
    "/Python-3.",
)


def _native_stacks(pid: int) -> str:
    """gdb's backtrace of every thread of `pid`, which may be this very process.

    gdb stops every thread of the process it attaches to, the watchdog's own included when it
    is this process, so nothing here may wait on gdb from inside: gdb writes to a file (a pipe
    fills and then gdb waits for a reader it stopped), a separate shell bounds it with
    `timeout` and sends SIGCONT afterwards (a tracer killed while attached leaves the process
    stopped), and only kvant's libraries get their symbols loaded (all of them, jaxlib's
    included, take gdb minutes)."""
    gdb, sh = shutil.which("gdb"), shutil.which("sh")
    if gdb is None or sh is None:
        return f"(no gdb: no native stack for process {pid})"
    with tempfile.NamedTemporaryFile("w+", prefix="kvant-gdb-", suffix=".txt") as out:
        command = (
            f"timeout -s KILL 60 {gdb} -nx -batch -iex 'set auto-solib-add off' -p {pid} "
            f"-ex 'sharedlibrary kvant' -ex 'thread apply all bt 40' >{out.name} 2>&1; "
            f"kill -CONT {pid}"
        )
        try:
            subprocess.run([sh, "-c", command], stdin=subprocess.DEVNULL, timeout=180)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"(gdb on process {pid}: {exc})"
        text = out.read()
    lines = [
        ln[:240]
        for ln in text.splitlines()
        if ln.startswith("Thread ")
        or (ln.startswith("#") and not any(f in ln for f in _INTERPRETER_FRAMES))
    ]
    return "\n".join(lines) or f"(gdb printed no stack: {text.strip()[-300:]})"


def _release_captured_output(config) -> str:
    """Stops pytest's capture of fds 1 and 2 (during a test they point at a temporary file that
    dies with this process) and returns what the test printed so far."""
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is None:
        return ""
    try:
        capman.suspend_global_capture(in_=True)
        out, err = capman.read_global_capture()
    except Exception as exc:  # a dying process: report what we can
        return f"(captured output unavailable: {exc!r})"
    return (out or "") + (err or "")


def _kill_after_exit(pids: list[int]) -> None:
    # Killing the test's children while this process lives would let a test that waits for
    # one of them return and pass; a detached shell kills them once this process is gone.
    if not pids:
        return
    me = os.getpid()
    script = (
        f"while kill -0 {me} 2>/dev/null; do sleep 0.05; done; kill -9 {' '.join(map(str, pids))}"
    )
    try:
        subprocess.Popen(
            ["sh", "-c", script],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        pass


def _on_timeout(config, nodeid: str, seconds: float) -> None:
    printed = _release_captured_output(config)
    me = os.getpid()
    report = open(os.path.join(config.stash[_REPORTS], f"{me}.txt"), "w")
    out = sys.__stderr__

    def say(text: str) -> None:
        for stream in (out, report):
            print(text, file=stream, flush=True)

    say(
        f"\n{'=' * 30} KVANT WATCHDOG {'=' * 30}\n"
        f"{nodeid} still running after {seconds:g} s (KVANT_TEST_TIMEOUT): stacks follow, "
        f"then process {me} ends."
    )
    if printed:
        say(f"--- output of the test so far ---\n{printed.rstrip()}")
    say(f"--- Python stacks of process {me} ---")
    for stream in (out, report):
        faulthandler.dump_traceback(file=stream, all_threads=True)
    children = _descendants(me)
    _allow_tracing_by_children()
    for pid in [me, *children]:
        say(f"--- native stacks of process {pid}: {_command_line(pid)} ---")
        say(_native_stacks(pid))
    say("=" * 76)
    report.close()
    _kill_after_exit(children)
    os._exit(3)


def pytest_configure(config):
    # Read once, so a bad setting stops the run before the first test.
    config.stash[_SECONDS] = _limit()
    # Reports also go to files in one directory, named by the controlling process (pytest-xdist
    # workers inherit it), so that the end of the run repeats them: CI shows only the tail.
    if not hasattr(config, "workerinput"):  # the controller, or a run without workers
        os.environ["KVANT_WATCHDOG_DIR"] = tempfile.mkdtemp(prefix="kvant-watchdog-")
    config.stash[_REPORTS] = os.environ["KVANT_WATCHDOG_DIR"]


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput"):
        shutil.rmtree(config.stash[_REPORTS], ignore_errors=True)


# Tests started and not finished, as the controlling process sees them (pytest-xdist forwards
# the workers' start and finish to it): when the whole run is interrupted (make test's time
# limit), the summary names the tests that were running.
_running: dict[str, None] = {}


def pytest_runtest_logstart(nodeid, location):
    _running[nodeid] = None


def pytest_runtest_logfinish(nodeid, location):
    _running.pop(nodeid, None)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if hasattr(config, "workerinput"):
        return  # a pytest-xdist worker: its controller prints the summary
    if _running:
        terminalreporter.write_sep("=", "tests still running when the run ended")
        for nodeid in _running:
            terminalreporter.write_line(nodeid)
    directory = config.stash[_REPORTS]
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name)) as f:
            terminalreporter.write_sep("=", "test stopped by the watchdog (tests/watchdog.py)")
            terminalreporter.write(f.read())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    seconds = item.config.stash[_SECONDS]
    if seconds == 0:
        yield
        return
    timer = threading.Timer(seconds, _on_timeout, args=(item.config, item.nodeid, seconds))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
