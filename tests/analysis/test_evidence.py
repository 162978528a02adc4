"""Robustness evidence on the real default data: bounds, calls, hot spots, grouping, report section."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mapping import pipeline
from mapping.analysis.evidence import (
    robustness_section,
    robustness_summary,
    spatial_evidence,
)
from mapping.config import load_config
from mapping.schema import LQ_COLUMNS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ru():
    cfg = load_config(ROOT / "config" / "default.toml")
    cfg = cfg.model_copy(update={"spatial": cfg.spatial.model_copy(update={"permutations": 199}),
                                 "relatedness": cfg.relatedness.model_copy(update={"stability_resamples": 10})})
    inputs = pipeline.load_inputs(cfg)
    analysis = pipeline.compute_location_quotients(inputs, cfg)
    matrix, groups = pipeline.compute_activity_groups(analysis, cfg)
    geography = pipeline.load_geography(inputs, cfg)
    candidates = pipeline.detect_candidates(analysis, groups, geography)
    pairs, clusters, supported = pipeline.compare_supported(analysis, inputs, cfg)
    ev = spatial_evidence(analysis, geography, cfg, pairs, candidates)
    return SimpleNamespace(cfg=cfg, analysis=analysis, groups=groups, matrix=matrix, ev=ev)


def test_default_config_carries_the_uncertainty_settings():
    cfg = load_config(ROOT / "config" / "default.toml")
    s = cfg.specialisation
    assert s.rule == "threshold" and s.threshold == 2.0
    assert s.rounded[0].indicator == "gva" and s.rounded[0].half_width == 0.0005
    assert s.exact_totals == ("gva",)
    assert s.known_totals[0] == ROOT / "data" / "ru_rosstat_2021_national.csv" and s.known_totals[0].is_file()


def test_gva_bounds_are_half_a_tenth_of_a_point_of_grp(ru):
    lq = ru.analysis.lq
    assert list(lq.columns) == LQ_COLUMNS
    g = lq.loc[(lq["indicator"] == "gva") & (lq["region_code"] == "RU-TA") & (lq["year"] == 2021)]
    width = (g["value_high"] - g["value_low"]).loc[g["value"] > 0]
    # +-0.05 pp of Tatarstan's GRP (the sections sum to it): the same width for every section.
    assert np.allclose(width, width.iloc[0]) and width.iloc[0] == pytest.approx(0.001 * g["region_total"].iloc[0],
                                                                                rel=1e-4)
    d = g.loc[g["lq"].notna()]  # section T: national value 0, LQ undefined
    assert (d["lq_low"] <= d["lq"]).all() and (d["lq"] <= d["lq_high"]).all()


def test_suppressed_shipments_bounded_by_the_national_rows(ru):
    lq = ru.analysis.lq
    mag = lq.loc[(lq["indicator"] == "shipments") & (lq["region_code"] == "RU-MAG")
                 & (lq["year"] == 2021)].set_index("activity_code")
    # National B minus the published regions (about 76,700 million RUB, +0.01 % tolerance) bounds Magadan's B.
    assert np.isnan(mag.at["B", "lq"]) and 70_000 < mag.at["B", "value_high"] < 82_000
    assert np.isfinite(mag.at["C", "lq_high"])  # without the national rows: no finite bound
    # Magadan's total is unknown (suppressed B and E): no point LQ for C either, only bounds.
    assert np.isnan(mag.at["C", "lq"]) and mag.at["C", "lq_reason"].startswith("region total unknown")
    # Every suppressed shipments cell of every year (the national rows cover 2017-2021) is narrowed.
    raw = pd.read_csv(ROOT / "data" / "ru_rosstat_2021.csv")
    n_supp = int(((raw["indicator"] == "shipments") & (raw["flag"] == "suppressed")).sum())
    assert n_supp == 28 and ru.analysis.uncertainty["national_total"] == n_supp


def test_calls_split_certain_from_possible(ru):
    spec = ru.analysis.spec
    calls = spec["specialisation_call"].value_counts()
    assert calls["certain"] > 100 and calls["possible"] > 10
    assert (spec.loc[spec["specialisation_call"] == "certain", "specialised"]).all()
    # Section T (households as employers) is printed as 0.0 % everywhere: never called.
    assert (spec.loc[spec["activity_code"] == "T", "specialisation_call"] == "no").all()


def test_islands_and_hot_spots(ru):
    t = ru.ev.table
    assert ru.ev.summary["islands"] == ["RU-KGD", "RU-SAK"]
    assert set(t.loc[t["region_code"].isin(["RU-X-CR", "RU-X-SEV"]), "hotspot"]) == {"no geometry"}
    # Unadjusted (p < 0.05) many HH; false-discovery control (199 permutations here: p >= 0.005) keeps fewer.
    hh_raw = ((t["local_moran_p"] < 0.05) & (t["quadrant"] == "HH")).sum()
    assert hh_raw > 20 and ru.ev.summary["hh_unadjusted"] == hh_raw
    assert 0 < (t["hotspot"] == "HH").sum() < hh_raw
    assert set(ru.ev.lq["hotspot"]) >= {"HH", "island", ""}


def test_grouping_attrs_and_report_section(ru):
    g = ru.groups
    assert g.attrs["grouping"] == "data" and 0 < g.attrs["stability_ari"] <= 1
    assert g["stability"].between(0, 1).all() and (g["data_group_id"] == g["group_id"]).all()
    summary = robustness_summary(ru.analysis, g, ru.ev.candidates, ru.ev.pairs_status, ru.ev.summary)
    manifest = {"headline": {"robustness": summary}, "analysis": {"grouping": dict(g.attrs)}}
    built = SimpleNamespace(divergence_table=ru.ev.pairs_status)
    text = robustness_section(manifest, built, ru.analysis, ru.cfg)
    assert "How certain are the findings?" in text
    assert f"**{summary['certain']} certain**" in text and "Untapped specialisations, possible" in text
    assert "RU-KGD, RU-SAK" in text and "stability under resampling of regions" in text


def test_first_rows_are_a_left_join_on_the_deduplicated_table():
    from mapping.analysis.evidence import _first_rows

    # SYNTHETIC: a table with a repeated key (two classifications) and pairs with and without a match
    table = pd.DataFrame({"region_code": ["R1", "R1", "R2", "R2", "R1"], "activity_code": ["A", "B", "A", "A", "A"],
                          "indicator": ["e", "e", "e", "e", "w"], "hotspot": ["HH", "LL", "HL", "HH", "LH"]})
    pairs = pd.DataFrame({"region_code": ["R2", "R1", "R3", "R1", "R1"], "activity_code": ["A", "A", "A", "B", "A"],
                          "indicator": ["e", "w", "e", "e", ""]})
    first, firsts = _first_rows(table, [pairs["region_code"], pairs["activity_code"], pairs["indicator"]])
    pk = ["region_code", "activity_code", "indicator"]
    j = pairs.merge(table.assign(row=range(len(table))).drop_duplicates(pk), on=pk, how="left")
    assert first.tolist() == j["row"].fillna(-1).astype(int).tolist() == [2, 4, -1, 1, -1]
    assert firsts.tolist() == [True, True, True, False, True]
