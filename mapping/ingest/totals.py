"""Region totals against the sum of their parts, and activity codes against their classification.

Parts at one activity level are disjoint, so the known parts of a region can never sum above its
``total`` row. Where an indicator's totals are declared exact (``specialisation.exact_totals``), a
region whose parts are all published must also sum to its total. A contradiction beyond
:data:`TOTALS_TOLERANCE` stops the run, naming the file, rows and values; where totals are not declared
exact, parts above the total are a warning in the file's ledger (so in the report and the manifest).
"""

from __future__ import annotations

import re

import pandas as pd

from mapping.errors import MappingError, format_items

__all__ = ["TOTALS_TOLERANCE", "check_totals", "check_classifications"]

#: Relative difference between a total and the sum of its parts accepted (rounded shares, rounding of
#: published figures); a total 10 times its parts is far beyond it.
TOTALS_TOLERANCE = 0.02


def check_totals(tidy: pd.DataFrame, *, exact: tuple[str, ...] = (), ledgers: dict | None = None,
                 tolerance: float = TOTALS_TOLERANCE) -> list[str]:
    """Compare each region's ``total`` row with the sum of its activities at each level.

    Parameters
    ----------
    tidy : DataFrame
        Tidy rows of all inputs with ``file`` and ``source_row`` columns.
    exact : tuple of str
        Indicators whose totals are the exact sum of their activities.
    ledgers : dict, optional
        ``{file: FileLedger}``; warnings are added to the file's notes.

    Returns
    -------
    list of str
        The warnings (parts above a total not declared exact).

    Raises
    ------
    MappingError
        A declared-exact total contradicts its parts beyond ``tolerance``.
    """
    key = ["file", "year", "indicator", "classification", "region_code"]
    totals = tidy.loc[tidy["level"].eq("total") & tidy["value"].notna()]
    if totals.empty:
        return []
    parts = tidy.loc[~tidy["level"].eq("total")]
    if parts.empty:
        return []
    agg = parts.groupby(key + ["level"]).agg(known=("value", "sum"), missing=("value", lambda v: int(v.isna().sum())),
                                             n=("value", "size"), first_row=("source_row", "min")).reset_index()
    t = totals.groupby(key).agg(total=("value", "first"), total_row=("source_row", "first")).reset_index()
    m = agg.merge(t, on=key)
    if m.empty:
        return []
    slack = tolerance * m["total"].abs() + 1e-9
    above = m["known"] > m["total"] + slack
    is_exact = m["indicator"].isin(exact)
    differs = is_exact & m["missing"].eq(0) & ((m["known"] - m["total"]).abs() > slack)
    bad = m.loc[is_exact & (above | differs)]
    if not bad.empty:
        raise MappingError("region total(s) contradict the sum of their parts, though the indicator's totals are "
                           "declared exact (specialisation.exact_totals): " + format_items(
                               f"{r.file} row {r.total_row}: {r.region_code} {r.indicator} {r.year} total {r.total:g}, "
                               f"its {r.level} rows (from row {r.first_row}) sum to {r.known:g}"
                               for r in bad.itertuples()))
    warnings = []
    for r in m.loc[above & ~is_exact].itertuples():
        text = (f"warning: {r.region_code} {r.indicator} {r.year}: the {r.level} rows sum to {r.known:g}, above the "
                f"region total {r.total:g} (row {r.total_row}); one of them is wrong")
        warnings.append(text)
        if ledgers is not None and r.file in ledgers:
            ledgers[r.file].notes.append(text)
    return warnings


def check_classifications(tidy: pd.DataFrame, activities: pd.DataFrame, open_patterns: dict[str, str]) -> None:
    """Refuse activity rows of a classification the registry does not hold, unless it is declared open
    (``geodata.open_classifications``: classification -> regular expression its codes must match)."""
    rows = tidy.loc[tidy["level"] != "total"]
    known = set(activities["classification"])
    other = rows.loc[~rows["classification"].isin(known)]
    if other.empty:
        return
    closed = other.loc[~other["classification"].isin(list(open_patterns))]
    if not closed.empty:
        r = closed.iloc[0]
        raise MappingError(f"{r['file']} row {r['source_row']}: classification {r['classification']!r} is not in the "
                           f"activity registry (it holds {', '.join(sorted(known))}); add its codes to the registry, "
                           f"or declare it open with geodata.open_classifications = "
                           f"{{ {r['classification']} = '<regular expression of its codes>' }}")
    for cls, g in other.groupby("classification"):
        try:
            pattern = re.compile(open_patterns[cls])
        except re.error as exc:
            raise MappingError(f"geodata.open_classifications.{cls} = {open_patterns[cls]!r}: not a regular "
                               f"expression ({exc})") from None
        bad = g.loc[[not pattern.fullmatch(str(a)) for a in g["activity_code"]]]
        if not bad.empty:
            raise MappingError(f"activity code(s) that do not match the pattern {open_patterns[cls]!r} of the open "
                               f"classification {cls!r}: " + format_items(
                                   f"{r.file} row {r.source_row}: {r.activity_code!r}" for r in bad.itertuples()))
