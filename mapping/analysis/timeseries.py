"""Several years of input: how many years each region x activity was specialised, and the LQ change.

With one year of data every count is 1 (or 0) and the change is empty; nothing else changes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["row_persistence", "pair_persistence", "with_persistence", "analysis_year"]

_CELL = ["indicator", "classification", "level", "region_code", "activity_code"]


def analysis_year(lq: pd.DataFrame, indicators: tuple[str, ...], choice: int | str = "latest_common") -> int:
    """The year the map shows, from the years each specialisation indicator has an LQ.

    ``"latest_common"``: the latest year in which every indicator of ``indicators`` present in ``lq`` has
    a defined LQ (the default data: GVA runs to 2022, shipments to 2021, so 2021); ``"latest"``: the
    latest year of any of them; an integer: that year. Falls back to the latest year when the
    indicators share none.

    Examples
    --------
    >>> t = pd.DataFrame({"year": [2020, 2021, 2022, 2020, 2021], "indicator": ["g"] * 3 + ["s"] * 2,
    ...                   "lq": 1.0})
    >>> analysis_year(t, ("g", "s")), analysis_year(t, ("g", "s"), "latest")
    (2021, 2022)
    """
    from mapping.errors import MappingError

    sub = lq.loc[lq["indicator"].isin(indicators) & lq["lq"].notna()]
    if sub.empty:
        sub = lq.loc[lq["indicator"].isin(indicators)]
    years = sorted(int(y) for y in sub["year"].unique())
    if isinstance(choice, int) and not isinstance(choice, bool):
        if choice not in years:
            raise MappingError(f"specialisation.analysis_year = {choice}: the data have {years}")
        return choice
    if choice == "latest_common":
        common = set.intersection(*(set(int(y) for y in g["year"].unique()) for _, g in sub.groupby("indicator")))
        if common:
            return max(common)
    return years[-1]


def row_persistence(lq: pd.DataFrame) -> pd.DataFrame:
    """Per indicator: years specialised, years with an LQ, and the change since the first year.

    Returns
    -------
    DataFrame
        ``lq`` plus ``years_specialised`` (years in which the row's region x activity x indicator
        was specialised), ``n_years`` (years with a defined LQ) and ``lq_change`` (this year's LQ
        minus the LQ of the earliest year with one; empty with a single year).

    Examples
    --------
    >>> t = pd.DataFrame({"year": [2020, 2021], "indicator": "e", "classification": "X", "level": "s",
    ...     "region_code": "a", "activity_code": "p", "lq": [1.5, 2.5], "specialised": [False, True]})
    >>> row_persistence(t)[["years_specialised", "n_years", "lq_change"]].to_numpy().tolist()
    [[1.0, 2.0, nan], [1.0, 2.0, 1.0]]
    """
    from mapping.analysis.frames import group_codes

    df = lq.copy(deep=False)  # copy-on-write: columns set here never reach the caller's frame
    cell, _ = group_codes(df, _CELL, sort=False)  # integer cells: grouping on five text columns is slow
    lq_v = df["lq"].to_numpy(dtype=float)
    g = pd.Series(cell, index=df.index)
    df["years_specialised"] = df["specialised"].groupby(g, sort=False).transform("sum").astype(int)
    df["n_years"] = df["lq"].groupby(g, sort=False).transform("count").astype(int)
    first_year = df["year"].where(df["lq"].notna()).groupby(g, sort=False).transform("min")
    # The LQ of each cell's first year with one (the first such row, as drop_duplicates keeps it).
    at_first = np.flatnonzero((df["year"] == first_year).to_numpy())
    cells_first, pos = np.unique(cell[at_first], return_index=True)
    first_of_cell = np.full(int(cell.max()) + 1 if len(cell) else 0, np.nan)
    first_of_cell[cells_first] = lq_v[at_first[pos]]
    first_lq = pd.Series(first_of_cell[cell], index=df.index)
    df["lq_change"] = (df["lq"] - first_lq).where((df["n_years"] > 1) & (df["year"] != first_year))
    return df


def pair_persistence(lq: pd.DataFrame, *, indicators: tuple[str, ...], rule: str | None, level: str) -> pd.DataFrame:
    """Years in which the combined rule held, per region x activity.

    Returns
    -------
    DataFrame
        ``classification, level, region_code, activity_code, n_years, years_specialised,
        first_year, last_year, lq_change`` (``lq_max`` in the last year minus in the first year
        with data), ``single_year`` (specialised in exactly one year of several).
    """
    from mapping.analysis.frames import rows
    from mapping.analysis.specialisation import specialised_only

    reads = ["year", "classification", "level", "region_code", "activity_code", "indicator", "specialised", "lq"]
    sub = rows(lq, (lq["level"] == level) & lq["indicator"].isin(indicators), reads)
    # One year at a time, as the map's year is combined (the rule may join indicators of that year only).
    frames = [specialised_only(rows(sub, sub["year"] == year), indicators=indicators, rule=rule, level=level)
              for year in sorted(sub["year"].unique())]
    if not frames:
        return pd.DataFrame(columns=["classification", "level", "region_code", "activity_code", "n_years",
                                     "years_specialised", "first_year", "last_year", "lq_change", "single_year"])
    if len(frames) == 1:  # one year: every cell is one row already in key order, nothing to aggregate
        return _one_year_persistence(frames[0])
    return _persistence(pd.concat(frames, ignore_index=True))


_PAIR_KEYS = ["classification", "level", "region_code", "activity_code"]


def _one_year_persistence(sp: pd.DataFrame) -> pd.DataFrame:
    """:func:`_persistence` of one year's :func:`~mapping.analysis.specialisation.specialised_only` rows
    (unique cells, sorted by the keys), column for column without grouping millions of rows."""
    hasv = sp["lq_max"].notna().to_numpy()
    year = sp["year"].to_numpy()
    seen = year if hasv.all() else np.where(hasv, year, np.nan)  # a cell without an LQ has no year (NaN)
    out = pd.DataFrame({"years_specialised": sp["specialised"].to_numpy().astype(np.int64),
                        "n_years": hasv.astype(np.int64), "first_year": seen, "last_year": seen.copy(),
                        "lq_change": np.full(len(sp), np.nan), "single_year": np.zeros(len(sp), bool)})
    return pd.concat([sp[_PAIR_KEYS].reset_index(drop=True), out], axis=1)


def _persistence(allsp: pd.DataFrame) -> pd.DataFrame:
    """The aggregates of :func:`pair_persistence` over the years' :func:`specialised_only` rows."""
    from mapping.analysis.frames import group_codes

    keys = _PAIR_KEYS
    code, uniques = group_codes(allsp, keys)  # numbered in sorted key order, as groupby(keys) is
    code = pd.Series(code, index=allsp.index)
    hasv = allsp["lq_max"].notna()
    # Only the columns the aggregates read (moving millions of text keys through a sort is slow).
    has = pd.DataFrame({"_code": code[hasv], "year": allsp["year"][hasv],
                        "lq_max": allsp["lq_max"][hasv]}).sort_values("year")
    out = allsp["specialised"].groupby(code).sum().to_frame("years_specialised").join(
        has.groupby("_code").agg(n_years=("year", "nunique"), first_year=("year", "min"), last_year=("year", "max"),
                                 lq_first=("lq_max", "first"), lq_last=("lq_max", "last")))
    out["n_years"] = out["n_years"].fillna(0).astype(int)
    out["years_specialised"] = out["years_specialised"].astype(int)
    out["lq_change"] = (out["lq_last"] - out["lq_first"]).where(out["n_years"] > 1)
    out["single_year"] = (out["n_years"] > 1) & (out["years_specialised"] == 1)
    out = out.drop(columns=["lq_first", "lq_last"]).reset_index(drop=True)
    return pd.concat([uniques, out], axis=1)


