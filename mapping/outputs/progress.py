"""One progress line per step of writing a run (tables, layers, GeoPackage, styles, web map, static maps).

Writing a large run takes long enough that a silent stage looks hung. The steps log to the
``mapping.progress`` logger (plain :mod:`logging`: the domain library knows nothing of the workflow
engine); ``flows/refresh.py`` forwards those records to the flow run's log.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager

__all__ = ["LOGGER_NAME", "step", "Laps"]

LOGGER_NAME = "mapping.progress"
log = logging.getLogger(LOGGER_NAME)


@contextmanager
def step(what: str):
    """Log ``write: <what> (<seconds> s)`` when the block finishes (also when it fails, marked so).

    Examples
    --------
    >>> with step("static maps"):
    ...     pass
    """
    t = time.perf_counter()
    ok = False
    try:
        yield
        ok = True
    finally:
        log.info("write: %s%s (%.1f s)", what, "" if ok else " FAILED", time.perf_counter() - t)


class Laps:
    """A stopwatch logging one line per finished step: ``laps("tables")`` -> ``write: tables (2.1 s)``."""

    def __init__(self, prefix: str = "write"):
        self.prefix = prefix
        self.t = time.perf_counter()

    def __call__(self, what: str) -> None:
        now = time.perf_counter()
        log.info("%s: %s (%.1f s)", self.prefix, what, now - self.t)
        self.t = now
