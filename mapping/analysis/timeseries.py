"""Several years of input: how many years each region x activity was specialised, and the LQ change.

With one year of data every count is 1 (or 0) and the change is empty; nothing else changes.
"""

from __future__ import annotations

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
    df = lq.copy()
    g = df.groupby(_CELL, sort=False)
    df["years_specialised"] = g["specialised"].transform("sum").astype(int)
    df["n_years"] = g["lq"].transform("count").astype(int)
    first_year = df["year"].where(df["lq"].notna()).groupby([df[c] for c in _CELL], sort=False).transform("min")
    base = df.loc[df["year"] == first_year, _CELL + ["lq"]].drop_duplicates(_CELL).rename(columns={"lq": "_first"})
    first_lq = pd.Series(df[_CELL].merge(base, on=_CELL, how="left")["_first"].to_numpy(), index=df.index)
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
    from mapping.analysis.specialisation import specialisation

    frames = []
    for year, sub in lq.loc[(lq["level"] == level) & lq["indicator"].isin(indicators)].groupby("year"):
        sp = specialisation(sub, indicators=indicators, rule=rule, level=level)
        frames.append(sp[["year", "classification", "level", "region_code", "activity_code", "specialised", "lq_max"]])
    if not frames:
        return pd.DataFrame(columns=["classification", "level", "region_code", "activity_code", "n_years",
                                     "years_specialised", "first_year", "last_year", "lq_change", "single_year"])
    allsp = pd.concat(frames, ignore_index=True)
    keys = ["classification", "level", "region_code", "activity_code"]
    has = allsp.loc[allsp["lq_max"].notna()].sort_values("year")
    out = allsp.groupby(keys).agg(years_specialised=("specialised", "sum")).join(
        has.groupby(keys).agg(n_years=("year", "nunique"), first_year=("year", "min"), last_year=("year", "max"),
                              lq_first=("lq_max", "first"), lq_last=("lq_max", "last")))
    out["n_years"] = out["n_years"].fillna(0).astype(int)
    out["years_specialised"] = out["years_specialised"].astype(int)
    out["lq_change"] = (out["lq_last"] - out["lq_first"]).where(out["n_years"] > 1)
    out["single_year"] = (out["n_years"] > 1) & (out["years_specialised"] == 1)
    return out.drop(columns=["lq_first", "lq_last"]).reset_index()


def with_persistence(spec: pd.DataFrame, lq: pd.DataFrame, *, indicators: tuple[str, ...], rule: str | None,
                     level: str, persistent_share: float = 0.75) -> pd.DataFrame:
    """Add :func:`pair_persistence` columns to one year's combined specialisation.

    ``persistent``: specialised in the analysis year and in at least ``persistent_share`` of the
    years observed, and in at least 2 of them (with one year of data nothing is persistent).
    """
    pp = pair_persistence(lq, indicators=indicators, rule=rule, level=level)
    keys = ["classification", "level", "region_code", "activity_code"]
    out = spec.merge(pp[keys + ["n_years", "years_specialised", "lq_change", "single_year"]], on=keys, how="left")
    out["n_years"] = out["n_years"].fillna(0).astype(int)
    out["years_specialised"] = out["years_specialised"].fillna(0).astype(int)
    out["single_year"] = out["single_year"].fillna(False).astype(bool)
    share = out["years_specialised"] / out["n_years"].where(out["n_years"] > 0)
    out["persistent"] = (out["specialised"] & (out["years_specialised"] >= 2)
                         & (share >= persistent_share - 1e-12)).fillna(False).astype(bool)
    return out
