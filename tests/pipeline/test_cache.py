"""The stage cache (keys, reuse, pruning, output reuse) and the run-folder/publish concurrency guards."""

from __future__ import annotations

import hashlib
import pickle
import threading
import time
from pathlib import Path

import pytest

from mapping import cache
from mapping.config import InputFile, RunConfig, load_config
from mapping.outputs.runlock import publish_lock, reserve_run_dir

ROOT = Path(__file__).resolve().parents[2]
DOWNSTREAM_OF_RELATEDNESS = {"activity_groups", "candidate_clusters", "write_outputs"}


@pytest.fixture()
def cfg(tmp_path):
    data = tmp_path / "data.csv"
    data.write_bytes((ROOT / "data" / "ru_rosstat_2021.csv").read_bytes())
    base = load_config(ROOT / "config" / "default.toml")
    return base.model_copy(update={"run": base.run.model_copy(update={"output_root": tmp_path / "out"}),
                                   "inputs": (InputFile(path=data, format="tidy"),)})


def _with(cfg, section: str, **values):
    return cfg.model_copy(update={section: getattr(cfg, section).model_copy(update=values)})


def test_keys_are_stable_and_change_only_downstream_of_an_edit(cfg):
    keys = cache.stage_keys(cfg)
    assert keys == cache.stage_keys(cfg) and set(keys) == set(cache.STAGES)
    edited = cache.stage_keys(_with(cfg, "relatedness", max_groups=cfg.relatedness.max_groups + 1))
    changed = {s for s in keys if keys[s] != edited[s]}
    assert changed == DOWNSTREAM_OF_RELATEDNESS
    edited = cache.stage_keys(_with(cfg, "specialisation", threshold=1.5))
    assert {s for s in keys if keys[s] != edited[s]} == set(keys) - {"load_inputs", "geography"}


def test_keys_ignore_schedule_execution_and_output_root(cfg, tmp_path):
    keys = cache.stage_keys(cfg)
    assert cache.stage_keys(_with(cfg, "schedule", cron="0 0 * * *")) == keys
    assert cache.stage_keys(_with(cfg, "execution", task_runner="dask", cache_entries=3)) == keys
    assert cache.stage_keys(_with(cfg, "run", output_root=tmp_path / "elsewhere")) == keys


def test_keys_follow_file_content_and_code_version(cfg):
    keys = cache.stage_keys(cfg)
    path = cfg.inputs[0].path
    path.write_bytes(path.read_bytes() + b"\n")  # same name, different content
    assert all(a != b for a, b in zip(keys.values(), cache.stage_keys(cfg).values()))
    keys = cache.stage_keys(cfg)
    other = cache.stage_keys(cfg, version="another code version")
    assert all(keys[s] != other[s] for s in keys)


def test_run_stage_computes_once_then_reuses(cfg):
    plan = cache.plan_refresh(cfg)
    calls = []

    def stage(x):
        calls.append(x)
        return {"value": x * 2}

    assert cache.run_stage(plan, "location_quotients", stage, 21) == ({"value": 42}, False)
    assert cache.run_stage(plan, "location_quotients", stage, 21) == ({"value": 42}, True)
    assert calls == [21]
    hit = cache.run_stage(plan, "location_quotients", stage, 21, on_hit=lambda v: {**v, "fresh": True})
    assert hit == ({"value": 42, "fresh": True}, True)


def test_unreadable_entry_is_a_miss_and_is_replaced(cfg):
    plan = cache.plan_refresh(cfg)
    path = plan.cache_dir / "geography" / f"{plan.keys['geography']}.pkl"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a pickle")
    assert cache.run_stage(plan, "geography", lambda: "computed") == ("computed", False)
    assert pickle.loads(path.read_bytes()) == "computed"


def test_cache_off_always_computes(cfg):
    plan = cache.plan_refresh(_with(cfg, "execution", cache=False))
    assert plan.cache_dir is None
    assert cache.run_stage(plan, "divergence", lambda: 1) == (1, False)
    assert cache.run_stage(plan, "divergence", lambda: 2) == (2, False)
    assert not (Path(cfg.run.output_root) / "cache" / "stages").exists()


def test_prune_keeps_the_most_recently_used_entries(cfg):
    plan = cache.plan_refresh(_with(cfg, "execution", cache_entries=2))
    folder = plan.cache_dir / "divergence"
    for i in range(4):
        p = cache.RefreshPlan(plan.config, {**plan.keys, "divergence": f"k{i}"}, plan.cache_dir, 2)
        cache.run_stage(p, "divergence", lambda: i)
        time.sleep(0.01)
    assert sorted(p.stem for p in folder.iterdir()) == ["k2", "k3"]


