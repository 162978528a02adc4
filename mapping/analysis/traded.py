"""Traded and local activities, told apart by how evenly each is spread across the regions.

The US Cluster Mapping Project separates "local" industries, present in most regions in proportion
to their size and selling mainly locally, from "traded" ones, concentrated in a subset of regions
and selling to other regions and nations (Porter 2003, *The Economic Performance of Regions*;
Delgado, Porter & Stern 2016, *Defining clusters of related industries*). The criterion here is
computed from the run's own data: the **locational Gini coefficient** (Krugman 1991) of each
activity,

    regions sorted by LQ; x = cumulative share of the region totals, y = cumulative share of the
    activity; Gini = 1 - 2 * (area under the curve y(x)),

0 when the activity is spread exactly like the economy as a whole, towards 1 when it sits in a
few regions. An activity is ``traded`` when its Gini is at least the cut-off (0.30 by default,
``[traded] gini_cutoff``), ``local`` otherwise. On the default Rosstat GVA by section the Ginis
fall in two groups with a gap between 0.28 and 0.32: construction, utilities, transport,
hospitality, real estate, administrative services, public administration, education, health,
arts and other services are local (0.17-0.28); agriculture, mining, manufacturing, trade, ICT,
finance and professional services are traded (0.32-0.74).

The indicator is, in order: the configured one, else employment (the CMP's measure) where the
run has it at the level, else the first of the fallbacks present (the relatedness indicator, then
the specialisation indicators). Suppressed cells are left out with their region's weight.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["TRADE_COLUMNS", "locational_gini", "trade_classes", "with_trade_class"]

TRADE_COLUMNS = ["activity_code", "locational_gini", "trade_class", "trade_indicator"]


def locational_gini(lq: pd.DataFrame, *, year: int, indicator: str, level: str) -> pd.Series:
    """Locational Gini of every activity of one indicator, level and year.

    Parameters
    ----------
    lq : DataFrame
        LQ table (``value``, ``region_total`` per region x activity).

    Returns
    -------
    Series
        Activity code -> Gini in [0, 1); activities with no positive value are left out.

    Examples
    --------
    >>> t = pd.DataFrame({"year": 2021, "indicator": "e", "level": "s", "region_code": ["a", "b"] * 2,
    ...     "activity_code": ["p", "p", "q", "q"], "value": [1.0, 1.0, 1.0, 0.0], "region_total": [2.0, 1.0, 2.0, 1.0]})
    >>> locational_gini(t, year=2021, indicator="e", level="s").round(3).to_dict()
    {'p': 0.167, 'q': 0.333}
    """
    sub = lq.loc[(lq["year"] == year) & (lq["indicator"] == indicator) & (lq["level"] == level)
                 & lq["value"].notna() & (lq["region_total"].fillna(0) > 0), ["activity_code", "value", "region_total"]]
    # Each activity's rows in table order, as slices of sorted arrays (iterating groups of a wide frame is slow).
    code, acts = pd.factorize(sub["activity_code"], sort=True)
    order = np.argsort(code, kind="stable")
    ends = np.cumsum(np.bincount(code, minlength=len(acts)))
    values, weights = sub["value"].to_numpy(float)[order], sub["region_total"].to_numpy(float)[order]
    out = {}
    for k, act in enumerate(acts):
        v, w = values[(ends[k - 1] if k else 0):ends[k]], weights[(ends[k - 1] if k else 0):ends[k]]
        if v.sum() <= 0:
            continue
        x, y = w / w.sum(), v / v.sum()
        order_k = np.argsort(y / x, kind="stable")
        cx = np.concatenate([[0.0], np.cumsum(x[order_k])])
        cy = np.concatenate([[0.0], np.cumsum(y[order_k])])
        area = float(np.sum((cx[1:] - cx[:-1]) * (cy[1:] + cy[:-1]) / 2))
        out[act] = 1.0 - 2.0 * area
    return pd.Series(out, dtype=float, name="locational_gini")


def trade_classes(lq: pd.DataFrame, *, year: int, level: str, indicator: str | None = None,
                  fallbacks: tuple[str, ...] = (), cutoff: float = 0.30) -> pd.DataFrame:
    """Classify every activity of one level as ``traded`` or ``local`` (see the module docstring).

    Parameters
    ----------
    lq : DataFrame
        The run's LQ table.
    year, level
        The analysis year and level.
    indicator : str, optional
        The indicator to measure dispersion on; default employment, else the first of ``fallbacks``
        present at the level.
    fallbacks : tuple of str
        Indicators to try after employment.
    cutoff : float
        Gini at or above which an activity is traded.

    Returns
    -------
    DataFrame
        :data:`TRADE_COLUMNS`; ``trade_class`` is empty for activities the indicator does not observe.
    """
    present = set(lq.loc[(lq["year"] == year) & (lq["level"] == level), "indicator"].unique())
    order = ([indicator] if indicator else []) + ["employment", *fallbacks]
    chosen = next((i for i in order if i in present), None)
    acts = sorted(set(lq.loc[(lq["year"] == year) & (lq["level"] == level), "activity_code"].unique()))
    if chosen is None:
        return pd.DataFrame({"activity_code": acts, "locational_gini": np.nan, "trade_class": "",
                             "trade_indicator": ""}, columns=TRADE_COLUMNS)
    gini = locational_gini(lq, year=year, indicator=chosen, level=level)
    g = pd.Series(acts, dtype=object).map(gini)
    cls = np.where(g.isna(), "", np.where(g >= cutoff, "traded", "local"))
    return pd.DataFrame({"activity_code": acts, "locational_gini": g.to_numpy(float), "trade_class": cls,
                         "trade_indicator": chosen}, columns=TRADE_COLUMNS)


def with_trade_class(candidates: pd.DataFrame, groups: pd.DataFrame, trade: pd.DataFrame
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add ``trade_class`` to candidate clusters and ``locational_gini``, ``trade_class`` to activity groups.

    A candidate is ``traded`` when any of its activities (``activity_codes``, ``;``-joined) is,
    ``local`` when all are, empty otherwise.
    """
    cls = trade.set_index("activity_code")["trade_class"].to_dict()

    def of(codes: str) -> str:
        got = {cls.get(a, "") for a in str(codes).split(";") if a}
        return "traded" if "traded" in got else "local" if got == {"local"} else ""

    c = candidates.copy()
    c["trade_class"] = [of(x) for x in c["activity_codes"]] if len(c) else pd.Series(dtype=object)
    g = groups.merge(trade[["activity_code", "locational_gini", "trade_class"]], on="activity_code", how="left")
    g.attrs = dict(groups.attrs)
    g["trade_class"] = g["trade_class"].fillna("")
    return c, g
