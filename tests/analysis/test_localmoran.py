"""Local Moran's I of many maps at once gives esda's numbers, bit for bit (I, quadrant, pseudo p-value)."""

from __future__ import annotations

import warnings
from pathlib import Path

import esda
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from mapping.analysis.localmoran import moran_local_maps, permuted_ids
from mapping.analysis.spatial import local_moran, weights_from_neighbours
from mapping.geo import boundaries as bnd

ROOT = Path(__file__).resolve().parents[2]


def _lattice_weights(nx: int = 9, ny: int = 7):
    """SYNTHETIC: an nx x ny grid of unit squares (rook and queen neighbours from touching boundaries)."""
    cells = [{"region_code": f"R{i:02d}{j:02d}", "geometry": box(i, j, i + 1, j + 1)} for i in range(nx)
             for j in range(ny)]
    units = gpd.GeoDataFrame(cells, geometry="geometry", crs="EPSG:4326")
    w, _ = weights_from_neighbours(sorted(units["region_code"]), bnd.find_neighbours(units, tolerance_deg=0.01))
    return units, w


def _esda(y: np.ndarray, w, permutations: int, seed: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return esda.Moran_Local(y, w, permutations=permutations, seed=seed)


def _assert_as_esda(y: np.ndarray, w, permutations: int, seed: int) -> None:
    i_stat, quad, p = moran_local_maps(y, w, permutations=permutations, seed=seed)
    for j in range(y.shape[1]):
        m = _esda(y[:, j], w, permutations, seed)
        assert np.array_equal(m.Is, i_stat[:, j]), j
        assert np.array_equal(m.q, quad[:, j]), j
        if permutations:
            assert np.array_equal(m.p_sim, p[:, j]), (j, np.flatnonzero(m.p_sim != p[:, j]))
        else:
            assert p is None


@pytest.mark.parametrize("kind", ["continuous", "ties", "binary"])
def test_lattice_maps_are_esdas(kind):
    _, w = _lattice_weights()
    rng = np.random.default_rng(4)
    n = len(w.id_order)
    y = {"continuous": rng.lognormal(0, 1, (n, 12)),
         # Small integers and 0/1 maps: many permuted lags equal the observed one, where only the
         # summation order decides; those are recomputed with esda's own arithmetic.
         "ties": rng.integers(0, 3, (n, 12)).astype(float),
         "binary": (rng.random((n, 12)) < 0.15).astype(float)}[kind]
    _assert_as_esda(y, w, permutations=199, seed=42)


def test_irregular_neighbours_many_permutations_and_no_inference():
    units = bnd.load_boundaries(ROOT / "geodata" / "ru_regions.gpkg")
    w, _ = weights_from_neighbours(sorted(units["region_code"]), bnd.find_neighbours(units))
    rng = np.random.default_rng(8)
    y = rng.lognormal(0, 1, (len(w.id_order), 4))
    y[:, 0] = np.round(y[:, 0])
    _assert_as_esda(y, w, permutations=2999, seed=7)
    _assert_as_esda(y, w, permutations=0, seed=7)


def test_permutations_are_esdas_draws_and_leave_the_global_generator_alone():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    ids = permuted_ids(5, 40, 30, seed=9)
    assert np.array_equal(np.random.get_state()[1], before)
    np.random.seed(9)  # esda's vec_permutations without numba
    want = np.array([np.random.choice(39, size=5, replace=False) for _ in range(30)])
    assert np.array_equal(ids, want)


def test_local_moran_table_matches_esda_map_by_map():
    """The table's I, p and classes per region: esda per activity, on the regions with an LQ and geometry."""
    units, _ = _lattice_weights(8, 6)
    nb = bnd.find_neighbours(units, tolerance_deg=0.01)
    codes = list(units["region_code"]) + ["NOGEOM"]
    rng = np.random.default_rng(2)
    rows = []
    for a in range(6):
        for c in codes:
            v = float(rng.lognormal(0, 1))
            if a == 1 and rng.random() < 0.3:
                v = np.nan  # a map with gaps: its own weights
            if a == 2:
                v = 1.0  # constant: not significant, no statistic
            rows.append({"year": 2021, "indicator": "employment", "classification": "X", "level": "section",
                         "region_code": c, "activity_code": f"A{a}", "lq": v, "specialised": True})
    lq = pd.DataFrame(rows).sample(frac=1, random_state=3)
    res = local_moran(lq, units, nb, indicators=("employment",), level="section", year=2021, permutations=99,
                      seed=5, fdr_q=0.1)
    assert list(res["activity_code"].drop_duplicates()) == [f"A{a}" for a in range(6)]
    for a in range(6):
        got = res.loc[res["activity_code"] == f"A{a}"].set_index("region_code")
        assert list(got.index) == list(lq.loc[lq["activity_code"] == f"A{a}", "region_code"])  # input order
        assert got.at["NOGEOM", "hotspot"] == "no geometry"
        cell = lq.loc[(lq["activity_code"] == f"A{a}") & lq["lq"].notna() & (lq["region_code"] != "NOGEOM")]
        w, _ = weights_from_neighbours(sorted(cell["region_code"]), nb)
        y = cell.set_index("region_code")["lq"].reindex(w.id_order).to_numpy()
        if a == 2:
            assert (got.loc[list(w.id_order), "hotspot"] == "not significant").all()
            assert got["local_moran_i"].isna().all()
            continue
        m = _esda(y, w, 99, 5)
        assert np.array_equal(got.loc[list(w.id_order), "local_moran_i"].to_numpy(), m.Is)
        assert np.array_equal(got.loc[list(w.id_order), "local_moran_p"].to_numpy(), m.p_sim)
        if a == 1:
            missing = lq.loc[(lq["activity_code"] == "A1") & lq["lq"].isna() & (lq["region_code"] != "NOGEOM"),
                             "region_code"]
            assert (got.loc[list(missing), "hotspot"] == "no LQ").all()
