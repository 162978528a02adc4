"""Several years of input: years specialised, LQ change and single-year candidates (small fixture)."""

from pathlib import Path

import pandas as pd
import pytest

from mapping.analysis.candidates import candidate_clusters
from mapping.analysis.location_quotient import location_quotient_table
from mapping.analysis.specialisation import specialisation
from mapping.analysis.timeseries import pair_persistence, with_persistence
from mapping.config import SpecialisationSection


def _year(year, a_p):
    """Two regions, two activities; region a's p varies by year (b: p 10, q 90; a: q 50)."""
    vals = {("a", "p"): a_p, ("a", "q"): 50.0, ("b", "p"): 10.0, ("b", "q"): 90.0}
    return pd.DataFrame([{"year": year, "indicator": "employment", "unit": "persons", "classification": "X",
                          "level": "section", "region_code": r, "activity_code": c, "value": v, "flag": ""}
                         for (r, c), v in vals.items()])


# a's LQ of p: 2020: p=5 -> (5/55)/(15/155) = 0.939; 2021: p=50 -> (50/100)/(60/200) = 1.667;
# 2022: p=40 -> (40/90)/(50/190) = 1.689. Threshold 1.5: specialised in 2021 and 2022.
TIDY = pd.concat([_year(2020, 5.0), _year(2021, 50.0), _year(2022, 40.0)], ignore_index=True)
SETTINGS = SpecialisationSection(indicators=("employment",), threshold=1.5)


def test_rows_count_years_and_lq_change():
    lq, _ = location_quotient_table(TIDY, SETTINGS)
    a = lq.loc[(lq["region_code"] == "a") & (lq["activity_code"] == "p")].set_index("year")
    assert a["lq"].tolist() == pytest.approx([(5 / 55) / (15 / 155), 1.5 / 0.9 * 1.0, (40 / 90) / (50 / 190)])
    assert a["years_specialised"].tolist() == [2, 2, 2]
    assert a["n_years"].tolist() == [3, 3, 3]
    assert pd.isna(a.at[2020, "lq_change"])
    assert a.at[2022, "lq_change"] == pytest.approx((40 / 90) / (50 / 190) - (5 / 55) / (15 / 155))


def test_pair_persistence_and_single_year_mark():
    lq, _ = location_quotient_table(TIDY, SETTINGS)
    pp = pair_persistence(lq, indicators=("employment",), rule=None, level="section").set_index(
        ["region_code", "activity_code"])
    assert pp.at[("a", "p"), "years_specialised"] == 2 and not pp.at[("a", "p"), "single_year"]
    # Only 2021: a's p in 2022 drops to 10 (LQ (10/60)/(20/160) = 1.33).
    lq1, _ = location_quotient_table(pd.concat([_year(2020, 5.0), _year(2021, 50.0), _year(2022, 10.0)]), SETTINGS)
    pp1 = pair_persistence(lq1, indicators=("employment",), rule=None, level="section").set_index(
        ["region_code", "activity_code"])
    assert pp1.at[("a", "p"), "years_specialised"] == 1 and pp1.at[("a", "p"), "single_year"]
    assert pp1.at[("a", "p"), "lq_change"] == pytest.approx((10 / 60) / (20 / 160) - (5 / 55) / (15 / 155))


def test_candidate_specialised_in_one_year_of_several_is_marked():
    tidy = pd.concat([_year(2020, 5.0), _year(2021, 50.0), _year(2022, 10.0)])
    lq, _ = location_quotient_table(tidy, SETTINGS)
    spec = specialisation(lq.loc[lq["year"] == 2021], indicators=("employment",), level="section")
    spec = with_persistence(spec, lq, indicators=("employment",), rule=None, level="section")
    groups = pd.DataFrame({"activity_code": ["p", "q"], "group_id": ["G01", "G02"]})
    none = pd.DataFrame({"region_code": [], "neighbour_code": []})
    c = candidate_clusters(spec, groups, none).set_index("candidate_id")
    assert bool(c.at["G01:a", "single_year"]) and c.at["G01:a", "years_specialised"] == 1


def test_one_year_of_data_has_no_change_and_no_single_year_mark():
    lq, _ = location_quotient_table(_year(2021, 50.0), SETTINGS)
    assert lq["lq_change"].isna().all() and (lq["n_years"] == 1).all()
    pp = pair_persistence(lq, indicators=("employment",), rule=None, level="section")
    assert not pp["single_year"].any()


def test_real_multi_year_case_emiss_organisations_2019_2022(shared, tmp_path):
    """Rosstat/EMISS organisation counts by section, 2019-2022: persistence on real data."""
    from mapping import pipeline
    from mapping.config import load_config

    src = shared / "data" / "ru" / "emiss_org_count_region_okved2" / "rosstat-org-stats.csv"
    root = Path(__file__).resolve().parents[2]
    cfg_text = (f'[[inputs]]\npath = "{src}"\nformat = "emiss"\nindicator = "establishments"\nunit = "count"\n'
                f'years = [2019, 2020, 2021, 2022]\n[run]\noutput_root = "{tmp_path}"\n'
                f'[specialisation]\nindicators = ["establishments"]\n'
                f'[geodata]\nactivities = "{root / "geodata" / "activities.csv"}"\n')
    (tmp_path / "c.toml").write_text(cfg_text, encoding="utf-8")
    cfg = load_config(tmp_path / "c.toml")
    analysis = pipeline.compute_location_quotients(pipeline.load_inputs(cfg), cfg)
    spec = analysis.spec
    assert analysis.year == 2022 and (spec["n_years"] == 4).all()
    s = spec.loc[spec["specialised"]]
    assert (s["years_specialised"] == 4).mean() > 0.7  # most specialisations persist
    assert 0 < s["single_year"].sum() < 20  # a few appear in 2022 only
    assert s.loc[s["single_year"], "lq_change"].gt(0).all()  # they rose into specialisation


@pytest.mark.parametrize("gaps", [False, True])
def test_one_year_persistence_equals_the_grouped_aggregates(gaps):
    """The one-year shortcut gives the multi-year aggregation's frame exactly (dtypes included)."""
    import numpy as np

    from mapping.analysis.timeseries import _one_year_persistence, _persistence

    rng = np.random.default_rng(2)
    n = 60
    sp = pd.DataFrame({"year": 2021, "classification": "X", "level": "section",
                       "region_code": np.repeat([f"r{i:02d}" for i in range(12)], 5),  # sorted keys, as specialised_only gives
                       "activity_code": np.tile(list("abcde"), 12), "specialised": rng.random(n) < 0.3,
                       "lq_max": rng.uniform(0, 4, n)})
    if gaps:
        sp.loc[::7, "lq_max"] = np.nan
    for col in ("classification", "level", "region_code", "activity_code"):
        sp[col] = sp[col].astype(str)
    pd.testing.assert_frame_equal(_one_year_persistence(sp), _persistence(sp), check_exact=True)