def with_persistence(spec: pd.DataFrame, lq: pd.DataFrame, *, indicators: tuple[str, ...], rule: str | None,
                     level: str, persistent_share: float = 0.75) -> pd.DataFrame:
    """Add :func:`pair_persistence` columns to one year's combined specialisation.

    ``persistent``: specialised in the analysis year and in at least ``persistent_share`` of the
    years observed, and in at least 2 of them (with one year of data nothing is persistent).
    """
    from mapping.analysis.frames import lookup

    pp = pair_persistence(lq, indicators=indicators, rule=rule, level=level)
    keys = ["classification", "level", "region_code", "activity_code"]
    same = len(spec) == len(pp) and all(spec[k].reset_index(drop=True).equals(pp[k]) for k in keys)
    # A left merge on the keys (each is once in pp): row for row when both list the same cells in the same
    # order (one year of data), else matched on integer codes.
    pos = np.arange(len(pp)) if same else lookup(spec, pp, keys)
    hit = pos >= 0
    out = spec.reset_index(drop=True)

    def take(col: str, fill):
        v = pp[col].to_numpy()
        return np.where(hit, v[np.maximum(pos, 0)] if len(v) else fill, fill)

    out["n_years"] = take("n_years", 0).astype(int)
    out["years_specialised"] = take("years_specialised", 0).astype(int)
    out["lq_change"] = take("lq_change", np.nan).astype(float)
    out["single_year"] = take("single_year", False).astype(bool)
    share = out["years_specialised"] / out["n_years"].where(out["n_years"] > 0)
    out["persistent"] = (out["specialised"] & (out["years_specialised"] >= 2)
                         & (share >= persistent_share - 1e-12)).fillna(False).astype(bool)
    return out
