"""Cells of the original Rosstat layouts: value parsing, flags and header finding.

Readers for the original Rosstat layouts: each returns a "raw long" frame, one row per data cell.

Resolution of labels to codes happens later (:mod:`mapping.ingest.registry`); these readers only find the
data cells, keep every label exactly as in the source, and say where each value came from.

Raw long columns (:data:`RAW_COLUMNS`)
--------------------------------------
``region_label``   str, as in the source (annex and xlsx readers keep spaces and line breaks; the
                   EMISS CSV reader strips the leading indentation and keeps it in ``region_depth``)
``activity_label`` str, ``""`` when the table has no activity dimension
``year``           int
``value``          float, NaN when missing
``flag``           ``""`` normal, ``"suppressed"`` (``…``/``...``), ``"absent"`` (``-``, value 0.0),
                   ``"empty"`` (empty cell), ``"unparsed"`` (other text, e.g. ``в 2,5 р.``, value NaN),
                   ``"aggregate_unlabelled"`` (``VRP.xlsx`` federal-district rows labelled ``#N/A``)
``raw``            str, the cell as stored (cached value of a formula cell)
``source_file``    file name
``source_sheet``   sheet name, ``""`` for CSV
``source_row``     1-based row in the sheet / physical line in the CSV
``source_col``     column letter (xlsx) or 1-based column index as text (CSV)

Rows that are not data (titles, ``в том числе:``, blank rows, footnotes) are counted in
``meta["skipped"]`` (reason -> number of rows); no data row is dropped silently.
"""

from __future__ import annotations

import math
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pandas as pd

from mapping.errors import MappingError, format_items

RAW_COLUMNS = ["region_label", "activity_label", "year", "value", "flag", "raw", "source_file",
               "source_sheet", "source_row", "source_col"]

FLAG_NORMAL = ""
FLAG_SUPPRESSED = "suppressed"
FLAG_ABSENT = "absent"
FLAG_EMPTY = "empty"
FLAG_UNPARSED = "unparsed"
FLAG_AGGREGATE_UNLABELLED = "aggregate_unlabelled"

#: Rows scanned for a year header before giving up.
HEADER_SCAN_ROWS = 30
#: First year of the OKVED2 sheets in ``VRP_OKVED2_s2016.xlsx`` (earlier sheets are OKVED 2007).
GVA_OKVED2_FROM = 2016

# A footnote marker after a number or word: "2)", "1);2);3)", " 3)".
_MARKER = r"\d{1,2}\)(?:\s*;?\s*\d{1,2}\))*"
_YEAR_RE = re.compile(rf"^((?:19|20)\d\d)\s*({_MARKER})?\s*(?:гг?\.?)?$")
_TRAILING_MARKER_RE = re.compile(rf"\s*({_MARKER})\s*$")
# In titles a marker is one digit: "ОКВЭД21)" is "ОКВЭД2" with footnote 1.
_TITLE_MARKER_RE = re.compile(r"\s*(\d\)(?:\s*;?\s*\d\))*)\s*$")
_SUPPRESSED_RE = re.compile(r"^(?:…|\.\.\.?)+\.?$")
_ABSENT = {"-", "–", "—", "−"}
# The footnote separator: underscores, or em dashes that some workbooks store as "¾" (cp1251 mojibake).
_FOOTNOTE_LINE_RE = re.compile(r"^\s*[_¾—–\-]{3,}\s*$")
_FOOTNOTE_TEXT_RE = re.compile(r"^\s*\d{1,2}\)\s")
_TABLE_NO_RE = re.compile(r"^\s*(\d+(?:\.\d+)+)\.?\s*(\D.*)$", re.S)
_UNIT_ROW_RE = re.compile(r"^\s*\((.*)\)\s*$", re.S)
_IN_WORDS_RE = re.compile(r"^(в\s+том\s+числе|из\s+них)\b.*:\s*$|^(в\s+том\s+числе|из\s+них)\s*$")
_UNIT_WORD_RE = re.compile(r"рубл|человек|процент|единиц|долл|тонн|штук|тыс|млн|млрд|миллион|миллиард|%", re.I)
_TITLE_YEAR_RE = re.compile(r"\bв\s+((?:19|20)\d\d)\s*г")
# Latin letters that Rosstat files sometimes use inside Cyrillic words ("Федеpация").
_LOOKALIKE = str.maketrans("aceopxyABCEHKMOPTXy", "асеорхуАВСЕНКМОРТХу")


# --------------------------------------------------------------------------- cell parsing

def parse_cell(value: Any) -> tuple[float, str, str]:
    """Parse one source cell into ``(value, flag, raw)``.

    Parameters
    ----------
    value : Any
        The cell as read (number, text or None).

    Returns
    -------
    tuple of (float, str, str)
        ``value`` (NaN unless a number or ``-``), ``flag`` (see the module docstring) and ``raw``
        (the cell as text, ``""`` for an empty cell).

    Examples
    --------
    >>> parse_cell(761.5)
    (761.5, '', '761.5')
    >>> parse_cell("…3)")[1:]
    ('suppressed', '…3)')
    >>> parse_cell("-")
    (0.0, 'absent', '-')
    """
    if value is None:
        return math.nan, FLAG_EMPTY, ""
    if isinstance(value, bool):
        return math.nan, FLAG_UNPARSED, str(value)
    if isinstance(value, (int, float)):
        return float(value), FLAG_NORMAL, str(value)
    raw = str(value)
    text = raw.strip()
    if not text:
        return math.nan, FLAG_EMPTY, raw
    core = _TRAILING_MARKER_RE.sub("", text).strip()  # "…3)" -> "…", "... 1)" -> "..."
    if _SUPPRESSED_RE.match(core):
        return math.nan, FLAG_SUPPRESSED, raw
    if core in _ABSENT:
        return 0.0, FLAG_ABSENT, raw
    number = core.replace("\xa0", "").replace(" ", "").replace(",", ".")
    try:
        v = float(number)
    except ValueError:
        return math.nan, FLAG_UNPARSED, raw
    # float() also reads "nan", "inf" and "1e999": text like that is no published figure.
    return (v, FLAG_NORMAL, raw) if math.isfinite(v) else (math.nan, FLAG_UNPARSED, raw)


