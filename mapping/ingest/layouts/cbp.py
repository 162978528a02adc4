"""US County Business Patterns (CBP) state files: one CSV per NAICS code, one row per state x year.

Layout (``../shared/data/us/cbp_state_naics_2000_2011_wilson428/fips/``; see its PROVENANCE.md):
columns ``ap, ap_nf, emp, emp_nf, empflag, est, fipstate, year``; the file name is the CBP NAICS code
with ``-`` padding (``212111.csv`` six-digit, ``2122--.csv`` four-digit, ``31----.csv`` the
manufacturing sector, ``------.csv`` all sectors). Where employment is withheld, ``emp`` is 0 and
``empflag`` holds a size class letter (A 0-19 ... M 100,000 or more): such a cell is read as a
*range* (value empty, ``value_low``/``value_high`` the class bounds), never as 0.

The reader is driven by configuration (:class:`mapping.config.InputFile`: ``indicator``, ``years``,
``levels``, ``columns``), and returns cells with region *labels* (FIPS codes) that the generic
finishing step in :mod:`mapping.ingest.layouts.finish` resolves through the configured region registry.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mapping.config import InputFile
from mapping.errors import MappingError, format_items
from mapping.ingest.layouts.common import _Cells, _Registries, check_years

__all__ = ["SIZE_CLASSES", "CBP_INDICATORS", "NAICS_VINTAGES", "naics_code_from_cbp", "naics_level",
           "naics_classification", "is_cbp_file", "read_cbp"]

#: Employment-size classes of CBP (Census "empflag"): letter -> (low, high); high None = open.
#: There is no D: CBP uses D for "withheld" in the noise flags.
SIZE_CLASSES: dict[str, tuple[float, float | None]] = {
    "A": (0, 19), "B": (20, 99), "C": (100, 249), "E": (250, 499), "F": (500, 999), "G": (1000, 2499),
    "H": (2500, 4999), "I": (5000, 9999), "J": (10000, 24999), "K": (25000, 49999), "L": (50000, 99999),
    "M": (100000, None)}
#: Indicator -> default column roles and unit. ``noise``: the 2007+ noise flag column, where
#: ``D`` (withheld) and ``S`` (not published for quality reasons) mean no published value.
CBP_INDICATORS: dict[str, dict[str, str]] = {
    "employment": {"value": "emp", "range": "empflag", "noise": "emp_nf", "unit": "persons"},
    "establishments": {"value": "est", "unit": "count"},
    "payroll": {"value": "ap", "noise": "ap_nf", "unit": "thousand USD"},
}
#: CBP reference years -> NAICS vintage (Census: 2008+ NAICS 2007, 2003-2007 NAICS 2002, before NAICS 1997).
NAICS_VINTAGES = ((2008, "NAICS2007"), (2003, "NAICS2002"), (1998, "NAICS1997"))
_NOISE_WITHHELD = {"D", "S"}
_CBP_NAME = re.compile(r"^(?:-{6}|\d{2}-{4}|\d{3}[-/]{3}|\d{4}[-/]{2}|\d{5}[-/]|\d{6})$")
_SECTORS = {"31": "31-33", "32": "31-33", "33": "31-33", "44": "44-45", "45": "44-45", "48": "48-49",
            "49": "48-49"}
_REQUIRED = ("fipstate", "year")


def naics_code_from_cbp(code: str) -> str:
    """CBP code (``2122//``, ``2122--``, ``31----``, ``------``) -> registry code (``2122``, ``31-33``, ``TOTAL``).

    Examples
    --------
    >>> [naics_code_from_cbp(c) for c in ("------", "31----", "2122//", "32731-", "212111")]
    ['TOTAL', '31-33', '2122', '32731', '212111']
    """
    digits = code.strip().rstrip("-/")
    if not digits:
        return "TOTAL"
    if len(digits) == 2:
        return _SECTORS.get(digits, digits)
    return digits


def naics_level(code: str) -> str:
    """Level of a registry NAICS code: ``total``, ``naics2`` (incl. ``31-33``) ... ``naics6``."""
    if code == "TOTAL":
        return "total"
    return "naics2" if "-" in code else f"naics{len(code)}"


def naics_classification(year: int) -> str:
    """The NAICS vintage CBP used for a reference year."""
    return next((c for y, c in NAICS_VINTAGES if year >= y), "SIC")


def is_cbp_file(path: Path) -> bool:
    """A CSV whose name is a CBP NAICS code and whose header has ``fipstate`` and ``year``."""
    if path.suffix.lower() != ".csv" or not _CBP_NAME.match(path.stem):
        return False
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = fh.readline()
    except OSError:
        return False
    cols = [c.strip() for c in head.split(",")]
    return all(c in cols for c in _REQUIRED)


def _files(path: Path, levels: tuple[str, ...]) -> tuple[list[Path], int]:
    """CBP files of a folder (or the one file), filtered by level; returns (files, skipped by level)."""
    if path.is_dir():
        files = sorted(f for f in path.glob("*.csv") if _CBP_NAME.match(f.stem))
        if not files:
            raise MappingError(f"{path}: no County Business Patterns files (named by NAICS code, e.g. 212111.csv or "
                               f"31----.csv) in this folder")
    else:
        if not _CBP_NAME.match(path.stem):
            raise MappingError(f"{path}: a CBP file must be named by its NAICS code (212111.csv, 2122--.csv, "
                               f"------.csv), got {path.name!r}")
        files = [path]
    if not levels:
        return files, 0
    kept = [f for f in files if naics_level(naics_code_from_cbp(f.stem)) in levels]
    return kept, len(files) - len(kept)


def read_cbp(path: str | Path, *, indicator: str = "employment", columns: dict[str, str] | None = None,
             levels: tuple[str, ...] = (), unit: str | None = None,
             years: tuple[int, ...] = ()) -> tuple[pd.DataFrame, dict]:
    """Read CBP state files into cells (region label = FIPS state code).

    Parameters
    ----------
    path : str or Path
        The ``fips/`` folder or one of its files.
    indicator : str
        ``employment`` (``emp``, size-class letters in ``empflag``), ``establishments`` (``est``) or
        ``payroll`` (``ap``, thousand USD); another name needs ``columns["value"]`` and ``unit``.
    columns : dict, optional
        Overrides of the column roles: ``value``, ``range`` (size-class letter), ``noise`` (noise
        flag), ``region`` (default ``fipstate``), ``year`` (default ``year``).
    levels : tuple of str
        NAICS levels to read (``naics2`` ... ``naics6``, ``total``); files of other levels are not opened.
    unit : str, optional
        Unit of the value column when the indicator is not one of :data:`CBP_INDICATORS`.
    years : tuple of int
        Years to keep (default: all). Rows of other years are counted in ``meta["drops"]`` under the
        same reason the common finishing step uses, not turned into cells: each file holds every year
        (2000-2011), so a one-year run would otherwise build twelve times the rows it uses.

    Returns
    -------
    cells : DataFrame
        ``region_label, activity_code, activity_label, level, classification, year, value, value_low,
        value_high, flag, footnote, source_sheet, source_row, source_col, source_file``.
    meta : dict
        ``unit``, ``files`` (paths read), ``files_skipped_by_level``, ``drops``, ``layout``, ``notes``.

    Raises
    ------
    MappingError
        No CBP files, a missing column, a value that is not a whole number, or an unknown size-class letter
        (file, line, column and value named).
    """
    path = Path(path)
    roles = dict(CBP_INDICATORS.get(indicator, {}))
    roles.update(columns or {})
    if "value" not in roles:
        raise MappingError(f"{path}: indicator {indicator!r} is not a CBP column; name the value column with "
                           f"columns = {{ value = \"emp\" }} (one of {', '.join(CBP_INDICATORS)})")
    unit_text = unit or roles.get("unit")
    if not unit_text:
        raise MappingError(f"{path}: set unit for the CBP column {roles['value']!r}")
    region_col, year_col = roles.get("region", "fipstate"), roles.get("year", "year")
    files, skipped = _files(path, levels)
    cols: dict[str, list] = {k: [] for k in ("region_label", "activity_code", "level", "year", "value",
                                             "value_low", "value_high", "flag", "source_row", "source_file")}
    keep = frozenset(int(y) for y in years)
    seen: set[int] = set()
    other = 0
    for f in files:
        other += _read_one(f, roles, region_col, year_col, cols, keep, seen)
    drops = {}
    if keep:
        reason = check_years(path, list(years), seen)
        if other:
            drops[reason] = other
    years = np.asarray(cols["year"], dtype=int)
    cls = {y: naics_classification(int(y)) for y in set(cols["year"])}
    cells = pd.DataFrame({
        "region_label": cols["region_label"], "activity_code": cols["activity_code"],
        "activity_label": cols["activity_code"], "level": cols["level"],
        "classification": [cls[y] for y in cols["year"]], "year": years,
        "value": np.asarray(cols["value"], dtype=float), "value_low": np.asarray(cols["value_low"], dtype=float),
        "value_high": np.asarray(cols["value_high"], dtype=float), "flag": cols["flag"], "footnote": "",
        "source_sheet": "", "source_row": np.asarray(cols["source_row"], dtype=int), "source_col": roles["value"],
        "source_file": cols["source_file"]})
    notes = [f"County Business Patterns: {len(files)} file(s) read"
             + (f", {skipped} of other NAICS levels not opened (levels = {list(levels)})" if skipped else ""),
             f"indicator {indicator} from column {roles['value']!r}"
             + (f"; size-class letters in {roles['range']!r} read as ranges (value empty, bounds in "
                f"value_low/value_high)" if roles.get("range") else "")]
    return cells, {"unit": unit_text, "files": files, "files_skipped_by_level": skipped, "drops": drops,
                   "layout": {}, "notes": notes}


def _read_one(f: Path, roles: dict[str, str], region_col: str, year_col: str, out: dict[str, list],
              keep: frozenset[int] = frozenset(), seen: set[int] | None = None) -> int:
    """Append the cells of one CBP file to ``out`` (plain csv: pandas per small file is ~20x slower).

    Rows whose year is not in ``keep`` (when given) are counted, not appended; every year met is
    added to ``seen``. Returns the number of rows left out for their year.
    """
    try:
        with open(f, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError as exc:
        raise MappingError(f"{f}: not UTF-8 text (byte {exc.start})") from None
    except csv.Error as exc:
        raise MappingError(f"{f}: not a readable CSV: {exc}") from None
    if not rows:
        raise MappingError(f"{f}: the file is empty")
    header = [h.strip() for h in rows[0]]
    need = [c for c in (region_col, year_col, roles["value"], roles.get("range"), roles.get("noise")) if c]
    missing = [c for c in need if c not in header]
    if missing:
        raise MappingError(f"{f}: missing column(s) {missing} (found {header})")
    ri, yi, vi = header.index(region_col), header.index(year_col), header.index(roles["value"])
    gi = header.index(roles["range"]) if roles.get("range") else None
    ni = header.index(roles["noise"]) if roles.get("noise") else None
    code = naics_code_from_cbp(f.stem)
    level = naics_level(code)
    bad_year, bad_value, bad_letter = [], [], []
    other = 0
    for line, rec in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in rec):
            continue
        if len(rec) != len(header):
            raise MappingError(f"{f}, line {line}: {len(rec)} fields, the header has {len(header)}")
        y = rec[yi].strip()
        if not y.isdigit():
            bad_year.append(f"line {line}: {rec[yi]!r}")
            continue
        if keep:
            year = int(y)
            if seen is not None:
                seen.add(year)
            if year not in keep:
                other += 1
                continue
        raw = rec[vi].strip()
        try:
            v = float(raw)
            if not math.isfinite(v) or v < 0:
                raise ValueError
        except ValueError:
            bad_value.append(f"line {line}: {rec[vi]!r}")
            continue
        flag, low, high = "", math.nan, math.nan
        letter = rec[gi].strip().upper() if gi is not None else ""
        if letter:
            if letter not in SIZE_CLASSES:
                bad_letter.append(f"line {line}: {rec[gi]!r}")
                continue
            lo, hi = SIZE_CLASSES[letter]
            flag, v, low, high = "range", math.nan, float(lo), math.nan if hi is None else float(hi)
        elif ni is not None and rec[ni].strip().upper() in _NOISE_WITHHELD:
            flag, v = "suppressed", math.nan
        out["region_label"].append(rec[ri].strip())
        out["activity_code"].append(code)
        out["level"].append(level)
        out["year"].append(int(y))
        out["value"].append(v)
        out["value_low"].append(low)
        out["value_high"].append(high)
        out["flag"].append(flag)
        out["source_row"].append(line)
        out["source_file"].append(f.name)
    for what, bad, col in (("not a year", bad_year, year_col),
                           ("not a count or amount (a number >= 0 is expected)", bad_value, roles["value"]),
                           (f"unknown size-class letter (expected {', '.join(SIZE_CLASSES)})", bad_letter,
                            roles.get("range"))):
        if bad:
            raise MappingError(f"{f}: column {col!r}: {what}: " + format_items(bad))
    return other


def _read_cbp(path: Path, inp: InputFile, regs: _Registries) -> _Cells:
    cells, meta = read_cbp(path, indicator=inp.indicator or "employment", columns=dict(inp.columns),
                           levels=tuple(inp.levels), unit=None, years=tuple(inp.years or ()))
    cells["_raw"] = ""
    return _Cells(cells, inp.indicator or "employment", meta["unit"], "cbp", meta["notes"], meta["drops"],
                  meta["layout"], row_unit="row", source_name=path.name, default_classification="NAICS2007")
