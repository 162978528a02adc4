"""Named specialisation rules, applied per indicator to the point LQs and to their bounds.

``threshold`` (default)
    LQ at or above the threshold (2.0, "twice the national average").
``cmp_percentile``
    The US Cluster Mapping Project's rule for a strong regional cluster: the LQ is at or above
    the 75th percentile of that activity's LQs across the regions and at least 1, and the region's
    employment and establishments in the activity are above their 25th percentiles across the
    regions (percentiles over the regions with a defined value; the percentages and the size
    indicators are configurable; a size indicator absent from the data is skipped).
``eco_stars``
    The European Cluster Observatory's stars: one for **size** (the region's share of the national
    activity is in the top 10 % of all region x activity cells with a positive value), one for
    **specialisation** (LQ at or above the threshold, 2.0 by default) and one for **focus** (the
    activity's share of the region's total is in the top 10 % of those cells). Specialised with at
    least ``eco_min_stars`` stars (2 by default).

Every rule first applies the size floors (``min_value``, ``min_share_of_national``). Each row gets
``specialised`` (the rule on the published values) and ``specialisation_call``: ``certain`` when
the rule holds at every value inside the bounds (lower LQ bound, lower shares, lower sizes),
``possible`` when it holds somewhere inside them, ``no`` otherwise. Cut-offs (percentiles, top
10 %) are computed from the published values and then held fixed.
"""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd
import pyarrow as pa

from mapping.errors import MappingError

__all__ = ["RULES", "CALLS", "apply_rule", "rule_columns", "floor_values", "evaluate_call_rule", "call_from_code",
           "code_from_call"]

RULES = ("threshold", "cmp_percentile", "eco_stars")
#: Ordered calls: combining with and/or is min/max on this order (Kleene's three-valued logic).
CALLS = ("no", "possible", "certain")
_GROUP = ["year", "indicator", "classification", "level"]


def code_from_call(s: pd.Series) -> pd.Series:
    """``no``/``possible``/``certain`` -> 0/1/2 (unknown text -> 0)."""
    return s.map({c: i for i, c in enumerate(CALLS)}).fillna(0).astype(int)


def call_from_code(s: pd.Series) -> pd.Series:
    return s.astype(int).map(dict(enumerate(CALLS)))


def evaluate_call_rule(rule: str, calls: dict[str, pd.Series]) -> pd.Series:
    """Evaluate a boolean rule on three-valued calls (0 no, 1 possible, 2 certain).

    ``and`` is the minimum, ``or`` the maximum, ``not`` swaps certain and no (Kleene). An indicator
    absent from ``calls`` is ``no``.

    Examples
    --------
    >>> s = lambda *v: pd.Series(v)
    >>> evaluate_call_rule("e and (r or x)", {"e": s(2, 2, 1), "r": s(0, 1, 2), "x": s(2, 0, 0)}).tolist()
    [2, 1, 1]
    """
    tree = ast.parse(rule, mode="eval")
    index = next(iter(calls.values())).index if calls else None

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.BoolOp):
            vals = [ev(v) for v in node.values]
            out = vals[0]
            for v in vals[1:]:
                out = np.minimum(out, v) if isinstance(node.op, ast.And) else np.maximum(out, v)
            return out
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return 2 - ev(node.operand)
        if isinstance(node, ast.Name):
            s = calls.get(node.id)
            return s.astype(int) if s is not None else pd.Series(0, index=index)
        raise MappingError(f"specialisation rule {rule!r}: only indicator names, and, or, not and "
                           f"parentheses are allowed (found {type(node).__name__})")

    return ev(tree)


def floor_values(indicator: pd.Series, floor) -> pd.Series:
    """A size floor per row: one number for every indicator, or ``{indicator: number}`` (others 0)."""
    if isinstance(floor, dict):  # mapped through the distinct indicators: a per-row function is slow
        return indicator.map({i: float(floor.get(i, 0.0)) for i in indicator.unique()}).astype(float)
    return pd.Series(float(floor), index=indicator.index)


