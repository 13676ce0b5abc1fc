"""The test watchdog (tests/watchdog.py): a hung test fails by name, with its stacks, and the
processes it started do not outlive it."""

import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HANGING = """
import subprocess
import time


def test_fine():
    pass


def wait_for_a_child_that_never_ends():
    child = subprocess.Popen(["sleep", "600"])
    with open("child.pid", "w") as f:
        f.write(str(child.pid))
    child.wait()


def deep(n, until):
    return deep(n - 1, until) if n else until.wait()


def test_hangs():
    # Threads with deep stacks: gdb's report of this process is far longer than a pipe holds
    # (the watchdog once waited on gdb, which waited for the watchdog to read its output).
    import threading

    until = threading.Event()
    for _ in range(60):
        threading.Thread(target=deep, args=(30, until), daemon=True).start()
    wait_for_a_child_that_never_ends()


def test_after():
    time.sleep(0.1)
"""


def _run(tmp_path, *args, limit="4"):
    (tmp_path / "test_hanging.py").write_text(HANGING)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = dict(os.environ, KVANT_TEST_TIMEOUT=limit, PYTHONPATH=ROOT)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.watchdog",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tmp_path / "pytest.ini"),
            "--rootdir",
            str(tmp_path),
            *args,
            "test_hanging.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _assert_reported_and_cleaned_up(tmp_path, done):
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "test_hanging.py::test_hangs still running after 4 s" in out, out
    # The Python stack shows where the test waits; gdb (installed here) the native one.
    assert "wait_for_a_child_that_never_ends" in out, out
    assert "native stacks of process" in out and "\n#0 " in out, out
    child = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the hung test's child process outlived it"
    return out


def test_a_hung_test_is_named_with_its_stacks_and_its_children_killed(tmp_path):
    done = _run(tmp_path, "-q")
    out = _assert_reported_and_cleaned_up(tmp_path, done)
    assert done.returncode == 3, out  # the run ends at the hung test
    assert "test_after" not in out


def test_under_xdist_the_run_goes_on_and_the_hung_test_fails(tmp_path):
    pytest.importorskip("xdist")
    done = _run(tmp_path, "-q", "-n", "1")
    out = _assert_reported_and_cleaned_up(tmp_path, done)
    assert "worker 'gw0' crashed while running 'test_hanging.py::test_hangs'" in out, out
    # A fresh worker runs the test after the hung one.
    assert "1 failed, 2 passed" in out, out
    # The end of the output repeats the report (CI shows only the tail).
    assert "test stopped by the watchdog" in done.stdout, out
    summary = done.stdout[done.stdout.index("test stopped by the watchdog") :]
    assert "test_hanging.py::test_hangs still running" in summary, out
    assert "wait_for_a_child_that_never_ends" in summary and "\n#0 " in summary, out


def test_a_bad_setting_is_named(tmp_path):
    done = _run(tmp_path, "-q", limit="soon")
    assert done.returncode != 0
    assert "KVANT_TEST_TIMEOUT='soon': expected a number of seconds" in done.stderr, done.stderr


def test_an_interrupted_run_names_the_tests_still_running(tmp_path):
    # make test interrupts pytest at its time limit (SIGINT through `timeout --foreground`).
    (tmp_path / "test_slow.py").write_text("import time\n\ndef test_slow():\n    time.sleep(600)\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run(
        ["timeout", "--foreground", "--signal=INT", "8", sys.executable, "-m", "pytest",
         "-p", "tests.watchdog", "-p", "no:cacheprovider", "-c", str(tmp_path / "pytest.ini"),
         "--rootdir", str(tmp_path), "-q", "-n", "1", "test_slow.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 124, done.stdout + done.stderr
    summary = done.stdout[done.stdout.index("tests still running when the run ended") :]
    assert "test_slow.py::test_slow" in summary, done.stdout
