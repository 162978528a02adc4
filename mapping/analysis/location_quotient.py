"""Location quotients with the "twice the national average" threshold and size floors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mapping.config import DEFAULT_THRESHOLD

__all__ = ["location_quotients", "location_quotient_table", "REASON_MISSING", "REASON_REGION_ZERO",
           "REASON_NATIONAL_ZERO"]

_GROUP = ["year", "indicator", "classification", "level"]

REASON_MISSING = "value missing (suppressed or not published)"
REASON_REGION_ZERO = "region total is zero"
REASON_NATIONAL_ZERO = "national value of the activity is zero"


def location_quotients(tidy: pd.DataFrame, *, threshold: float = DEFAULT_THRESHOLD,
                       min_share_of_national: float = 0.0, min_value: float = 0.0) -> pd.DataFrame:
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
    min_share_of_national : float
        Size floor: the region must hold at least this share (0-1) of the national value.
    min_value : float
        Size floor: the region's value must be at least this, in the indicator's unit.

    Returns
    -------
    DataFrame
        Columns ``year, indicator, unit, classification, level, region_code, activity_code, value,
        flag, region_total, national_value, national_total, share_of_national, lq, lq_reason,
        specialised``. ``lq`` is NaN (written empty) with a ``lq_reason`` where it is undefined;
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
    df = tidy.loc[tidy["level"] != "total"].copy()
    # Sums with min_count=1 semantics (all missing -> NaN), via built-in transforms (fast on many groups).
    g_region = df.groupby(_GROUP + ["region_code"], sort=False)["value"]
    df["region_total"] = g_region.transform("sum").where(g_region.transform("count") > 0)
    g_act = df.groupby(_GROUP + ["activity_code"], sort=False)["value"]
    df["national_value"] = g_act.transform("sum").where(g_act.transform("count") > 0)
    totals = (df.drop_duplicates(_GROUP + ["region_code"])
                .groupby(_GROUP, sort=False)["region_total"].sum(min_count=1).rename("national_total"))
    df = df.join(totals, on=_GROUP)
    with np.errstate(divide="ignore", invalid="ignore"):
        region_share = df["value"] / df["region_total"]
        national_share = df["national_value"] / df["national_total"]
        lq = region_share / national_share
        share_nat = df["value"] / df["national_value"]
    reason = pd.Series("", index=df.index, dtype=object)
    reason[df["national_value"].fillna(0) == 0] = REASON_NATIONAL_ZERO
    reason[df["region_total"].fillna(0) == 0] = REASON_REGION_ZERO
    reason[df["value"].isna()] = REASON_MISSING
    lq[reason != ""] = np.nan
    df["lq"] = lq
    df["lq_reason"] = reason
    df["share_of_national"] = share_nat.where(df["national_value"] > 0)
    floors = (df["value"].fillna(0) >= min_value) & (df["share_of_national"].fillna(0) >= min_share_of_national)
    df["specialised"] = (df["lq"] >= threshold).fillna(False).astype(bool) & floors
    cols = ["year", "indicator", "unit", "classification", "level", "region_code", "activity_code", "value",
            "flag", "region_total", "national_value", "national_total", "share_of_national", "lq",
            "lq_reason", "specialised"]
    cols += [c for c in ("value_low", "value_high") if c in df.columns]  # bounds ride along (uncertainty)
    return df[cols].sort_values(["year", "indicator", "classification", "level", "region_code",
                                 "activity_code"]).reset_index(drop=True)


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
        lq_ci_low, lq_ci_high, specialisation_call, rule, lq_cutoff, eco_stars, years_specialised,
        n_years, lq_change``.
    info : dict
        What the uncertainty step did (cells narrowed, range cells imputed, known-total files).
    """
    from mapping.analysis import rules, timeseries, uncertainty

    s = settings
    rounding = tuple(uncertainty.RoundingRule(r.indicator, r.flag, r.half_width, r.relative_to) for r in s.rounded)
    cells, info = uncertainty.prepare_cells(tidy, rounding=rounding, exact_totals=s.exact_totals,
                                            activities=activities, known_totals=known_totals,
                                            known_tolerance=s.known_totals_tolerance, range_point=s.range_point)
    info["known_totals"] = [str(p) for p in s.known_totals]
    lq = location_quotients(cells, threshold=s.threshold, min_share_of_national=s.min_share_of_national,
                            min_value=s.min_value)
    lq = uncertainty.lq_bounds(lq)
    lq = uncertainty.poisson_lq_interval(lq, indicators=s.count_indicators, confidence=s.confidence)
    lq = rules.apply_rule(lq, rule=s.rule, threshold=s.threshold, min_value=s.min_value,
                          min_share_of_national=s.min_share_of_national, cmp_lq_percentile=s.cmp_lq_percentile,
                          cmp_min_lq=s.cmp_min_lq, cmp_size_percentile=s.cmp_size_percentile,
                          cmp_size_indicators=s.cmp_size_indicators, eco_top_share=s.eco_top_share,
                          eco_min_stars=s.eco_min_stars)
    lq = timeseries.row_persistence(lq)
    # No finite upper bound (a suppressed cell nothing bounds) is written empty, never inf.
    lq["lq_high"] = lq["lq_high"].replace(np.inf, np.nan)
    # Filled once the geography is known (mapping/analysis/spatial.py, via mapping/analysis/evidence.py).
    lq["local_moran_i"] = np.nan
    lq["local_moran_p"] = np.nan
    lq["hotspot"] = ""
    info["calls"] = lq.loc[lq["indicator"].isin(s.indicators) & (lq["level"] == s.level),
                           "specialisation_call"].value_counts().to_dict()
    return lq, info
