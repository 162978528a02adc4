"""Tests for mapping.boundaries and the committed boundary files built by scripts/build_boundaries.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import box

from mapping.errors import MappingError
from mapping.geo.boundaries import (
    find_neighbours,
    load_boundaries,
    split_antimeridian,
    to_rfc7946,
)

ROOT = Path(__file__).resolve().parents[2]
RU_FILE = ROOT / "geodata" / "ru_regions.gpkg"
US_FILE = ROOT / "geodata" / "us_states.gpkg"
DCW_FILE = Path("/usr/share/gmt-dcw/dcw-gmt.nc")


@pytest.fixture(scope="module")
def ru() -> gpd.GeoDataFrame:
    return load_boundaries(RU_FILE)


@pytest.fixture(scope="module")
def us() -> gpd.GeoDataFrame:
    return load_boundaries(US_FILE)


@pytest.fixture(scope="module")
def ru_neighbours(ru) -> dict[str, set[str]]:
    n = find_neighbours(ru)
    return {c: set(g["neighbour_code"]) for c, g in n.groupby("region_code")}


@pytest.fixture(scope="module")
def us_neighbours(us) -> dict[str, set[str]]:
    n = find_neighbours(us)
    return {c: set(g["neighbour_code"]) for c, g in n.groupby("region_code")}


def _geom(gdf: gpd.GeoDataFrame, code: str):
    return gdf.loc[gdf["region_code"] == code].geometry.iloc[0]


# --- committed files -------------------------------------------------------------------------

def test_ru_file_has_83_valid_subjects(ru):
    assert RU_FILE.stat().st_size <= 3_000_000
    assert ru.crs.to_epsg() == 4326
    assert len(ru) == 83 and ru["region_code"].is_unique
    assert ru["region_code"].str.fullmatch(r"RU-[A-Z]{2,3}").all()
    assert {"name_en", "dcw_code"} <= set(ru.columns)
    assert (~ru.geometry.is_empty).all() and ru.geometry.is_valid.all()
    assert (ru.geom_type == "MultiPolygon").all()
    assert _geom(ru, "RU-MOW") is not None and "RU-CR" not in set(ru["region_code"])


def test_ru_chukotka_stored_unsplit(ru):
    minx, _, maxx, _ = _geom(ru, "RU-CHU").bounds
    assert minx < 180 < maxx and maxx == pytest.approx(190.34, abs=0.01)
    others = ru.loc[ru["region_code"] != "RU-CHU"]
    assert others.total_bounds[2] <= 180 and others.total_bounds[0] >= -180


def test_ru_regions_form_a_coverage(ru):
    assert shapely.coverage_is_valid(ru.geometry.values)


@pytest.mark.parametrize("a, b", [("RU-MOW", "RU-MOS"), ("RU-SPE", "RU-LEN"), ("RU-ARK", "RU-NEN"),
                                  ("RU-TYU", "RU-KHM"), ("RU-KHM", "RU-YAN"), ("RU-CHU", "RU-MAG")],
                         ids=lambda v: v)
def test_neighbours_share_border_without_overlap(ru, a, b):
    ga, gb = _geom(ru, a), _geom(ru, b)
    assert ga.intersection(gb).area < 1e-9 * min(ga.area, gb.area)
    assert ga.boundary.intersection(gb.boundary).length > 0


def test_ark_excludes_nenets_and_tyumen_excludes_okrugs(ru):
    # DCW's Arkhangelsk Oblast is the oblast WITHOUT the Nenets AO; Tyumen WITHOUT KHM and YAN.
    assert _geom(ru, "RU-ARK").intersection(_geom(ru, "RU-NEN")).area < 1e-9
    assert _geom(ru, "RU-TYU").intersection(_geom(ru, "RU-KHM")).area < 1e-9
    assert _geom(ru, "RU-TYU").distance(_geom(ru, "RU-YAN")) > 1.0


def test_spe_neighbours_len(ru_neighbours):
    assert "RU-LEN" in ru_neighbours["RU-SPE"]


def test_mow_neighbours_only_mos(ru_neighbours):
    assert ru_neighbours["RU-MOW"] == {"RU-MOS"}


@pytest.mark.parametrize("code", ["RU-KGD", "RU-SAK"])
def test_exclaves_and_islands_have_no_neighbours(ru_neighbours, code):
    assert code not in ru_neighbours


def test_chukotka_neighbours_from_unsplit_shape(ru_neighbours):
    assert ru_neighbours["RU-CHU"] == {"RU-KAM", "RU-MAG", "RU-SA"}


def test_neighbour_pairs_symmetric_sorted_no_self(ru):
    n = find_neighbours(ru)
    assert list(n.columns) == ["region_code", "neighbour_code"]
    assert (n["region_code"] != n["neighbour_code"]).all()
    pairs = set(zip(n["region_code"], n["neighbour_code"]))
    assert pairs == {(b, a) for a, b in pairs}
    assert n.equals(n.sort_values(["region_code", "neighbour_code"]).reset_index(drop=True))


def test_us_file(us, us_neighbours):
    assert US_FILE.stat().st_size <= 1_500_000
    assert len(us) >= 50 and us["region_code"].is_unique and us["region_code"].str.startswith("US-").all()
    assert us.geometry.is_valid.all() and (~us.geometry.is_empty).all()
    assert shapely.coverage_is_valid(us.geometry.values)
    assert us_neighbours["US-CA"] == {"US-OR", "US-NV", "US-AZ"}
    assert "US-AK" not in us_neighbours and "US-HI" not in us_neighbours


def test_us_alaska_unsplit_west_of_minus_180(us):
    minx, _, maxx, _ = _geom(us, "US-AK").bounds
    assert minx < -180 < maxx < -129
    others = us.loc[us["region_code"] != "US-AK"]
    assert others.total_bounds[0] >= -180 and others.total_bounds[2] <= 0


# --- split_antimeridian / to_rfc7946 ---------------------------------------------------------

@pytest.mark.parametrize("square", [box(175, 0, 185, 10), box(-185, 0, -175, 10)], ids=["east", "west"])
def test_split_antimeridian_square(square):
    out = split_antimeridian(square)
    assert out.is_valid and out.geom_type == "MultiPolygon" and len(out.geoms) == 2
    xy = shapely.get_coordinates(out)
    assert np.abs(xy[:, 0]).max() <= 180
    assert sorted(p.bounds for p in out.geoms) == [(-180, 0, -175, 10), (175, 0, 180, 10)]
    assert out.area == pytest.approx(square.area)


def test_split_antimeridian_leaves_normal_geometry_unchanged():
    g = box(10, 10, 20, 20)
    assert split_antimeridian(g).equals_exact(g, 0)


def test_split_antimeridian_rejects_lines():
    with pytest.raises(MappingError, match="expected Polygon or MultiPolygon"):
        split_antimeridian(shapely.LineString([(170, 0), (190, 0)]))


def _max_edge_span(geom) -> float:
    spans = [np.abs(np.diff(np.asarray(r.coords)[:, 0])).max()
             for p in geom.geoms for r in [p.exterior, *p.interiors]]
    return max(spans)


def test_to_rfc7946_chukotka(ru):
    out = to_rfc7946(ru.loc[ru["region_code"] == "RU-CHU"])
    g = out.geometry.iloc[0]
    assert g.is_valid and g.geom_type == "MultiPolygon"
    xy = shapely.get_coordinates(g)
    assert xy[:, 0].min() == -180 and xy[:, 0].max() == 180
    assert (xy[:, 0] < -169).any() and (xy[:, 0] > 158).any()
    assert np.array_equal(xy, np.round(xy, 6))
    assert _max_edge_span(g) < 180
    for p in g.geoms:
        assert p.exterior.is_ccw
        assert not any(r.is_ccw for r in p.interiors)
    assert g.area == pytest.approx(_geom(ru, "RU-CHU").area, rel=1e-6)


def test_to_rfc7946_all_regions_valid(ru):
    out = to_rfc7946(ru)
    assert out.geometry.is_valid.all() and len(out) == len(ru)
    assert list(out.columns) == list(ru.columns)
    xy = shapely.get_coordinates(out.geometry.values)
    assert np.abs(xy[:, 0]).max() <= 180


def test_to_rfc7946_holes_clockwise():
    square = shapely.Polygon(box(0, 0, 10, 10).exterior.coords[::-1], [box(2, 2, 3, 3).exterior.coords])
    g = to_rfc7946(gpd.GeoDataFrame({"region_code": ["X"]}, geometry=[square], crs=4326)).geometry.iloc[0]
    assert g.geoms[0].exterior.is_ccw and not g.geoms[0].interiors[0].is_ccw


def test_to_rfc7946_raises_when_geometry_vanishes():
    tiny = gpd.GeoDataFrame({"region_code": ["X"]}, geometry=[box(0, 0, 1e-8, 1e-8)], crs=4326)
    with pytest.raises(MappingError, match="X.*empty"):
        to_rfc7946(tiny)


def test_to_rfc7946_rejects_projected_crs():
    g = gpd.GeoDataFrame({"region_code": ["X"]}, geometry=[box(0, 0, 1, 1)], crs=3857)
    with pytest.raises(MappingError, match="EPSG:4326"):
        to_rfc7946(g)


# --- errors ----------------------------------------------------------------------------------

def test_load_boundaries_missing_file(tmp_path):
    with pytest.raises(MappingError, match="not found"):
        load_boundaries(tmp_path / "nope.gpkg")


def test_load_boundaries_duplicate_codes(tmp_path):
    p = tmp_path / "dup.gpkg"
    gpd.GeoDataFrame({"region_code": ["A", "A"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
                     crs=4326).to_file(p, layer="regions")
    with pytest.raises(MappingError, match=r"dup\.gpkg.*'A' appears 2 times"):
        load_boundaries(p)


def test_load_boundaries_wrong_crs_and_missing_column(tmp_path):
    p = tmp_path / "m.gpkg"
    gpd.GeoDataFrame({"region_code": ["A"]}, geometry=[box(0, 0, 1, 1)], crs=3857).to_file(p, layer="regions")
    with pytest.raises(MappingError, match=r"m\.gpkg: CRS must be EPSG:4326"):
        load_boundaries(p)
    q = tmp_path / "c.gpkg"
    gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(0, 0, 1, 1)], crs=4326).to_file(q, layer="regions")
    with pytest.raises(MappingError, match=r"c\.gpkg: missing column.*region_code"):
        load_boundaries(q)


def test_find_neighbours_tolerance():
    g = gpd.GeoDataFrame({"region_code": ["A", "B", "C"]},
                         geometry=[box(0, 0, 1, 1), box(1.005, 0, 2, 1), box(5, 5, 6, 6)], crs=4326)
    assert find_neighbours(g).values.tolist() == [["A", "B"], ["B", "A"]]
    assert find_neighbours(g, tolerance_deg=0).empty
    with pytest.raises(MappingError, match="tolerance_deg must be >= 0"):
        find_neighbours(g, tolerance_deg=-1)


# --- build script ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def build_module():
    if not DCW_FILE.is_file():
        pytest.skip(f"{DCW_FILE} absent: install Debian package gmt-dcw to test the decoder")
    pytest.importorskip("h5py")
    spec = importlib.util.spec_from_file_location("build_boundaries", ROOT / "scripts" / "build_boundaries.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses resolve string annotations through sys.modules
    spec.loader.exec_module(mod)
    yield mod
    sys.modules.pop(spec.name, None)


def test_decoder_matches_committed_file(build_module, ru):
    import h5py

    with h5py.File(DCW_FILE, "r") as nc:
        mow = build_module.decode_region(nc, "RUMOW")
        chu, repaired = build_module.repair(build_module.decode_region(nc, "RUCHU"))
    assert mow.is_valid and repaired and chu.is_valid
    assert chu.bounds[2] == pytest.approx(190.34, abs=0.01)
    assert _geom(ru, "RU-MOW").area == pytest.approx(mow.area, rel=0.01)
    assert _geom(ru, "RU-CHU").area == pytest.approx(chu.area, rel=0.01)


def test_build_country_names(build_module):
    names = dict(build_module.read_state_names(DCW_FILE.with_name("dcw-states.txt"), "RU"))
    assert len(names) == 83 and build_module.english_name(names["MOW"]) == "Moscow"
