"""Running many programs: worker processes with a per-program timeout, and the summary.

Each worker is a separate Python process (``spawn``: JAX is not fork-safe) that evaluates
programs sent to it one at a time. A program that hangs past its timeout, or a worker that dies
(a segfault in compiled code, an abort in the simulator), costs that program only: the worker is
ended and replaced, and the program is classified ``timeout`` / ``crash``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections import Counter, defaultdict

from tests.fuzz.run import Outcome


def _worker_main(conn):
    # each worker compiles into its own cache directory unless one is given
    os.environ.setdefault(
        "KVANT_CACHE_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "kvant-fuzz-cache")
    )
    import jax

    jax.config.update("jax_enable_x64", True)
    import warnings

    warnings.filterwarnings("ignore")
    from tests.fuzz.run import evaluate

    while True:
        try:
            program = conn.recv()
        except EOFError:
            return
        if program is None:
            return
        try:
            outcome = evaluate(program)
        except BaseException as exc:  # report, never die on a program
            outcome = Outcome(
                "crash", f"fuzzer: {type(exc).__name__}: {exc}", f"fuzzer {type(exc).__name__}"
            )
        conn.send(outcome)


class Worker:
    def __init__(self):
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child,), daemon=True)
        self.process.start()
        child.close()

    def run(self, program, timeout) -> Outcome:
        try:
            self.conn.send(program)
        except (BrokenPipeError, OSError):
            return Outcome("crash", "worker process died before the program ran", "worker died")
        # the first program of a worker also pays for importing JAX, PennyLane and kvant
        if self.conn.poll(timeout):
            try:
                return self.conn.recv()
            except EOFError:
                pass
            self.process.join(1)
            code = self.process.exitcode
            return Outcome(
                "crash", f"worker process died (exit code {code})", f"worker died ({code})"
            )
        self.kill()
        return Outcome("timeout", f"no result within {timeout:.0f} s", "timeout")

    def alive(self):
        return self.process.is_alive()

    def kill(self):
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)

    def close(self):
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(5)
        self.kill()


class Pool:
    """``jobs`` workers evaluating programs; ``evaluate(program)`` in a worker, one at a time
    per worker, replacing a worker that died or hung."""

    def __init__(self, jobs=1, timeout=120.0):
        self.timeout = timeout
        self.workers = [Worker() for _ in range(max(1, jobs))]

    def evaluate(self, program, worker=0) -> Outcome:
        w = self.workers[worker]
        if not w.alive():
            w = self.workers[worker] = Worker()
        outcome = w.run(program, self.timeout + (60 if not getattr(w, "warm", False) else 0))
        w.warm = True
        if not w.alive():
            self.workers[worker] = Worker()
        return outcome

    def map(self, programs, on_result=None):
        """Evaluate ``programs`` on all workers; ``on_result(program, outcome)`` as they finish."""
        import threading

        results = [None] * len(programs)
        lock = threading.Lock()
        next_index = iter(range(len(programs)))

        def drive(worker):
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                outcome = self.evaluate(programs[i], worker)
                results[i] = outcome
                if on_result is not None:
                    with lock:
                        on_result(programs[i], outcome)

        threads = [threading.Thread(target=drive, args=(k,)) for k in range(len(self.workers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def close(self):
        for w in self.workers:
            w.close()


CLASSES = ("match", "mismatch", "crash", "timeout", "refusal", "expected", "invalid", "undefined")


def summarize(mode, programs, outcomes, elapsed):
    """The summary table: counts per class, then the failures and refusals grouped by message."""
    counts = Counter(o.cls for o in outcomes)
    lines = [
        f"== {mode}: {len(outcomes)} programs in {elapsed:.0f} s",
        "   " + "  ".join(f"{c} {counts.get(c, 0)}" for c in CLASSES),
    ]
    groups = defaultdict(list)
    for p, o in zip(programs, outcomes):
        if o.cls != "match":
            groups[(o.cls, o.signature)].append((p.seed, o))
    for (cls, _), items in sorted(
        groups.items(), key=lambda kv: (CLASSES.index(kv[0][0]), -len(kv[1]))
    ):
        seeds = ", ".join(str(s) for s, _ in items[:12]) + (" ..." if len(items) > 12 else "")
        lines.append(f"   [{cls}] x{len(items)} (seeds {seeds}): {items[0][1].detail[:300]}")
    return "\n".join(lines)


def run_campaign(mode, seeds, features, jobs=1, timeout=120.0, progress=None):
    from tests.fuzz.generate import generate

    programs = [generate(s, mode, features) for s in seeds]
    pool = Pool(jobs, timeout)
    start = time.time()
    try:
        outcomes = pool.map(programs, progress)
    finally:
        pool.close()
    return programs, outcomes, time.time() - start
