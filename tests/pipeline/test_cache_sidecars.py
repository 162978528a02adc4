"""The stage cache keys follow the credits sidecars (<file>.meta.toml), which shape maps and report."""

from __future__ import annotations

import shutil
from pathlib import Path

from mapping import cache
from mapping.config import load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "new_country"


def test_editing_a_sidecar_changes_the_keys(tmp_path):
    folder = tmp_path / "country"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    cfg = load_config(folder / "config.toml")
    before = cache.stage_keys(cfg, version="v")
    sidecar = folder / "boundaries.geojson.meta.toml"
    sidecar.write_text(sidecar.read_text(encoding="utf-8").replace("CC0\"", "CC BY 4.0\""), encoding="utf-8")
    after = cache.stage_keys(cfg, version="v")
    assert before["write_outputs"] != after["write_outputs"]
