"""The map's year, persistence, the LQ's scope and the call shown beside an LQ (synthetic tables, labelled)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mapping.analysis.rules import apply_rule
from mapping.analysis.specialisation import specialisation
from mapping.analysis.timeseries import analysis_year, with_persistence
from mapping.errors import MappingError


def _lq_rows(year, indicator, lq, call, low, high, region="r", activity="D", scope="economy"):
    return {"year": year, "indicator": indicator, "classification": "X", "level": "section", "region_code": region,
            "activity_code": activity, "lq": lq, "specialised": call != "no" and lq >= 2, "specialisation_call": call,
            "lq_low": low, "lq_high": high, "lq_ci_low": np.nan, "lq_ci_high": np.nan, "lq_scope": scope}


def test_call_and_bounds_beside_an_lq_are_the_same_indicators():
    # Like Sevastopol x D: shipments has the higher LQ but only a possible call (wide bounds); GVA is
    # certain. The combined call (gva or shipments) is certain, so the bounds shown must be GVA's.
    t = pd.DataFrame([_lq_rows(2021, "gva", 2.35, "certain", 2.28, 2.42),
                      _lq_rows(2021, "shipments", 3.1, "possible", 1.37, 5.15, scope="within_industry")])
    sp = specialisation(t, indicators=("gva", "shipments"), rule="gva or shipments").iloc[0]
    assert sp["specialisation_call"] == "certain" and sp["lq_indicator"] == "shipments"
    assert sp["call_indicator"] == "gva" and (sp["lq_low"], sp["lq_high"]) == (2.28, 2.42)
    assert sp["lq_scope"] == "economy" and not sp["within_industry_only"]
    # Under "and" the combined call is the weaker one: then shipments' own call and bounds are shown.
    sp_and = specialisation(t, indicators=("gva", "shipments"), rule="gva and shipments").iloc[0]
    assert sp_and["specialisation_call"] == "possible" and sp_and["call_indicator"] == "shipments"
    assert (sp_and["lq_low"], sp_and["lq_high"]) == (1.37, 5.15) and sp_and["lq_scope"] == "within_industry"


def test_within_industry_only_when_no_economy_wide_indicator_specialises():
    t = pd.DataFrame([_lq_rows(2021, "gva", 1.2, "no", 1.1, 1.3),
                      _lq_rows(2021, "shipments", 4.0, "certain", 3.5, 4.5, scope="within_industry")])
    sp = specialisation(t, indicators=("gva", "shipments"), rule="gva or shipments").iloc[0]
    assert sp["specialised"] and sp["within_industry_only"] and sp["lq_scope"] == "within_industry"


def test_analysis_year_is_the_latest_year_every_indicator_has():
    t = pd.DataFrame({"year": [2016, 2021, 2022, 2017, 2021], "indicator": ["gva"] * 3 + ["shipments"] * 2,
                      "lq": [1.0, 1.0, 1.0, 1.0, 1.0]})
    assert analysis_year(t, ("gva", "shipments")) == 2021
    assert analysis_year(t, ("gva", "shipments"), "latest") == 2022
    assert analysis_year(t, ("gva",)) == 2022
    assert analysis_year(t, ("gva", "shipments"), 2016) == 2016
    with pytest.raises(MappingError, match="2015"):
        analysis_year(t, ("gva",), 2015)


def test_persistent_needs_most_years_observed():
    # Region a specialised 6 of 7 years (and now): persistent. b: 4 of 7: intermittent. c: 1 of 7: single year.
    rows = []
    for i, y in enumerate(range(2016, 2023)):
        for r, on in (("a", i != 2), ("b", i in (0, 3, 5, 6)), ("c", i == 6)):
            rows.append({"year": y, "indicator": "gva", "classification": "X", "level": "section", "region_code": r,
                         "activity_code": "C", "lq": 3.0 if on else 1.0, "specialised": on})
    lq = pd.DataFrame(rows)
    spec = specialisation(lq.loc[lq["year"] == 2022], indicators=("gva",), level="section")
    out = with_persistence(spec, lq, indicators=("gva",), rule=None, level="section",
                           persistent_share=0.75).set_index("region_code")
    assert out.loc["a", "years_specialised"] == 6 and out.loc["a", "n_years"] == 7 and out.loc["a", "persistent"]
    assert out.loc["b", "years_specialised"] == 4 and not out.loc["b", "persistent"]
    assert out.loc["c", "single_year"] and not out.loc["c", "persistent"]


def test_below_size_floor_marks_cells_the_floors_remove():
    t = pd.DataFrame({"year": 2021, "indicator": ["gva", "gva", "shipments"], "classification": "X",
                      "level": "s", "region_code": ["a", "b", "a"], "activity_code": "p",
                      "value": [4.0, 100.0, 4.0], "value_low": [4.0, 100.0, 4.0], "value_high": [4.0, 100.0, 4.0],
                      "share_of_national": [0.04, 0.96, 0.5], "share_of_national_low": [0.04, 0.96, 0.5],
                      "share_of_national_high": [0.04, 0.96, 0.5], "region_share_low": 0.0,
                      "region_share_high": 1.0, "lq": [3.0, 2.5, 3.0], "lq_low": [3.0, 2.5, 3.0],
                      "lq_high": [3.0, 2.5, 3.0], "national_value": [104.0, 104.0, 8.0], "flag": ""})
    r = apply_rule(t, min_value={"gva": 5.0}, min_share_of_national=0.05)
    assert r["below_size_floor"].tolist() == [True, False, False]
    assert r["specialised"].tolist() == [False, True, True]
