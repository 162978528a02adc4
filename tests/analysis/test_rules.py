"""Named specialisation rules and three-valued calls on small hand-computed cases."""

import numpy as np
import pandas as pd
import pytest

from mapping.analysis.location_quotient import (
    location_quotient_table,
    location_quotients,
)
from mapping.analysis.rules import apply_rule, evaluate_call_rule
from mapping.analysis.specialisation import specialisation
from mapping.analysis.uncertainty import lq_bounds, prepare_cells
from mapping.config import SpecialisationSection


def _tidy(values, indicator="employment", unit="persons", flags=None, lows=None, highs=None):
    rows = [{"year": 2021, "indicator": indicator, "unit": unit, "classification": "X", "level": "section",
             "region_code": r, "activity_code": a, "value": v, "flag": (flags or {}).get((r, a), ""),
             "value_low": (lows or {}).get((r, a), np.nan), "value_high": (highs or {}).get((r, a), np.nan)}
            for (r, a), v in values.items()]
    df = pd.DataFrame(rows)
    df["value"] = df["value"].astype(float)
    return df


def _lq(tidy):
    cells, _ = prepare_cells(tidy)
    return lq_bounds(location_quotients(cells))


# Four regions, one activity p of interest against a filler q (every region total 100).
#            p   LQ of p (national share of p = 100/400 = 0.25)
#   r1      40   1.6
#   r2      30   1.2
#   r3      20   0.8
#   r4      10   0.4
FOUR = {("r1", "p"): 40.0, ("r1", "q"): 60.0, ("r2", "p"): 30.0, ("r2", "q"): 70.0,
        ("r3", "p"): 20.0, ("r3", "q"): 80.0, ("r4", "p"): 10.0, ("r4", "q"): 90.0}


def _get(df, region, activity="p", indicator="employment"):
    return df.set_index(["indicator", "region_code", "activity_code"]).loc[(indicator, region, activity)]


def test_threshold_rule_is_lq_at_least_two():
    lq = apply_rule(_lq(_tidy(FOUR)), rule="threshold", threshold=1.5)
    assert [bool(_get(lq, r)["specialised"]) for r in ("r1", "r2", "r3", "r4")] == [True, False, False, False]
    assert _get(lq, "r1")["specialisation_call"] == "certain"


def test_cmp_percentile_rule_hand_computed():
    # p75 of p's LQs (1.6, 1.2, 0.8, 0.4) = 1.3 (linear) -> cut max(1, 1.3) = 1.3: only r1.
    # Size: employment > p25 of (40, 30, 20, 10) = 17.5 and establishments > p25 of (5, 1, 9, 9) = 4.
    est = {("r1", "p"): 5.0, ("r1", "q"): 5.0, ("r2", "p"): 1.0, ("r2", "q"): 9.0, ("r3", "p"): 9.0,
           ("r3", "q"): 1.0, ("r4", "p"): 9.0, ("r4", "q"): 1.0}
    t = pd.concat([_tidy(FOUR), _tidy(est, indicator="establishments", unit="count")])
    lq = apply_rule(_lq(t), rule="cmp_percentile")
    r1 = _get(lq, "r1")
    assert r1["lq_cutoff"] == pytest.approx(1.3) and bool(r1["specialised"])
    assert not _get(lq, "r2")["specialised"]
    # r1's establishments (5) above p25 = 4: passes; make them 1 (p25 of 1, 1, 9, 9 = 1) and it fails.
    est[("r1", "p")] = 1.0
    t = pd.concat([_tidy(FOUR), _tidy(est, indicator="establishments", unit="count")])
    assert not _get(apply_rule(_lq(t), rule="cmp_percentile"), "r1")["specialised"]
    # The LQ floor of 1: with all LQs near 1 the percentile alone would pass a region with LQ < 1.
    # LQs of p: r1 (large) 1.105, r2 0.737, r3 0.663, r4 0.552 -> p75 = 0.829 < 1.
    flat = {("r1", "p"): 300.0, ("r1", "q"): 700.0, ("r2", "p"): 20.0, ("r2", "q"): 80.0,
            ("r3", "p"): 18.0, ("r3", "q"): 82.0, ("r4", "p"): 15.0, ("r4", "q"): 85.0}
    lq = apply_rule(_lq(_tidy(flat)), rule="cmp_percentile", cmp_size_indicators=())
    assert _get(lq, "r1")["lq_cutoff"] == pytest.approx(1.0)


def test_eco_stars_hand_computed():
    # 10 regions; r0 is large and concentrated in p. Size star: share of national p in the top 10 %
    # of positive cells; specialisation star: LQ >= 2; focus star: p's share of the region's total in
    # the top 10 %.
    vals = {("r0", "p"): 500.0}
    for i in range(10):
        vals[(f"r{i}", "p")] = vals.get((f"r{i}", "p"), 10.0)
        for q in ("q1", "q2", "q3", "q4"):
            vals[(f"r{i}", q)] = 25.0
    lq = apply_rule(_lq(_tidy(vals)), rule="eco_stars", eco_top_share=0.10, eco_min_stars=2)
    r0 = _get(lq, "r0")
    # r0: share of p = 500/590 (top 10 % of the 50 cells: cut 0.1), LQ = (500/600)/(590/1590) = 2.25 >= 2,
    # focus 500/600 = 0.83 (cut 25/110 = 0.23): 3 stars. r1: 10/590, LQ 0.25, focus 0.09: none.
    assert r0["lq"] == pytest.approx((500 / 600) / (590 / 1590))
    assert r0["eco_stars"] == 3 and bool(r0["specialised"])
    r1 = _get(lq, "r1")
    assert r1["eco_stars"] == 0 and not r1["specialised"]
    lq3 = apply_rule(_lq(_tidy(vals)), rule="eco_stars", eco_min_stars=3, threshold=2.5)
    assert _get(lq3, "r0")["eco_stars"] == 2 and not _get(lq3, "r0")["specialised"]


