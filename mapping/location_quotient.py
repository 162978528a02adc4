"""Location quotients with the "twice the national average" threshold and size floors."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mapping.config import DEFAULT_THRESHOLD

__all__ = ["location_quotients", "specialisation", "evaluate_rule"]

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
    g_region = df.groupby(_GROUP + ["region_code"], sort=False)["value"]
    df["region_total"] = g_region.transform(lambda s: s.sum(min_count=1))
    df["national_value"] = df.groupby(_GROUP + ["activity_code"], sort=False)["value"].transform(
        lambda s: s.sum(min_count=1))
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
    import ast

    tree = ast.parse(rule, mode="eval")
    index = next(iter(flags.values())).index if flags else None

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.BoolOp):
            vals = [ev(v) for v in node.values]
            out = vals[0]
            for v in vals[1:]:
                out = (out & v) if isinstance(node.op, ast.And) else (out | v)
            return out
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ~ev(node.operand)
        if isinstance(node, ast.Name):
            s = flags.get(node.id)
            return s.astype(bool) if s is not None else pd.Series(False, index=index)
        raise ValueError(f"specialisation rule {rule!r}: only indicator names, and, or, not and "
                         f"parentheses are allowed (found {type(node).__name__})")

    return ev(tree)


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
    out["lq_by_indicator"] = [
        ";".join(f"{c}={v:.3f}" for c, v in row.items() if pd.notna(v)) for _, row in wide_lq.iterrows()]
    out["indicators_specialised"] = [
        ";".join(c for c in wide_flag.columns if bool(wide_flag.at[i, c]) is True) for i in wide_flag.index]
    return out.reset_index()