def test_output_reuse_links_files_and_refuses_an_edited_entry(tmp_path):
    entry = tmp_path / "cache" / "write_outputs" / "key"
    first = tmp_path / "run1"
    first.mkdir()
    (first / "a.csv").write_text("x\n1\n")
    (first / "b.geojson").write_text("{}")
    store = cache.OutputReuse(entry=entry, stages={"load_inputs": True})
    assert store.restore(first) is None and store.stages["write_outputs"] is False
    store.store(first, built={"layers": 1}, counts={"a.csv": 1})
    second = tmp_path / "run2"
    second.mkdir()
    reuse = cache.OutputReuse(entry=entry, stages={"load_inputs": True})
    assert reuse.restore(second) == ({"layers": 1}, {"a.csv": 1})
    assert reuse.hit and (second / "a.csv").read_text() == "x\n1\n"
    assert reuse.manifest_entry()["reused"] == ["load_inputs", "write_outputs"]
    assert "every stage was reused" in reuse.report_section()
    (entry / "a.csv").write_text("edited in place\n")  # e.g. someone edited a linked run file
    third = tmp_path / "run3"
    third.mkdir()
    again = cache.OutputReuse(entry=entry)
    assert again.restore(third) is None and not again.hit
    assert list(third.iterdir()) == [] and not entry.exists()


def test_reserved_run_folders_are_unique_under_concurrency(tmp_path):
    got, lock = [], threading.Lock()

    def reserve():
        run_id, partial, final = reserve_run_dir(tmp_path, "same content")
        with lock:
            got.append((run_id, partial, final))

    threads = [threading.Thread(target=reserve) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [g[0] for g in got]
    assert len(set(ids)) == 12
    assert all(p.is_dir() and p.name == f".{i}.partial" and not f.exists() for i, p, f in got)


def test_a_leftover_partial_folder_is_never_reused(tmp_path):
    run_id, partial, _ = reserve_run_dir(tmp_path, "k")
    (partial / "half-written.csv").write_text("x")
    run_id2, partial2, _ = reserve_run_dir(tmp_path, "k")
    assert partial.is_dir() and (partial / "half-written.csv").exists()
    assert partial2 != partial and not any(partial2.iterdir())


def test_publish_lock_serialises_publishers(tmp_path):
    inside, overlaps = [], []

    def publish():
        with publish_lock(tmp_path):
            inside.append(1)
            if len(inside) > 1:
                overlaps.append(1)
            time.sleep(0.05)
            inside.pop()

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not overlaps


def test_refresh_log_appends_one_line_per_refresh(tmp_path):
    for i in range(3):
        cache.log_refresh(tmp_path, tmp_path / "runs" / f"r{i}", {"plan": 0.1}, {"load_inputs": bool(i)})
    lines = (tmp_path / "cache" / "refresh-log.jsonl").read_text().splitlines()
    assert len(lines) == 3 and '"run_id": "r2"' in lines[-1]


def test_code_version_covers_every_subpackage_and_the_reference_tables(tmp_path):
    import shutil

    shutil.copytree(ROOT / "mapping", tmp_path / "mapping", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "geodata").mkdir()
    shutil.copy(ROOT / "geodata" / "activities.csv", tmp_path / "geodata" / "activities.csv")
    before = cache.tree_digest(tmp_path / "mapping")
    rules = tmp_path / "mapping" / "analysis" / "rules.py"  # a module two levels down
    rules.write_text(rules.read_text() + "\n# edited\n")
    after_code = cache.tree_digest(tmp_path / "mapping")
    table = tmp_path / "geodata" / "activities.csv"
    table.write_text(table.read_text() + "\n")
    after_table = cache.tree_digest(tmp_path / "mapping")
    assert len({before, after_code, after_table}) == 3
    cache.code_version.cache_clear()
    assert cache.code_version() == cache.tree_digest(ROOT / "mapping", version=__import__("mapping").__version__)


def test_url_inputs_get_a_download_path_under_the_output_root(tmp_path):
    cfg = RunConfig.model_validate({"run": {"output_root": str(tmp_path)},
                                    "inputs": [{"path": "https://example.org/stats/data.csv"}]})
    inp = cfg.inputs[0]
    assert inp.url == "https://example.org/stats/data.csv"
    assert inp.path.parent.parent == tmp_path / "cache" / "downloads" and inp.path.name == "data.csv"
    with pytest.raises(ValueError, match="'path' or a 'url'"):
        RunConfig.model_validate({"inputs": [{"format": "tidy"}]})


@pytest.mark.parametrize("layout", ["folder", "sidecar"], ids=["folder-input", "gva-sidecar-grp"])
def test_keys_follow_the_content_of_folders_and_sidecar_files(cfg, tmp_path, layout):
    """A CBP folder input and the VRP.xlsx read beside a GVA workbook are hashed by content."""
    if layout == "folder":
        (tmp_path / "fips").mkdir()
        changed = tmp_path / "fips" / "311421.csv"
        changed.write_text("a\n1\n")
        inp = InputFile(path=tmp_path / "fips", format="cbp")
    else:
        (tmp_path / "VRP_OKVED2_s2016.xlsx").write_bytes(b"workbook")
        changed = tmp_path / "VRP.xlsx"
        changed.write_bytes(b"grp v1")
        inp = InputFile(path=tmp_path / "VRP_OKVED2_s2016.xlsx", format="gva_structure")
    c = cfg.model_copy(update={"inputs": (inp,)})
    before = cache.stage_keys(c)
    changed.write_bytes(b"edited")
    after = cache.stage_keys(c)
    assert before["load_inputs"] != after["load_inputs"]
    assert after == cache.stage_keys(c)
