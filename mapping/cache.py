"""Stage cache: a refresh whose inputs, configuration and code did not change reuses earlier results.

Design
------
Each stage of the refresh gets a *key*: the SHA-256 of

- the code version (``mapping.__version__``, the source of every ``mapping/*.py`` module and the
  repository's reference tables, so any code change invalidates every stage),
- the resolved configuration, where every path to a file is replaced by that file's SHA-256 (the
  inputs, the registries, the boundaries, the supported-cluster list), minus the settings that
  cannot change a result (schedule, execution, output root) and minus the sections the stage does
  not read (the LQs do not depend on ``[relatedness]``), and
- the keys of the stages it consumes.

So editing ``[relatedness]`` recomputes only the grouping and what follows it, and a new input file
recomputes everything. Results are pickled under ``<output_root>/cache/stages/<stage>/<key>.pkl``
(written to a temporary name and renamed, so concurrent or interrupted runs never leave a torn
entry; an unreadable entry is a miss). The output stage stores the run's data files (hard links,
so no extra space) plus the assembled layers, and a cached run links them into its new run folder
and only re-renders ``report.md`` and ``manifest.json``. At most ``cache_entries`` entries per stage
are kept (least recently used dropped).

This is deliberately a library-level cache rather than Prefect's task caching: Prefect's
``INPUTS`` policy hashes task arguments (large DataFrames: slow, and unstable across pandas
versions), while file content hashes are cheap, exact, and the same under any task runner.
Pickles are loaded only from the run's own output root, which has the same trust as the code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import pickle
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import mapping
from mapping.hashing import sha256_file, sha256_path

__all__ = ["STAGES", "RefreshPlan", "OutputReuse", "code_version", "tree_digest", "config_content", "stage_keys",
           "plan_refresh", "has_entry", "run_stage", "write_run", "log_refresh", "CACHE_DIR"]

log = logging.getLogger(__name__)

#: Folder under the output root.
CACHE_DIR = "cache"
#: stage -> (stages it consumes, config sections it does not read).
STAGES: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "load_inputs": ((), frozenset({"specialisation", "relatedness"})),
    "location_quotients": (("load_inputs",), frozenset({"relatedness"})),
    "activity_groups": (("location_quotients",), frozenset()),
    "geography": (("load_inputs",), frozenset({"specialisation", "relatedness"})),
    "candidate_clusters": (("location_quotients", "activity_groups", "geography"), frozenset()),
    "divergence": (("location_quotients", "load_inputs"), frozenset({"relatedness"})),
    "write_outputs": (("load_inputs", "location_quotients", "activity_groups", "geography",
                       "candidate_clusters", "divergence"), frozenset()),
}
#: Settings that never change a stage's result: when and how the run executes, and where it is written.
_IGNORED_SECTIONS = frozenset({"schedule", "execution", "source_path"})
_IGNORED_RUN_KEYS = frozenset({"output_root"})
_MISS = object()


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """Hash of ``mapping.__version__``, the library's source and the repository's reference tables.

    The tables (``geodata/*.csv``, ``config/*.csv``) are included because readers use some of them
    by default without the configuration naming them (label variants, the HS concordance).
    """
    return tree_digest(Path(mapping.__file__).parent, version=mapping.__version__)


def tree_digest(package: Path, *, version: str = "") -> str:
    """SHA-256 over every ``.py`` file of ``package`` (all subpackages) and the reference tables beside it."""
    h = hashlib.sha256(version.encode())
    files = sorted(package.rglob("*.py"))
    for folder in ("geodata", "config"):  # beside the package in a checkout, package data when installed
        tables = package.parent / folder if (package.parent / folder).is_dir() else package / "_bundled" / folder
        files += sorted(tables.glob("*.csv"))
    for path in files:
        name = path.relative_to(package.parent).as_posix().replace("mapping/_bundled/", "")
        h.update(name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _content(value: Any) -> Any:
    if isinstance(value, Path):
        return {"path": str(value), "sha256": sha256_path(value)} if value.exists() else str(value)
    if isinstance(value, dict):
        return {str(k): _content(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_content(v) for v in value]
    return value


def config_content(config) -> dict:
    """The configuration as it affects results: file paths carry their content hash.

    Parameters
    ----------
    config : mapping.config.RunConfig

    Returns
    -------
    dict
        JSON-ready; sections that cannot change a result (schedule, execution) and the output
        root are left out.
    """
    from mapping.ingest.layouts.common import input_files

    raw = config.model_dump()  # python mode keeps Path objects, so files can be found generically
    out = {k: _content(v) for k, v in raw.items() if k not in _IGNORED_SECTIONS}
    # Files a reader picks up beside an input by default (e.g. VRP.xlsx next to the GVA workbook).
    out["input_sidecars"] = [_content(input_files(inp)[1:]) for inp in config.inputs]
    # Credits and vocabulary sidecars (<file>.meta.toml) shape the maps and report (mapping/geo/credits.py).
    from mapping.geo.credits import metadata_path

    files = [getattr(config.geodata, k, None) for k in ("regions", "boundaries", "activities", "supported_clusters")]
    out["metadata_sidecars"] = [_content(metadata_path(f)) for f in files + [i.path for i in config.inputs] if f]
    if isinstance(out.get("run"), dict):
        out["run"] = {k: v for k, v in out["run"].items() if k not in _IGNORED_RUN_KEYS}
    return out


def stage_keys(config, *, version: str | None = None) -> dict[str, str]:
    """Cache key of every stage (see the module docstring)."""
    content = config_content(config)
    version = version or code_version()
    keys: dict[str, str] = {}
    for stage, (upstream, skip) in STAGES.items():
        payload = {"stage": stage, "code": version, "upstream": [keys[u] for u in upstream],
                   "config": {k: v for k, v in content.items() if k not in skip}}
        text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
        keys[stage] = hashlib.sha256(text.encode()).hexdigest()[:32]
    return keys


@dataclass(frozen=True)
class RefreshPlan:
    """What one refresh will do: the resolved configuration and each stage's cache key.

    ``config`` has every URL input downloaded to a local path; ``cache_dir`` is None when caching
    is off (``execution.cache = false``).
    """

    config: Any
    keys: dict[str, str]
    cache_dir: Path | None
    max_entries: int = 8


def plan_refresh(config) -> RefreshPlan:
    """Download URL inputs, verify checksums and compute the stage keys.

    Parameters
    ----------
    config : mapping.config.RunConfig

    Returns
    -------
    RefreshPlan
    """
    from mapping.ingest.fetch import resolve_inputs

    resolved = resolve_inputs(config)
    execution = getattr(config, "execution", None)
    enabled = bool(getattr(execution, "cache", True))
    root = Path(config.run.output_root) / CACHE_DIR / "stages"
    return RefreshPlan(config=resolved, keys=stage_keys(resolved) if enabled else {},
                       cache_dir=root if enabled else None,
                       max_entries=int(getattr(execution, "cache_entries", 8)))


def _load(path: Path) -> Any:
    try:
        with open(path, "rb") as f:
            value = pickle.load(f)
    except FileNotFoundError:
        return _MISS
    except Exception as exc:  # torn, truncated or from incompatible code: recompute
        log.warning("cache entry %s unreadable (%s); recomputing", path, exc)
        path.unlink(missing_ok=True)
        return _MISS
    os.utime(path)  # least-recently-used pruning
    return value


def _save(path: Path, value: Any, max_entries: int) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        with open(tmp, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except (OSError, pickle.PicklingError, TypeError) as exc:  # caching is an optimisation only
        log.warning("could not cache %s (%s)", path, exc)
        return
    _prune(path.parent, max_entries)


def _prune(folder: Path, max_entries: int) -> None:
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if len(entries) <= max_entries:
        return
    entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for p in entries[max_entries:]:
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


def has_entry(plan: RefreshPlan, stage: str) -> bool:
    """True when ``stage`` has a stored result for this plan's key (it would be reused)."""
    return plan.cache_dir is not None and (plan.cache_dir / stage / f"{plan.keys[stage]}.pkl").is_file()


def run_stage(plan: RefreshPlan, stage: str, fn: Callable[..., Any], *args: Any,
              on_hit: Callable[[Any], Any] | None = None) -> tuple[Any, bool]:
    """Return ``fn(*args)``, from the cache when the stage's key has a stored result.

    Parameters
    ----------
    plan : RefreshPlan
    stage : str
        A key of :data:`STAGES`.
    fn : callable
        The stage (a function of :mod:`mapping.pipeline`).
    *args
        Its arguments (they are *not* hashed: the key already covers them).
    on_hit : callable, optional
        Applied to a cached value before it is returned (e.g. to refresh a start time).

    Returns
    -------
    value, reused : Any, bool
    """
    if plan.cache_dir is None:
        return fn(*args), False
    path = plan.cache_dir / stage / f"{plan.keys[stage]}.pkl"
    value = _load(path)
    if value is not _MISS:
        return (on_hit(value) if on_hit else value), True
    value = fn(*args)
    _save(path, value, plan.max_entries)
    return value, False


def restamp_inputs(inputs):
    """A cached :class:`mapping.pipeline.Inputs` with ``started`` set to now."""
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return dataclasses.replace(inputs, started=now) if hasattr(inputs, "started") else inputs


@dataclass
class OutputReuse:
    """Reuse of a previous run's output files, handed to :func:`mapping.pipeline.write_run`.

    ``write_run`` calls :meth:`restore` on its fresh run folder: on a hit the data files are linked
    in and the assembled layers returned, so only ``report.md`` and ``manifest.json`` are written.
    On a miss it writes the files and calls :meth:`store`.
    """

    entry: Path | None
    stages: dict[str, bool] = field(default_factory=dict)
    max_entries: int = 8
    keys: dict[str, str] = field(default_factory=dict)
    hit: bool = False

    def restore(self, run_dir: Path) -> tuple[Any, dict] | None:
        """Link the cached files into ``run_dir``; return ``(built, counts)`` or None on a miss."""
        self.stages["write_outputs"] = False
        if self.entry is None:
            return None
        from mapping.outputs.publish import link_or_copy

        meta = _load(self.entry / "meta.pkl")
        if meta is _MISS:
            return None
        placed = []
        try:
            for name, digest in meta["files"].items():
                src = self.entry / name
                if sha256_file(src) != digest:  # a linked run file was edited in place
                    raise OSError(f"{src} changed since it was cached")
                link_or_copy(src, run_dir / name)
                placed.append(run_dir / name)
        except (OSError, KeyError) as exc:
            log.warning("cached outputs %s unusable (%s); writing afresh", self.entry, exc)
            for p in placed:
                p.unlink(missing_ok=True)
            shutil.rmtree(self.entry, ignore_errors=True)
            return None
        os.utime(self.entry)
        self.hit = self.stages["write_outputs"] = True
        return meta["built"], dict(meta["counts"])

    def store(self, run_dir: Path, built: Any, counts: dict) -> None:
        """Keep the data files now in ``run_dir`` (hard links) and the layers under the entry."""
        from mapping.outputs.publish import link_or_copy

        if self.entry is None or self.entry.exists():
            return
        staging = self.entry.with_name(f".{self.entry.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            staging.mkdir(parents=True)
            files = {}
            for p in sorted(run_dir.iterdir()):
                if p.is_file():
                    link_or_copy(p, staging / p.name)
                    files[p.name] = sha256_file(p)
            with open(staging / "meta.pkl", "wb") as f:
                pickle.dump({"built": built, "counts": counts, "files": files}, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.rename(staging, self.entry)
        except OSError as exc:  # e.g. a concurrent run stored the same entry first
            log.debug("outputs not cached at %s (%s)", self.entry, exc)
            shutil.rmtree(staging, ignore_errors=True)
            return
        _prune(self.entry.parent, self.max_entries)

    def manifest_entry(self) -> dict:
        """``stage_cache`` of ``manifest.json``: which stages were reused and the keys."""
        return {"enabled": self.entry is not None,
                "reused": [s for s, hit in self.stages.items() if hit],
                "computed": [s for s, hit in self.stages.items() if not hit],
                "keys": dict(self.keys)}

    def report_section(self) -> str:
        """A short ``report.md`` section saying which stages were reused."""
        out = ["\n## Refresh cache\n"]
        if self.entry is None:
            out.append("The stage cache is off (`execution.cache = false`): every stage was computed.\n")
            return "\n".join(out)
        m = self.manifest_entry()
        if not m["computed"]:
            out.append("Inputs, configuration and code are unchanged since an earlier run: **every stage was "
                       "reused** from the cache; the outputs are identical to that run's.\n")
        elif not m["reused"]:
            out.append("No cached result matched (new inputs, configuration or code): every stage was computed.\n")
        else:
            out.append("Stages whose inputs, configuration and code were unchanged were reused from the cache.\n")
        out.append("| stage | result |\n|---|---|")
        out += [f"| {s} | {'reused' if hit else 'computed'} |" for s, hit in self.stages.items()]
        return "\n".join(out) + "\n"


def write_run(plan: RefreshPlan, reused: dict[str, bool], *args: Any, timings: dict | None = None
              ) -> tuple[Path, bool]:
    """:func:`mapping.pipeline.write_run` with the output files reused when their key matches.

    Parameters
    ----------
    plan : RefreshPlan
    reused : dict of str to bool
        Whether each earlier stage was reused (for the manifest and the report).
    *args
        ``write_run``'s positional arguments (config, inputs, analysis, matrix, groups, geography,
        candidates, divergence).

    Returns
    -------
    run_dir, reused : Path, bool
    """
    from mapping import pipeline

    entry = plan.cache_dir / "write_outputs" / plan.keys["write_outputs"] if plan.cache_dir else None
    reuse = OutputReuse(entry=entry, stages=dict(reused), max_entries=plan.max_entries, keys=dict(plan.keys))
    run_dir = pipeline.write_run(*args, timings=timings, reuse=reuse)
    return run_dir, reuse.hit


def log_refresh(output_root: Path, run_dir: Path, timings: dict[str, float], reused: dict[str, bool]) -> Path:
    """Append one JSON line per refresh to ``<output_root>/cache/refresh-log.jsonl``.

    The manifest is written before the output stage finishes, so this log holds the complete stage
    times (and what was reused) of every refresh; the benchmarks read it.
    """
    path = Path(output_root) / CACHE_DIR / "refresh-log.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"run_id": Path(run_dir).name,
                       "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                       "stage_seconds": timings, "reused": reused}, sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as f:  # one short write with O_APPEND: lines do not interleave
        f.write(line)
    return path
