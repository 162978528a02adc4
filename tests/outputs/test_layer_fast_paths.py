"""The vectorised layer building and writing against the simple versions they replace, on small cases.

A large run has thousands of distinct candidate shapes and tens of thousands of rows, so the layers are
built in batches and written through Arrow; each batch path must give what the one-by-one path gives.
"""

from __future__ import annotations

import filecmp

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely import box

from mapping.errors import MappingError
from mapping.geo.boundaries import _rfc7946_geometry, rfc7946_geometries
from mapping.outputs import publish
from mapping.outputs.statusmix import CONTRACT_STATUSES, STATUS_LABELS, mix_label, region_divergence, status_mix
from mapping.outputs.styles import _num, _semi, _titles


def _shapes() -> list:
    ring = shapely.Polygon(box(0, 0, 10, 10).exterior.coords[::-1], [box(2, 2, 3, 3).exterior.coords])  # CW + hole
    return [
        box(170, 0, 190.1234567, 10),  # crosses 180: split
        box(-185, 5, -175, 6),  # crosses -180
        ring,
        shapely.MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3.00000049, 3)]),
        # Two squares 3e-7 apart: rounded to 6 decimals they share an edge (invalid), so the repair path runs.
        shapely.MultiPolygon([box(0, 0, 1.0000006, 1), box(1.0000009, 0, 2, 1)]),
        box(30.123456789, 40.987654321, 31, 42),
    ]


def test_rfc7946_geometries_equal_the_one_by_one_conversion():
    shapes = _shapes()
    snapped = shapely.transform(np.array(shapes, dtype=object), lambda c: np.round(c, 6))
    assert not shapely.is_valid(snapped).all(), "the case must exercise the repair path"
    out = rfc7946_geometries(shapes, codes=[f"s{i}" for i in range(len(shapes))])
    for i, (g, got) in enumerate(zip(shapes, out)):
        want = _rfc7946_geometry(g, 6, f"s{i}")
        assert got.wkb == want.wkb, i
        assert got.geom_type == "MultiPolygon" and got.is_valid


def test_rfc7946_geometries_name_the_shape_that_vanishes():
    with pytest.raises(MappingError, match="tiny.*empty"):
        rfc7946_geometries([box(0, 0, 1, 1), box(5, 5, 5 + 1e-8, 5 + 1e-8)], codes=["ok", "tiny"])
    assert len(rfc7946_geometries([])) == 0