def test_size_floors_apply_before_every_rule():
    for rule in ("threshold", "cmp_percentile", "eco_stars"):
        lq = apply_rule(_lq(_tidy(FOUR)), rule=rule, threshold=1.5, min_value=50.0, cmp_size_indicators=())
        assert not lq.loc[lq["activity_code"] == "p", "specialised"].any(), rule  # p is at most 40


def test_call_certain_possible_no_from_bounds():
    # r1's p is rounded to [30, 50]: LQ between below and above 1.5 -> possible; r4 no.
    t = _tidy(FOUR, flags={("r1", "p"): "rounded"}, lows={("r1", "p"): 30.0}, highs={("r1", "p"): 50.0})
    lq = apply_rule(_lq(t), rule="threshold", threshold=1.5)
    r1 = _get(lq, "r1")
    assert r1["lq_low"] < 1.5 < r1["lq_high"]
    assert r1["specialisation_call"] == "possible" and bool(r1["specialised"])
    assert _get(lq, "r4")["specialisation_call"] == "no"
    # A suppressed cell: no point LQ, not specialised, but possibly so.
    t = _tidy({**FOUR, ("r1", "p"): None}, flags={("r1", "p"): "suppressed"}, highs={("r1", "p"): 60.0})
    r1 = _get(apply_rule(_lq(t), rule="threshold", threshold=1.5), "r1")
    assert np.isnan(r1["lq"]) and not r1["specialised"] and r1["specialisation_call"] == "possible"


def test_kleene_combination_of_calls():
    s = lambda *v: pd.Series(v)  # noqa: E731
    # and = min, or = max, not swaps certain and no.
    got = evaluate_call_rule("a and (b or c)", {"a": s(2, 2, 1, 0), "b": s(0, 1, 2, 2), "c": s(2, 0, 0, 2)})
    assert got.tolist() == [2, 1, 1, 0]
    assert evaluate_call_rule("not a", {"a": s(0, 1, 2)}).tolist() == [2, 1, 0]
    assert evaluate_call_rule("a or missing", {"a": s(1)}).tolist() == [1]


def test_combined_specialisation_carries_the_call_and_bounds():
    emp = _tidy(FOUR)
    rev = _tidy({k: v * 10 for k, v in FOUR.items()}, indicator="revenue", unit="RUB",
                flags={("r2", "p"): "rounded"}, lows={("r2", "p"): 250.0}, highs={("r2", "p"): 600.0})
    settings = SpecialisationSection(indicators=("employment", "revenue"), threshold=1.5,
                                     combine="employment or revenue")
    lq, _ = location_quotient_table(pd.concat([emp, rev]), settings)
    spec = specialisation(lq, indicators=("employment", "revenue"), rule="employment or revenue")
    spec = spec.loc[spec["activity_code"] == "p"].set_index("region_code")
    assert spec.at["r1", "specialisation_call"] == "certain"
    assert spec.at["r2", "specialisation_call"] == "possible"  # revenue possibly >= 1.5
    assert spec.at["r4", "specialisation_call"] == "no"
    assert spec.at["r1", "call_indicator"] in ("employment", "revenue")
    assert spec.at["r2", "lq_low"] <= spec.at["r2", "lq_max"] <= spec.at["r2", "lq_high"]
    both = specialisation(lq, indicators=("employment", "revenue"), rule="employment and revenue")
    both = both.loc[both["activity_code"] == "p"].set_index("region_code")
    assert both.at["r2", "specialisation_call"] == "no"  # employment is certainly below 1.5


def test_national_zero_activity_is_never_called():
    t = _tidy({("a", "p"): 0.0, ("a", "q"): 10.0, ("b", "p"): 0.0, ("b", "q"): 10.0},
              flags={("a", "p"): "rounded", ("b", "p"): "rounded"}, highs={("a", "p"): 0.05, ("b", "p"): 0.05},
              lows={("a", "p"): 0.0, ("b", "p"): 0.0})
    lq = apply_rule(_lq(t))
    assert (lq.loc[lq["activity_code"] == "p", "specialisation_call"] == "no").all()


@pytest.mark.parametrize("rule", ["threshold", "cmp_percentile", "eco_stars"])
def test_point_only_gives_the_same_decision(rule):
    """``rule_columns(point_only=True)`` skips the bounds' calls but decides ``specialised`` the same
    (SYNTHETIC random cells with suppressed ones, a second indicator and size floors)."""
    from mapping.analysis.rules import rule_columns

    rng = np.random.default_rng(4)
    emp = {(f"r{i}", a): float(rng.integers(0, 200)) for i in range(25) for a in "pqrst"}
    est = {k: float(rng.integers(1, 20)) for k in emp}
    flags = {k: "suppressed" for k in list(emp)[::11]}
    t = pd.concat([_tidy({k: (np.nan if k in flags else v) for k, v in emp.items()}, flags=flags,
                         lows={k: 0.0 for k in flags}, highs={k: 300.0 for k in flags}),
                   _tidy(est, indicator="establishments", unit="count")])
    lq = _lq(t)
    kw = dict(rule=rule, threshold=1.2, min_value={"employment": 5.0}, min_share_of_national=0.001)
    full = rule_columns(lq, **kw)["specialised"]
    assert full.any() and not full.all()
    pd.testing.assert_series_equal(rule_columns(lq, **kw, point_only=True)["specialised"], full)
