"""Combine per-indicator calls into one specialisation per region x activity (the configured rule)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["specialisation", "specialised_only", "specialised_variants", "evaluate_rule"]


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


_KEYS = ["year", "classification", "level", "region_code", "activity_code"]
#: The columns the combination reads (a row filter of the whole LQ table would copy every column).
_READS = _KEYS + ["indicator", "specialised", "lq", "specialisation_call", "lq_low", "lq_high", "lq_ci_low",
                  "lq_ci_high", "lq_scope"]


def _rows(lq: pd.DataFrame, level: str, indicators: tuple[str, ...]) -> pd.DataFrame:
    """The rows of ``level`` and ``indicators``, with the columns the combination reads."""
    from mapping.analysis.frames import rows

    return rows(lq, (lq["level"] == level) & lq["indicator"].isin(indicators), [c for c in _READS if c in lq.columns])


class _Wide:
    """``sub`` as region x activity rows (sorted by :data:`_KEYS`) x indicator columns (sorted).

    What ``pivot_table(index=_KEYS, columns="indicator", aggfunc="first")`` gives, built on integer
    codes (pivoting on five text keys costs seconds on a large table).
    """

    def __init__(self, sub: pd.DataFrame):
        from mapping.analysis.frames import group_codes

        self.sub = sub
        self.row, self.keys = group_codes(sub, _KEYS)
        self.col, inds = pd.factorize(sub["indicator"], sort=True)
        self.columns = [str(c) for c in inds]
        self.n = len(self.keys)
        cell = self.row * max(len(self.columns), 1) + self.col
        # Each (row, indicator) cell once (true of an LQ table): the pivots need no first-of-several step.
        self.unique = not (len(cell) and np.bincount(cell).max() > 1)

    def get(self, column: str, *, fill=np.nan, dtype=float) -> np.ndarray:
        """The column as an ``(n, indicators)`` array; ``fill`` where an indicator has no value."""
        from mapping.analysis.frames import wide_first

        return wide_first(self.row, self.n, self.col, len(self.columns), self.sub[column].to_numpy(),
                          fill=fill, dtype=dtype, unique=self.unique or None)

    def get_text(self, column: str) -> tuple[np.ndarray, pa.Array]:
        """A text column as an ``(n, indicators)`` array of codes (-1: no value) and the distinct values."""
        from mapping.analysis.frames import text_codes, wide_first

        codes, values = text_codes(self.sub[column])
        return wide_first(self.row, self.n, self.col, len(self.columns), codes, fill=-1, dtype=np.int64,
                          valid=codes >= 0, unique=self.unique or None), values


def _combined(w: _Wide, rule: str, fl: np.ndarray) -> np.ndarray:
    flags = {c: pd.Series(fl[:, j]) for j, c in enumerate(w.columns)}
    return evaluate_rule(rule, flags).reindex(pd.RangeIndex(w.n)).fillna(False).astype(bool).to_numpy()


def _lq_max(lq_arr: np.ndarray) -> np.ndarray:
    if not lq_arr.shape[1]:
        return np.full(len(lq_arr), np.nan)
    return np.fmax.reduce(lq_arr, axis=1)  # NaN only where every indicator is NaN


def specialised_only(lq: pd.DataFrame, *, indicators: tuple[str, ...], rule: str | None = None,
                     level: str = "section") -> pd.DataFrame:
    """The key columns, ``specialised`` and ``lq_max`` of :func:`specialisation` (same rows, same values).

    For callers that need only the decision (rule variants, other years): the per-row text columns
    are most of the cost of :func:`specialisation` on a large table.
    """
    sub = _rows(lq, level, indicators)
    w = _Wide(sub)
    out = w.keys.copy()
    out["specialised"] = _combined(w, rule or " or ".join(indicators), w.get("specialised", fill=False, dtype=bool))
    out["lq_max"] = _lq_max(w.get("lq"))
    return out


def specialised_variants(lq: pd.DataFrame, variants: dict[str, pd.Series], *, indicators: tuple[str, ...],
                         rule: str | None = None, level: str = "section") -> pd.DataFrame:
    """:func:`specialised_only` under several per-row decisions at once (one pivot for all of them).

    ``variants`` maps a name to a bool Series aligned on ``lq`` that stands in for its ``specialised``
    column; the result has the key columns and one combined ``specialised`` column per name.
    """
    from mapping.analysis.frames import rows, wide_first

    mask = ((lq["level"] == level) & lq["indicator"].isin(indicators)).to_numpy()
    w = _Wide(rows(lq, mask, [c for c in _KEYS + ["indicator"] if c in lq.columns]))
    out = w.keys.copy()
    for name, spec in variants.items():
        fl = wide_first(w.row, w.n, w.col, len(w.columns), spec.to_numpy()[mask], fill=False, dtype=bool,
                        unique=w.unique or None)
        out[name] = _combined(w, rule or " or ".join(indicators), fl)
    return out


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
        One row per year x classification x region x activity (sorted by them): ``specialised`` (bool),
        ``lq_max`` and ``lq_indicator`` (the strongest configured indicator),
        ``lq_by_indicator`` (``"gva=2.310;shipments=1.200"``) and ``indicators_specialised``.
    """
    from mapping.analysis.frames import fixed_text, join_text, to_str_series

    sub = _rows(lq, level, indicators)
    w = _Wide(sub)
    fl = w.get("specialised", fill=False, dtype=bool)
    lq_arr = w.get("lq")
    ncol = len(w.columns)
    out = w.keys.copy()
    out["specialised"] = _combined(w, rule or " or ".join(indicators), fl)
    out["lq_max"] = _lq_max(lq_arr)
    # The strongest indicator: the first of the highest LQ (-1: no indicator has an LQ).
    best = np.where(np.isnan(lq_arr), -np.inf, lq_arr).argmax(axis=1) if ncol else np.zeros(w.n, int)
    best = np.where(~np.isnan(lq_arr).all(axis=1), best, -1) if ncol else np.full(w.n, -1)
    out["lq_indicator"] = _names(w.columns, best)
    # "gva=2.310;shipments=1.200": each indicator with an LQ, in column order.
    pieces = [pc.binary_join_element_wise(pa.scalar(f"{c}="), fixed_text(lq_arr[:, j]), "")
              for j, c in enumerate(w.columns)]
    out["lq_by_indicator"] = to_str_series(join_text(pieces, ";")) if w.n else []
    flagged = [pc.if_else(pa.array(fl[:, j]), pa.scalar(c), pa.scalar(None, pa.string()))
               for j, c in enumerate(w.columns)]
    out["indicators_specialised"] = to_str_series(join_text(flagged, ";")) if w.n else []
    if "specialisation_call" in sub.columns:
        _combined_call(out, w, fl, best, rule or " or ".join(indicators))
    return out


