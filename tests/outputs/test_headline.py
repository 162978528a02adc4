"""The headline's plain-word sentences, on a synthetic set of verdicts (every status, a rule-dependent cluster)."""

from __future__ import annotations

import re

import pandas as pd

from mapping.analysis.verdicts import verdict_summary
from mapping.config import SpecialisationSection
from mapping.outputs.headline import headline_lines, methods_section
from mapping.outputs.vocabulary import Vocabulary


def _clusters() -> pd.DataFrame:
    rows = [  # cluster_id, status, tested level, attainable, verdicts by rule
        ("K1", "aligned", "division", "employment=7.50", "threshold=aligned;cmp_percentile=aligned;eco_stars=aligned"),
        ("K2", "supported_not_specialised", "section", "gva=5.84;shipments=1.51",
         "threshold=supported_not_specialised;cmp_percentile=aligned;eco_stars=supported_not_specialised"),
        ("K3", "not_testable", "section", "shipments=1.51",
         "threshold=not_testable;cmp_percentile=not_testable;eco_stars=not_testable"),
        ("K4", "no_data", "", "", "threshold=no_data;cmp_percentile=no_data;eco_stars=no_data"),
    ]
    df = pd.DataFrame(rows, columns=["cluster_id", "status", "tested_level", "attainable_lq_max", "verdicts_by_rule"])
    df["robust"] = [len(set(v.split("=")[1] for v in t.split(";"))) == 1 for t in df["verdicts_by_rule"]]
    df["rule_dependence"] = ""
    df["name_ru"] = ["Кластер " + c for c in df["cluster_id"]]
    df["name_en"] = ["Cluster " + c for c in df["cluster_id"]]
    df["cluster_activity_codes"] = ["30", "30", "30", "21"]
    df["activity_codes"] = ["30", "C", "C", "C"]
    return df


def _lines(lang: int) -> str:
    s = _clusters()
    ranked = pd.DataFrame(columns=["trade_class"])
    cands = pd.DataFrame({"trade_class": ["traded", "local"], "cross_regional": [True, False]})
    return "\n".join(headline_lines(summary=verdict_summary(s, "section"), supported=s, ranked=ranked,
                                    candidates=cands, pairs_by_status={"specialised_not_supported": 0},
                                    settings=SpecialisationSection(), voc=Vocabulary(source_language="ru"), lang=lang))


def test_english_headline_counts_each_kind_of_verdict():
    text = _lines(0)
    # Testable: K1 (division) and K2 (section); K3 cannot reach LQ 2, K4 has no data.
    assert "the data could test **2** (1 at the division level and 1 at the section level)" in text
    assert "**Aligned under every rule: 1**: Cluster K1." in text
    assert "**Aligned only under some rules: 1**" in text and "US Cluster Mapping percentile rule (1): Cluster K2" in text
    assert "**Not aligned under any rule: 0**" in text
    assert ("**Could not be tested: 2** (1 because no indicator in the data can reach the threshold in their "
            "activities and 1 because the run has no data for their regions)") in text
    assert "industrial shipments could not decide" in text and "LQ 1.51" in text
    assert "**Candidate clusters: 2**, 1 of them in traded activities, 1 spanning" in text


def test_russian_headline_is_russian():
    text = _lines(1)
    assert "**Проверить не удалось: 2**" in text and "нет данных по их регионам" in text
    assert "данные позволили проверить **2**" in text
    assert not re.search(r"\b(the|could|rule)\b", text)


def test_methods_section_has_the_glossary_and_demotes_headings():
    class T:
        gini_cutoff = 0.3

    text = methods_section(settings=SpecialisationSection(), trade=None, trade_settings=T(),
                           blocks=["\n## Extra block\nbody"])
    assert text.startswith("\n## Methods") and "\n### Extra block" in text and "\n## Extra" not in text
    assert "### Glossary" in text and "**silhouette**" in text and "**attainable LQ**" in text


def test_methods_lists_a_long_classification_by_its_ends():
    class T:
        gini_cutoff = 0.3

    trade = pd.DataFrame({"activity_code": [f"{i:03d}" for i in range(100)], "activity_name_en": "x",
                          "locational_gini": [i / 100 for i in range(100)]})
    trade["trade_class"] = ["traded" if g >= 0.3 else "local" for g in trade["locational_gini"]]
    text = methods_section(settings=SpecialisationSection(), trade=trade, trade_settings=T(), blocks=[])
    assert "70 activities traded, 30 local" in text
    assert text.count("| x |") == 20 and "| 099 |" in text and "| 000 |" in text


def test_report_names_the_analysis_level_in_words():
    from mapping.outputs.vocabulary import level_phrase

    assert level_phrase("NAICS2007", "naics6") == "NAICS2007 6-digit industries"
    assert level_phrase("OKVED2", "section") == "OKVED2 sections"
