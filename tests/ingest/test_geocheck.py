"""``clustermap check`` on the geodata: registries, boundaries and their fit (mapping/ingest/geocheck.py).

Boundary and registry files are synthetic, written by the tests.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely import box

from mapping.config import RunConfig
from mapping.errors import MappingError
from mapping.ingest.geocheck import check_geodata

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, *, boundaries: Path, id_column: str = "region_code", labels: str = "") -> RunConfig:
    regs = tmp_path / "regions.csv"
    regs.write_text("region_code,name,name_en,group\nZZ,Zland,Zland,\nZZ1,One,One,ZZ\nZZ2,Two,Two,ZZ\n"
                    "ZZ3,Three,Three,ZZ\n", encoding="utf-8")
    lab = tmp_path / "labels.csv"
    lab.write_text("region_code,label,source\n" + labels, encoding="utf-8")
    acts = tmp_path / "acts.csv"
    acts.write_text("classification,code,level,parent_code,name\nNACE2,C,section,,Manufacturing\n", encoding="utf-8")
    return RunConfig.model_validate({"inputs": [{"path": str(tmp_path / "data.csv")}], "geodata": {
        "regions": str(regs), "region_labels": str(lab), "activities": str(acts), "boundaries": str(boundaries),
        "boundary_id_column": id_column, "supported_clusters": None}})


def _boundaries(path: Path, ids: list[str], column: str = "region_code") -> Path:
    gpd.GeoDataFrame({column: ids}, geometry=[box(i, 0, i + 1, 1) for i in range(len(ids))],
                     crs=4326).to_file(path)
    return path


def test_fitting_geodata_pass_with_warnings(tmp_path):
    b = _boundaries(tmp_path / "b.geojson", ["ZZ1", "ZZ2", "QQ9"], column="NUTS_ID")
    got = check_geodata(_config(tmp_path, boundaries=b, id_column="NUTS_ID"), ["ZZ1", "ZZ2"])
    assert got.unused_boundaries == ["QQ9"] and got.without_geometry == []
    assert any("b.geojson (id column 'NUTS_ID')" in ln for ln in got.lines)
    # ZZ3 claims a boundary (default) that the file lacks: an error naming the file and column.
    with pytest.raises(MappingError, match=r"region ZZ3: boundary id\(s\) ZZ3 not in .*b\.geojson \(id column 'NUTS_ID'\)"):
        check_geodata(_config(tmp_path, boundaries=b, id_column="NUTS_ID"), ["ZZ1", "ZZ2", "ZZ3"])


def test_unusable_boundaries_fail_check(tmp_path):
    b = _boundaries(tmp_path / "b.gpkg", ["A", "B", "C"])
    with pytest.raises(MappingError, match=r"none of the 1 analysed regions has a geometry in .*b\.gpkg"):
        check_geodata(_config(tmp_path, boundaries=b), ["ZZ1"])
    with pytest.raises(MappingError, match=r"b\.gpkg: missing column.*'code'"):
        check_geodata(_config(tmp_path, boundaries=b, id_column="code"), ["ZZ1"])


def test_label_conflict_fails_check_naming_the_label_file(tmp_path):
    b = _boundaries(tmp_path / "b.gpkg", ["ZZ1", "ZZ2", "ZZ3"])
    cfg = _config(tmp_path, boundaries=b, labels="ZZ2,one,variant\n")
    with pytest.raises(MappingError, match=r"labels\.csv row 2"):
        check_geodata(cfg, ["ZZ1"])


def test_default_geodata_pass(tmp_path):
    from mapping.config import load_config

    got = check_geodata(load_config(ROOT / "config" / "default.toml"))
    assert got.unused_boundaries == []
    assert {"RU-X-CR", "RU-X-SEV"} <= set(got.without_geometry)
