"""Helpers shared by the benchmark scripts: timing and a plain-text table."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def timeit(fn: Callable[[], object], repeat: int = 5) -> tuple[float, float, object]:
    """Best and median wall time of ``repeat`` calls (seconds), and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times), result


def table(rows: list[tuple], header: tuple) -> str:
    """Rows as an aligned text table."""
    cells = [tuple(str(c) for c in header)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def machine() -> str:
    """CPUs and the 1-minute load average: figures from a busy machine are slower, not wrong."""
    import os

    return f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f} at start"
