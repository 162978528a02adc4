"""Exact LQ bounds where region totals are equalities, published totals, per-indicator size floors.

Small synthetic tables (labelled as such); the bounds are checked against a brute-force search over
every vertex of the feasible set (the LQ is linear-fractional in the cells, so its extremes over a
polytope sit at vertices) and against random feasible points.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from mapping.analysis.location_quotient import (
    REASON_TOTAL_UNKNOWN,
    location_quotient_table,
    location_quotients,
)
from mapping.config import RoundingSection, SpecialisationSection

HALF = 0.02  # +- 2 % of the region's total: wide on purpose, so the bounds matter


def _table(values: dict, totals: dict) -> pd.DataFrame:
    """Synthetic GVA-like table: rounded shares x region total (``derived``) and the published totals."""
    rows = [{"year": 2021, "indicator": "gva", "unit": "m", "classification": "X", "level": "section",
             "region_code": r, "activity_code": a, "value": v, "flag": "derived", "source": ""}
            for (r, a), v in values.items()]
    rows += [{"year": 2021, "indicator": "gva", "unit": "m", "classification": "X", "level": "total",
              "region_code": r, "activity_code": "TOTAL", "value": t, "flag": "", "source": ""}
             for r, t in totals.items()]
    return pd.DataFrame(rows)


def _settings(**kw) -> SpecialisationSection:
    return SpecialisationSection(indicators=("gva",), exact_totals=("gva",),
                                 rounded=(RoundingSection(indicator="gva", half_width=HALF),), **kw)


def _vertices(lo: np.ndarray, hi: np.ndarray, total: float) -> np.ndarray:
    """Vertices of {lo <= x <= hi, sum x = total}: all coordinates but one at a bound, that one inside."""
    n = len(lo)
    out = []
    for free in range(n):
        others = [i for i in range(n) if i != free]
        for ends in itertools.product((0, 1), repeat=n - 1):
            x = np.empty(n)
            for i, e in zip(others, ends):
                x[i] = hi[i] if e else lo[i]
            x[free] = total - x[others].sum()
            if lo[free] - 1e-9 <= x[free] <= hi[free] + 1e-9:
                out.append(x)
    return np.unique(np.round(np.array(out), 9), axis=0)


def _brute(values, totals, regions, acts):
    """Min and max LQ of every cell over the product of the regions' vertex sets."""
    lo = {r: np.array([values[(r, a)] - HALF * totals[r] for a in acts]).clip(min=0) for r in regions}
    hi = {r: np.array([values[(r, a)] + HALF * totals[r] for a in acts]) for r in regions}
    verts = [_vertices(lo[r], hi[r], totals[r]) for r in regions]
    big_n = sum(totals.values())
    out = {}
    for combo in itertools.product(*verts):
        x = np.array(combo)  # regions x activities
        col = x.sum(axis=0)
        for i, r in enumerate(regions):
            for j, a in enumerate(acts):
                lq = (x[i, j] / totals[r]) / (col[j] / big_n) if col[j] > 0 else np.nan
                lo_, hi_ = out.get((r, a), (np.inf, -np.inf))
                out[(r, a)] = (min(lo_, lq), max(hi_, lq))
    return out, lo, hi


CASES = [
    # Published shares that sum to the totals exactly.
    ({("a", "p"): 30.0, ("a", "q"): 50.0, ("a", "s"): 20.0, ("b", "p"): 20.0, ("b", "q"): 100.0,
      ("b", "s"): 80.0, ("c", "p"): 5.0, ("c", "q"): 15.0, ("c", "s"): 30.0},
     {"a": 100.0, "b": 200.0, "c": 50.0}),
    # Rounded shares that do not (100.3 and 49.8): the totals are still the equalities.
    ({("a", "p"): 30.4, ("a", "q"): 49.9, ("a", "s"): 20.0, ("b", "p"): 1.0, ("b", "q"): 150.0,
      ("b", "s"): 49.0, ("c", "p"): 0.5, ("c", "q"): 9.3, ("c", "s"): 40.0},
     {"a": 100.0, "b": 200.0, "c": 50.0}),
]


