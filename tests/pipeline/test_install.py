"""``pip install`` of the built wheel into a fresh virtual environment, used from an unrelated folder.

Runs ``scripts/check_install.py``: build the wheel, install it (dependencies from the package index),
then ``clustermap --version``, ``clustermap check --input`` and ``clustermap run`` from an empty folder,
which must publish ``./outputs/latest`` with the bundled registries, boundaries, config and data.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_wheel_installs_and_runs_from_an_unrelated_folder(tmp_path):
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_install.py"), "--keep", str(tmp_path / "w")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=3600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    latest = tmp_path / "w" / "elsewhere" / "outputs" / "latest"
    assert "published" in res.stdout and (latest / "manifest.json").is_file()
    wheel = next((tmp_path / "w" / "dist").glob("clustermap-*.whl"))
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("mapping/_bundled/config/default.toml", "mapping/_bundled/geodata/regions.csv",
                   "mapping/_bundled/geodata/ru_regions.gpkg", "mapping/_bundled/geodata/BOUNDARIES.md",
                   "mapping/_bundled/data/ru_rosstat_2021.csv", "mapping/_bundled/data/README.md"):
        assert needed in names, needed
