"""Timing helpers shared by the benchmark runners."""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path


def median_time(fn, repeat: int, warmup: bool = False) -> float:
    """Median wall time of ``fn()`` over ``repeat`` calls (after one untimed call if asked)."""
    if warmup:
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def machine() -> str:
    """CPU model, cores, OpenMP threads and Python version, for the header of a result table."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = os.environ.get("OMP_NUM_THREADS", str(os.cpu_count()))
    return (
        f"{cpu}, {os.cpu_count()} cores (OMP_NUM_THREADS={threads}), "
        f"Python {platform.python_version()}"
    )
