"""Run folders that concurrent refreshes cannot share, and a lock around publishing ``latest``.

Two refreshes started in the same second on the same inputs get the same run id
(``<UTC second>-<content hash>``). Each run therefore *reserves* its folder by creating
``runs/.<run_id>.partial`` exclusively (``mkdir`` fails if it exists) and takes the next free
suffix (``-2``, ``-3``...) otherwise, so no run ever writes into, or deletes, another's folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from mapping.outputs.publish import new_run_id

__all__ = ["reserve_run_dir", "release_run_dir", "discard_run_dir", "sweep_partials", "publish_lock", "LOCK_NAME"]

#: Lock file in the output root, held while ``latest`` is replaced.
LOCK_NAME = ".publish.lock"
_MAX_SUFFIX = 1000
#: Lock file descriptors of the partial folders this process is writing (path -> fd).
_HELD: dict[str, int] = {}


def _lock_path(partial: Path) -> Path:
    return partial.with_name(partial.name + ".lock")


def _lock(path: Path, *, block: bool) -> int | None:
    """Open and ``flock`` ``path`` exclusively; None when another process holds it (non-blocking)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def release_run_dir(partial: Path) -> None:
    """Drop the lock of a partial folder (after it was renamed to its final name, or removed)."""
    fd = _HELD.pop(str(partial), None)
    _lock_path(partial).unlink(missing_ok=True)
    if fd is not None:
        os.close(fd)


def discard_run_dir(partial: Path) -> None:
    """Remove a failed or interrupted run's partial folder, and its lock: a refused run leaves nothing."""
    shutil.rmtree(partial, ignore_errors=True)
    release_run_dir(partial)


def sweep_partials(runs: Path) -> list[Path]:
    """Remove the ``.<run_id>.partial`` folders of runs that were killed (their lock is free).

    A running refresh holds an exclusive ``flock`` on ``.<run_id>.partial.lock`` from before it creates
    its folder until it renames it; the lock dies with the process, so a folder whose lock can be taken
    belongs to no live run. Returns the folders removed.
    """
    removed = []
    for partial in sorted(Path(runs).glob(".*.partial")):
        if not partial.is_dir() or str(partial) in _HELD:
            continue
        fd = _lock(_lock_path(partial), block=False)
        if fd is None:
            continue  # a live run is writing it
        try:
            shutil.rmtree(partial, ignore_errors=True)
            removed.append(partial)
        finally:
            _lock_path(partial).unlink(missing_ok=True)
            os.close(fd)
    return removed


def reserve_run_dir(output_root: Path, content_key: str) -> tuple[str, Path, Path]:
    """Reserve a unique run folder under ``<output_root>/runs``.

    Parameters
    ----------
    output_root : Path
        The configured output root.
    content_key : str
        Hash of the run's inputs and configuration (part of the run id).

    Returns
    -------
    run_id : str
        ``<UTC timestamp>-<8 hex>``, with ``-<n>`` appended when that id is taken.
    partial : Path
        The empty, newly created ``runs/.<run_id>.partial`` folder to write into.
    final : Path
        ``runs/<run_id>``, the name to rename ``partial`` to when complete.
    """
    runs = Path(output_root) / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    sweep_partials(runs)
    base = new_run_id(content_key)
    for n in range(1, _MAX_SUFFIX):
        run_id = base if n == 1 else f"{base}-{n}"
        final, partial = runs / run_id, runs / f".{run_id}.partial"
        if final.exists():
            continue
        fd = _lock(_lock_path(partial), block=False)  # held until the folder is renamed or removed
        if fd is None:
            continue
        try:
            partial.mkdir()
        except FileExistsError:  # an interrupted run left it (swept next time) or a race: next id
            os.close(fd)
            continue
        if final.exists():  # the other run finished between our two checks
            partial.rmdir()
            os.close(fd)
            continue
        _HELD[str(partial)] = fd
        return run_id, partial, final
    raise RuntimeError(f"{runs}: no free run folder for {base} after {_MAX_SUFFIX} attempts")


@contextlib.contextmanager
def publish_lock(output_root: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``<output_root>/.publish.lock`` (blocks until free).

    ``latest`` is already replaced atomically; the lock serialises the rare path that moves a
    ``latest`` real directory aside, and makes "publish" one step per output root.
    """
    root = Path(output_root)
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
