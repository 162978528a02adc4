"""Before the flow: output folders per configuration, confinement, own data, copied configs, retention."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from flows.prepare import input_run_name, own_data_indicators, place_outputs, prepare_run
from mapping.config import load_config
from mapping.errors import MappingError
from mapping.locations import bundled_path, confine_output_root, default_config_path, named_output_root
from mapping.outputs.retention import apply_retention

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "own_data" / "establishments_2021.csv"


def test_bundled_files_are_the_repository_folders_in_a_checkout():
    assert default_config_path() == ROOT / "config" / "default.toml"
    assert bundled_path("geodata", "regions.csv") == ROOT / "geodata" / "regions.csv"
    cfg = load_config(default_config_path())
    assert cfg.geodata.regions == ROOT / "geodata" / "regions.csv"


def test_default_config_publishes_at_the_root_others_under_their_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(default_config_path())
    placed, top = place_outputs(cfg, default=True, output_root=None, cwd_default=True)
    assert placed.run.output_root == tmp_path.resolve() / "outputs" == top
    placed, top = place_outputs(cfg, default=False, output_root=None, cwd_default=True)
    assert placed.run.output_root == tmp_path.resolve() / "outputs" / "ru_rosstat_2021"
    assert top == tmp_path.resolve() / "outputs"
    assert input_run_name([Path("/x/My data (2021).csv")]) == "input-My_data_2021"
    assert input_run_name([Path("a.csv"), Path("b.csv")]) == "input-a+1"


@pytest.mark.parametrize("name", ["runs", "latest", "cache", "../up", "a/b", "", ".."])
def test_a_name_that_is_not_a_plain_folder_is_refused(name, tmp_path):
    with pytest.raises(MappingError, match=r"\[run\] name"):
        named_output_root(tmp_path, name)


def test_output_root_outside_the_project_is_refused_with_the_resolved_path(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    outside = tmp_path / "a" / ".." / "b"
    with pytest.raises(MappingError) as err:
        confine_output_root(outside)
    assert str((tmp_path / "b").resolve()) in str(err.value) and "--output-root" in str(err.value)
    with pytest.raises(MappingError, match="outside the project"):
        confine_output_root(Path("/"))
    # Named on the command line: allowed, and so is a folder inside it.
    assert confine_output_root(outside, explicit=tmp_path) == (tmp_path / "b").resolve()
    assert confine_output_root(ROOT / "outputs") == ROOT / "outputs"
    a_file = tmp_path / "f"
    a_file.write_text("x")
    with pytest.raises(MappingError, match="not a directory"):
        confine_output_root(a_file, explicit=a_file)


def test_config_with_escaping_output_root_is_refused_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    text = default_config_path().read_text(encoding="utf-8").replace('output_root = "../outputs"',
                                                                      'output_root = "../../../.."')
    cfg_file = ROOT / "config" / f".tmp-escape-{os.getpid()}.toml"
    cfg_file.write_text(text, encoding="utf-8")
    try:
        with pytest.raises(MappingError, match="outside the project"):
            prepare_run(cfg_file, None)
    finally:
        cfg_file.unlink()


def test_copied_config_finds_the_bundled_registries_or_names_the_key(tmp_path):
    copy = tmp_path / "elsewhere" / "my.toml"
    copy.parent.mkdir()
    shutil.copy(default_config_path(), copy)
    cfg = load_config(copy)
    assert cfg.geodata.regions == ROOT / "geodata" / "regions.csv"
    assert cfg.inputs[0].path == ROOT / "data" / "ru_rosstat_2021.csv"
    assert cfg.run.output_root == tmp_path / "outputs"  # the output root is never redirected
    text = copy.read_text(encoding="utf-8").replace('"../geodata/regions.csv"', '"../geodata/my_regions.csv"')
    copy.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError, match=r"\[geodata\] regions.*set \[geodata\] regions"):
        load_config(copy)


def _tidy(rows):
    return pd.DataFrame(rows, columns=["indicator", "level"])


def test_own_data_takes_the_indicators_of_the_file():
    cfg = load_config(default_config_path())
    same, note = own_data_indicators(cfg, _tidy([("gva", "section"), ("employment", "total")]))
    assert same is cfg and note is None
    got, note = own_data_indicators(cfg, _tidy([("revenue", "section"), ("employment", "section"),
                                                ("gva", "total")]))
    assert got.specialisation.indicators == ("employment", "revenue")  # the project's indicator order
    assert got.specialisation.combine is None and got.relatedness.indicator == "employment"
    assert note.count("\n") == 0 and "['gva', 'shipments']" in note and "employment" in note
    got, note = own_data_indicators(cfg, _tidy([("employment", "division")]))
    assert got.specialisation.level == "division" and "division" in note


def test_own_data_example_runs_from_the_default_config(tmp_path, monkeypatch):
    """The README's worked example, up to the stages (the flow itself: test_startup.py)."""
    from mapping import pipeline

    monkeypatch.chdir(tmp_path)
    prepared = prepare_run(None, [EXAMPLE])
    cfg = prepared.config
    assert prepared.notes and "['establishments']" in prepared.notes[0]
    assert cfg.run.output_root == tmp_path.resolve() / "outputs" / "input-establishments_2021"
    inputs = pipeline.load_inputs(cfg)
    analysis = pipeline.compute_location_quotients(inputs, cfg)
    spec = analysis.spec
    # Independently: Moscow's LQ of section K (finance) in establishments, from the file itself.
    raw = pd.read_csv(EXAMPLE, dtype={"activity_code": str})
    # Nested units: the run keeps the okrugs and the remainders, not their parent oblasts.
    sec = raw[(raw["level"] == "section") & ~raw["region_code"].isin(["RU-ARK", "RU-TYU"])]
    mow = sec[sec["region_code"] == "RU-MOW"].set_index("activity_code")["value"]
    nat = sec.groupby("activity_code")["value"].sum()
    expected = (mow["K"] / mow.sum()) / (nat["K"] / nat.sum())
    lq = analysis.lq
    got = lq.loc[(lq["region_code"] == "RU-MOW") & (lq["activity_code"] == "K") & (lq["indicator"] ==
                                                                                   "establishments"), "lq"]
    assert got.iloc[0] == pytest.approx(expected, rel=1e-9)
    assert spec["specialised"].any()


