"""The refresh flow: plan -> ingest -> location quotients -> co-location groups -> candidates ->
divergence -> write -> publish -> artifacts.

Each task is one call into :mod:`mapping` (the stages of :mod:`mapping.pipeline`, wrapped by the
stage cache of :mod:`mapping.cache`). Tasks are coarse on purpose: Prefect's local API costs a few
ms per task run, so there is no per-region or per-activity task.

- **Cache.** A stage whose inputs (by content hash), configuration and code are unchanged is
  reused; the report and ``manifest.json`` (``stage_cache``) say which. Prefect's own task caching
  is off (``NO_CACHE``): hashing DataFrame arguments would cost more than the stages.
- **Dask.** With ``execution.task_runner = "dask"`` the heavy stages run as a subflow on a
  ``prefect_dask.DaskTaskRunner`` (the scheduler at ``execution.dask_address``, or a local cluster
  of ``execution.dask_workers`` processes); writing and publishing stay in this process.
- **Failure.** ``outputs/latest`` changes only in the last step, under a lock, to a complete run
  folder; a failed or interrupted refresh leaves it as it was.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from mapping import cache, pipeline
from mapping.config import RunConfig, load_config
from mapping.errors import user_error
from mapping.outputs import run_summary

#: Stages that run on the Dask cluster when ``execution.task_runner = "dask"``.
HEAVY_STAGES = ("load_inputs", "location_quotients", "activity_groups", "geography", "candidate_clusters",
                "divergence")


def _transient(task, task_run, state) -> bool:
    """Retry I/O hiccups, never the user's own input errors (they would fail the same way again)."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001
        return user_error(exc) is None  # input, configuration, full disk, permissions, memory: never retried
    return True


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=_transient, cache_policy=NO_CACHE)
def plan_refresh(config: RunConfig) -> cache.RefreshPlan:
    """Download URL inputs (timeouts, retries, checksums) and compute each stage's cache key."""
    return cache.plan_refresh(config)


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=_transient, cache_policy=NO_CACHE)
def load_inputs(plan: cache.RefreshPlan):
    """Read and validate the inputs (retried: the only stage doing I/O that can fail transiently)."""
    return cache.run_stage(plan, "load_inputs", pipeline.load_inputs, plan.config, on_hit=cache.restamp_inputs)


@task(cache_policy=NO_CACHE)
def compute_location_quotients(plan: cache.RefreshPlan, inputs: pipeline.Inputs):
    """Location quotients and the combined specialisation."""
    return cache.run_stage(plan, "location_quotients", pipeline.compute_location_quotients, inputs, plan.config)


@task(cache_policy=NO_CACHE)
def compute_activity_groups(plan: cache.RefreshPlan, analysis: pipeline.Analysis):
    """Relatedness by co-location and co-location groups."""
    return cache.run_stage(plan, "activity_groups", pipeline.compute_activity_groups, analysis, plan.config)


@task(cache_policy=NO_CACHE)
def load_geography(plan: cache.RefreshPlan, inputs: pipeline.Inputs):
    """Unit geometries and neighbours from the bundled boundaries."""
    return cache.run_stage(plan, "geography", pipeline.load_geography, inputs, plan.config)


@task(cache_policy=NO_CACHE)
def detect_candidates(plan: cache.RefreshPlan, analysis: pipeline.Analysis, groups, geography: pipeline.Geography):
    """Candidate clusters, merged across neighbouring regions."""
    return cache.run_stage(plan, "candidate_clusters", pipeline.detect_candidates, analysis, groups, geography)


@task(cache_policy=NO_CACHE)
def compare_supported(plan: cache.RefreshPlan, analysis: pipeline.Analysis, inputs: pipeline.Inputs):
    """Divergence between specialisation and the supported-cluster registry."""
    return cache.run_stage(plan, "divergence", pipeline.compare_supported, analysis, inputs, plan.config)


class _Forward(logging.Handler):
    """Hands the domain library's progress lines (``mapping.progress``) to the flow run's logger."""

    def __init__(self, logger):
        super().__init__(logging.INFO)
        self.target = logger

    def emit(self, record: logging.LogRecord) -> None:
        self.target.info(record.getMessage())


