"""Tidy tables as people write them: headers in Russian or English words, columns left out that the
input's options (or the activity registry) supply.

Only ``year``, a region, an activity and ``value`` must be columns. ``classification`` defaults to the
activity column's own name (``ОКВЭД2`` -> OKVED2) or the input's ``classification`` (else OKVED2);
``level`` to the code's level in the activity registry; ``indicator`` and ``unit`` to the input's
options (a file naming neither is asked for them in one line); ``flag`` to none; ``source`` to the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from mapping.config import KNOWN_INDICATORS, InputFile
from mapping.errors import MappingError

__all__ = ["HEADER_ALIASES", "canonical_header", "looks_tidy", "complete_tidy_columns"]

#: Words a header may use for each tidy column (compared case-folded, spaces and punctuation squeezed).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "year": ("год", "годы", "year", "период", "period", "отчетный год"),
    "region_code": ("регион", "region", "субъект", "субъект рф", "субъект российской федерации", "территория",
                    "region code", "код региона", "region name", "регион код"),
    "activity_code": ("оквэд2", "оквэд 2", "оквэд", "код оквэд2", "код оквэд", "activity", "activity code",
                      "вид экономической деятельности", "вид деятельности", "вэд", "okved2", "okved", "naics",
                      "industry"),
    "classification": ("классификация", "классификатор", "classification"),
    "level": ("уровень", "level"),
    "indicator": ("показатель", "indicator"),
    "value": ("значение", "value", "величина", "значение показателя"),
    "unit": ("единица", "единица измерения", "ед изм", "ед. изм.", "unit", "units"),
    "flag": ("флаг", "признак", "flag"),
    "source": ("источник", "source"),
}
_CLASSIFICATION_OF = {"оквэд2": "OKVED2", "оквэд 2": "OKVED2", "код оквэд2": "OKVED2", "okved2": "OKVED2",
                      "naics": "NAICS2007"}
_CORE = ("year", "region_code", "activity_code", "value")


def _squeeze(name: str) -> str:
    return " ".join(re.sub(r"[_\-]+", " ", str(name).strip().lstrip("\ufeff").casefold().replace("ё", "е")).split())


def canonical_header(header: list[str]) -> tuple[list[str], dict[str, str]]:
    """Map each header cell to its tidy column where it is a known alias; returns the new header and
    ``{tidy column: original name}`` for the renamed ones. Unknown columns are kept as they are."""
    lookup = {_squeeze(a): col for col, names in HEADER_ALIASES.items() for a in names}
    lookup.update({c: c for c in HEADER_ALIASES})
    out, renamed, taken = [], {}, set()
    for name in header:
        col = lookup.get(_squeeze(name))
        if col is not None and col not in taken:
            taken.add(col)
            out.append(col)
            if col != name:
                renamed[col] = name
        else:
            out.append(name)
    return out, renamed


def looks_tidy(header: list[str]) -> bool:
    """A long table: it has a year, a region, an activity and a value column (under any alias)."""
    cols, _ = canonical_header(header)
    return all(c in cols for c in _CORE)


def complete_tidy_columns(df: pd.DataFrame, path: Path, inp: InputFile, activities: pd.DataFrame,
                          renamed: dict[str, str], notes: list[str]) -> pd.DataFrame:
    """Fill the columns a tidy table left out from the input's options and the activity registry.

    Raises
    ------
    MappingError
        A core column is missing, or the file names no indicator (or unit) and the input gives none:
        one line saying which option to pass.
    """
    missing_core = [c for c in _CORE if c not in df.columns]
    if missing_core:
        return df  # the caller reports the missing columns with the whole schema
    df = df.copy()
    filled = []
    if "indicator" not in df.columns:
        if not inp.indicator:
            raise MappingError(f"{path}: the file does not name its indicator; pass it for this input, e.g. "
                               f"--option indicator=employment (one of {', '.join(KNOWN_INDICATORS)})")
        df["indicator"] = inp.indicator
        filled.append(f"indicator = {inp.indicator}")
    elif inp.indicator:
        blank = df["indicator"].map(lambda v: v is None or str(v).strip() == "")
        df.loc[blank, "indicator"] = inp.indicator
    if "unit" in renamed:  # a unit column under a header word: units as printed ("тыс. человек") made canonical
        from mapping.ingest.values import parse_unit

        df["unit"] = df["unit"].map(lambda u: parse_unit(u).name if u and parse_unit(u) is not None else u)
    if "unit" not in df.columns:
        if not inp.unit:
            raise MappingError(f"{path}: the file does not state its unit; pass it for this input, e.g. "
                               "--option unit='thousand persons'")
        df["unit"] = inp.unit
        filled.append(f"unit = {inp.unit}")
    if "classification" not in df.columns:
        cls = inp.classification or _CLASSIFICATION_OF.get(_squeeze(renamed.get("activity_code", "")), "OKVED2")
        df["classification"] = cls
        filled.append(f"classification = {cls}")
    if "level" not in df.columns:
        level_of = {(c, k): v for c, k, v in zip(activities["classification"], activities["code"],
                                                  activities["level"])}
        codes = df["activity_code"].map(lambda v: str(v).strip().upper() if v is not None else "")
        # Activities given by name stay "" here and get their level once resolved (the broadest with the name).
        df["level"] = [inp.level or level_of.get((c, k), "total" if k in ("TOTAL", "ВСЕГО") else "")
                       for c, k in zip(df["classification"], codes)]
        filled.append("level from the activity registry")
    if "flag" not in df.columns:
        df["flag"] = ""
    if "source" not in df.columns:
        df["source"] = inp.source or path.name
    if renamed:
        notes.append("columns read as " + ", ".join(f"{v!r} -> {k}" for k, v in renamed.items()))
    if filled:
        notes.append("not in the file, taken from the input: " + "; ".join(filled))
    return df
