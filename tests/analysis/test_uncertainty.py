"""Bounds on cells and LQs: rounding, suppressed cells bounded by known totals, ranges, small counts."""

import numpy as np
import pandas as pd
import pytest

from mapping.analysis.location_quotient import location_quotients
from mapping.analysis.uncertainty import (
    RoundingRule,
    cell_bounds,
    lq_bounds,
    poisson_lq_interval,
    prepare_cells,
    tighten_bounds,
)


def _t(cells, indicator="employment", totals=None, flags=None, lows=None, highs=None, level="section"):
    """cells: {(region, activity): value or None}; totals: {region: total row value}."""
    rows = []
    for (r, a), v in cells.items():
        rows.append({"year": 2021, "indicator": indicator, "unit": "persons", "classification": "X", "level": level,
                     "region_code": r, "activity_code": a, "value": v,
                     "flag": (flags or {}).get((r, a), "" if v is not None else "suppressed"),
                     "value_low": (lows or {}).get((r, a), np.nan), "value_high": (highs or {}).get((r, a), np.nan)})
    for r, v in (totals or {}).items():
        rows.append({"year": 2021, "indicator": indicator, "unit": "persons", "classification": "X", "level": "total",
                     "region_code": r, "activity_code": "TOTAL", "value": v, "flag": "", "value_low": np.nan,
                     "value_high": np.nan})
    df = pd.DataFrame(rows)
    df["value"] = df["value"].astype(float)
    return df


def _lq(df, **kw):
    cells, info = prepare_cells(df, **kw)
    return lq_bounds(location_quotients(cells)).set_index(["region_code", "activity_code"]), info


def test_rounded_share_gives_half_width_of_the_region_total():
    # GVA-style: a share printed to 0.1 pp of a region total of 1000 -> +-0.5.
    t = _t({("a", "p"): 123.0, ("a", "q"): 877.0}, indicator="gva", totals={"a": 1000.0},
           flags={("a", "p"): "derived", ("a", "q"): "derived"})
    b = cell_bounds(t, (RoundingRule("gva", "derived", 0.0005, "region_total"),)).set_index("activity_code")
    assert (b.at["p", "value_low"], b.at["p", "value_high"]) == pytest.approx((122.5, 123.5))
    assert b.at["TOTAL", "value_low"] == b.at["TOTAL", "value_high"] == 1000.0
    zero = _t({("a", "p"): 0.0}, indicator="gva", totals={"a": 1000.0}, flags={("a", "p"): "derived"})
    bz = cell_bounds(zero, (RoundingRule("gva"),)).iloc[0]
    assert (bz["value_low"], bz["value_high"]) == (0.0, 0.5)  # a printed 0.0 is below 0.05 pp


def test_suppressed_cell_bounded_by_region_total_and_siblings():
    # Region a: p suppressed, q = 30, r = 50; exact total 100 -> p = 20 exactly.
    t = _t({("a", "p"): None, ("a", "q"): 30.0, ("a", "r"): 50.0}, totals={"a": 100.0})
    cells, info = tighten_bounds(cell_bounds(t), exact_totals=("employment",))
    p = cells.set_index("activity_code").loc["p"]
    assert (p["value_low"], p["value_high"]) == pytest.approx((20.0, 20.0))
    # The total only an upper bound (not exact): 0 <= p <= 20.
    cells, _ = tighten_bounds(cell_bounds(t))
    p = cells.set_index("activity_code").loc["p"]
    assert (p["value_low"], p["value_high"]) == pytest.approx((0.0, 20.0))


