"""Timing a piece of code the way the chapters quote it: the median of a few runs.

Chapters print such timings in cells that nbval does not compare (they differ from run
to run); the figures that the course relies on are measured in ``benchmarks/``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from dlcv.validate import check_int

__all__ = ["median_seconds"]


def median_seconds(fn: Callable[[], object], repeats: int = 5) -> float:
    """Median wall time of ``repeats`` calls of ``fn()``, in seconds.

    The median, not the mean, so that one call slowed down by something else on the
    machine does not move the figure.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function of no arguments, got {type(fn).__name__}")
    repeats = check_int(repeats, "repeats", 1)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    middle = len(times) // 2
    return times[middle] if repeats % 2 else (times[middle - 1] + times[middle]) / 2
