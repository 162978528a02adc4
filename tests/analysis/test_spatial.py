"""Local Moran's I hot spots: a planted SYNTHETIC lattice, islands, and the real unsplit Russian boundaries."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from mapping.analysis.spatial import local_moran, weights_from_neighbours
from mapping.geo import boundaries as bnd

ROOT = Path(__file__).resolve().parents[2]


def _lattice(n=6):
    """SYNTHETIC: an n x n grid of unit squares plus one detached square ("ISL") and a unit without geometry."""
    cells = [{"region_code": f"R{i}{j}", "geometry": box(i, j, i + 1, j + 1)} for i in range(n) for j in range(n)]
    cells.append({"region_code": "ISL", "geometry": box(n + 5, n + 5, n + 6, n + 6)})
    return gpd.GeoDataFrame(cells, geometry="geometry", crs="EPSG:4326")


def _lq(units, values):
    rows = [{"year": 2021, "indicator": "employment", "classification": "X", "level": "section",
             "region_code": c, "activity_code": "p", "lq": v, "specialised": bool(v >= 2)} for c, v in values.items()]
    return pd.DataFrame(rows)


def test_planted_hot_spot_islands_and_missing_units_are_stated():
    units = _lattice()
    nb = bnd.find_neighbours(units, tolerance_deg=0.01)
    rng = np.random.default_rng(3)
    values = {c: float(rng.uniform(0.5, 1.0)) for c in units["region_code"]}
    for c in ("R00", "R01", "R10", "R11", "R02", "R20"):  # planted high corner
        values[c] = 4.0
    values["R55"] = np.nan  # no LQ
    values["NOGEOM"] = 3.0  # a unit without geometry (like Crimea in the default data)
    res = local_moran(_lq(units, values), units, nb, indicators=("employment",), level="section", year=2021,
                      permutations=999, seed=1).set_index("region_code")
    assert res.at["R00", "hotspot"] == "HH" and res.at["R11", "hotspot"] == "HH"
    assert res.at["R00", "local_moran_i"] > 0 and res.at["R00", "local_moran_p"] < 0.05
    assert res.at["ISL", "hotspot"] == "island" and np.isnan(res.at["ISL", "local_moran_i"])
    assert res.at["NOGEOM", "hotspot"] == "no geometry"
    assert res.at["R55", "hotspot"] == "no LQ"
    assert res.at["R44", "hotspot"] in ("not significant", "LL")


def test_weights_leave_out_islands_and_need_three_regions():
    nb = pd.DataFrame({"region_code": ["a", "b"], "neighbour_code": ["b", "a"]})
    w, islands = weights_from_neighbours(["a", "b", "c"], nb)
    assert w is None and islands == ["c"]


def test_russian_islands_and_unsplit_chukotka():
    units = bnd.load_boundaries(ROOT / "geodata" / "ru_regions.gpkg")
    nb = bnd.find_neighbours(units)
    codes = list(units["region_code"])
    w, islands = weights_from_neighbours(codes, nb)
    assert {"RU-KGD", "RU-SAK"} <= set(islands)
    assert set(w.neighbors["RU-CHU"]) >= {"RU-MAG", "RU-SA"}  # one region across 180 degrees
    values = {c: 1.0 + (c in ("RU-KGD", "RU-SAK")) for c in codes}
    values["RU-TA"] = 3.0
    res = local_moran(_lq(units, values), units, nb, indicators=("employment",), level="section", year=2021,
                      permutations=99).set_index("region_code")
    assert res.at["RU-KGD", "hotspot"] == "island" and res.at["RU-SAK", "hotspot"] == "island"
    assert res["hotspot"].notna().all() and len(res) == len(codes)


def test_whole_matrix_helpers_match_the_column_by_column_versions():
    from mapping.analysis.significance import bh_adjust
    from mapping.analysis.spatial import _varies, bh_adjust_columns

    rng = np.random.default_rng(7)
    # p-values with ties (as permutation p-values have), one family per column
    p = rng.integers(1, 100, (40, 9)) / 100.0
    want = np.column_stack([bh_adjust(p[:, k]) for k in range(p.shape[1])])
    assert np.array_equal(bh_adjust_columns(p), want)
    p[3, 2] = np.nan  # not finite: column by column
    want = np.column_stack([bh_adjust(p[:, k]) for k in range(p.shape[1])])
    assert np.array_equal(bh_adjust_columns(p), want, equal_nan=True)
    # constant columns (0.1 repeated: its computed std may be positive), an infinite value, varying columns
    vals = np.column_stack([np.full(300, 0.1), np.full(300, 2.0), rng.lognormal(size=300),
                            np.r_[np.inf, rng.lognormal(size=299)], np.r_[1.0, np.full(299, 1.0 + 2e-16)]])
    want = np.array([np.nanstd(np.ascontiguousarray(vals[:, k])) > 0 for k in range(vals.shape[1])])
    assert np.array_equal(_varies(vals), want)
