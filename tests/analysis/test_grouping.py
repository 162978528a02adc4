"""Relatedness sources, grouping stability, fixed categories and agreement (planted SYNTHETIC structures)."""

import numpy as np
import pandas as pd
import pytest

from mapping.analysis.location_quotient import location_quotients
from mapping.analysis.grouping import build_groups, describe_grouping, grouping_stability
from mapping.analysis.iorelatedness import io_relatedness
from mapping.analysis.relatedness import agreement, combine_relatedness, hierarchy_closeness, relatedness
from mapping.config import RelatednessSection
from mapping.errors import MappingError
from mapping.ingest.tables import read_categories

GROUPS = (("A", "B", "C"), ("D", "E", "F"), ("G", "H", "I"))


def _planted(n_regions=40, noise=0.15, seed=7, factor_sd=1.0):
    """SYNTHETIC data with known groups: activities of a group share a regional factor."""
    rng = np.random.default_rng(seed)
    factors = rng.lognormal(0, factor_sd, size=(n_regions, len(GROUPS)))
    rows = []
    for r in range(n_regions):
        for g, acts in enumerate(GROUPS):
            for a in acts:
                rows.append({"year": 2021, "indicator": "employment", "unit": "persons", "classification": "X",
                             "level": "section", "region_code": f"R{r:03d}", "activity_code": a,
                             "value": factors[r, g] * rng.lognormal(0, noise) * 100, "flag": ""})
    return location_quotients(pd.DataFrame(rows))


def _labels(groups):
    return groups.set_index("activity_code")["group_id"]


def test_validation_margin_on_planted_groups_hand_checked():
    m = relatedness(_planted(), indicator="employment")
    truth = [next(i for i, g in enumerate(GROUPS) if a in g) for a in m.index]
    d = describe_grouping(m, [f"T{t}" for t in truth]).set_index("activity_code")
    own = m.loc["A", ["B", "C"]].mean()
    best_other = max(m.loc["A", ["D", "E", "F"]].mean(), m.loc["A", ["G", "H", "I"]].mean())
    assert d.at["A", "validation_margin"] == pytest.approx(own - best_other)
    assert (d["validation_margin"] > 0).all() and d.attrs["share_positive_margin"] == 1.0


def test_stability_is_high_for_planted_groups_and_low_for_noise():
    lq = _planted()
    m = relatedness(lq, indicator="employment")
    truth = pd.Series({a: i for i, g in enumerate(GROUPS) for a in g})
    ari, per, aris = grouping_stability(lq, truth, indicator="employment", level="section", year=2021,
                                        measure="correlation", method="agglomerative", n_resamples=20, seed=1)
    assert ari > 0.9 and per.min() > 0.8 and len(aris) == 20
    noise = _planted(noise=1.0, factor_sd=0.05, seed=11)  # SYNTHETIC: no shared factors
    ari_n, _, _ = grouping_stability(noise, truth, indicator="employment", level="section", year=2021,
                                     measure="correlation", method="agglomerative", n_resamples=20, seed=1)
    assert ari_n < 0.5


def test_hierarchy_closeness_from_registry_parents():
    acts = pd.DataFrame({"classification": "N", "code": ["31-33", "336", "3364", "336411", "336412", "3361", "336111"],
                         "parent_code": ["", "31-33", "336", "3364", "3364", "336", "3361"]})
    h = hierarchy_closeness(["336411", "336412", "336111"], acts, classification="N")
    assert h.loc["336411", "336412"] == 1.0
    assert h.loc["336411", "336111"] == pytest.approx(2 / 3)  # share 336 and 31-33 of three ancestors
    assert (np.diag(h) == 1).all()
    flat = hierarchy_closeness(["A", "B", "C"])  # OKVED2 sections: no hierarchy, no signal
    assert flat.loc["A", "B"] == 0.0


def test_io_relatedness_hand_computed():
    # a sells 10 to b and 30 to c; b sells 5 to c. Link(a, b) = max(in_b from a = 10/10, ...) = 1.
    t = pd.DataFrame({"from_code": ["a", "a", "b"], "to_code": ["b", "c", "c"], "value": [10.0, 30.0, 5.0]})
    m = io_relatedness(["a", "b", "c"], t)
    # Raw links: a-b: max(10/10, 10/40) = 1; a-c: max(30/35, 30/40) = 0.857; b-c: max(5/35, 5/5) = 1.
    assert m.loc["a", "b"] == pytest.approx(1.0) and m.loc["a", "c"] == pytest.approx(30 / 35)
    assert m.loc["b", "c"] == pytest.approx(1.0)
    assert (m.to_numpy() == m.to_numpy().T).all()
    with pytest.raises(MappingError, match="missing column"):
        io_relatedness(["a"], pd.DataFrame({"x": [1]}))


