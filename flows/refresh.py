"""The refresh flow: ingest -> location quotients -> co-location groups -> candidates -> divergence -> publish.

Each task is one call into :mod:`mapping.pipeline`. Tasks are coarse on purpose: Prefect's local
API costs a few ms per task run, so there is no per-region or per-activity task.
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, get_run_logger, task

from mapping import pipeline
from mapping.config import RunConfig
from mapping.errors import MappingError


def _transient(task, task_run, state) -> bool:
    """Retry I/O hiccups, never the user's own input errors (they would fail the same way again)."""
    try:
        state.result()
    except MappingError:
        return False
    except Exception:
        return True
    return True


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=_transient)
def load_inputs(config: RunConfig) -> pipeline.Inputs:
    """Read and validate the inputs (retried: the only stage doing I/O that can fail transiently)."""
    return pipeline.load_inputs(config)


@task
def compute_location_quotients(inputs: pipeline.Inputs, config: RunConfig) -> pipeline.Analysis:
    """Location quotients and the combined specialisation."""
    return pipeline.compute_location_quotients(inputs, config)


@task
def compute_activity_groups(analysis: pipeline.Analysis, config: RunConfig):
    """Relatedness by co-location and co-location groups."""
    return pipeline.compute_activity_groups(analysis, config)


@task
def load_geography(inputs: pipeline.Inputs, config: RunConfig) -> pipeline.Geography:
    """Unit geometries and neighbours from the bundled boundaries."""
    return pipeline.load_geography(inputs, config)


@task
def detect_candidates(analysis: pipeline.Analysis, groups, geography: pipeline.Geography):
    """Candidate clusters, merged across neighbouring regions."""
    return pipeline.detect_candidates(analysis, groups, geography)


@task
def compare_supported(analysis: pipeline.Analysis, inputs: pipeline.Inputs, config: RunConfig):
    """Divergence between specialisation and the supported-cluster registry."""
    return pipeline.compare_supported(analysis, inputs, config)


@task
def write_run(config, inputs, analysis, matrix, groups, geography, candidates, divergence, timings) -> Path:
    """Write the run folder (complete or not at all)."""
    return pipeline.write_run(config, inputs, analysis, matrix, groups, geography, candidates, divergence, timings)


@task
def publish_run(run_dir: Path, config: RunConfig) -> Path:
    """Atomically point outputs/latest at the run."""
    return pipeline.publish_run(run_dir, config)


@flow(name="refresh", log_prints=False)
def refresh(config: RunConfig, called_at: float | None = None) -> Path:
    """Refresh the cluster map from the configured inputs and publish it to ``outputs/latest``."""
    logger = get_run_logger()
    timings: dict[str, float] = {}
    if called_at is not None:
        timings["prefect_startup"] = round(time.perf_counter() - called_at, 3)

    def timed(name, fn, *args):
        t = time.perf_counter()
        result = fn(*args)
        timings[name] = round(time.perf_counter() - t, 3)
        return result

    inputs = timed("load_inputs", load_inputs, config)
    logger.info("read %d rows from %d file(s); kept %d rows of %d units", sum(l.rows_read for l in inputs.ledgers),
                len(inputs.ledgers), len(inputs.tidy), inputs.tidy["region_code"].nunique())
    analysis = timed("location_quotients", compute_location_quotients, inputs, config)
    matrix, groups = timed("activity_groups", compute_activity_groups, analysis, config)
    geography = timed("geography", load_geography, inputs, config)
    candidates = timed("candidate_clusters", detect_candidates, analysis, groups, geography)
    divergence = timed("divergence", compare_supported, analysis, inputs, config)
    run_dir = timed("write_outputs", write_run, config, inputs, analysis, matrix, groups, geography, candidates,
                    divergence, timings)
    latest = timed("publish", publish_run, run_dir, config)
    logger.info("published %s -> %s (%s)", latest, run_dir.name, timings)
    return run_dir
