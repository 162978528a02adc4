"""Location quotients against hand-computed examples."""

import numpy as np
import pandas as pd
import pytest

from mapping.analysis.location_quotient import location_quotients
from mapping.analysis.specialisation import evaluate_rule, specialisation


def _tidy(values, indicator="employment"):
    """values: {(region, activity): value}"""
    rows = [{"year": 2021, "indicator": indicator, "unit": "persons", "classification": "OKVED2",
             "level": "section", "region_code": r, "activity_code": a, "value": v, "flag": ""}
            for (r, a), v in values.items()]
    return pd.DataFrame(rows)


def test_hand_computed_two_regions():
    # Region a: C=30, J=10 (total 40); region b: C=10, J=50 (total 60); nation: C=40, J=60, total 100.
    lq = location_quotients(_tidy({("a", "C"): 30.0, ("a", "J"): 10.0, ("b", "C"): 10.0, ("b", "J"): 50.0}))
    got = lq.set_index(["region_code", "activity_code"])["lq"]
    assert got[("a", "C")] == pytest.approx((30 / 40) / (40 / 100))  # 1.875
    assert got[("a", "J")] == pytest.approx((10 / 40) / (60 / 100))
    assert got[("b", "J")] == pytest.approx((50 / 60) / (60 / 100))
    row = lq.set_index(["region_code", "activity_code"]).loc[("a", "C")]
    assert (row["region_total"], row["national_value"], row["national_total"]) == (40, 40, 100)


def test_twice_the_national_average_threshold_is_inclusive():
    # a: C=20 of 40 -> 0.5; nation: C=25 of 100 -> 0.25; LQ exactly 2.0.
    t = _tidy({("a", "C"): 20.0, ("a", "J"): 20.0, ("b", "C"): 5.0, ("b", "J"): 55.0})
    lq = location_quotients(t).set_index(["region_code", "activity_code"])
    assert lq.loc[("a", "C"), "lq"] == pytest.approx(2.0)
    assert bool(lq.loc[("a", "C"), "specialised"]) is True
    lq3 = location_quotients(t, threshold=2.01).set_index(["region_code", "activity_code"])
    assert bool(lq3.loc[("a", "C"), "specialised"]) is False


def test_size_floors_apply_before_threshold():
    t = _tidy({("a", "C"): 2.0, ("a", "J"): 1.0, ("b", "C"): 10.0, ("b", "J"): 500.0})
    lq = location_quotients(t).set_index(["region_code", "activity_code"])
    assert lq.loc[("a", "C"), "lq"] > 2 and bool(lq.loc[("a", "C"), "specialised"])
    floored = location_quotients(t, min_value=5.0).set_index(["region_code", "activity_code"])
    assert not bool(floored.loc[("a", "C"), "specialised"])
    share = location_quotients(t, min_share_of_national=0.5).set_index(["region_code", "activity_code"])
    assert not bool(share.loc[("a", "C"), "specialised"])  # a holds 2/12 of C


def test_undefined_lqs_are_empty_with_reason_never_zero_or_inf():
    t = _tidy({("a", "C"): np.nan, ("a", "J"): 10.0, ("b", "C"): 0.0, ("b", "J"): 5.0,
               ("z", "C"): 0.0, ("z", "J"): 0.0, ("a", "K"): 0.0, ("b", "K"): 0.0})
    lq = location_quotients(t).set_index(["region_code", "activity_code"])
    assert np.isnan(lq.loc[("a", "C"), "lq"]) and "missing" in lq.loc[("a", "C"), "lq_reason"]
    assert np.isnan(lq.loc[("z", "J"), "lq"]) and lq.loc[("z", "J"), "lq_reason"] == "region total is zero"
    assert np.isnan(lq.loc[("a", "K"), "lq"]) and "national value" in lq.loc[("a", "K"), "lq_reason"]
    assert np.isfinite(lq["lq"].dropna()).all()
    assert not lq["specialised"][lq["lq"].isna()].any()


def test_national_values_are_sums_over_the_regions_in_the_data():
    t = _tidy({("a", "C"): 3.0, ("a", "J"): 1.0, ("b", "C"): 7.0, ("b", "J"): 9.0, ("c", "C"): 1.0, ("c", "J"): 1.0})
    lq = location_quotients(t)
    assert (lq.loc[lq["activity_code"] == "C", "national_value"] == 11.0).all()
    assert (lq["national_total"] == 22.0).all()


def test_indicators_are_independent():
    t = pd.concat([_tidy({("a", "C"): 30.0, ("a", "J"): 10.0, ("b", "C"): 10.0, ("b", "J"): 50.0}),
                   _tidy({("a", "C"): 1.0, ("a", "J"): 1.0, ("b", "C"): 1.0, ("b", "J"): 1.0}, "revenue")])
    lq = location_quotients(t)
    assert lq.loc[lq["indicator"] == "revenue", "lq"].eq(1.0).all()
    assert lq.loc[lq["indicator"] == "employment", "lq"].ne(1.0).all()


@pytest.mark.parametrize("rule,expected", [
    ("employment and (revenue or exports)", [True, False, False, False]),
    ("employment or exports", [True, True, True, False]),
    ("not revenue", [False, True, True, True]),
], ids=["and-or", "or", "not"])
def test_evaluate_rule(rule, expected):
    flags = {"employment": pd.Series([True, True, False, False]), "revenue": pd.Series([True, False, False, False]),
             "exports": pd.Series([False, False, True, False])}
    assert evaluate_rule(rule, flags).tolist() == expected


def test_evaluate_rule_refuses_code():
    with pytest.raises(ValueError, match="only indicator names"):
        evaluate_rule("__import__('os')", {"a": pd.Series([True])})


def test_specialisation_combines_indicators():
    t = pd.concat([_tidy({("a", "C"): 30.0, ("a", "J"): 10.0, ("b", "C"): 10.0, ("b", "J"): 90.0}, "gva"),
                   _tidy({("a", "C"): 1.0, ("a", "J"): 1.0, ("b", "C"): 1.0, ("b", "J"): 1.0}, "shipments")])
    spec = specialisation(location_quotients(t), indicators=("gva", "shipments")).set_index(
        ["region_code", "activity_code"])
    assert bool(spec.loc[("a", "C"), "specialised"]) is True
    assert spec.loc[("a", "C"), "lq_indicator"] == "gva"
    assert "shipments=1.000" in spec.loc[("a", "C"), "lq_by_indicator"]
    only_ship = specialisation(location_quotients(t), indicators=("shipments",))
    assert not only_ship["specialised"].any()