def test_combination_weights():
    idx = ["a", "b"]
    c = pd.DataFrame([[1, 0.2], [0.2, 1]], index=idx, columns=idx)
    h = pd.DataFrame([[1, 1.0], [1.0, 1]], index=idx, columns=idx)
    m = combine_relatedness({"colocation": c, "hierarchy": h}, {"colocation": 3, "hierarchy": 1})
    assert m.loc["a", "b"] == pytest.approx((3 * 0.2 + 1.0) / 4)
    assert m.attrs["sources"] == {"colocation": 0.75, "hierarchy": 0.25}
    with pytest.raises(MappingError, match="no source with a positive weight"):
        combine_relatedness({"colocation": c}, {"colocation": 0})


def test_build_groups_with_fixed_categories_reports_agreement(tmp_path):
    lq = _planted()
    cats = tmp_path / "categories.csv"
    pd.DataFrame({"activity_code": [a for g in GROUPS for a in g],
                  "category": [f"cat{i}" for i, g in enumerate(GROUPS) for _ in g]}).to_csv(cats, index=False)
    rc = RelatednessSection(indicator="employment", n_groups="auto", min_groups=2, max_groups=6,
                            stability_resamples=10, categories=cats)
    matrix, groups = build_groups(lq, rc, year=2021, level="section", classification="X",
                                  categories=read_categories(rc.categories, rc.fixed_categories))
    a = groups.attrs
    assert a["grouping"] == "fixed" and a["agreement"]["ari"] == pytest.approx(1.0)
    assert a["agreement"]["nmi"] == pytest.approx(1.0)
    assert set(groups["group_id"]) == {"cat0", "cat1", "cat2"}
    assert (groups["data_group_id"].str.startswith("G")).all() and (groups["category"] != "").all()
    assert a["stability_ari"] > 0.9 and groups["stability"].between(0, 1).all()
    assert [s["sources"] for s in a["sources"]] == ["colocation"]
    # A mismatching mapping lowers the agreement; "data" keeps the data-driven groups downstream.
    rc2 = rc.model_copy(update={"categories": None, "use_grouping": "data",
                                "fixed_categories": {"A": "x", "D": "x", "G": "x", "B": "y", "E": "y", "H": "y"}})
    _, g2 = build_groups(lq, rc2, year=2021, level="section", classification="X",
                         categories=read_categories(rc2.categories, rc2.fixed_categories))
    assert g2.attrs["grouping"] == "data" and g2.attrs["agreement"]["ari"] < 0.2
    assert (g2["group_id"] == g2["data_group_id"]).all()


def test_build_groups_measures_what_the_hierarchy_adds():
    lq = _planted()
    acts = pd.DataFrame({"classification": "X", "code": list("ABCDEFGHI") + ["P1", "P2", "P3"],
                         "parent_code": ["P1"] * 3 + ["P2"] * 3 + ["P3"] * 3 + ["", "", ""]})
    rc = RelatednessSection(indicator="employment", n_groups=3, stability_resamples=5, hierarchy_weight=1.0)
    matrix, groups = build_groups(lq, rc, year=2021, level="section", classification="X", activities=acts)
    names = [s["sources"] for s in groups.attrs["sources"]]
    assert names == ["colocation", "hierarchy", "colocation+hierarchy"]
    h = next(s for s in groups.attrs["sources"] if s["sources"] == "hierarchy")
    assert h["corr_with_colocation"] > 0.5 and h["ari_vs_final"] == pytest.approx(1.0)
    assert matrix.attrs["sources"] == {"colocation": 0.5, "hierarchy": 0.5}


def test_categories_file_errors(tmp_path):
    bad = tmp_path / "c.csv"
    bad.write_text("activity_code,category\nA,x\nA,y\n")
    with pytest.raises(MappingError, match="listed twice"):
        read_categories(bad)
    with pytest.raises(MappingError, match="not found"):
        read_categories(tmp_path / "missing.csv")
    assert read_categories(None, {"A": "x"}) == {"A": "x"}


def test_agreement_on_common_activities():
    a = pd.Series({"x": 1, "y": 1, "z": 2, "w": 2})
    b = pd.Series({"x": "k", "y": "k", "z": "m", "q": "m"})
    res = agreement(a, b)
    assert res["n_activities"] == 3 and res["ari"] == pytest.approx(1.0)