def _names(columns: list[str], j: np.ndarray) -> pd.Series:
    """The column name at each row's position ``j`` ("" where ``j`` is -1), as text."""
    from mapping.analysis.frames import take_text, to_str_series

    return to_str_series(take_text(pa.array(list(columns), pa.string()), j))


def _pick(arr: np.ndarray, j: np.ndarray) -> np.ndarray:
    """``arr[i, j[i]]`` per row, NaN where ``j`` is -1."""
    if not arr.shape[1]:
        return np.full(len(j), np.nan)
    return np.where(j >= 0, arr[np.arange(len(arr)), np.maximum(j, 0)], np.nan)


def _combined_call(out: pd.DataFrame, w: _Wide, fl: np.ndarray, best: np.ndarray, rule: str) -> None:
    """Add the combined three-valued call and the bounds of the reference indicator (in place).

    The reference indicator (``call_indicator``) is one whose own call equals the combined call (so
    the call and the bounds shown beside it are the same indicator's), the one with the highest
    published LQ among those; failing that, the one with the highest published LQ (``lq_indicator``,
    position ``best``) or, where no LQ is published (suppressed cells), the highest upper bound.
    """
    from mapping.analysis.rules import CALLS, call_from_code, evaluate_call_rule

    code = {c: i for i, c in enumerate(CALLS)}
    call_codes, call_values = w.get_text("specialisation_call")
    as_code = np.array([code.get(v, 0) for v in call_values.to_pylist()] + [0], dtype=np.int64)  # unknown -> no
    calls = {c: pd.Series(as_code[call_codes[:, j]]) for j, c in enumerate(w.columns)}
    combined = evaluate_call_rule(rule, calls).reindex(out.index).fillna(0)
    out["specialisation_call"] = call_from_code(combined)
    combined = combined.astype(int).to_numpy()
    cols = [c for c in ("lq_low", "lq_high", "lq_ci_low", "lq_ci_high") if c in w.sub.columns]
    wide = {c: w.get(c) for c in cols}
    ncol = len(w.columns)
    ref = best.copy()
    if "lq_high" in wide and ncol:
        hi = wide["lq_high"]
        hi = np.where(hi == np.inf, np.finfo(float).max, hi)
        none = (ref < 0) & ~np.isnan(hi).all(axis=1)
        if none.any():
            ref[none] = np.where(np.isnan(hi[none]), -np.inf, hi[none]).argmax(axis=1)
    if ncol:
        agree = np.column_stack([calls[c].to_numpy() == combined for c in w.columns])
        lqw = w.get("lq")
        score = np.where(agree, np.where(np.isnan(lqw), -1.0, lqw), -np.inf)  # an agreeing indicator without
        has = agree.any(axis=1)                                               # a point LQ still wins
        ref[has] = score[has].argmax(axis=1)
    for c in cols:
        out[c] = _pick(wide[c], ref)
    out["call_indicator"] = _names(w.columns, ref)
    if "lq_scope" in w.sub.columns:  # the scope of the reference LQ, and whether only within-industry LQs specialise
        from mapping.analysis.frames import to_str_series

        from mapping.analysis.frames import take_text

        scope, values = w.get_text("lq_scope")
        picked = scope[np.arange(w.n), np.maximum(ref, 0)] if ncol else np.full(w.n, -1)
        # No indicator: ""; an indicator without a row here: missing (as the pivot left it).
        text = pc.if_else(pa.array(ref >= 0), take_text(values, picked, None), pa.scalar(""))
        out["lq_scope"] = to_str_series(text) if w.n else []
        within_rows = (w.sub["lq_scope"] == "within_industry").to_numpy(dtype=bool)
        within = np.bincount(w.col[within_rows], minlength=ncol) > 0
        out["within_industry_only"] = fl.any(axis=1) & ~fl[:, ~within].any(axis=1) if w.n else []
