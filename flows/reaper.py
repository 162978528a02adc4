"""Parent-death watch: when a ``clustermap`` command dies, its helper processes die with it.

``clustermap run`` starts Prefect's ephemeral API server (a uvicorn subprocess) and ``clustermap serve``
a ``prefect server start`` subprocess. Both are stopped on a normal exit, but a ``kill -9`` of the
command would leave them running forever (re-parented to PID 1). This module, run as
``python -m flows.reaper PID``, watches ``PID``: while it lives, it notes the process tree below it
(from ``/proc``); once it is gone, it terminates the noted processes that are still alive (SIGTERM,
then SIGKILL after a grace period) and exits. It is started in its own session, so a signal to the
command's process group does not stop the watch.

Linux only (``/proc``); elsewhere :func:`watch` does nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["watch", "descendants"]

_PROC = Path("/proc")


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of ``pid``, or None when it is gone or a zombie."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
        fields = text[text.rfind(")") + 2:].split()  # the command name may hold spaces and parentheses
        if fields[0] in ("Z", "X"):  # dead: its children are already re-parented, so it is no root to scan
            return None
        return int(fields[1]), int(fields[19])
    except (OSError, ValueError, IndexError):  # gone, or caught half-way through exiting
        return None


def descendants(root: int) -> dict[int, int]:
    """Every process below ``root``: pid -> start time (so a reused pid is never mistaken for it)."""
    children: dict[int, list[int]] = {}
    start: dict[int, int] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            children.setdefault(st[0], []).append(int(entry.name))
            start[int(entry.name)] = st[1]
    out, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out[child] = start[child]
                todo.append(child)
    return out


def _alive(pid: int, started: int) -> bool:
    st = _stat(pid)
    return st is not None and st[1] == started


def _reap(noted: dict[int, int], grace: float) -> None:
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 0.0)):
        live = {p: s for p, s in noted.items() if _alive(p, s)}
        for pid in live:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + wait
        while wait and time.monotonic() < deadline and any(_alive(p, s) for p, s in live.items()):
            time.sleep(0.1)


def main(parent: int, interval: float = 0.5, grace: float = 5.0) -> None:
    """Watch ``parent`` (see the module docstring)."""
    st = _stat(parent)
    if st is None:
        return
    parent_start, me, noted = st[1], os.getpid(), {}
    while _alive(parent, parent_start):
        try:
            scan = {p: s for p, s in descendants(parent).items() if p != me}
        except Exception:  # noqa: BLE001 - a scan racing with exiting processes; keep the last good one
            scan = None
        if scan is not None and _alive(parent, parent_start):  # a scan after the parent's death sees nothing
            noted = scan
        time.sleep(interval)
    _reap(noted, grace)


def watch(pid: int | None = None) -> subprocess.Popen | None:
    """Start the parent-death watch of ``pid`` (default: this process); None where there is no ``/proc``."""
    if not (_PROC / "self" / "stat").exists():
        return None
    return subprocess.Popen([sys.executable, "-m", "flows.reaper", str(pid or os.getpid())],
                            start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[1])


if __name__ == "__main__":  # pragma: no cover - runs as a separate process
    main(int(sys.argv[1]))
