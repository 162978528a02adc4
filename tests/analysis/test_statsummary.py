"""Counts behind the report's statistical safeguards (SYNTHETIC LQ rows)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
from _default_run import DEFAULT_CONFIG

from mapping.analysis.statsummary import statistics_summary
from mapping.config import load_config


def _analysis():
    rows = []
    for ind in ("employment", "wages"):
        for r, source in (("R1", "sum of activities"), ("R2", "partial: 2 of 3 activities"), ("R3", "published")):
            for a in ("A", "B"):
                rows.append({"year": 2021, "level": "section", "indicator": ind, "region_code": r,
                             "activity_code": a, "specialised": a == "A", "region_total_source": source,
                             "lq_scope": "economy"})
    lq = pd.DataFrame(rows)
    lq.loc[(lq["indicator"] == "wages") & (lq["region_code"] == "R3"), "region_total_source"] = "partial: known"
    spec = lq.loc[lq["indicator"] == "employment", ["region_code", "activity_code", "specialised"]]
    return SimpleNamespace(lq=lq, spec=spec.reset_index(drop=True), year=2021, level="section")


def test_regions_with_an_unknown_total_and_rows_by_source():
    cfg = load_config(DEFAULT_CONFIG)
    spec = cfg.specialisation.model_copy(update={"indicators": ["employment", "wages"]})
    out = statistics_summary(_analysis(), pd.DataFrame(), None, cfg.model_copy(update={"specialisation": spec}))
    totals = out["region_totals"]
    assert totals["regions_with_unknown_total"] == ["employment:R2", "wages:R2", "wages:R3"]
    assert totals["rows_by_source"] == {"partial: 2 of 3 activities": 4, "sum of activities": 4, "published": 2,
                                        "partial: known": 2}
