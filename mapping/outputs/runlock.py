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
from collections.abc import Iterator
from pathlib import Path

from mapping.outputs.publish import new_run_id

__all__ = ["reserve_run_dir", "publish_lock", "LOCK_NAME"]

#: Lock file in the output root, held while ``latest`` is replaced.
LOCK_NAME = ".publish.lock"
_MAX_SUFFIX = 1000


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
    base = new_run_id(content_key)
    for n in range(1, _MAX_SUFFIX):
        run_id = base if n == 1 else f"{base}-{n}"
        final, partial = runs / run_id, runs / f".{run_id}.partial"
        if final.exists():
            continue
        try:
            partial.mkdir()
        except FileExistsError:  # another run holds this id (or an interrupted run left it)
            continue
        if final.exists():  # the other run finished between our two checks
            partial.rmdir()
            continue
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
