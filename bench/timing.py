"""The one timing helper of the benchmarks (imported by path: each script puts its own folder first)."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def median_seconds(function: Callable[[], object], repeats: int, warm_up: bool = False) -> float:
    """Median wall time of `repeats` calls of `function`; `warm_up` makes one untimed call first
    (caches, lazy imports, allocations)."""
    if warm_up:
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
