"""Verdicts on supported clusters: attainable LQ, testability, statuses and robustness across rules.

All frames here are synthetic (written in the test), with values chosen so that the expected
verdicts follow by hand.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mapping.analysis.location_quotient import location_quotients
from mapping.analysis.verdicts import attainable_lq, cluster_verdicts, pair_verdicts, rule_variants, verdict_summary
from mapping.config import SpecialisationSection


def _lq(values: dict[tuple[str, str], float], *, indicator: str = "gva", level: str = "section") -> pd.DataFrame:
    """LQ table (point values) from ``{(region, activity): value}`` (synthetic)."""
    tidy = pd.DataFrame([{"year": 2021, "region_code": r, "activity_code": a, "classification": "OKVED2",
                          "level": level, "indicator": indicator, "value": v, "unit": "u", "flag": "",
                          "source": "synthetic"} for (r, a), v in values.items()])
    return location_quotients(tidy)


def _settings(**kw) -> SpecialisationSection:
    return SpecialisationSection(indicators=kw.pop("indicators", ("gva",)), **kw)


def test_attainable_lq_cap_section_at_two_thirds_never_reaches_two():
    # Activity C is 66 % of the national total: 1 / 0.66 = 1.515 < 2, whatever the region.
    vals = {("r1", "C"): 66.0, ("r1", "X"): 0.0, ("r2", "C"): 0.0, ("r2", "X"): 34.0}
    lq = _lq(vals)
    att = attainable_lq(lq).set_index("activity_code")["attainable_lq"]
    assert att["C"] == pytest.approx(100 / 66)
    assert att["C"] < 2.0
    # r1 holds all of C and nothing else: the highest LQ any region can have is exactly the cap.
    assert lq.loc[(lq["region_code"] == "r1") & (lq["activity_code"] == "C"), "lq"].iloc[0] == pytest.approx(100 / 66)


def _registry(rows):
    return pd.DataFrame([{"cluster_id": cid, "region_codes": regs, "activity_codes": acts}
                         for cid, regs, acts in rows])


def test_cluster_on_a_dominant_section_is_not_testable_and_never_supported_not_specialised():
    # Shipments-like table: C is 66 % of the total, so LQ 2 is unattainable for C in every region.
    vals = {("r1", "C"): 40.0, ("r1", "B"): 10.0, ("r2", "C"): 26.0, ("r2", "B"): 24.0}
    lq = _lq(vals, indicator="shipments")
    s = _settings(indicators=("shipments",))
    reg = _registry([("K1", ["r1"], ["30"]), ("K2", ["r9"], ["30"]), ("K3", ["r2"], ["05"])])
    maps = {"section": {"30": ["C"], "05": ["B"]}}
    v = cluster_verdicts(reg, lq, s, year=2021, analysis_level="section", units_of={}, level_maps=maps,
                         activity_levels={"30": "division", "05": "division"}).set_index("cluster_id")
    assert v.loc["K1", "status"] == "not_testable"
    assert v.loc["K1", "tested_level"] == "section" and v.loc["K1", "tested_activities"] == "C"
    assert v.loc["K1", "attainable_lq_max"] == "shipments=1.52"  # 100 / 66
    assert v.loc["K2", "status"] == "no_data"  # no value at all for r9
    # B is 34 % of the total (cap 2.94): testable; r2 has B LQ (24/50)/(34/100) = 1.41 < 2.
    assert v.loc["K3", "status"] == "supported_not_specialised"


def test_pair_statuses_not_testable_and_no_data():
    vals = {("r1", "C"): 40.0, ("r1", "B"): 10.0, ("r2", "C"): 26.0, ("r2", "B"): 24.0}
    lq = _lq(vals, indicator="shipments")
    pairs = pd.DataFrame({"region_code": ["r1", "r2", "r3"], "activity_code": ["C", "B", "C"],
                          "status": "supported_not_specialised", "supported_cluster_ids": "K"})
    out = pair_verdicts(pairs, lq, _settings(indicators=("shipments",)), year=2021, analysis_level="section")
    assert out["status"].tolist() == ["not_testable", "supported_not_specialised", "no_data"]
    assert out["attainable_lq_max"].iloc[0] == "shipments=1.52"


def _rule_dependent_table() -> pd.DataFrame:
    """Six regions, activity A: LQs 1.5 in r1 and well below elsewhere, so the threshold rule says no while
    the CMP percentile rule (LQ >= max(1, 75th percentile)) says yes (synthetic)."""
    vals = {}
    shares = {"r1": 15.0, "r2": 5.0, "r3": 6.0, "r4": 7.0, "r5": 8.0, "r6": 9.0}
    for r, a in shares.items():
        vals[(r, "A")] = a
        vals[(r, "Z")] = 100.0 - a
    return _lq(vals)


def test_rule_dependent_cluster_names_the_rules():
    lq = _rule_dependent_table()
    # Independent LQ of r1 in A: (15/100) / (50/600) = 1.8; 75th percentile of the six LQs is below it.
    assert lq.loc[(lq["region_code"] == "r1") & (lq["activity_code"] == "A"), "lq"].iloc[0] == pytest.approx(1.8)
    s = _settings()
    reg = _registry([("K", ["r1"], ["A"])])
    v = cluster_verdicts(reg, lq, s, year=2021, analysis_level="section", units_of={},
                         level_maps={"section": {"A": ["A"]}}, activity_levels={"A": "section"}).iloc[0]
    assert v["status"] == "supported_not_specialised"  # the configured threshold rule: 1.8 < 2
    by = dict(kv.split("=") for kv in v["verdicts_by_rule"].split(";"))
    assert by["threshold"] == "supported_not_specialised" and by["cmp_percentile"] == "aligned"
    assert not v["robust"]
    assert "aligned under cmp_percentile" in v["rule_dependence"]
    summary = verdict_summary(pd.DataFrame([v]), "section")
    assert summary["aligned_robust"] == 0 and summary["aligned_rule_dependent"][0]["cluster_id"] == "K"


def test_robust_when_every_rule_agrees():
    lq = _rule_dependent_table()
    s = _settings()
    reg = _registry([("K", ["r2"], ["A"])])  # r2: LQ 0.6, below every rule's cut-off
    v = cluster_verdicts(reg, lq, s, year=2021, analysis_level="section", units_of={},
                         level_maps={"section": {"A": ["A"]}}, activity_levels={"A": "section"}).iloc[0]
    assert v["robust"] and set(dict(kv.split("=") for kv in v["verdicts_by_rule"].split(";")).values()) == {
        "supported_not_specialised"}


def test_no_floor_variants_only_when_floors_are_set():
    assert [n for n, _, _ in rule_variants(_settings())] == ["threshold", "cmp_percentile", "eco_stars"]
    names = [n for n, _, _ in rule_variants(_settings(min_share_of_national=0.01, rule="eco_stars"))]
    assert names[0] == "eco_stars" and "threshold_no_floors" in names and len(names) == 6
    kw = dict((n, k) for n, _, k in rule_variants(_settings(min_share_of_national=0.01)))
    assert kw["threshold"]["min_share_of_national"] == 0.01 and kw["threshold_no_floors"]["min_share_of_national"] == 0


def test_size_floor_makes_a_cluster_rule_dependent():
    # r1 is specialised in A (LQ 4) but holds only 2 of 52 units of A (3.8 %): a 5 % floor removes it.
    vals = {("r1", "A"): 2.0, ("r1", "Z"): 0.0, ("r2", "A"): 50.0, ("r2", "Z"): 1248.0}
    lq = _lq(vals)
    s = _settings(min_share_of_national=0.05)
    # The run's own decision (the configured rule with the floor) sits in the LQ table.
    lq["specialised"] = (lq["lq"] >= 2) & (lq["share_of_national"] >= 0.05)
    v = cluster_verdicts(_registry([("K", ["r1"], ["A"])]), lq, s, year=2021, analysis_level="section",
                         units_of={}, level_maps={"section": {"A": ["A"]}}, activity_levels={"A": "section"}).iloc[0]
    by = dict(kv.split("=") for kv in v["verdicts_by_rule"].split(";"))
    assert by["threshold"] == "supported_not_specialised" and by["threshold_no_floors"] == "aligned"
    assert not v["robust"]