def test_two_suppressed_cells_share_the_national_residual():
    # Activity p: a = 60, b and c suppressed, national total 100 -> b, c in [0, 40]; one bounded
    # from below by its region total (b's region: exact total 35, q = 10 -> b = 25), then c = 15.
    t = _t({("a", "p"): 60.0, ("b", "p"): None, ("c", "p"): None, ("a", "q"): 5.0, ("b", "q"): 10.0,
            ("c", "q"): 7.0}, totals={"b": 35.0})
    known = pd.DataFrame({"year": [2021], "indicator": ["employment"], "classification": ["X"], "level": ["section"],
                          "activity_code": ["p"], "value": [100.0], "flag": [""], "region_code": ["XX"]})
    cells, info = tighten_bounds(cell_bounds(t), exact_totals=("employment",), known_totals=known, known_tolerance=0)
    b = cells.set_index(["region_code", "activity_code"])
    assert (b.at[("b", "p"), "value_low"], b.at[("b", "p"), "value_high"]) == pytest.approx((25.0, 25.0))
    assert (b.at[("c", "p"), "value_low"], b.at[("c", "p"), "value_high"]) == pytest.approx((15.0, 15.0))
    assert info["national_total"] >= 1 and info["region_total"] >= 1


def test_parent_activity_bounds_its_suppressed_children():
    acts = pd.DataFrame({"classification": "X", "code": ["P", "p1", "p2"], "parent_code": ["", "P", "P"]})
    t = pd.concat([_t({("a", "p1"): None, ("a", "p2"): 70.0}, level="naics6"),
                   _t({("a", "P"): 100.0}, level="naics5")])
    cells, info = tighten_bounds(cell_bounds(t), activities=acts)
    p1 = cells.set_index("activity_code").loc["p1"]
    assert (p1["value_low"], p1["value_high"]) == pytest.approx((0.0, 30.0))
    assert info["parent_activity"] == 1


def test_published_values_are_never_excluded_by_inconsistent_totals():
    t = _t({("a", "p"): 60.0, ("a", "q"): 50.0}, totals={"a": 100.0})  # parts exceed the total
    cells, _ = tighten_bounds(cell_bounds(t), exact_totals=("employment",))
    assert (cells.loc[cells["level"] != "total", "value_low"] <= cells.loc[cells["level"] != "total", "value"]).all()
    assert (cells.loc[cells["level"] != "total", "value_high"] >= cells.loc[cells["level"] != "total", "value"]).all()


def test_range_cell_gets_midpoint_as_point_value():
    # US CBP size class B (20-99) with no published value.
    t = _t({("a", "p"): None, ("a", "q"): 100.0, ("b", "p"): 50.0, ("b", "q"): 50.0},
           flags={("a", "p"): "range"}, lows={("a", "p"): 20.0}, highs={("a", "p"): 99.0})
    lq, info = _lq(t)
    assert lq.at[("a", "p"), "value"] == pytest.approx(59.5)
    assert info["range_cells_imputed"] == 1
    # The point LQ and the national sums use the midpoint, consistently (the audit's rule).
    assert lq.at[("a", "p"), "national_value"] == pytest.approx(109.5)
    assert lq.at[("a", "p"), "lq_low"] < lq.at[("a", "p"), "lq"] < lq.at[("a", "p"), "lq_high"]


def _brute(boxes, cell, n=5):
    """Min and max of the LQ of ``cell`` over a grid of every cell's interval (2 x 2 table).

    Fine in the cell itself (the maximum may be interior), coarser in the others; the smallest
    positive grid point stands in for 0 where the LQ is only defined as a limit.
    """
    keys = list(boxes)
    grids = [np.linspace(*boxes[k], 4001 if k == cell else n) for k in keys]
    grids = [np.where(g == 0, 1e-9, g) if k == cell else g for k, g in zip(keys, grids)]
    x = dict(zip(keys, np.meshgrid(*grids, indexing="ij")))
    r, a = cell
    reg = sum(v for (rr, _), v in x.items() if rr == r)
    nat = sum(v for (_, aa), v in x.items() if aa == a)
    tot = sum(x.values())
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (x[cell] / reg) / (nat / tot)
    f = f[np.isfinite(f)]
    return f.min(), f.max()


