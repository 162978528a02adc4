"""The second country: config/us_cbp.toml on real US County Business Patterns 2011 (state x 6-digit NAICS 2007).

The pipeline's stages run directly on the configuration (reading ../shared/data/us/). Two settings are
lowered for speed only (99 Moran permutations, 5 bootstrap resamples); the GeoJSON/GeoPackage layers
and the maps are not written here, because snapping and writing ~5,000 full-resolution state outlines
takes about a minute -- ``clustermap run --config config/us_cbp.toml`` writes them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mapping import pipeline
from mapping.analysis.evidence import spatial_evidence
from mapping.config import load_config
from mapping.outputs.publish import write_csv
from mapping.schema import CANDIDATE_COLUMNS, DIVERGENCE_COLUMNS, LQ_COLUMNS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def us_run(shared, tmp_path_factory):
    """Every analytic stage of the US configuration, and its location_quotients.csv."""
    if not (shared / "data" / "us" / "cbp_state_naics_2000_2011_wilson428" / "fips").is_dir():
        pytest.skip("../shared/data/us CBP files not found")
    cfg = load_config(ROOT / "config" / "us_cbp.toml")
    out = tmp_path_factory.mktemp("us_out")
    cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update={"output_root": out}),
                                 "spatial": cfg.spatial.model_copy(update={"permutations": 99}),
                                 "relatedness": cfg.relatedness.model_copy(update={"stability_resamples": 5})})
    inputs = pipeline.load_inputs(cfg)
    analysis = pipeline.compute_location_quotients(inputs, cfg)
    matrix, groups = pipeline.compute_activity_groups(analysis, cfg)
    geography = pipeline.load_geography(inputs, cfg)
    candidates = pipeline.detect_candidates(analysis, groups, geography)
    pairs_status, clusters_status, supported = pipeline.compare_supported(analysis, inputs, cfg)
    ev = spatial_evidence(analysis, geography, cfg, pairs_status, candidates)
    write_csv(ev.lq, out / "location_quotients.csv")
    return {"cfg": cfg, "inputs": inputs, "analysis": analysis, "matrix": matrix, "groups": groups,
            "geography": geography, "candidates": ev.candidates, "pairs": ev.pairs_status, "ev": ev, "out": out}


def test_inputs_are_three_indicators_of_2011_by_state_and_naics6(us_run):
    tidy = us_run["inputs"].tidy
    assert set(tidy["indicator"]) == {"employment", "establishments", "payroll"}
    assert set(tidy["year"]) == {2011} and set(tidy["classification"]) == {"NAICS2007"}
    states = set(tidy["region_code"])
    assert len(states) == 51 and {"US-CA", "US-DC", "US-AK", "US-HI"} <= states
    six = tidy.loc[(tidy["level"] == "naics6") & (tidy["indicator"] == "employment")]
    assert six["activity_code"].nunique() > 450
    # Withheld employment is a size class (range), never 0; about 46 % of 6-digit state cells.
    share = (six["flag"] == "range").mean()
    assert 0.35 < share < 0.55
    for led in us_run["inputs"].ledgers:
        assert led.rows_read == led.rows_used + sum(led.dropped.values())


def test_lq_audit_passes_with_range_midpoints(us_run, shared):
    res = subprocess.run([sys.executable, str(shared / "tools" / "check_lq_audit.py"), str(us_run["out"])],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    lq = us_run["analysis"].lq
    assert list(lq.columns) == LQ_COLUMNS


def test_suppressed_cells_are_bounded_and_called(us_run):
    lq = us_run["analysis"].lq
    emp = lq.loc[(lq["indicator"] == "employment") & (lq["level"] == "naics6")]
    rng = emp.loc[emp["flag"] == "range"]
    # Bounds hold the midpoint and lie within the size class, narrowed by totals and parents.
    assert (rng["value_low"] <= rng["value"] + 1e-9).all() and (rng["value"] <= rng["value_high"] + 1e-9).all()
    assert ((rng["value_high"] - rng["value_low"]) >= 0).all()
    ok = emp["lq"].notna() & emp["lq_high"].notna()
    assert (emp.loc[ok, "lq_low"] <= emp.loc[ok, "lq"] + 1e-9).all()
    assert (emp.loc[ok, "lq"] <= emp.loc[ok, "lq_high"] + 1e-9).all()
    calls = emp["specialisation_call"].value_counts()
    assert calls.get("certain", 0) > 1000 and calls.get("possible", 0) > 1000
    # A call is certain only where the published (midpoint) values also pass the rule.
    assert (emp.loc[emp["specialisation_call"] == "certain", "specialised"]).all()
    assert (emp.loc[emp["specialised"], "specialisation_call"] != "no").all()
    pay = lq.loc[(lq["indicator"] == "payroll") & (lq["flag"] == "suppressed")]
    assert len(pay) and pay["lq"].isna().all() and (pay["value_low"] == 0).all()
    assert np.isfinite(pay["value_high"]).mean() > 0.9  # bounded by state totals and parent industries
    est = lq.loc[lq["indicator"] == "establishments"]
    assert est["lq_ci_low"].notna().mean() > 0.9  # small-count interval for counts


def test_cmp_rule_and_known_specialisations(us_run):
    lq = us_run["analysis"].lq
    emp = lq.loc[(lq["indicator"] == "employment") & (lq["level"] == "naics6")]
    assert set(emp["rule"]) == {"cmp_percentile"} and (emp["lq_cutoff"].dropna() >= 1.0).all()
    spec = us_run["analysis"].spec.set_index(["region_code", "activity_code"])["specialised"]
    # Michigan automobiles, Washington aircraft, North Carolina cigarettes, Wyoming coal: certain.
    calls = us_run["analysis"].spec.set_index(["region_code", "activity_code"])["specialisation_call"]
    for key in (("US-MI", "336111"), ("US-WA", "336411"), ("US-NC", "312221"), ("US-WY", "212111")):
        assert spec.get(key) and calls.get(key) == "certain", key


def test_grouping_reports_stability_and_what_the_hierarchy_adds(us_run):
    g = us_run["groups"]
    a = g.attrs
    assert us_run["matrix"].shape[0] == len(g) > 450
    assert 10 <= a["n_groups"] <= 60 and 0 < a["stability_ari"] <= 1
    names = [s["sources"] for s in a["sources"]]
    assert names == ["colocation", "hierarchy", "colocation+hierarchy", "io", "colocation+io", "all"]
    by = {s["sources"]: s for s in a["sources"]}
    assert by["colocation+hierarchy"]["stability_ari"] > by["colocation"]["stability_ari"]
    assert g["stability"].between(0, 1).all() and g["validation_margin"].notna().sum() > 100


def test_grouping_beats_the_naics3_prefix_on_held_out_evidence(us_run):
    a = us_run["groups"].attrs
    sel = a["selection"]
    assert sel["mode"] == "auto" and not sel["k_at_edge"] and set(sel["weights"]) == {"colocation", "hierarchy", "io"}
    assert sel["weights"]["io"] > 0 and sel["weights"]["colocation"] > 0  # every source earns a weight
    assert a["io"]["unmapped"] == [] and "io_us_bea2007_naics.csv" in us_run["matrix"].attrs["io_table"]
    rows = a["validation"]["scores"]
    base = {r["score"]: r["value"] for r in rows if r["grouping"].startswith("classification tree")}
    data = {r["score"]: r for r in rows if r["grouping"] == "data"}
    assert len(base) == 3  # co-location both ways and input-output links
    for score, v in base.items():
        assert data[score]["value"] > v and data[score]["beats_null"], score


def test_candidates_and_divergence_carry_the_evidence(us_run):
    c, d = us_run["candidates"], us_run["pairs"]
    assert len(c) > 50 and set(c["specialisation_call"]) <= {"certain", "possible"}
    assert (c["n_certain_pairs"] <= c["n_pairs"]).all()
    assert {"hotspot_pairs", "single_year", "years_specialised"} <= set(c.columns)
    assert set(d["status"]) == {"specialised_not_supported"}  # no US support registry is bundled
    assert set(d["specialisation_call"]) <= {"certain", "possible"}
    need = set(DIVERGENCE_COLUMNS) - {"divergence_id", "region_name", "region_name_en", "federal_district",
                                      "activity_name", "activity_name_en", "classification", "level", "year",
                                      "supported_cluster_names", "group_id", "has_geometry"}
    assert need <= set(d.columns)
    assert set(CANDIDATE_COLUMNS) - set(c.columns) <= {"group_label", "region_names", "region_names_en",
                                                        "federal_districts", "activity_names", "activity_names_en",
                                                        "year", "classification", "level", "supported_cluster_ids",
                                                        "has_geometry", "group_name", "trade_class"}


def test_alaska_and_hawaii_are_islands_for_local_moran(us_run):
    t = us_run["ev"].table
    assert us_run["ev"].summary["islands"] == ["US-AK", "US-HI"]
    isl = t.loc[t["region_code"].isin(["US-AK", "US-HI"])]
    assert set(isl["hotspot"]) <= {"island", "no LQ"} and isl["local_moran_i"].isna().all()
    # Unadjusted (p < 0.05) over 100 HH; after Benjamini-Hochberg per map (99 permutations here, so
    # p >= 0.01 and little power) fewer remain, each with its q-value below 0.05.
    hh_raw = ((t["local_moran_p"] < 0.05) & (t["quadrant"] == "HH")).sum()
    assert hh_raw > 100 and us_run["ev"].summary["hh_unadjusted"] == hh_raw
    hh = t.loc[t["hotspot"] == "HH"]
    assert 0 < len(hh) < hh_raw and (hh["local_moran_q"] < 0.05).all()


def test_lqs_at_six_digits_and_other_years_counted_not_built(us_run):
    # lq_levels = ["naics6"]: the 3- to 5-digit files only bound withheld cells; no LQ rows of theirs.
    lq = us_run["analysis"].lq
    assert set(lq["level"]) == {"naics6"}
    assert lq["lq_low"].notna().all()  # every 6-digit cell bounded, withheld ones through their parents
    # The files hold 2000-2011; rows of the other years are dropped with a reason at reading, per file.
    for led in us_run["inputs"].ledgers:
        reason = "year not selected (years = [2011])"
        assert led.dropped.get(reason, 0) > 10 * led.rows_used, led.dropped


def test_cbp_year_missing_from_the_files_is_named(shared, tmp_path):
    from mapping.errors import MappingError
    from mapping.ingest.layouts.cbp import read_cbp

    src = shared / "data" / "us" / "cbp_state_naics_2000_2011_wilson428" / "fips" / "212111.csv"
    if not src.is_file():
        pytest.skip("../shared/data/us CBP files not found")
    (tmp_path / "212111.csv").write_bytes(src.read_bytes())
    cells, meta = read_cbp(tmp_path, years=(2011,))
    assert set(cells["year"]) == {2011} and sum(meta["drops"].values()) > 0
    with pytest.raises(MappingError, match=r"year\(s\) \[2015\] not in the file \(it has 2000-2011\)"):
        read_cbp(tmp_path, years=(2015,))