@contextmanager
def _progress_lines():
    from mapping.outputs.progress import LOGGER_NAME

    log, handler = logging.getLogger(LOGGER_NAME), _Forward(get_run_logger())
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    propagate, log.propagate = log.propagate, False  # once, through the run's logger (not also via the root)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.propagate = propagate


@task(cache_policy=NO_CACHE)
def write_run(plan: cache.RefreshPlan, reused: dict, stages: dict, timings: dict):
    """Write the run folder (complete or not at all), linking cached files when nothing changed."""
    s = stages
    with _progress_lines():  # one line per writing step: tables, layers, GeoPackage, styles, maps
        return cache.write_run(plan, reused, plan.config, s["inputs"], s["analysis"], s["matrix"], s["groups"],
                               s["geography"], s["candidates"], s["divergence"], timings=timings)


@task(cache_policy=NO_CACHE)
def publish_run(run_dir: Path, config: RunConfig) -> Path:
    """Atomically point outputs/latest at the run (under the output root's publish lock)."""
    return pipeline.publish_run(run_dir, config)


def _run_stages(plan: cache.RefreshPlan) -> dict[str, Any]:
    """Run the heavy stages through the current flow's task runner, one after the other."""
    timings: dict[str, float] = {}
    reused: dict[str, bool] = {}

    def step(name, tsk, *args):
        t = time.perf_counter()
        value, hit = tsk.submit(*args).result()
        timings[name], reused[name] = round(time.perf_counter() - t, 3), hit
        return value

    inputs = step("load_inputs", load_inputs, plan)
    analysis = step("location_quotients", compute_location_quotients, plan, inputs)
    matrix, groups = step("activity_groups", compute_activity_groups, plan, analysis)
    geography = step("geography", load_geography, plan, inputs)
    candidates = step("candidate_clusters", detect_candidates, plan, analysis, groups, geography)
    divergence = step("divergence", compare_supported, plan, analysis, inputs)
    return {"inputs": inputs, "analysis": analysis, "matrix": matrix, "groups": groups, "geography": geography,
            "candidates": candidates, "divergence": divergence, "timings": timings, "reused": reused}


@flow(name="refresh-heavy-stages", validate_parameters=False, log_prints=False)
def heavy_stages(plan: cache.RefreshPlan) -> dict[str, Any]:
    """The heavy stages as a subflow, so that they can run on their own (Dask) task runner."""
    return _run_stages(plan)