@pytest.mark.parametrize("boxes", [
    {("a", "p"): (10, 30), ("a", "q"): (5, 20), ("b", "p"): (1, 4), ("b", "q"): (40, 90)},
    {("a", "p"): (0, 50), ("a", "q"): (1, 2), ("b", "p"): (3, 3), ("b", "q"): (100, 100)},
    {("a", "p"): (80, 120), ("a", "q"): (0, 10), ("b", "p"): (0, 5), ("b", "q"): (0, 30)},
])
def test_lq_bounds_are_the_exact_extremes_over_the_intervals(boxes):
    # Every cell is a 'range' cell with its bounds; the closed form must match a grid search.
    t = _t({k: None for k in boxes}, flags={k: "range" for k in boxes},
           lows={k: v[0] for k, v in boxes.items()}, highs={k: v[1] for k, v in boxes.items()})
    lq, _ = _lq(t)
    for cell in boxes:
        blo, bhi = _brute(boxes, cell)
        assert lq.at[cell, "lq_low"] <= blo + 1e-6
        assert lq.at[cell, "lq_high"] >= bhi - 1e-6
        # Exact: the grid gets close to the closed-form extremes.
        assert lq.at[cell, "lq_low"] == pytest.approx(blo, rel=1e-3, abs=1e-6)
        if bhi > 1e6:  # a limit: the cell may be (almost) all of its region and of its activity
            assert np.isinf(lq.at[cell, "lq_high"])
        else:
            assert lq.at[cell, "lq_high"] == pytest.approx(bhi, rel=1e-3)


def test_hand_computed_bounds_with_one_rounded_cell():
    # a: p in [19, 21], q = 20; b: p = 10, q = 50. Max at p = 21 (v* > 21): 21 * 101 / (41 * 31).
    t = _t({("a", "p"): 20.0, ("a", "q"): 20.0, ("b", "p"): 10.0, ("b", "q"): 50.0},
           flags={("a", "p"): "rounded"}, lows={("a", "p"): 19.0}, highs={("a", "p"): 21.0})
    lq, _ = _lq(t)
    assert lq.at[("a", "p"), "lq"] == pytest.approx((20 / 40) / (30 / 100))
    assert lq.at[("a", "p"), "lq_high"] == pytest.approx(21 * 101 / (41 * 31))
    assert lq.at[("a", "p"), "lq_low"] == pytest.approx(19 * 99 / (39 * 29))
    # Another cell of the same region moves the other way.
    assert lq.at[("a", "q"), "lq_high"] == pytest.approx(20 * 99 / (39 * 70))


def test_unbounded_suppressed_cell_leaves_no_finite_upper_bound_elsewhere():
    t = _t({("a", "p"): 20.0, ("a", "q"): 20.0, ("b", "p"): None, ("b", "q"): 50.0})
    lq, _ = _lq(t)
    assert np.isnan(lq.at[("b", "p"), "lq"]) and lq.at[("b", "p"), "lq_low"] == 0
    assert np.isinf(lq.at[("a", "q"), "lq_high"])  # b's suppressed p sits in "everything else"
    assert lq.at[("a", "p"), "lq_low"] == pytest.approx(20 / 40)  # -> region share as p's total grows


def test_poisson_interval_for_small_counts_hand_computed():
    # 4 establishments of a region's 10; nation 40 of 400: LQ 4; Garwood 95 % for 4 is [1.090, 10.242].
    t = pd.DataFrame({"indicator": ["establishments", "gva"], "value": [4.0, 4.0], "flag": ["", ""],
                      "region_total": [10.0, 10.0], "national_value": [40.0, 40.0], "national_total": [400.0, 400.0],
                      "lq": [4.0, 4.0]})
    r = poisson_lq_interval(t, indicators=("establishments",))
    assert r["lq_ci_low"].iloc[0] == pytest.approx(1.0899, abs=1e-3)
    assert r["lq_ci_high"].iloc[0] == pytest.approx(10.2416, abs=1e-3)
    assert np.isnan(r["lq_ci_low"].iloc[1])  # not a count indicator
    big = poisson_lq_interval(t.assign(value=4000.0, region_total=10000.0, national_value=40000.0,
                                       national_total=400000.0), indicators=("establishments",))
    assert big["lq_ci_high"].iloc[0] / big["lq_ci_low"].iloc[0] < 1.1  # large counts: narrow


