"""Timing helper shared by the benchmark scripts."""

from __future__ import annotations

import time


def best_time(function, repeats: int) -> float:
    """Fastest of ``repeats`` timed calls after one warm-up call (seconds)."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)
