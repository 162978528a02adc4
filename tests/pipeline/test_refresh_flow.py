"""The refresh flow end to end: cached refreshes, failures, concurrency, artifacts and scheduling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from _flow_runs import ROOT, cold_run, config_for, data_digests, run_flow

from mapping.config import InputFile, load_config
from mapping.errors import MappingError
from mapping.hashing import sha256_file as sha256

pytestmark = pytest.mark.slow


def _manifest(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "manifest.json").read_text(encoding="utf-8"))


def _log(output_root: Path) -> list[dict]:
    path = output_root / "cache" / "refresh-log.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _stage_seconds(record: dict) -> float:
    return sum(v for k, v in record["stage_seconds"].items() if k != "prefect_startup")


@pytest.fixture(scope="module")
def runs(prefect_harness):
    """The cold run, then an unchanged refresh on the same output root."""
    cold = cold_run()
    warm = run_flow(config_for(cold.output_root))
    return cold, warm


def test_cold_run_computes_and_caches_every_stage(runs):
    cold, _ = runs
    m = _manifest(cold.run_dir)
    assert m["stage_cache"]["enabled"] and m["stage_cache"]["reused"] == []
    assert set(m["stage_cache"]["computed"]) >= {"load_inputs", "location_quotients", "write_outputs"}
    assert "every stage was computed" in (cold.run_dir / "report.md").read_text(encoding="utf-8")
    assert (cold.output_root / "cache" / "stages" / "write_outputs").is_dir()


def test_unchanged_refresh_reuses_every_stage_with_identical_outputs(runs):
    cold, warm = runs
    assert warm.run_dir != cold.run_dir and (cold.output_root / "latest").resolve() == warm.run_dir.resolve()
    m = _manifest(warm.run_dir)
    assert m["stage_cache"]["computed"] == []
    assert m["stage_cache"]["reused"] == ["load_inputs", "location_quotients", "activity_groups", "geography",
                                          "candidate_clusters", "divergence", "write_outputs"]
    assert data_digests(warm.run_dir) == data_digests(cold.run_dir)
    report = (warm.run_dir / "report.md").read_text(encoding="utf-8")
    assert "## Refresh cache" in report and "every stage was reused" in report
    # The manifest describes the new run folder exactly (linked files included).
    for out in m["outputs"]:
        assert sha256(warm.run_dir / out["file"]) == out["sha256"], out["file"]
    assert m["run_id"] == warm.run_dir.name and m["started"] >= _manifest(cold.run_dir)["started"]
    cold_rec, warm_rec = _log(cold.output_root)[:2]
    assert all(warm_rec["reused"].values()) and not any(cold_rec["reused"].values())
    assert _stage_seconds(warm_rec) < _stage_seconds(cold_rec)


def test_run_publishes_headline_and_divergence_artifacts(runs):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    cold, _ = runs
    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[cold.flow_run_id])))
    by_key = {a.key: a for a in arts}
    assert set(by_key) == {"cluster-map-summary", "cluster-map-divergences"}
    summary = by_key["cluster-map-summary"]
    assert summary.type == "markdown" and "## Headline" in summary.data and "supported clusters" in summary.data
    table = by_key["cluster-map-divergences"]
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert table.type == "table" and len(rows) > 0
    assert {"status", "region_code", "activity_code", "lq_max"} <= set(rows[0])
    assert rows[0]["status"] == "specialised_not_supported"


def test_failed_refresh_leaves_latest_as_it_was(runs, tmp_path):
    cold, _ = runs
    latest = cold.output_root / "latest"
    before, runs_before = os.readlink(latest), sorted(p.name for p in (cold.output_root / "runs").iterdir())
    bad = tmp_path / "bad.csv"
    bad.write_text("year,region_code,activity_code,classification,level,indicator,value,unit,flag,source\n"
                   "2021,RU-MOW,C,OKVED2,section,gva,-5,million RUB,,test\n", encoding="utf-8")
    cfg = config_for(cold.output_root).model_copy(update={"inputs": (InputFile(path=bad, format="tidy"),)})
    with pytest.raises(MappingError, match="bad.csv"):
        run_flow(cfg)
    assert os.readlink(latest) == before
    assert sorted(p.name for p in (cold.output_root / "runs").iterdir()) == runs_before


def test_failure_while_writing_leaves_latest_and_no_run_folder(runs, monkeypatch):
    from mapping import cache, pipeline

    cold, _ = runs
    latest = cold.output_root / "latest"
    before = os.readlink(latest)
    finished = {p.name for p in (cold.output_root / "runs").iterdir() if not p.name.startswith(".")}

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(cache.OutputReuse, "restore", lambda self, run_dir: None)
    monkeypatch.setattr(pipeline, "_write_tables", disk_full)
    with pytest.raises(OSError, match="No space left"):
        run_flow(config_for(cold.output_root))
    assert os.readlink(latest) == before
    assert {p.name for p in (cold.output_root / "runs").iterdir() if not p.name.startswith(".")} == finished


def test_two_refreshes_at_once_write_separate_complete_runs(runs):
    cold, _ = runs
    cfg = config_for(cold.output_root)
    results, errors = [], []

    def go():
        try:
            results.append(run_flow(cfg))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    a, b = (r.run_dir for r in results)
    assert a != b and a.is_dir() and b.is_dir()
    for run_dir in (a, b):
        m = _manifest(run_dir)
        assert m["run_id"] == run_dir.name
        for out in m["outputs"]:
            assert sha256(run_dir / out["file"]) == out["sha256"], (run_dir.name, out["file"])
    assert (cold.output_root / "latest").resolve() in (a.resolve(), b.resolve())
    assert not list((cold.output_root / "runs").glob(f".{a.name}.partial"))


def test_serve_starts_a_deployment_on_the_config_schedule(prefect_harness, monkeypatch):
    import flows.refresh as fr

    seen = {}
    monkeypatch.setattr(fr.refresh, "serve", lambda **kw: seen.update(kw))
    fr.serve(ROOT / "config" / "default.toml")
    cfg = load_config(ROOT / "config" / "default.toml")
    (schedule,) = seen["schedules"]
    assert (schedule.cron, schedule.timezone) == (cfg.schedule.cron, cfg.schedule.timezone)
    assert seen["name"] == cfg.run.name
    assert seen["parameters"] == {"config": str((ROOT / "config" / "default.toml").resolve())}
    # The same options make a valid deployment (parameters checked against the flow's signature).
    dep = fr.refresh.to_deployment(**fr.deployment_options(ROOT / "config" / "default.toml"))
    assert dep.parameters["config"].endswith("default.toml") and dep.schedules


def test_cli_serve_refuses_a_bad_config_in_one_paragraph(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\n", encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "flows.cli", "serve", "--config", str(bad)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "not valid TOML" in res.stderr and "Traceback" not in res.stderr


def test_prefect_yaml_describes_the_same_deployment():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    (dep,) = spec["deployments"]
    path, func = dep["entrypoint"].split(":")
    assert (ROOT / path).is_file() and func == "refresh"
    cfg = load_config(ROOT / dep["parameters"]["config"])
    (sched,) = dep["schedules"]
    assert (sched["cron"], sched["timezone"]) == (cfg.schedule.cron, cfg.schedule.timezone)
    assert dep["work_pool"]["name"]


def test_refresh_accepts_a_config_path(runs, tmp_path):
    """What a deployment passes: the TOML path, loaded inside the flow (here: a cached refresh)."""
    from flows.refresh import refresh

    cold, _ = runs
    src = (ROOT / "config" / "default.toml").read_text(encoding="utf-8")
    src = src.replace('"../', f'"{ROOT}/').replace(f'output_root = "{ROOT}/outputs"',
                                                   f'output_root = "{cold.output_root}"')
    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text(src, encoding="utf-8")
    run_dir = refresh(str(cfg_file))
    assert Path(run_dir).parent == cold.output_root / "runs"
    assert _manifest(run_dir)["stage_cache"]["computed"] == []