def _parse_year(value: Any) -> tuple[int, str] | None:
    """Return ``(year, footnote marker)`` for a year header cell, or None if it is not a year."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        if float(value).is_integer() and 1900 <= value <= 2100:
            return int(value), ""
        return None
    m = _YEAR_RE.match(str(value).strip())
    if not m:
        return None
    return int(m.group(1)), (m.group(2) or "").replace(" ", "")


def _norm(label: Any) -> str:
    """Normalise a label for structural tests only (never for the returned ``region_label``)."""
    return " ".join(str(label or "").translate(_LOOKALIKE).split()).casefold()


def _blank(cells: tuple | list) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _col_letter(index0: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index0 + 1)


def _bump(skipped: dict[str, int], reason: str) -> None:
    skipped[reason] = skipped.get(reason, 0) + 1


def _frame(records: list[dict], extra: tuple[str, ...] = ()) -> pd.DataFrame:
    df = pd.DataFrame.from_records(records, columns=RAW_COLUMNS + list(extra))
    df["year"] = df["year"].astype("int64")
    df["value"] = df["value"].astype("float64")
    df["source_row"] = df["source_row"].astype("int64")
    return df


# --------------------------------------------------------------------------- workbook access

def _open_sheet_rows(path: Path, sheet: str) -> list[tuple]:
    """All rows of one sheet as value tuples (cached values of formula cells), 1-based by position.

    Raises MappingError for a missing file, a file that is not an xlsx workbook, or a missing sheet.
    """
    import openpyxl

    path = Path(path)
    if not path.is_file():
        raise MappingError(f"{path}: file not found")
    if not zipfile.is_zipfile(path):
        head = path.read_bytes()[:200].lstrip().lower()
        hint = " (it looks like an HTML page saved with an .xlsx name)" if head.startswith((b"<!doctype", b"<html")) \
            else ""
        raise MappingError(f"{path.name}: not a valid .xlsx workbook{hint}; download the original Excel file "
                           f"(first bytes: {head[:40]!r})")
    from mapping.ingest.limits import check_workbook_package, mark_formulas, scan_sheet, sheet_member

    try:
        with zipfile.ZipFile(path) as zf:
            check_workbook_package(path, zf, 2 * 1024**3)
            member = sheet_member(zf, sheet)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise MappingError(f"{path.name}: not a readable .xlsx workbook: {exc}") from None
    # Cell count, formulas without values, bad numbers: checked before openpyxl parses the sheet.
    scan = scan_sheet(path, member, sheet) if member is not None else None
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for broken packages
        raise MappingError(f"{path.name}: not a readable .xlsx workbook: {exc}") from None
    try:
        if sheet not in wb.sheetnames:
            close = [s for s in wb.sheetnames if s.strip(". ") == str(sheet).strip(". ")]
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise MappingError(f"{path.name}: no sheet {sheet!r}{hint} Available sheets: "
                               + format_items(repr(s) for s in wb.sheetnames))
        ws = wb[sheet]
        try:
            rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
            return mark_formulas(rows, scan.formulas_without_value) if scan and scan.formulas_without_value else rows
        except MappingError:
            raise
        except Exception as exc:  # damaged XML or cells: ParseError, ValueError, KeyError...
            raise MappingError(f"{path.name}, sheet {sheet!r}: the sheet cannot be read "
                               f"({type(exc).__name__}: {exc}); open and save it again, or download it again") from None
    finally:
        wb.close()


def _find_year_header(rows: list[tuple], *, file: str, sheet: str,
                      first_col: int) -> tuple[int, dict[int, tuple[int, str]]]:
    """Locate the year header row: all non-empty cells from ``first_col`` on are years.

    Returns the 0-based row index and ``{column index: (year, marker)}``.
    """
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        cells = {j: v for j, v in enumerate(row) if j >= first_col and not _blank([v])}
        if not cells:
            continue
        years = {j: _parse_year(v) for j, v in cells.items()}
        bad = [j for j, y in years.items() if y is None]
        if bad and len(bad) * 2 < len(years):
            # Mostly years: a typo in the header (e.g. "20009"), not a title row.
            raise MappingError(f"{file}, sheet {sheet!r}, row {i + 1}: year header cell(s) that are not years: "
                               + format_items(f"column {_col_letter(j)} = {cells[j]!r}" for j in bad))
        if not bad:
            seen: dict[int, int] = {}
            for j, (year, _) in sorted(years.items()):
                if year in seen:
                    raise MappingError(f"{file}, sheet {sheet!r}, row {i + 1}: year {year} appears twice in the "
                                       f"header (columns {_col_letter(seen[year])} and {_col_letter(j)})")
                seen[year] = j
            return i, years  # type: ignore[return-value]
    raise MappingError(f"{file}, sheet {sheet!r}: no year header found in rows 1-{HEADER_SCAN_ROWS} (expected a "
                       f"row whose cells from column {_col_letter(first_col)} on are years such as 2021)")