def _floors(df: pd.DataFrame, min_value, min_share) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Size floors at the published values, at the lower bounds (certain) and upper bounds (possible).

    Each floor is one number or ``{indicator: number}`` (indicators not named: no floor).
    """
    min_value, min_share = floor_values(df["indicator"], min_value), floor_values(df["indicator"], min_share)
    point = (df["value"].fillna(0) >= min_value) & (df["share_of_national"].fillna(0) >= min_share)
    sure = (df["value_low"].fillna(0) >= min_value) & (df["share_of_national_low"].fillna(0) >= min_share)
    maybe = (df["value_high"].fillna(0) >= min_value) & (df["share_of_national_high"].fillna(0) >= min_share)
    return point, sure, maybe


def _quantile_by(df: pd.DataFrame, col: str, q: float, keys: list[str], where: pd.Series | None = None, *,
                 group: np.ndarray | None = None) -> pd.Series:
    """Linear-interpolated quantile of ``col`` within each group, aligned to ``df`` (one groupby call).

    ``group``: the rows' integer group codes for ``keys``, when the caller has them.
    """
    from mapping.analysis.frames import group_codes

    x = df[col].where(where) if where is not None else df[col]
    code = group_codes(df, keys, sort=False)[0] if group is None else group  # text keys are slow to group on
    qs = pd.Series(x.to_numpy()).groupby(code, sort=False).quantile(q)
    return pd.Series(qs.reindex(np.arange(code.max() + 1 if len(code) else 0)).to_numpy()[code], index=df.index)


def _size_cutoffs(df: pd.DataFrame, indicator: str, pct: float, codes=None
                  ) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """For each row: the size indicator's value (and bounds) in the same cell, and its percentile cut.

    ``codes``: a :class:`mapping.analysis.frames.KeyCodes` of ``df``, when the caller has one.
    """
    from mapping.analysis.frames import KeyCodes

    keys = ["year", "classification", "level", "activity_code"]
    codes = codes or KeyCodes(df)
    rows = np.flatnonzero((df["indicator"] == indicator).to_numpy())
    group = codes.codes(keys, sort=False)[0][rows]
    cut = _quantile_by(df.iloc[rows], "value", pct / 100.0, keys, group=group).to_numpy()
    # Each row's cell (same keys and region) in the size indicator: its first row there.
    cell = codes.codes(keys + ["region_code"], sort=False)[0]
    if len(rows) == len(df) and not (len(cell) and np.bincount(cell).max() > 1):
        pos = np.arange(len(df))  # every row is the size indicator's, each its own cell
    else:
        cells, first = np.unique(cell[rows], return_index=True)
        at = np.full(int(cell.max()) + 1 if len(cell) else 0, -1, np.int64)
        at[cells] = first
        pos = at[cell]
    hit = pos >= 0

    def take(v: np.ndarray) -> pd.Series:
        return pd.Series(np.where(hit, v[np.maximum(pos, 0)] if len(v) else np.nan, np.nan), index=df.index)

    return (take(df["value"].to_numpy(dtype=float)[rows]), take(df["value_low"].to_numpy(dtype=float)[rows]),
            take(df["value_high"].to_numpy(dtype=float)[rows]), take(cut))


def apply_rule(lq: pd.DataFrame, *, rule: str = "threshold", threshold: float = 2.0, min_value: float | dict = 0.0,
               min_share_of_national: float | dict = 0.0, cmp_lq_percentile: float = 75.0, cmp_min_lq: float = 1.0,
               cmp_size_percentile: float = 25.0,
               cmp_size_indicators: tuple[str, ...] = ("employment", "establishments"),
               eco_top_share: float = 0.10, eco_min_stars: int = 2) -> pd.DataFrame:
    """Apply a named rule to every row (see the module docstring).

    Parameters
    ----------
    lq : DataFrame
        Location quotients with bounds (:func:`mapping.analysis.uncertainty.lq_bounds`).

    Returns
    -------
    DataFrame
        ``lq`` with ``specialised`` (bool, the rule on the published values), ``specialisation_call``
        (``certain``/``possible``/``no``), ``rule``, ``lq_cutoff`` (the LQ the rule asks for in that
        row's activity), ``eco_stars`` (stars on the published values; empty for other rules) and
        ``below_size_floor`` (the rule holds at the published values but a size floor removes the cell).

    Raises
    ------
    MappingError
        Unknown rule.

    Examples
    --------
    >>> t = pd.DataFrame({"year": 2021, "indicator": "e", "classification": "X", "level": "s",
    ...     "region_code": ["a", "b"], "activity_code": "p", "value": [4.0, 1.0], "value_low": [3.0, 1.0],
    ...     "value_high": [5.0, 1.0], "share_of_national": [0.8, 0.2], "share_of_national_low": [0.75, 0.17],
    ...     "share_of_national_high": [0.83, 0.25], "region_share_low": 0.0, "region_share_high": 1.0,
    ...     "lq": [2.2, 0.5], "lq_low": [1.9, 0.4], "lq_high": [2.4, 0.6], "national_value": 5.0, "flag": ""})
    >>> apply_rule(t)["specialisation_call"].tolist()
    ['possible', 'no']
    """
    df = lq.copy(deep=False)  # copy-on-write: columns set here never reach the caller's frame
    for name, values in rule_columns(
            lq, rule=rule, threshold=threshold, min_value=min_value, min_share_of_national=min_share_of_national,
            cmp_lq_percentile=cmp_lq_percentile, cmp_min_lq=cmp_min_lq, cmp_size_percentile=cmp_size_percentile,
            cmp_size_indicators=cmp_size_indicators, eco_top_share=eco_top_share, eco_min_stars=eco_min_stars).items():
        df[name] = values
    return df


def rule_columns(lq: pd.DataFrame, *, rule: str = "threshold", threshold: float = 2.0, min_value: float | dict = 0.0,
                 min_share_of_national: float | dict = 0.0, cmp_lq_percentile: float = 75.0, cmp_min_lq: float = 1.0,
                 cmp_size_percentile: float = 25.0,
                 cmp_size_indicators: tuple[str, ...] = ("employment", "establishments"),
                 eco_top_share: float = 0.10, eco_min_stars: int = 2, codes=None,
                 point_only: bool = False) -> dict[str, pd.Series]:
    """The columns :func:`apply_rule` sets, in its column order, without copying the table.

    For callers that need one of them (e.g. ``specialised`` under every rule) on a large table;
    ``codes``: a :class:`mapping.analysis.frames.KeyCodes` of ``lq`` shared between calls;
    ``point_only``: return ``specialised`` alone (the calls on the bounds and the text columns are skipped).
    """
    if rule not in RULES:
        raise MappingError(f"specialisation rule {rule!r} is not one of {RULES}")
    df = lq
    cols: dict[str, pd.Series] = {}
    point_f, sure_f, maybe_f = _floors(df, min_value, min_share_of_national)
    lq_p, lq_lo, lq_hi = df["lq"], df["lq_low"], df["lq_high"]
    cols["eco_stars"] = pd.Series(np.nan, index=df.index)
    if rule == "threshold":
        cut = pd.Series(float(threshold), index=df.index)
        point = lq_p >= cut
        sure = lq_lo >= cut
        maybe = lq_hi >= cut
    elif rule == "cmp_percentile":
        from mapping.analysis.frames import KeyCodes

        codes = codes or KeyCodes(df)
        pct = _quantile_by(df, "lq", cmp_lq_percentile / 100.0, _GROUP + ["activity_code"],
                           group=codes.codes(_GROUP + ["activity_code"], sort=False)[0])
        cut = np.maximum(pct, cmp_min_lq)
        point, sure, maybe = lq_p >= cut, lq_lo >= cut, lq_hi >= cut
        for ind in cmp_size_indicators:
            if ind not in set(df["indicator"].unique()):
                continue
            val, vlo, vhi, scut = _size_cutoffs(df, ind, cmp_size_percentile, codes)
            point &= (val > scut).fillna(False)
            if not point_only:
                sure &= (vlo > scut).fillna(False)
                maybe &= (vhi > scut).fillna(False)
    else:
        positive = df["value"] > 0
        focus = df["value"] / df["region_total"]
        from mapping.analysis.frames import KeyCodes

        table = (codes or KeyCodes(df)).codes(_GROUP, sort=False)[0]
        size_cut = _quantile_by(df, "share_of_national", 1 - eco_top_share, _GROUP, positive, group=table)
        focus_cut = _quantile_by(pd.DataFrame({"_focus": focus}), "_focus", 1 - eco_top_share, _GROUP, positive,
                                 group=table)
        cut = pd.Series(float(threshold), index=df.index)

        def stars(sn, lqv, fo):
            return ((sn >= size_cut).astype(int) + (lqv >= cut).astype(int) + (fo >= focus_cut).astype(int))

        s_point = stars(df["share_of_national"], lq_p, focus)
        point = s_point >= eco_min_stars
        if not point_only:
            s_low = stars(df["share_of_national_low"], lq_lo, df["region_share_low"])
            s_high = stars(df["share_of_national_high"], lq_hi, df["region_share_high"])
            cols["eco_stars"] = s_point.where(df["value"].notna())
            sure, maybe = s_low >= eco_min_stars, s_high >= eco_min_stars
    # Cells the rule would call at the published values but the size floors remove (reported).
    cols["below_size_floor"] = point.fillna(False).astype(bool) & lq_p.notna() & ~point_f
    point = point.fillna(False).astype(bool) & point_f & lq_p.notna()
    if point_only:
        return {"specialised": point}
    sure = sure.fillna(False).astype(bool) & sure_f & point
    maybe = (maybe.fillna(False).astype(bool) & maybe_f) | point | sure
    # An activity with no positive published value anywhere is not measurable: no call.
    nat_zero = df["national_value"].fillna(0) <= 0
    maybe &= ~(nat_zero & (df["flag"] != "suppressed"))
    cols["specialised"] = point
    # Text columns taken from their few values by position (building millions of strings one by one is slow).
    from mapping.analysis.frames import take_text, to_str_series

    code = np.where(sure.to_numpy(dtype=bool), 2, np.where(maybe.to_numpy(dtype=bool), 1, 0))
    cols["specialisation_call"] = to_str_series(take_text(pa.array(["no", "possible", "certain"]), code), df.index)
    cols["rule"] = to_str_series(take_text(pa.array([rule]), np.zeros(len(df), np.int64)), df.index)
    cols["lq_cutoff"] = cut.astype(float)
    return cols