def test_lq_levels_keep_the_coarser_level_as_a_bound_only():
    """[specialisation] lq_levels: LQs at the listed levels, the same values as without the option."""
    from mapping.analysis.location_quotient import location_quotient_table
    from mapping.config import SpecialisationSection

    acts = pd.DataFrame({"classification": "X", "code": ["P", "p1", "p2", "Q", "q1"],
                         "parent_code": ["", "P", "P", "", "Q"]})
    six = {("a", "p1"): None, ("a", "p2"): 70.0, ("a", "q1"): 40.0,
           ("b", "p1"): 20.0, ("b", "p2"): 10.0, ("b", "q1"): 90.0}
    five = {("a", "P"): 100.0, ("a", "Q"): 40.0, ("b", "P"): 30.0, ("b", "Q"): 90.0}
    t = pd.concat([_t(six, level="naics6"), _t(five, level="naics5")], ignore_index=True)
    s = SpecialisationSection(indicators=("employment",), level="naics6", min_share_of_national=0.0,
                              min_value=0.0, count_indicators=())
    every, _ = location_quotient_table(t, s, activities=acts)
    only, _ = location_quotient_table(t, s.model_copy(update={"lq_levels": ("naics6",)}), activities=acts)
    assert set(every["level"]) == {"naics5", "naics6"} and set(only["level"]) == {"naics6"}
    key = ["region_code", "activity_code"]
    a = every.loc[every["level"] == "naics6"].sort_values(key).reset_index(drop=True)
    b = only.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[b.columns], b)
    # The 5-digit parent still bounds the withheld 6-digit cell: a's p1 lies in [0, 30].
    p1 = b.set_index(key).loc[("a", "p1")]
    assert (p1["value_low"], p1["value_high"]) == pytest.approx((0.0, 30.0))


def test_lq_levels_must_include_the_analysis_level():
    from mapping.config import SpecialisationSection

    with pytest.raises(ValueError, match="must include the analysis level"):
        SpecialisationSection(level="naics6", lq_levels=("naics5",))


def test_nearest_present_ancestor_bounds_a_cell_when_its_parent_is_absent():
    # Hierarchy P > p > p1, p2 and Q > q1. Region a has P and p1, p2 but no p: P bounds p1 (70 + p1 <= 100).
    # Region b has p itself (60) and P (200): the nearer p bounds p1 (p1 <= 60 - 20), not P.
    acts = pd.DataFrame({"classification": "X", "code": ["P", "p", "p1", "p2", "Q", "q1"],
                         "parent_code": ["", "P", "p", "p", "", "Q"]})
    t = pd.concat([_t({("a", "p1"): None, ("a", "p2"): 70.0, ("b", "p1"): None, ("b", "p2"): 20.0,
                       ("a", "q1"): None}, level="naics6"),
                   _t({("b", "p"): 60.0}, level="naics5"),
                   _t({("a", "P"): 100.0, ("b", "P"): 200.0}, level="naics4")])
    cells, info = tighten_bounds(cell_bounds(t), activities=acts)
    c = cells.set_index(["region_code", "activity_code"])
    assert (c.at[("a", "p1"), "value_low"], c.at[("a", "p1"), "value_high"]) == pytest.approx((0.0, 30.0))
    assert (c.at[("b", "p1"), "value_low"], c.at[("b", "p1"), "value_high"]) == pytest.approx((0.0, 40.0))
    assert c.at[("a", "q1"), "value_high"] == np.inf  # Q is in no region: nothing bounds q1
