"""One in-process run of the default configuration, shared by the GIS, web-map and report tests.

The pipeline stages are called directly (no Prefect) and the run is written to a temporary output
root once per test session, whichever test module asks first (a module-level cache, because a
session fixture imported into several modules would be instantiated once per module).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mapping import pipeline
from mapping.config import load_config

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "config" / "default.toml"


@dataclass
class DefaultRun:
    """The stage results of the default run and its written run folder."""

    config: object
    inputs: pipeline.Inputs
    analysis: pipeline.Analysis
    matrix: object
    groups: object
    geography: pipeline.Geography
    candidates: object
    divergence: tuple
    run_dir: Path


_CACHE: dict[str, DefaultRun] = {}


def default_config(output_root: Path):
    """``config/default.toml`` writing to ``output_root``, with the stage cache off."""
    cfg = load_config(DEFAULT_CONFIG)
    update = {"run": cfg.run.model_copy(update={"output_root": Path(output_root)})}
    if hasattr(cfg, "execution"):
        update["execution"] = cfg.execution.model_copy(update={"cache": False})
    return cfg.model_copy(update=update)


def compute(output_root: Path) -> DefaultRun:
    """Run every stage of the default configuration and write the run (not published)."""
    cfg = default_config(output_root)
    inputs = pipeline.load_inputs(cfg)
    analysis = pipeline.compute_location_quotients(inputs, cfg)
    matrix, groups = pipeline.compute_activity_groups(analysis, cfg)
    geography = pipeline.load_geography(inputs, cfg)
    candidates = pipeline.detect_candidates(analysis, groups, geography)
    divergence = pipeline.compare_supported(analysis, inputs, cfg)
    run_dir = pipeline.write_run(cfg, inputs, analysis, matrix, groups, geography, candidates, divergence)
    return DefaultRun(cfg, inputs, analysis, matrix, groups, geography, candidates, divergence, run_dir)


def default_run(tmp_path_factory) -> DefaultRun:
    """The session's default run (computed on first use)."""
    if "run" not in _CACHE:
        _CACHE["run"] = compute(tmp_path_factory.mktemp("default_run"))
    return _CACHE["run"]
