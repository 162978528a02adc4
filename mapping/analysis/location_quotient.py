"""Location quotients with the "twice the national average" threshold and size floors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from mapping.analysis.rules import floor_values
from mapping.config import DEFAULT_THRESHOLD

__all__ = ["location_quotients", "location_quotient_table", "REASON_MISSING", "REASON_REGION_ZERO",
           "REASON_NATIONAL_ZERO", "REASON_TOTAL_UNKNOWN", "floor_values"]

_GROUP = ["year", "indicator", "classification", "level"]

REASON_MISSING = "value missing (suppressed or not published)"
REASON_REGION_ZERO = "region total is zero"
REASON_NATIONAL_ZERO = "national value of the activity is zero"
REASON_TOTAL_UNKNOWN = ("region total unknown: a cell of the region is suppressed and no total is published "
                        "(see lq_low/lq_high)")
#: ``region_total_source``: the region's published ``level = total`` row, the sum of its activity cells,
#: or that sum with a suppressed cell left out (then the region's LQs are undefined, never understated).
TOTAL_PUBLISHED, TOTAL_SUM, TOTAL_PARTIAL = "published", "sum of activities", "partial sum (suppressed cell)"


def location_quotients(tidy: pd.DataFrame, *, threshold: float = DEFAULT_THRESHOLD,
                       min_share_of_national: float | dict = 0.0, min_value: float | dict = 0.0,
                       published_totals: tuple[str, ...] = ()) -> pd.DataFrame:
    """Compute a location quotient for every year x indicator x region x activity.

    ``lq = (value / region_total) / (national_value / national_total)``, where ``region_total`` is
    the region's sum over the activities of the same classification level, ``national_value`` the
    sum of ``value`` over the regions in ``tidy`` and ``national_total`` the sum of
    ``region_total`` over the same regions. ``tidy`` must hold one non-overlapping set of units
    (see :func:`mapping.ingest.tidy.select_units`), so each territory is counted once.

    Parameters
    ----------
    tidy : DataFrame
        Tidy rows (``mapping.schema.TIDY_COLUMNS``); rows with ``level == "total"`` are ignored.
    threshold : float
        An LQ at or above this is specialised (default 2.0, "twice the national average").
    min_share_of_national : float or dict
        Size floor: the region must hold at least this share (0-1) of the national value (one number,
        or one per indicator: ``{"gva": 0.001}``; indicators not named have no floor).
    min_value : float or dict
        Size floor: the region's value must be at least this, in the indicator's unit (idem).
    published_totals : tuple of str
        Indicators whose region total is the published ``level = total`` row (e.g. GRP for ``gva``):
        a suppressed cell then leaves the total intact. For other indicators a region with a
        suppressed cell has no known total, so its LQs are undefined (``REASON_TOTAL_UNKNOWN``)
        rather than computed from a total that leaves the cell out.

    Returns
    -------
    DataFrame
        Columns ``year, indicator, unit, classification, level, region_code, activity_code, value,
        flag, region_total, region_total_source, national_value, national_total, share_of_national, lq,
        lq_reason, specialised``. ``lq`` is NaN (written empty) with a ``lq_reason`` where it is undefined;
        never 0 or inf for an undefined cell.

    Examples
    --------
    >>> t = pd.DataFrame({"year": 2021, "indicator": "employment", "unit": "persons",
    ...     "classification": "X", "level": "section", "flag": "",
    ...     "region_code": ["a", "a", "b", "b"], "activity_code": ["p", "q", "p", "q"],
    ...     "value": [30.0, 10.0, 10.0, 50.0]})
    >>> location_quotients(t)["lq"].round(3).tolist()
    [1.875, 0.417, 0.417, 1.389]
    """
    from mapping.analysis.frames import KeyCodes, lookup, rows

    df = rows(tidy, tidy["level"] != "total")
    keys = KeyCodes(df)
    # Sums with min_count=1 semantics (all missing -> NaN), via built-in transforms (fast on many groups),
    # grouped on integer codes of the keys (grouping on five text columns is slow on a large table).
    region_group = pd.Series(keys.codes(_GROUP + ["region_code"], sort=False)[0], index=df.index)
    g_region = df["value"].groupby(region_group, sort=False)
    n_cells = g_region.transform("count")
    df["region_total"] = g_region.transform("sum").where(n_cells > 0)
    partial = n_cells < g_region.transform("size")
    source = pd.Series(np.where(partial, TOTAL_PARTIAL, TOTAL_SUM), index=df.index, dtype=object)
    if published_totals:
        rk = ["year", "indicator", "classification", "region_code"]
        tot = tidy.loc[(tidy["level"] == "total") & tidy["indicator"].isin(published_totals) & tidy["value"].notna(),
                       rk + ["value"]].drop_duplicates(rk).rename(columns={"value": "_pub"})
        at = lookup(df, tot, rk)  # a left merge's row match, on integer codes
        pub = pd.Series(np.where(at >= 0, tot["_pub"].to_numpy(dtype=float)[np.maximum(at, 0)] if len(tot) else np.nan,
                                 np.nan), index=df.index)
        use = pub.notna() & (pub > 0)
        df.loc[use, "region_total"] = pub[use]
        source[use] = TOTAL_PUBLISHED
    df["region_total_source"] = source
    g_act = df["value"].groupby(keys.codes(_GROUP + ["activity_code"], sort=False)[0], sort=False)
    df["national_value"] = g_act.transform("sum").where(g_act.transform("count") > 0)
    # National total: the sum of each region's total, taken from the region's first row.
    table = pd.Series(keys.codes(_GROUP, sort=False)[0], index=df.index)
    firsts = ~region_group.duplicated()
    totals = df.loc[firsts, "region_total"].groupby(table[firsts], sort=False).sum(min_count=1)
    df["national_total"] = totals.reindex(table.to_numpy()).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        region_share = df["value"] / df["region_total"]
        national_share = df["national_value"] / df["national_total"]
        lq = region_share / national_share
        share_nat = df["value"] / df["national_value"]
    reason = pd.Series("", index=df.index, dtype=object)
    reason[df["national_value"].fillna(0) == 0] = REASON_NATIONAL_ZERO
    reason[df["region_total"].fillna(0) == 0] = REASON_REGION_ZERO
    reason[(source == TOTAL_PARTIAL) & (reason == "")] = REASON_TOTAL_UNKNOWN
    reason[df["value"].isna()] = REASON_MISSING
    lq[reason != ""] = np.nan
    df["lq"] = lq
    df["lq_reason"] = reason
    df["share_of_national"] = share_nat.where(df["national_value"] > 0)
    floors = ((df["value"].fillna(0) >= floor_values(df["indicator"], min_value))
              & (df["share_of_national"].fillna(0) >= floor_values(df["indicator"], min_share_of_national)))
    df["specialised"] = (df["lq"] >= threshold).fillna(False).astype(bool) & floors
    cols = ["year", "indicator", "unit", "classification", "level", "region_code", "activity_code", "value",
            "flag", "region_total", "region_total_source", "national_value", "national_total", "share_of_national", "lq",
            "lq_reason", "specialised"]
    cols += [c for c in ("value_low", "value_high") if c in df.columns]  # bounds ride along (uncertainty)
    # Sorted by the keys: a stable sort of their sorted integer codes (as sort_values' lexicographic sort).
    order, _ = keys.codes(["year", "indicator", "classification", "level", "region_code", "activity_code"])
    order = np.argsort(order, kind="stable")
    if (order == np.arange(len(order))).all():  # already in key order (as tables usually are): no reordering copy
        return df[cols].reset_index(drop=True)
    return df[cols].iloc[order].reset_index(drop=True)


def location_quotient_table(tidy: pd.DataFrame, settings, *, activities: pd.DataFrame | None = None,
                            known_totals: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """Point LQs with bounds, small-count intervals, the configured rule's calls and the years' record.

    Steps: cell bounds narrowed by the known totals (:func:`mapping.analysis.uncertainty.prepare_cells`),
    :func:`location_quotients` on the point values, exact LQ bounds
    (:func:`mapping.analysis.uncertainty.lq_bounds`), Poisson intervals for count indicators, the named
    rule (:func:`mapping.analysis.rules.apply_rule`) and, with several years, the years specialised and the
    LQ change (:func:`mapping.analysis.timeseries.row_persistence`).

    Parameters
    ----------
    tidy : DataFrame
        Tidy rows of one non-overlapping set of units (activity and ``level == "total"`` rows).
    settings : mapping.config.SpecialisationSection
    activities : DataFrame, optional
        Activity registry (parents bound their children's suppressed cells).
    known_totals : DataFrame, optional
        Published national totals (:func:`mapping.ingest.tables.read_known_totals` of
        ``settings.known_totals``); they narrow the bounds of suppressed cells.

    Returns
    -------
    lq : DataFrame
        :func:`location_quotients` columns plus ``value_low, value_high, lq_low, lq_high,
        lq_ci_low, lq_ci_high, specialisation_call, rule, lq_cutoff, eco_stars, below_size_floor,
        lq_test, lq_test_p, lq_test_passed`` (:mod:`mapping.analysis.significance`), ``years_specialised,
        n_years, lq_change, lq_scope`` (``economy`` or ``within_industry``: the region total is one
        industry's, e.g. shipments B-E).
    info : dict
        What the uncertainty step did (cells narrowed, range cells imputed, known-total files).
    """
    from mapping.analysis import rules, significance, timeseries, uncertainty

    s = settings
    rounding = tuple(uncertainty.RoundingRule(r.indicator, r.flag, r.half_width, r.relative_to) for r in s.rounded)
    cells, info = uncertainty.prepare_cells(tidy, rounding=rounding, exact_totals=s.exact_totals,
                                            activities=activities, known_totals=known_totals,
                                            known_tolerance=s.known_totals_tolerance, range_point=s.range_point)
    info["known_totals"] = [str(p) for p in s.known_totals]
    lq_levels = getattr(s, "lq_levels", None)
    if lq_levels:  # the other levels have done their part: bounding their children's suppressed cells
        cells = cells.loc[cells["level"].isin({*lq_levels, "total"})].reset_index(drop=True)
    lq = location_quotients(cells, threshold=s.threshold, min_share_of_national=s.min_share_of_national,
                            min_value=s.min_value, published_totals=tuple(s.exact_totals))
    lq = uncertainty.lq_bounds(lq)
    info["exact_bounds"] = _exact_bounds_gain(lq, uncertainty, s.threshold)
    lq = uncertainty.poisson_lq_interval(lq, indicators=s.count_indicators, confidence=s.confidence)
    lq = rules.apply_rule(lq, rule=s.rule, threshold=s.threshold, min_value=s.min_value,
                          min_share_of_national=s.min_share_of_national, cmp_lq_percentile=s.cmp_lq_percentile,
                          cmp_min_lq=s.cmp_min_lq, cmp_size_percentile=s.cmp_size_percentile,
                          cmp_size_indicators=s.cmp_size_indicators, eco_top_share=s.eco_top_share,
                          eco_min_stars=s.eco_min_stars)
    lq = significance.threshold_tests(lq, count_indicators=s.count_indicators, confidence=s.confidence)
    lq = timeseries.row_persistence(lq)
    # Shipments' regional total is industry B-E, not the economy: say so on every row.
    from mapping.analysis.frames import take_text, to_str_series

    within = lq["indicator"].isin(s.within_industry).to_numpy(dtype=np.int64)
    lq["lq_scope"] = to_str_series(take_text(pa.array(["economy", "within_industry"]), within), lq.index)
    # No finite upper bound (a suppressed cell nothing bounds) is written empty, never inf.
    lq["lq_high"] = lq["lq_high"].replace(np.inf, np.nan)
    # Filled once the geography is known (mapping/analysis/spatial.py, via mapping/analysis/evidence.py).
    lq["local_moran_i"] = np.nan
    lq["local_moran_p"] = np.nan
    lq["local_moran_q"] = np.nan
    lq["hotspot"] = ""
    info["calls"] = lq.loc[lq["indicator"].isin(s.indicators) & (lq["level"] == s.level),
                           "specialisation_call"].value_counts().to_dict()
    return lq, info


def _exact_bounds_gain(lq: pd.DataFrame, uncertainty, threshold: float) -> dict:
    """Per indicator and year with published (equality) totals: cells whose bounds straddle the threshold with the
    general bounds (region totals as sums of varying cells) and with the exact ones, and the median
    ratio of the widths (for the report: what the equalities decide)."""
    out: dict = {}
    pub = lq["region_total_source"] == TOTAL_PUBLISHED
    for ind, year in sorted(set(zip(lq.loc[pub, "indicator"], lq.loc[pub, "year"]))):
        sub = lq.loc[(lq["indicator"] == ind) & (lq["year"] == year)]
        gen = uncertainty.lq_bounds(sub.drop(columns=["region_total_source", "lq_low", "lq_high"]))
        ok = sub["lq"].notna() & np.isfinite(gen["lq_high"]) & np.isfinite(sub["lq_high"])
        straddle_g = ok & (gen["lq_low"] < threshold) & (gen["lq_high"] >= threshold)
        straddle_e = ok & (sub["lq_low"] < threshold) & (sub["lq_high"] >= threshold)
        width_e = (sub["lq_high"] - sub["lq_low"])[ok]
        ratio = ((gen["lq_high"] - gen["lq_low"])[ok] / width_e.where(width_e > 0)).dropna()
        out.setdefault(ind, {})[str(int(year))] = {"cells": int(ok.sum()), "straddle_general": int(straddle_g.sum()),
                    "straddle_exact": int(straddle_e.sum()), "decided": int((straddle_g & ~straddle_e).sum()),
                    "median_width_ratio": round(float(ratio.median()), 3) if len(ratio) else None}
    return out