def _region_divergence_simple(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per region, the mix, the activities per status and the cluster ids, computed group by group."""
    rows = []
    for code, g in pairs.sort_values(["region_code", "activity_code"]).groupby("region_code"):
        row = {"region_code": code, "status_mix": status_mix(g["status"])}
        for s in CONTRACT_STATUSES:
            row[f"activities_{s}"] = ";".join(g.loc[g["status"] == s, "activity_code"])
        row["supported_cluster_ids"] = ";".join(sorted({i for x in g["supported_cluster_ids"]
                                                        for i in str(x).split(";") if i and i != "nan"}))
        rows.append(row)
    return pd.DataFrame(rows)


def test_region_divergence_equals_the_group_by_group_version():
    rng = np.random.default_rng(3)
    n = 300
    pairs = pd.DataFrame({
        "region_code": rng.choice([f"R{i:02d}" for i in range(40)], n),
        "activity_code": [f"A{i:03d}" for i in rng.permutation(n)],
        "status": rng.choice(CONTRACT_STATUSES, n),
        "year": 2023, "classification": "X", "level": "division",
        "lq_max": rng.uniform(0, 3, n),
        "supported_cluster_ids": rng.choice(["", "C1", "C2;C1", "C3", np.nan], n),
    })
    got = region_divergence(pairs)
    want = _region_divergence_simple(pairs)
    assert got["status_mix"].nunique() > 5
    cols = list(want.columns)
    pd.testing.assert_frame_equal(got[cols].astype(object), want.astype(object), check_dtype=False)


def _titles_simple(gdf: pd.DataFrame, kind: str) -> tuple[list[str], list[str]]:
    """The titles row by row from ``to_dict("records")``."""
    titles, descs = [], []
    for r in gdf.to_dict("records"):
        if kind == "divergence":
            titles.append(f"{r['region_name_en']} ({r['region_name']}): {mix_label(r['status_mix'])}")
            counts = "; ".join(f"{STATUS_LABELS[s][0]}: {r[f'n_{s}']}" for s in CONTRACT_STATUSES if r[f"n_{s}"])
            descs.append(f"{r['n_pairs']} region × activity pairs ({counts}); year {r['year']}; "
                         f"details in divergence_pairs.csv (region_code {r['region_code']})")
        elif kind == "supported_clusters":
            titles.append(f"{r['name_en']} ({r['name_ru']})")
            descs.append(f"status: {r['status']}; regions: {_semi(r['region_names'])}; activities: "
                         f"{_semi(r['cluster_activity_codes'])}; best LQ: {_num(r['best_lq'])}; "
                         f"programme {r['programme']}")
        else:
            titles.append(f"Candidate {r.get('candidate_id', '')}: {_semi(r['activity_names_en'])}")
            descs.append(f"group {r['group_id']}: {r.get('group_name', '')}; regions: {_semi(r['region_names_en'])}; "
                         f"max LQ: {_num(r['max_lq'])}; "
                         f"supported clusters: {_semi(r['supported_cluster_ids']) or 'none'}")
    return titles, descs


def test_titles_equal_the_row_by_row_version():
    div = pd.DataFrame({"region_name_en": ["A", "B"], "region_name": ["А", None],
                        "status_mix": ["aligned", "aligned+no_data"],
                        "n_pairs": [3, 2], "year": [2023, 2023], "region_code": ["R1", "R2"],
                        **{f"n_{s}": [3 if s == "aligned" else 0, 1 if s in ("aligned", "no_data") else 0]
                           for s in CONTRACT_STATUSES}})
    sup = pd.DataFrame({"name_en": ["C"], "name_ru": ["К"], "status": ["aligned"], "region_names": ["a;b"],
                        "cluster_activity_codes": ["1;2"], "best_lq": [np.nan], "programme": ["p"]})
    cand = pd.DataFrame({"candidate_id": ["G1:R1", "G2:R2"], "activity_names_en": ["x;y", ""], "group_id": ["G1", "G2"],
                         "group_name": ["X", "Y"], "region_names_en": ["A", "B;C"], "max_lq": [1.23456, 7.0],
                         "supported_cluster_ids": ["", "C1;C2"]})
    for gdf, kind in ((div, "divergence"), (sup, "supported_clusters"), (cand, "candidate_clusters"),
                      (cand.drop(columns=["candidate_id", "group_name"]), "candidate_clusters")):
        assert _titles(gdf, kind) == _titles_simple(gdf, kind), kind


@pytest.fixture
def awkward_layer() -> gpd.GeoDataFrame:
    """Every property type a layer has, with missing values, escapes, big integers and a mixed geometry type."""
    return gpd.GeoDataFrame({
        "id": ["a", "b", "c"], "f": [1.5, np.nan, 0.1], "i": np.array([1, 2, 3]), "big": np.array([1, 2**40, 3]),
        "b": [True, False, True], "s": ["x", "", 'Tätigkeit × "q" / \\ \n\t é'],
        "sn": pd.Series(["x", None, "z"], dtype="str"), "o": pd.Series([["a", "b"], None, np.nan], dtype=object),
        "neg0": [-0.0, 1e-7, 1e20],
    }, geometry=[shapely.MultiPolygon([box(170, -1e-7, 179.999999, 1)]), box(0, 0, 1, 1), None], crs=4326)


def test_geojson_written_through_arrow_is_the_feature_by_feature_file(awkward_layer, tmp_path, monkeypatch):
    if not publish._USE_ARROW:
        pytest.skip("GDAL < 3.8: layers are written feature by feature")
    (tmp_path / "arrow").mkdir()
    (tmp_path / "features").mkdir()  # the same file name: GDAL writes it into the file as the layer name
    publish.write_geojson(awkward_layer, tmp_path / "arrow" / "layer.geojson", id_column="id")
    monkeypatch.setattr(publish, "_USE_ARROW", False)
    publish.write_geojson(awkward_layer, tmp_path / "features" / "layer.geojson", id_column="id")
    assert filecmp.cmp(tmp_path / "arrow" / "layer.geojson", tmp_path / "features" / "layer.geojson", shallow=False)


def test_geopackage_written_through_arrow_reads_back_the_same(awkward_layer, tmp_path, monkeypatch):
    if not publish._USE_ARROW:
        pytest.skip("GDAL < 3.8: layers are written feature by feature")
    layer = awkward_layer.iloc[:2].to_crs(3035)  # a Polygon and a MultiPolygon: promoted to one type
    table = pd.DataFrame(awkward_layer.drop(columns="geometry"))
    publish.write_geopackage({"l": layer}, tmp_path / "arrow.gpkg", tables={"t": table})
    monkeypatch.setattr(publish, "_USE_ARROW", False)
    publish.write_geopackage({"l": layer}, tmp_path / "features.gpkg", tables={"t": table})
    for name in ("l", "t"):
        a, b = (pyogrio.read_dataframe(tmp_path / f, layer=name) for f in ("arrow.gpkg", "features.gpkg"))
        assert pyogrio.read_info(tmp_path / "arrow.gpkg", layer=name)["geometry_type"] == \
            pyogrio.read_info(tmp_path / "features.gpkg", layer=name)["geometry_type"]
        if "geometry" in a:
            assert list(a.geom_type) == ["MultiPolygon"] * 2
            a, b = a.to_wkb(), b.to_wkb()
        pd.testing.assert_frame_equal(a, b)