@pytest.mark.parametrize("values,totals", CASES)
def test_bounds_with_equality_totals_are_exact(values, totals):
    lq, _ = location_quotient_table(_table(values, totals), _settings())
    lq = lq.set_index(["region_code", "activity_code"])
    assert set(lq["region_total_source"]) == {"published"}
    brute, lo, hi = _brute(values, totals, ["a", "b", "c"], ["p", "q", "s"])
    for cell, (blo, bhi) in brute.items():
        assert lq.at[cell, "lq_low"] == pytest.approx(blo, rel=1e-9), cell
        assert lq.at[cell, "lq_high"] == pytest.approx(bhi, rel=1e-9), cell
    # Random feasible tables never leave the bounds.
    rng = np.random.default_rng(0)
    regions, acts = ["a", "b", "c"], ["p", "q", "s"]
    big_n = sum(totals.values())
    for _ in range(400):
        x = []
        for r in regions:
            while True:
                y = rng.uniform(lo[r], hi[r])
                y[-1] = totals[r] - y[:-1].sum()
                if lo[r][-1] <= y[-1] <= hi[r][-1]:
                    break
            x.append(y)
        x = np.array(x)
        col = x.sum(axis=0)
        for i, r in enumerate(regions):
            for j, a in enumerate(acts):
                v = (x[i, j] / totals[r]) / (col[j] / big_n)
                assert lq.at[(r, a), "lq_low"] - 1e-9 <= v <= lq.at[(r, a), "lq_high"] + 1e-9


def test_point_lq_uses_the_published_total():
    values, totals = CASES[1]
    lq = location_quotients(_table(values, totals), published_totals=("gva",)).set_index(
        ["region_code", "activity_code"])
    nat_p = values[("a", "p")] + values[("b", "p")] + values[("c", "p")]
    assert lq.at[("a", "p"), "region_total"] == 100.0 and lq.at[("a", "p"), "national_total"] == 350.0
    assert lq.at[("a", "p"), "lq"] == pytest.approx((30.4 / 100.0) / (nat_p / 350.0))
    plain = location_quotients(_table(values, totals)).set_index(["region_code", "activity_code"])
    assert plain.at[("a", "p"), "region_total"] == pytest.approx(100.3)  # sum of the cells otherwise


def test_a_suppressed_cell_never_shrinks_the_region_total():
    t = _table({("a", "p"): 30.0, ("a", "q"): None, ("b", "p"): 20.0, ("b", "q"): 100.0}, {"a": 100.0, "b": 120.0})
    t.loc[t["value"].isna(), "flag"] = "suppressed"
    # Without a published total the region's total is unknown: its LQs are undefined, with the reason.
    lq = location_quotients(t).set_index(["region_code", "activity_code"])
    assert np.isnan(lq.at[("a", "p"), "lq"]) and lq.at[("a", "p"), "lq_reason"] == REASON_TOTAL_UNKNOWN
    assert lq.at[("a", "p"), "region_total_source"] == "partial sum (suppressed cell)"
    assert lq.at[("b", "p"), "lq"] == pytest.approx((20 / 120) / (50 / 150))
    # With the published total (GRP-like), a's p keeps its LQ on the full total.
    pub = location_quotients(t, published_totals=("gva",)).set_index(["region_code", "activity_code"])
    assert pub.at[("a", "p"), "region_total"] == 100.0
    assert pub.at[("a", "p"), "lq"] == pytest.approx((30 / 100) / (50 / 220))


