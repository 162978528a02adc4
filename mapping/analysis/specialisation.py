"""Combine per-indicator calls into one specialisation per region x activity (the configured rule)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["specialisation", "evaluate_rule"]


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
    from mapping.analysis.rules import evaluate_call_rule

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

    The reference indicator (``call_indicator``) is one whose own call equals the combined call (so
    the call and the bounds shown beside it are the same indicator's), the one with the highest
    published LQ among those; failing that, the one with the highest published LQ (``lq_indicator``)
    or, where no LQ is published (suppressed cells), the highest upper bound.
    """
    from mapping.analysis.rules import (
        call_from_code,
        code_from_call,
        evaluate_call_rule,
    )

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
    combined = code_from_call(out["specialisation_call"])
    agree = pd.DataFrame({c: calls[c].to_numpy() == combined.to_numpy() for c in calls}, index=out.index)
    if len(agree.columns):
        lqw = sub.pivot_table(index=keys, columns="indicator", values="lq", aggfunc="first",
                              dropna=False).reindex(index=out.index, columns=agree.columns)
        score = lqw.fillna(-1.0).where(agree, -np.inf)  # an agreeing indicator without a point LQ still wins
        has = agree.any(axis=1)
        if has.any():
            ref[has] = score.loc[has].idxmax(axis=1)
    for c in cols:
        w = wide[c]
        pos = {col: j for j, col in enumerate(w.columns)}
        j = np.array([pos.get(r, -1) for r in ref])
        arr = w.to_numpy(dtype=float)
        out[c] = np.where(j >= 0, arr[np.arange(len(arr)), np.maximum(j, 0)], np.nan) if len(arr) else np.nan
    out["call_indicator"] = ref
    if "lq_scope" in sub.columns:  # the scope of the reference LQ, and whether only within-industry LQs specialise
        scope = sub.pivot_table(index=keys, columns="indicator", values="lq_scope", aggfunc="first").reindex(out.index)
        pos = {col: j for j, col in enumerate(scope.columns)}
        arr = scope.to_numpy(dtype=object)
        out["lq_scope"] = [arr[i, pos[r]] if r in pos else "" for i, r in enumerate(ref)]
        within = {c for c in scope.columns if (scope[c] == "within_industry").any()}
        out["within_industry_only"] = [bool(sp) and set(sp.split(";")) <= within
                                       for sp in out["indicators_specialised"]]
