"""Location quotients with the "twice the national average" threshold and size floors."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mapping.config import DEFAULT_THRESHOLD

__all__ = ["location_quotients", "specialisation", "evaluate_rule", "location_quotient_table"]

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
    (see :func:`mapping.ingest.select_units`), so each territory is counted once.

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


def evaluate_rule(rule: str, flags: dict[str, pd.Series]) -> pd.Series:
    """Evaluate a boolean rule such as ``"employment and (revenue or exports)"``.

    Parameters
    ----------
    rule : str
        Indicator names joined by ``and``, ``or``, ``not`` and parentheses.
    flags : dict of str to Series of bool
        Per-indicator specialisation, aligned on one index. An indicator absent from ``flags``
        counts as False (no data: no evidence).

    Returns
    -------
    Series of bool

    Raises
    ------
    ValueError
        The rule uses anything but names, ``and``, ``or``, ``not`` and parentheses.
    """
    from mapping.rules import evaluate_call_rule

    # Booleans are the three-valued calls restricted to no (0) and certain (2).
    calls = {name: flag.astype(bool).astype(int) * 2 for name, flag in flags.items()}
    return evaluate_call_rule(rule, calls) == 2


def specialisation(lq: pd.DataFrame, *, indicators: tuple[str, ...], rule: str | None = None,
                   level: str = "section") -> pd.DataFrame:
    """Combine per-indicator calls into one region x activity specialisation.

    Parameters
    ----------
    lq : DataFrame
        Output of :func:`location_quotients`.
    indicators : tuple of str
        Indicators that count; the default rule is "any of them".
    rule : str, optional
        Boolean rule over indicator names (see :func:`evaluate_rule`).
    level : str
        Classification level to combine at.

    Returns
    -------
    DataFrame
        One row per year x classification x region x activity: ``specialised`` (bool),
        ``lq_max`` and ``lq_indicator`` (the strongest configured indicator),
        ``lq_by_indicator`` (``"gva=2.31;shipments=1.2"``) and ``indicators_specialised``.
    """
    sub = lq.loc[(lq["level"] == level) & lq["indicator"].isin(indicators)]
    keys = ["year", "classification", "level", "region_code", "activity_code"]
    wide_flag = sub.pivot_table(index=keys, columns="indicator", values="specialised", aggfunc="first")
    wide_lq = sub.pivot_table(index=keys, columns="indicator", values="lq", aggfunc="first", dropna=False)
    wide_lq = wide_lq.reindex(wide_flag.index)
    flags = {c: wide_flag[c].fillna(False).astype(bool) for c in wide_flag.columns}
    combined = evaluate_rule(rule or " or ".join(indicators), flags)
    out = pd.DataFrame(index=wide_flag.index)
    out["specialised"] = combined.reindex(out.index).fillna(False).astype(bool)
    out["lq_max"] = wide_lq.max(axis=1, skipna=True)
    has_lq = wide_lq.notna().any(axis=1)
    out["lq_indicator"] = ""
    if has_lq.any():
        out.loc[has_lq, "lq_indicator"] = wide_lq.loc[has_lq].idxmax(axis=1, skipna=True)
    lq_cols, lq_arr = list(wide_lq.columns), wide_lq.to_numpy(dtype=float)
    out["lq_by_indicator"] = [";".join(f"{c}={v:.3f}" for c, v in zip(lq_cols, row) if not np.isnan(v))
                              for row in lq_arr]
    fl_cols = list(wide_flag.columns)
    fl_arr = np.column_stack([flags[c].to_numpy() for c in fl_cols]) if fl_cols else np.zeros((len(out), 0), bool)
    out["indicators_specialised"] = [";".join(c for c, f in zip(fl_cols, row) if f) for row in fl_arr]
    if "specialisation_call" in sub.columns:
        _combined_call(out, sub, keys, rule or " or ".join(indicators))
    return out.reset_index()


def _combined_call(out: pd.DataFrame, sub: pd.DataFrame, keys: list[str], rule: str) -> None:
    """Add the combined three-valued call and the bounds of the reference indicator (in place).

    The reference indicator is the one with the highest published LQ (``lq_indicator``), or, where
    no LQ is published (suppressed cells), the one with the highest upper bound.
    """
    from mapping.rules import call_from_code, code_from_call, evaluate_call_rule

    wide_call = sub.pivot_table(index=keys, columns="indicator", values="specialisation_call",
                                aggfunc="first").reindex(out.index)
    calls = {c: code_from_call(wide_call[c]) for c in wide_call.columns}
    out["specialisation_call"] = call_from_code(evaluate_call_rule(rule, calls).reindex(out.index).fillna(0))
    cols = [c for c in ("lq_low", "lq_high", "lq_ci_low", "lq_ci_high") if c in sub.columns]
    wide = {c: sub.pivot_table(index=keys, columns="indicator", values=c, aggfunc="first",
                               dropna=False).reindex(out.index) for c in cols}
    ref = out["lq_indicator"].copy()
    if "lq_high" in wide:
        hi = wide["lq_high"].replace(np.inf, np.finfo(float).max)
        none = (ref == "") & hi.notna().any(axis=1)
        if none.any():
            ref[none] = hi.loc[none].idxmax(axis=1, skipna=True)
    for c in cols:
        w = wide[c]
        pos = {col: j for j, col in enumerate(w.columns)}
        j = np.array([pos.get(r, -1) for r in ref])
        arr = w.to_numpy(dtype=float)
        out[c] = np.where(j >= 0, arr[np.arange(len(arr)), np.maximum(j, 0)], np.nan) if len(arr) else np.nan
    out["call_indicator"] = ref


def location_quotient_table(tidy: pd.DataFrame, settings, *, activities: pd.DataFrame | None = None
                            ) -> tuple[pd.DataFrame, dict]:
    """Point LQs with bounds, small-count intervals, the configured rule's calls and the years' record.

    Steps: cell bounds narrowed by the known totals (:func:`mapping.uncertainty.prepare_cells`),
    :func:`location_quotients` on the point values, exact LQ bounds
    (:func:`mapping.uncertainty.lq_bounds`), Poisson intervals for count indicators, the named
    rule (:func:`mapping.rules.apply_rule`) and, with several years, the years specialised and the
    LQ change (:func:`mapping.timeseries.row_persistence`).

    Parameters
    ----------
    tidy : DataFrame
        Tidy rows of one non-overlapping set of units (activity and ``level == "total"`` rows).
    settings : mapping.config.SpecialisationSection
    activities : DataFrame, optional
        Activity registry (parents bound their children's suppressed cells).

    Returns
    -------
    lq : DataFrame
        :func:`location_quotients` columns plus ``value_low, value_high, lq_low, lq_high,
        lq_ci_low, lq_ci_high, specialisation_call, rule, lq_cutoff, eco_stars, years_specialised,
        n_years, lq_change``.
    info : dict
        What the uncertainty step did (cells narrowed, range cells imputed, known-total files).
    """
    from mapping import rules, timeseries, uncertainty

    s = settings
    rounding = tuple(uncertainty.RoundingRule(r.indicator, r.flag, r.half_width, r.relative_to) for r in s.rounded)
    known = uncertainty.read_known_totals(s.known_totals) if s.known_totals else None
    cells, info = uncertainty.prepare_cells(tidy, rounding=rounding, exact_totals=s.exact_totals,
                                            activities=activities, known_totals=known,
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
    # Filled once the geography is known (mapping/spatial.py, via mapping/evidence.py).
    lq["local_moran_i"] = np.nan
    lq["local_moran_p"] = np.nan
    lq["hotspot"] = ""
    info["calls"] = lq.loc[lq["indicator"].isin(s.indicators) & (lq["level"] == s.level),
                           "specialisation_call"].value_counts().to_dict()
    return lq, info
