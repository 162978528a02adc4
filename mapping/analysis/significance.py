"""Significance of the calls: a test behind every LQ at or above the threshold, and false-discovery control.

**Threshold tests.** Every row whose LQ reaches the rule's cut-off (``lq_cutoff``) at the published
values carries the test that backs it:

* ``garwood`` for count indicators (e.g. establishments) with an integer count ``v``: the count is
  read as a Poisson draw whose mean, were the region's LQ exactly at the cut-off, would be
  ``cutoff x region_total x national_value / national_total``. ``lq_test_p`` is the exact one-sided
  probability of a count of ``v`` or more under that mean; the call passes when the lower end of the
  two-sided Garwood interval (``lq_ci_low``, at ``confidence``) is at or above the cut-off, i.e.
  ``lq_test_p <= (1 - confidence) / 2``.
* ``bounds`` for everything else (rounded shares, suppressed or range cells, exact values): the call
  passes when the lowest LQ the published figures allow (``lq_low``) is at or above the cut-off. There
  is no sampling model, so ``lq_test_p`` is empty.

Rows below the cut-off get an empty ``lq_test``.

**False discovery rate.** :func:`bh_adjust` gives Benjamini-Hochberg adjusted p-values (q-values);
:mod:`mapping.analysis.spatial` applies it to the Local Moran permutation p-values of each indicator x
activity map, so a hot spot is one whose q-value is below ``fdr_q`` (0.05 by default): of the hot
spots reported, at most that share is expected to be chance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import poisson

__all__ = ["TEST_COLUMNS", "bh_adjust", "fdr_summary", "threshold_tests"]

#: Columns added by :func:`threshold_tests`.
TEST_COLUMNS = ["lq_test", "lq_test_p", "lq_test_passed"]


def bh_adjust(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values; NaN stays NaN and is not counted as a test.

    Parameters
    ----------
    p : array-like of float
        p-values of one family of tests.

    Returns
    -------
    ndarray
        ``min(1, min_{j >= i} p_(j) m / j)`` in the original order (``m`` = number of finite p-values).

    Examples
    --------
    >>> bh_adjust([0.01, 0.04, np.nan, 0.03, 0.5]).round(3).tolist()
    [0.04, 0.053, nan, 0.053, 0.5]
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv, kind="mergesort")
    ranked = pv[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    back = np.empty(m)
    back[order] = q
    out[ok] = back
    return out


def threshold_tests(lq: pd.DataFrame, *, count_indicators: tuple[str, ...], confidence: float = 0.95) -> pd.DataFrame:
    """Add ``lq_test``, ``lq_test_p`` and ``lq_test_passed`` to rows whose LQ reaches the cut-off.

    Parameters
    ----------
    lq : DataFrame
        Location quotients after :func:`mapping.analysis.rules.apply_rule` (``lq``, ``lq_cutoff``,
        ``lq_low``) and :func:`mapping.analysis.uncertainty.poisson_lq_interval` (``lq_ci_low``).
    count_indicators : tuple of str
        Indicators that are counts (tested with the Poisson/Garwood test).
    confidence : float
        Confidence of the two-sided Garwood interval; the one-sided level is half its complement.

    Returns
    -------
    DataFrame
        ``lq`` with the three columns (see the module docstring); ``lq_test_passed`` is empty where
        no test applies.

    Examples
    --------
    >>> t = pd.DataFrame({"indicator": "establishments", "value": [9.0], "flag": [""], "region_total": [10.0],
    ...     "national_value": [100.0], "national_total": [1000.0], "lq": [9.0], "lq_cutoff": [2.0],
    ...     "lq_low": [9.0], "lq_ci_low": [4.115]})
    >>> r = threshold_tests(t, count_indicators=("establishments",))
    >>> r["lq_test"].iloc[0], round(float(r["lq_test_p"].iloc[0]), 6), bool(r["lq_test_passed"].iloc[0])
    ('garwood', 0.000237, True)
    """
    df = lq.copy(deep=False)  # copy-on-write: columns set here never reach the caller's frame
    cut = df["lq_cutoff"].astype(float)
    reached = df["lq"].notna() & (df["lq"] >= cut)
    v = df["value"].astype(float)
    counts = reached & df["indicator"].isin(count_indicators) & df["lq_ci_low"].notna() \
        & (np.abs(v - np.round(v)) < 1e-9)
    bounds = reached & ~counts
    df["lq_test"] = np.select([counts, bounds], ["garwood", "bounds"], "")
    p = np.full(len(df), np.nan)
    if counts.any():
        mu = (cut * df["region_total"] * df["national_value"] / df["national_total"])[counts].to_numpy(dtype=float)
        p[counts.to_numpy()] = poisson.sf(v[counts].to_numpy() - 1, mu)  # P(X >= v | LQ = cut-off)
    df["lq_test_p"] = p
    passed = pd.Series(pd.NA, index=df.index, dtype="boolean")
    passed[counts] = (df.loc[counts, "lq_ci_low"] >= cut[counts]).to_numpy()
    passed[bounds] = (df.loc[bounds, "lq_low"].fillna(0) >= cut[bounds] - 1e-12).to_numpy()
    df["lq_test_passed"] = passed
    return df


def fdr_summary(table: pd.DataFrame, *, alpha: float, fdr_q: float | None) -> dict:
    """What false-discovery control changed in a Local Moran table (:func:`mapping.analysis.spatial.local_moran`).

    Returns
    -------
    dict
        ``tests`` (regions with a permutation p-value, over all maps), ``significant_unadjusted``
        (p < ``alpha``, any quadrant), ``hh_unadjusted`` (of them, HH), ``expected_by_chance``
        (``tests x alpha``: what chance alone gives at p < ``alpha`` when no region is a hot spot),
        ``fdr_q`` and ``significant_fdr`` / ``hh_fdr`` (classed after the adjustment, or unadjusted
        when ``fdr_q`` is None).
    """
    p = pd.to_numeric(table.get("local_moran_p", pd.Series(dtype=float)), errors="coerce")
    tested = p.notna()
    raw = tested & (p < alpha)
    quad = table.get("quadrant", pd.Series("", index=table.index))
    classed = table["hotspot"].isin(["HH", "LL", "HL", "LH"]) if "hotspot" in table else pd.Series(False, index=table.index)
    return {"tests": int(tested.sum()), "significant_unadjusted": int(raw.sum()),
            "hh_unadjusted": int((raw & (quad == "HH")).sum()),
            "expected_by_chance": round(float(tested.sum()) * alpha, 1),
            "fdr_q": fdr_q, "significant_fdr": int(classed.sum()),
            "hh_fdr": int((classed & (table.get("hotspot") == "HH")).sum())}