def _fake_run(root: Path, run_id: str, keys: dict[str, str]) -> Path:
    run = root / "runs" / run_id
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"stage_cache": {"keys": keys}}), encoding="utf-8")
    return run


def test_retention_keeps_the_last_runs_and_the_cache_entries_they_use(tmp_path):
    stages = tmp_path / "cache" / "stages"
    runs = [_fake_run(tmp_path, f"2026010{i}T000000Z-aaaa", {"load_inputs": f"k{i}", "write_outputs": f"w{i}"})
            for i in range(1, 8)]
    (tmp_path / "runs" / ".20260109T000000Z-bbbb.partial").mkdir()  # a run being written: untouched
    (tmp_path / "latest").symlink_to("runs/20260102T000000Z-aaaa")  # published: kept although old
    old = time.time() - 7200
    for i in range(1, 8):
        (stages / "load_inputs").mkdir(parents=True, exist_ok=True)
        (stages / "load_inputs" / f"k{i}.pkl").write_bytes(b"x" * 10)
        (stages / "write_outputs" / f"w{i}").mkdir(parents=True)
        for p in ((stages / "load_inputs" / f"k{i}.pkl"), stages / "write_outputs" / f"w{i}"):
            os.utime(p, (old, old))
    (stages / "load_inputs" / "fresh.pkl").write_bytes(b"y")  # just written by a concurrent run: kept
    removed_manifests = sum((r / "manifest.json").stat().st_size for r in (runs[0], runs[2], runs[3]))
    out = apply_retention(tmp_path, 3, stages)
    left = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert left == [".20260109T000000Z-bbbb.partial", runs[1].name, runs[4].name, runs[5].name, runs[6].name]
    assert sorted(p.name for p in (stages / "load_inputs").iterdir()) == ["fresh.pkl", "k2.pkl", "k5.pkl",
                                                                         "k6.pkl", "k7.pkl"]
    assert sorted(p.name for p in (stages / "write_outputs").iterdir()) == ["w2", "w5", "w6", "w7"]
    assert len(out.runs) == 3 and len(out.cache_entries) == 6
    assert out.bytes_freed == 3 * 10 + removed_manifests


def test_bad_input_fails_once_before_prefect_starts(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("year,region_code,activity_code,classification,level,indicator,value,unit,flag,source\n"
                   "2021,RU-NOPE,C,OKVED2,section,employment,5,thousand persons,,test\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    res = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--input", str(bad), "--output-root",
                          str(tmp_path / "out")], cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stderr
    text = res.stdout + res.stderr
    assert text.count("error:") == 1 and "RU-NOPE" in text and "Traceback" not in text
    assert "Prefect" not in text and not (tmp_path / "out" / ".prefect").exists()  # no server was started


def test_serve_places_and_confines_its_output_root(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import flows.refresh as fr
    from flows import reaper, startup
    from flows.cli import app

    seen = {}
    monkeypatch.setattr(startup, "prefect_environment", lambda *a, **k: {})
    monkeypatch.setattr(reaper, "watch", lambda *a, **k: None)
    monkeypatch.setattr(fr, "serve", lambda config, **kw: seen.update(kw, config=config))
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["serve"])
    assert res.exit_code == 0, res.output
    assert seen["config"] == default_config_path() and seen["output_root"] == tmp_path.resolve() / "outputs"
    copy = tmp_path / "c" / "my.toml"
    copy.parent.mkdir()
    copy.write_text(default_config_path().read_text(encoding="utf-8").replace(
        'output_root = "../outputs"', 'output_root = "/"'), encoding="utf-8")
    res = CliRunner().invoke(app, ["serve", "--config", str(copy)])
    assert res.exit_code == 2 and "outside the project" in res.output
    res = CliRunner().invoke(app, ["serve", "--config", str(copy), "--output-root", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert seen["output_root"] == tmp_path.resolve() / "o" / "ru_rosstat_2021"
    # The deployment carries the placed folder; the flow publishes there.
    opts = fr.deployment_options(copy, output_root=tmp_path / "o")
    assert opts["parameters"] == {"config": str(copy.resolve()), "output_root": str(tmp_path / "o")}
