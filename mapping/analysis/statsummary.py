"""Counts behind the report's statistical safeguards: size floors, within-industry LQs, region totals,
threshold tests, false-discovery control, exact bounds and persistence over the years.

Pure: frames and the configuration in, one JSON-ready dict out (``manifest.json`` ``headline.statistics``,
rendered by :func:`mapping.outputs.statsreport.statistics_section`).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["statistics_summary"]


def _floor_text(floor) -> dict | float:
    return {k: float(v) for k, v in floor.items()} if isinstance(floor, dict) else float(floor)


def _unknown_totals(now: pd.DataFrame, src: pd.Series) -> list[str]:
    """``indicator:region`` of the rows whose region total is partial (a known part of an unknown total)."""
    if not len(src):
        return []
    partial = src.str.startswith("partial").to_numpy(dtype=bool)
    # The distinct pairs of the partial rows first: the table has millions of rows, few regions and indicators.
    pairs = now.loc[partial, ["indicator", "region_code"]].drop_duplicates()
    return sorted({f"{i}:{r}" for i, r in zip(pairs["indicator"].tolist(), pairs["region_code"].tolist())})


def statistics_summary(analysis, pairs_status: pd.DataFrame, spatial: dict | None, config) -> dict:
    """Counts for the report and the headline (see the module docstring).

    Parameters
    ----------
    analysis : mapping.pipeline.Analysis
        LQ table (all years), the analysis year's combined specialisation (with persistence).
    pairs_status : DataFrame
        Divergence pairs with their evidence (``within_industry_only``, ``persistent``).
    spatial : dict, optional
        :func:`mapping.analysis.evidence.spatial_evidence` summary (false-discovery counts).
    config : mapping.config.RunConfig

    Returns
    -------
    dict
        ``size_floors`` (settings, cells removed per indicator in the analysis year), ``scope`` (LQ
        rows by scope, specialised pairs backed only by within-industry LQs), ``region_totals`` (LQ
        rows by total source, undefined for an unknown total), ``threshold_tests`` (per indicator:
        tested, passed), ``hotspots`` (tests, unadjusted and adjusted counts, expected by chance),
        ``exact_bounds`` (cells the equalities decide), ``years`` (years observed per indicator,
        analysis year) and ``persistence`` (specialised pairs persistent / single-year / other).
    """
    s = config.specialisation
    lq, spec, year = analysis.lq, analysis.spec, analysis.year
    # Only the columns counted here: the LQ table of a large run has millions of rows and some forty columns.
    cols = [c for c in ("indicator", "region_code", "activity_code", "specialised", "below_size_floor",
                        "region_total_source", "lq_test", "lq_test_passed") if c in lq.columns]
    now = lq.loc[(lq["year"] == year) & (lq["level"] == analysis.level) & lq["indicator"].isin(s.indicators), cols]
    out: dict = {}
    removed = now.loc[now.get("below_size_floor", pd.Series(False, index=now.index)).fillna(False).astype(bool)]
    out["size_floors"] = {
        "min_share_of_national": _floor_text(s.min_share_of_national), "min_value": _floor_text(s.min_value),
        "cells_removed": {k: int(v) for k, v in removed.groupby("indicator").size().items()},
        "cells_removed_total": int(len(removed)),
        "pairs_removed": int(len(set(zip(removed["region_code"].tolist(), removed["activity_code"].tolist()))
                                 - set(zip(spec.loc[spec["specialised"], "region_code"].tolist(),
                                           spec.loc[spec["specialised"], "activity_code"].tolist())))),
    }
    wio = spec.get("within_industry_only", pd.Series(False, index=spec.index)).fillna(False).astype(bool)
    out["scope"] = {
        "within_industry_indicators": list(s.within_industry),
        "rows": {k: int(v) for k, v in lq.get("lq_scope", pd.Series(dtype=str)).value_counts().items()},
        "specialised_pairs_within_industry_only": int((spec["specialised"] & wio).sum()),
    }
    src = now.get("region_total_source", pd.Series(dtype=str))
    out["region_totals"] = {
        "rows_by_source": {k: int(v) for k, v in src.value_counts().items()},
        "regions_with_unknown_total": _unknown_totals(now, src),
    }
    tests = {}
    if "lq_test" in now:
        for ind, g in now.loc[now["lq_test"] != ""].groupby("indicator"):
            passed = g["lq_test_passed"].fillna(False).astype(bool)
            tests[ind] = {"test": ";".join(sorted(set(g["lq_test"]))), "rows": int(len(g)),
                          "passed": int(passed.sum()), "specialised": int(g["specialised"].sum()),
                          "specialised_passed": int((g["specialised"] & passed).sum())}
    out["threshold_tests"] = tests
    if spatial and spatial.get("enabled"):
        out["hotspots"] = {k: spatial.get(k) for k in ("tests", "significant_unadjusted", "hh_unadjusted",
                                                       "expected_by_chance", "fdr_q", "significant_fdr", "hh_fdr",
                                                       "alpha", "permutations")}
    eb = (getattr(analysis, "uncertainty", {}) or {}).get("exact_bounds", {})
    out["exact_bounds"] = {ind: years.get(str(year)) for ind, years in eb.items() if str(year) in years}
    out["years"] = {"analysis_year": int(year),
                    "observed": {ind: sorted(int(y) for y in g["year"].unique())
                                 for ind, g in lq.loc[lq["level"] == analysis.level].groupby("indicator")}}
    sp = spec.loc[spec["specialised"]]
    persistent = sp.get("persistent", pd.Series(False, index=sp.index)).fillna(False).astype(bool)
    single = sp.get("single_year", pd.Series(False, index=sp.index)).fillna(False).astype(bool)
    n_years = sp.get("n_years", pd.Series(1, index=sp.index))
    out["persistence"] = {
        "persistent_share": s.persistent_share,
        "specialised_pairs": int(len(sp)),
        "persistent": int(persistent.sum()),
        "single_year": int((single | (n_years <= 1)).sum()),
        "other": int((~persistent & ~single & (n_years > 1)).sum()),
    }
    if "status" in pairs_status:
        un = pairs_status.loc[pairs_status["status"] == "specialised_not_supported"]
        pers = un.get("persistent", pd.Series(False, index=un.index)).fillna(False).astype(bool)
        out["persistence"]["untapped_persistent"] = int(pers.sum())
        out["persistence"]["untapped_not_persistent"] = int((~pers).sum())
    return out