def dask_task_runner(config: RunConfig):
    """A ``DaskTaskRunner`` for ``config.execution``: its scheduler address, or a local cluster."""
    from prefect_dask import DaskTaskRunner

    ex = config.execution
    if ex.dask_address:  # its workers must have PREFECT_API_URL set to this run's API (see README)
        return DaskTaskRunner(address=ex.dask_address)
    # Local worker processes must report to *this* API: without the address each would start a
    # temporary API of its own when the parent runs on Prefect's ephemeral one.
    env = {"PREFECT_API_URL": url} if (url := _api_url()) else {}
    return DaskTaskRunner(cluster_kwargs={"n_workers": ex.dask_workers, "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None, "env": env})


def _api_url() -> str | None:
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    client = getattr(ctx, "client", None)
    return str(client.api_url) if client is not None and getattr(client, "api_url", None) else None


def _publish_artifacts(run_dir: Path, logger) -> None:
    """Markdown summary (the report's headline) and the divergence table, on this flow run."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    try:
        create_markdown_artifact(markdown=run_summary.headline_markdown(run_dir), key="cluster-map-summary",
                                 description=f"Headline of run {run_dir.name}")
        rows, total = run_summary.divergence_rows(run_dir)
        create_table_artifact(table=rows, key="cluster-map-divergences",
                              description=f"Divergence of run {run_dir.name}: {len(rows)} of {total} region x "
                                          f"activity pairs (all in divergence.csv)")
    except Exception as exc:  # the run is published; a UI annotation must not fail it
        logger.warning("could not create the run's artifacts: %s", exc)


def _apply_retention(plan: cache.RefreshPlan, logger) -> None:
    """Keep the output root's last ``execution.keep_runs`` runs and the cache entries they use."""
    from mapping.outputs.retention import apply_retention

    try:
        out = apply_retention(Path(plan.config.run.output_root), plan.config.execution.keep_runs, plan.cache_dir)
    except OSError as exc:  # the run is published; clean-up must not fail it
        logger.warning("could not remove old runs: %s", exc)
        return
    if out.runs or out.cache_entries:
        logger.info("retention: %s", out.summary())


@flow(name="refresh", log_prints=False)
def refresh(config: RunConfig | str, called_at: float | None = None, output_root: str | None = None,
            startup_seconds: dict[str, float] | None = None) -> Path:
    """Refresh the cluster map from the configured inputs and publish it to ``outputs/latest``.

    Parameters
    ----------
    config : RunConfig or str
        The validated configuration, or the path of a TOML file (as a deployment passes it).
    called_at : float, optional
        ``time.perf_counter()`` when the command started, to report Prefect's start-up separately.
    output_root : str, optional
        Where to publish instead of the config's ``run.output_root`` (``clustermap serve`` passes the
        folder it placed and checked, see :mod:`flows.prepare`).
    startup_seconds : dict, optional
        Parts of the start-up measured by the command (``startup_checks``: configuration and inputs;
        ``startup_prefect_api``: the local API's start), recorded with the stage timings.

    Returns
    -------
    Path
        The published run folder.
    """
    logger = get_run_logger()
    timings: dict[str, float] = {}
    if called_at is not None:
        timings["prefect_startup"] = round(time.perf_counter() - called_at, 3)
    timings.update(startup_seconds or {})
    if not isinstance(config, RunConfig):
        config = load_config(config)
    if output_root:
        config = config.model_copy(update={"run": config.run.model_copy(update={"output_root": Path(output_root)})})
    t = time.perf_counter()
    plan = plan_refresh(config)
    timings["plan"] = round(time.perf_counter() - t, 3)
    if config.execution.task_runner == "dask":
        stages = heavy_stages.with_options(task_runner=dask_task_runner(config))(plan)
    else:
        stages = _run_stages(plan)
    timings.update(stages.pop("timings"))
    reused = stages.pop("reused")
    inputs = stages["inputs"]
    logger.info("read %d rows from %d file(s); kept %d rows of %d units; reused: %s",
                sum(l.rows_read for l in inputs.ledgers), len(inputs.ledgers), len(inputs.tidy),
                inputs.tidy["region_code"].nunique(), [s for s, hit in reused.items() if hit] or "none")
    t = time.perf_counter()
    run_dir, reused["write_outputs"] = write_run(plan, reused, stages, timings)
    timings["write_outputs"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    latest = publish_run(run_dir, plan.config)
    timings["publish"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    _publish_artifacts(run_dir, logger)
    timings["artifacts"] = round(time.perf_counter() - t, 3)
    _apply_retention(plan, logger)
    cache.log_refresh(plan.config.run.output_root, run_dir, timings, reused)
    logger.info("published %s -> %s (%s)", latest, run_dir.name, timings)
    return run_dir


def deployment_options(config_path: Path, *, name: str | None = None,
                       output_root: Path | None = None) -> dict[str, Any]:
    """Arguments of ``refresh.serve`` / ``refresh.to_deployment`` for ``config_path``.

    The deployment runs on the config's ``[schedule]`` cron and timezone. Each scheduled run
    re-reads ``config_path``, so edits to the TOML take effect at the next run; a changed schedule
    takes effect when ``clustermap serve`` is restarted.
    """
    from prefect.schedules import Cron

    config_path = Path(config_path).resolve()
    cfg = load_config(config_path)
    return {"name": name or cfg.run.name,
            "schedules": [Cron(cfg.schedule.cron, timezone=cfg.schedule.timezone)],
            "parameters": {"config": str(config_path), **({"output_root": str(output_root)} if output_root else {})},
            "description": f"Cluster-map refresh from {config_path}", "tags": ["clustermap"]}


def serve(config_path: Path, *, name: str | None = None, output_root: Path | None = None) -> None:
    """Serve the refresh deployment in this process until stopped (Ctrl-C): ``clustermap serve``.

    Uses the Prefect server at ``PREFECT_API_URL``; without one, starts a local server on
    127.0.0.1 for as long as this runs (Prefect's ephemeral API has no scheduler).
    """
    from flows.server import configured_api_url, local_server

    options = deployment_options(config_path, name=name, output_root=output_root)
    if configured_api_url():
        refresh.serve(**options)
        return
    with local_server():
        refresh.serve(**options)
