"""Rank untapped specialisations (``specialised_not_supported``) by signal, not by the point LQ alone.

A ministry acting on the list needs the strongest *signals* first. Each untapped pair gets:

``economy_wide``
    Specialised on an indicator whose LQ compares the region with the whole economy. An indicator
    whose regional total covers only some activities (industrial shipments: sections B-E of A-U)
    gives a **within-industry** LQ: labelled so in the LQ table (``lq_scope``), or found from the data
    (it observes under half the activities the broadest indicator observes at the level). A within-industry LQ never puts a pair at the top on its own: pairs backed by an
    economy-wide indicator rank first.
``sizeable``
    The region holds at least :data:`MIN_SHARE` (0.5 %) of the national value of the deciding indicator.
``significant``
    The test behind the LQ call where the run has one (``lq_test_passed``: Poisson/Garwood for counts,
    bounds for rounded shares), else the bounds' call: ``certain`` (the rule holds at every value the
    published figures allow).
``persistent``
    Specialised in at least two thirds of the years observed, with two years or more (a ``persistent``
    column where the run has one).

Order: traded before local (local ones are listed apart by default), economy-wide first, then the
number of the other three signals, then the economy-wide LQ.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MIN_SHARE", "within_industry_indicators", "rank_untapped"]

#: Share of the national value a region must hold for a pair to count as sizeable.
MIN_SHARE = 0.005
_SIGNIF_BOOL = ("lq_test_passed", "significant")
_SIGNIF_P = ("lq_q", "lq_p", "lq_p_value", "p_value")


def within_industry_indicators(lq: pd.DataFrame, *, year: int, level: str) -> set[str]:
    """Indicators whose LQ at ``level`` is within an industry rather than the whole economy.

    Returns
    -------
    set of str
        Indicators whose ``lq_scope`` is ``within_industry`` in the LQ table, or observing (positive
        national value) fewer than half the activities that the broadest indicator observes at the level.
    """
    sub = lq.loc[(lq["year"] == year) & (lq["level"] == level)]
    flagged = set()
    if "lq_scope" in sub.columns:  # the run's own label (mapping/analysis/location_quotient.py)
        flagged = set(sub.loc[sub["lq_scope"].fillna("") == "within_industry", "indicator"])
    seen = sub.loc[sub["national_value"].fillna(0) > 0].groupby("indicator")["activity_code"].nunique()
    if seen.empty:
        return flagged
    return flagged | set(seen.index[seen < 0.5 * seen.max()])


def rank_untapped(pairs: pd.DataFrame, lq: pd.DataFrame, *, year: int, level: str,
                  indicators: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The untapped pairs with their signals, best first (see the module docstring).

    Parameters
    ----------
    pairs : DataFrame
        The pair table (``divergence.csv`` columns: ``region_code, activity_code, status, lq_max,
        lq_indicator``, optionally ``trade_class, specialisation_call, years_specialised, n_years``).
    lq : DataFrame
        The run's LQ table (``location_quotients.csv``).
    year, level
        The analysis year and level.
    indicators : tuple of str, optional
        The specialisation indicators (the others, e.g. establishment counts, are evidence only).

    Returns
    -------
    DataFrame
        Untapped pairs plus ``lq_rank`` (the economy-wide LQ where there is one, else the LQ),
        ``rank_indicator``, ``value``, ``unit``, ``share_of_national`` (of ``rank_indicator``),
        ``economy_wide``, ``within_industry_only``, ``sizeable``, ``significant``, ``persistent``,
        ``signals`` (their number, 0-3) and ``signal_text``.
    """
    un = pairs.loc[pairs["status"] == "specialised_not_supported"].copy()
    within = within_industry_indicators(lq, year=year, level=level)
    rows = lq.loc[(lq["year"] == year) & (lq["level"] == level) & lq["specialised"].fillna(False).astype(bool)]
    if indicators is not None:
        rows = rows.loc[rows["indicator"].isin(indicators)]
    rows = rows.assign(_wide=~rows["indicator"].isin(within))
    # The deciding indicator of each pair: the economy-wide one with the highest LQ, else the highest LQ.
    rows = rows.sort_values(["_wide", "lq"], ascending=[False, False], kind="stable")
    best = rows.drop_duplicates(["region_code", "activity_code"]).set_index(["region_code", "activity_code"])
    key = pd.MultiIndex.from_frame(un[["region_code", "activity_code"]])
    b = best.reindex(key)
    un["rank_indicator"] = b["indicator"].fillna(un["lq_indicator"]).to_numpy()
    un["lq_rank"] = b["lq"].fillna(un["lq_max"]).to_numpy(float)
    un["value"] = b["value"].to_numpy(float)
    un["unit"] = b["unit"].fillna("").to_numpy()
    un["share_of_national"] = b["share_of_national"].to_numpy(float)
    un["economy_wide"] = b["_wide"].fillna(False).astype(bool).to_numpy()
    un["within_industry_only"] = ~un["economy_wide"] & un["rank_indicator"].isin(within)
    un["sizeable"] = un["share_of_national"].fillna(0) >= MIN_SHARE
    un["significant"] = _significant(un, b)
    un["persistent"] = _persistent(un)
    un["signals"] = un[["sizeable", "significant", "persistent"]].sum(axis=1).astype(int)
    un["signal_text"] = [", ".join(n for n, f in (("sizeable", s), ("significant", g), ("persistent", p)) if f)
                         for s, g, p in zip(un["sizeable"], un["significant"], un["persistent"])]
    trade = un["trade_class"] if "trade_class" in un else pd.Series("", index=un.index)
    un["_traded"] = (trade == "traded").astype(int)
    un = un.sort_values(["_traded", "economy_wide", "signals", "lq_rank", "region_code", "activity_code"],
                        ascending=[False, False, False, False, True, True], kind="stable")
    return un.drop(columns="_traded").reset_index(drop=True)


def _significant(un: pd.DataFrame, b: pd.DataFrame) -> pd.Series:
    for col in _SIGNIF_BOOL:
        if col in b.columns:
            return pd.Series(b[col].fillna(False).astype(bool).to_numpy(), index=un.index)
    for col in _SIGNIF_P:
        if col in b.columns:
            return pd.Series((b[col] < 0.05).fillna(False).to_numpy(), index=un.index)
    call = un["specialisation_call"] if "specialisation_call" in un else pd.Series("", index=un.index)
    return call.fillna("") == "certain"


def _persistent(un: pd.DataFrame) -> pd.Series:
    if "persistent" in un.columns:
        return un["persistent"].fillna(False).astype(bool)
    if "years_specialised" not in un or "n_years" not in un:
        return pd.Series(False, index=un.index)
    ys, ny = un["years_specialised"].fillna(0).astype(float), un["n_years"].fillna(0).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (ny >= 2) & (ys / ny >= 2 / 3)
