"""Retention: an output root keeps its last N complete runs and the stage-cache entries they use.

Runs are folders ``<output_root>/runs/<run_id>``, whose ids start with the UTC time of the run, so
name order is age order. After a run is published, :func:`apply_retention` removes the runs beyond
the newest ``keep`` (never the one ``latest`` points at), then every stage-cache entry
(``<cache_dir>/<stage>/<key>.pkl`` or ``<key>/``) whose key no kept run's ``manifest.json`` lists
(``stage_cache.keys``). Entries younger than ``grace_seconds`` are left alone: a refresh running at the
same time may have just written them and not yet published its manifest. Folders being written
(``.*.partial``, ``.*.tmp``) are never touched here.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Retention", "complete_runs", "prune_runs", "used_cache_keys", "prune_cache", "apply_retention"]


@dataclass
class Retention:
    """What one pass removed (paths) and how many bytes that freed."""

    runs: list[Path] = field(default_factory=list)
    cache_entries: list[Path] = field(default_factory=list)
    bytes_freed: int = 0

    def summary(self) -> str:
        return (f"removed {len(self.runs)} old run(s) and {len(self.cache_entries)} unused cache entr"
                f"{'y' if len(self.cache_entries) == 1 else 'ies'} ({self.bytes_freed / 1e6:.1f} MB)")


def _size(path: Path) -> int:
    """Bytes of the files under ``path`` with a single link (hard links shared with kept runs free nothing)."""
    paths = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
    total = 0
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            continue
        total += st.st_size if st.st_nlink == 1 else 0
    return total


def _remove(path: Path, out: Retention, bucket: list[Path]) -> None:
    size = _size(path)
    try:
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    except FileNotFoundError:  # a concurrent pass removed it first
        return
    except OSError:
        return
    bucket.append(path)
    out.bytes_freed += size


def complete_runs(output_root: Path) -> list[Path]:
    """Complete run folders under ``<output_root>/runs``, oldest first."""
    runs = Path(output_root) / "runs"
    if not runs.is_dir():
        return []
    return sorted((p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)


def prune_runs(output_root: Path, keep: int, out: Retention | None = None) -> tuple[list[Path], Retention]:
    """Remove all but the newest ``keep`` complete runs (and the published one).

    Returns
    -------
    kept : list of Path
        The run folders left, oldest first.
    removed : Retention
    """
    out = out or Retention()
    runs = complete_runs(output_root)
    latest = Path(output_root) / "latest"
    published = latest.resolve() if latest.exists() else None
    kept = [p for i, p in enumerate(runs) if i >= len(runs) - keep or p.resolve() == published]
    for p in runs:
        if p not in kept:
            _remove(p, out, out.runs)
    return kept, out


def used_cache_keys(run_dirs: list[Path]) -> set[str]:
    """Stage-cache keys listed in the runs' manifests (``stage_cache.keys``)."""
    keys: set[str] = set()
    for run in run_dirs:
        try:
            manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        keys |= {str(k) for k in ((manifest.get("stage_cache") or {}).get("keys") or {}).values()}
    return keys


def prune_cache(cache_dir: Path, used: set[str], *, grace_seconds: float = 3600.0,
                out: Retention | None = None) -> Retention:
    """Remove stage-cache entries whose key is not in ``used`` and that are older than ``grace_seconds``."""
    out = out or Retention()
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        return out
    now = time.time()
    for stage in (p for p in cache_dir.iterdir() if p.is_dir()):
        for entry in list(stage.iterdir()):
            key = entry.name.removesuffix(".pkl")
            if entry.name.startswith(".") or key in used:
                continue
            try:
                if now - entry.stat().st_mtime < grace_seconds:
                    continue
            except OSError:
                continue
            _remove(entry, out, out.cache_entries)
    return out


def apply_retention(output_root: Path, keep: int, cache_dir: Path | None, *,
                    grace_seconds: float = 3600.0) -> Retention:
    """Keep the newest ``keep`` runs of ``output_root`` and the cache entries they use (see module docstring)."""
    kept, out = prune_runs(output_root, keep)
    if cache_dir is not None:
        prune_cache(cache_dir, used_cache_keys(kept), grace_seconds=grace_seconds, out=out)
    return out