def test_size_floors_per_indicator():
    rows = []
    for ind in ("gva", "shipments"):
        for (r, a), v in {("a", "p"): 3.0, ("a", "q"): 1.0, ("b", "p"): 10.0, ("b", "q"): 500.0}.items():
            rows.append({"year": 2021, "indicator": ind, "unit": "m", "classification": "X", "level": "section",
                         "region_code": r, "activity_code": a, "value": v, "flag": ""})
    lq = location_quotients(pd.DataFrame(rows), min_value={"gva": 5.0}).set_index(
        ["indicator", "region_code", "activity_code"])
    assert lq.at[("gva", "a", "p"), "lq"] > 2
    assert not lq.at[("gva", "a", "p"), "specialised"] and lq.at[("shipments", "a", "p"), "specialised"]
    s = _settings(min_share_of_national={"gva": 0.5})
    assert s.min_share_of_national == {"gva": 0.5}
    with pytest.raises(ValueError):
        SpecialisationSection(min_share_of_national={"gva": 1.5})


def test_default_gva_bounds_recomputed_from_the_data_file():
    """The 2021 GVA bounds of the default run, recomputed from ``data/ru_rosstat_2021.csv`` by the closed form.

    Cells are the printed share x GRP +- 0.05 pp of GRP (clipped at 0); with GRP fixed the LQ bounds are
    ``v_lo N / (T (v_lo + B_hi))`` and ``v_hi N / (T (v_hi + B_lo))``. The issue that asked for exact bounds
    counted, independently, 31 GVA cells of 2021 whose (general) bounds straddle 2, 11 of which the exact
    ones decide.
    """
    from pathlib import Path

    from mapping import pipeline
    from mapping.config import load_config

    root = Path(__file__).resolve().parents[2]
    raw = pd.read_csv(root / "data" / "ru_rosstat_2021.csv")
    raw = raw.loc[(raw["year"] == 2021) & (raw["indicator"] == "gva")]
    raw = raw.loc[~raw["region_code"].isin(["RU-ARK", "RU-TYU"])]  # the parts are analysed (nested_units)
    cells = raw.loc[raw["level"] == "section"].copy()
    grp = raw.loc[raw["level"] == "total"].set_index("region_code")["value"]
    cells["T"] = cells["region_code"].map(grp)
    hw = 0.0005 * cells["T"]
    cells["lo"], cells["hi"] = (cells["value"] - hw).clip(lower=0), cells["value"] + hw
    big_n = grp.sum()
    col_lo = cells.groupby("activity_code")["lo"].transform("sum")
    col_hi = cells.groupby("activity_code")["hi"].transform("sum")
    b_lo, b_hi = col_lo - cells["lo"], col_hi - cells["hi"]
    cells["low"] = np.where(cells["lo"] > 0, cells["lo"] * big_n / (cells["T"] * (cells["lo"] + b_hi)), 0.0)
    cells["high"] = cells["hi"] * big_n / (cells["T"] * (cells["hi"] + b_lo))
    nat = cells.groupby("activity_code")["value"].transform("sum")
    cells["lq"] = (cells["value"] / cells["T"]) / (nat / big_n)
    cells = cells.loc[nat > 0].set_index(["region_code", "activity_code"])

    cfg = load_config(root / "config" / "default.toml")
    analysis = pipeline.compute_location_quotients(pipeline.load_inputs(cfg), cfg)
    lq = analysis.lq
    got = lq.loc[(lq["year"] == 2021) & (lq["indicator"] == "gva") & lq["lq"].notna()].set_index(
        ["region_code", "activity_code"])
    assert len(got) == len(cells)
    for col, mine in (("lq", "lq"), ("lq_low", "low"), ("lq_high", "high")):
        np.testing.assert_allclose(got[col].to_numpy(), cells.loc[got.index, mine].to_numpy(), rtol=1e-9, err_msg=col)
    straddle = ((cells["low"] < 2) & (cells["high"] >= 2)).sum()
    e = analysis.uncertainty["exact_bounds"]["gva"]["2021"]
    assert e["straddle_exact"] == straddle == 20
    assert (e["straddle_general"], e["decided"]) == (31, 11)
