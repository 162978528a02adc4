"""Readers for the original Rosstat layouts: each returns a "raw long" frame, one row per data cell.

Resolution of labels to codes happens later (:mod:`mapping.registry`); these readers only find the
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

import csv
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from mapping.errors import MappingError, format_items

__all__ = [
    "RAW_COLUMNS",
    "FLAG_NORMAL",
    "FLAG_SUPPRESSED",
    "FLAG_ABSENT",
    "FLAG_EMPTY",
    "FLAG_UNPARSED",
    "FLAG_AGGREGATE_UNLABELLED",
    "parse_cell",
    "read_rosstat_annex",
    "read_gva_structure",
    "read_vrp_total",
    "read_emiss_csv",
]

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
        return float(number), FLAG_NORMAL, raw
    except ValueError:
        return math.nan, FLAG_UNPARSED, raw


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
        return [tuple(r) for r in ws.iter_rows(values_only=True)]
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


# --------------------------------------------------------------------------- yearbook annex

def _annex_meta(rows: list[tuple], header: int, sheet: str) -> dict[str, Any]:
    """Table number, title and unit from the title rows above the year header."""
    texts = [str(v).strip() for row in rows[:header] for v in row if isinstance(v, str) and v.strip()]
    numbered = [(m.group(1), m.group(2)) for t in texts if (m := _TABLE_NO_RE.match(t))]
    wanted = sheet.strip(". ")
    table, title_raw = next(((n, t) for n, t in numbered if n == wanted), numbered[-1] if numbered else ("", ""))
    title_raw = " ".join(title_raw.split())
    marker = _TITLE_MARKER_RE.search(title_raw)
    title = _TITLE_MARKER_RE.sub("", title_raw).strip()
    units = [m.group(1) for t in texts if (m := _UNIT_ROW_RE.match(t))]
    unit = " ".join(units[-1].split()) if units else ""
    if not unit and "," in title:
        tail = title.rsplit(",", 1)[1].strip()  # "..., тысяч человек"
        unit = tail if _UNIT_WORD_RE.search(tail) else ""
    return {"table": table, "title": title, "title_raw": title_raw,
            "title_markers": marker.group(1) if marker else "", "unit": unit, "title_rows": texts}


def read_rosstat_annex(path: str | Path, sheet: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read one sheet of the «Регионы России» annex workbooks (one indicator by region and year).

    Layout: title rows (table number and title with footnote markers, unit in brackets), a year
    header row (years from column B; labels may carry markers, ``20202)`` is 2020 with marker
    ``2)``), data rows from the ``Российская Федерация`` row down to the footnote line (``____`` or
    ``¾¾¾``) or the end of the sheet. District rows and nested okrug rows are kept as they are;
    ``в том числе:`` rows are skipped and counted.

    Parameters
    ----------
    path : str or Path
        An annex workbook, e.g. ``rosstat_regions_2022_annex/Раздел 2 - Труд.xlsx``.
    sheet : str
        Sheet name exactly as in the workbook, e.g. ``"2.3."``.

    Returns
    -------
    frame : DataFrame
        :data:`RAW_COLUMNS`; one row per data row x year column; ``activity_label`` is ``""``.
    meta : dict
        ``table`` ("2.3"), ``title``, ``title_raw``, ``title_markers``, ``unit`` (text of the unit
        row, e.g. "тысяч человек"), ``header_row``, ``years``, ``year_markers`` ({2020: "2)"}),
        ``first_data_row``, ``last_data_row``, ``footnote_row`` (or None), ``footnotes`` (texts),
        ``skipped`` (reason -> rows), ``file``, ``sheet``.

    Raises
    ------
    MappingError
        Not an xlsx file, missing sheet, no year header, no ``Российская Федерация`` row, or a row
        with values but no label.

    Examples
    --------
    >>> df, meta = read_rosstat_annex(".../Раздел 2 - Труд.xlsx", "2.3.")  # doctest: +SKIP
    >>> meta["unit"]  # doctest: +SKIP
    'тысяч человек'
    """
    path = Path(path)
    file = path.name
    rows = _open_sheet_rows(path, sheet)
    header, years = _find_year_header(rows, file=file, sheet=sheet, first_col=1)
    meta = _annex_meta(rows, header, sheet)
    skipped: dict[str, int] = {}
    for row in rows[:header + 1]:
        _bump(skipped, "blank" if _blank(row) else "title/header")
    start = next((i for i in range(header + 1, len(rows))
                  if "российск" in _norm(rows[i][0] if rows[i] else "") and "федерац" in _norm(rows[i][0])), None)
    if start is None:
        raise MappingError(f"{file}, sheet {sheet!r}: no 'Российская Федерация' row in column A below the year "
                           f"header (row {header + 1})")
    for row in rows[header + 1:start]:
        _bump(skipped, "blank" if _blank(row) else "before the Российская Федерация row")
    records: list[dict] = []
    footnote_row = None
    footnotes: list[str] = []
    last = start
    for i in range(start, len(rows)):
        row = rows[i]
        label = row[0] if row else None
        if footnote_row is not None:
            if _blank(row):
                _bump(skipped, "blank")
            else:
                _bump(skipped, "footnote")
                footnotes.extend(str(v).strip() for v in row if v is not None and str(v).strip())
            continue
        if _blank(row):
            _bump(skipped, "blank")
            continue
        values_blank = _blank(row[1:])
        if isinstance(label, str) and _FOOTNOTE_LINE_RE.match(label) and values_blank:
            footnote_row = i + 1
            _bump(skipped, "footnote")
            continue
        if isinstance(label, str) and _FOOTNOTE_TEXT_RE.match(label) and values_blank:
            footnote_row = i + 1  # footnotes without a separator line
            _bump(skipped, "footnote")
            footnotes.append(label.strip())
            continue
        if _IN_WORDS_RE.match(_norm(label)) and values_blank:
            _bump(skipped, "в том числе:")
            continue
        if label is None or not str(label).strip():
            first = next(j for j, v in enumerate(row) if not _blank([v]))
            raise MappingError(f"{file}, sheet {sheet!r}, row {i + 1}, column {_col_letter(first)}: value "
                               f"{row[first]!r} in a row without a label in column A")
        last = i + 1
        for j, (year, _) in years.items():
            cell = row[j] if j < len(row) else None
            value, flag, raw = parse_cell(cell)
            records.append({"region_label": str(label), "activity_label": "", "year": year, "value": value,
                            "flag": flag, "raw": raw, "source_file": file, "source_sheet": sheet,
                            "source_row": i + 1, "source_col": _col_letter(j)})
    meta.update({"file": file, "sheet": sheet, "header_row": header + 1,
                 "years": sorted(y for y, _ in years.values()),
                 "year_markers": {y: m for y, m in years.values() if m},
                 "first_data_row": start + 1, "last_data_row": last, "footnote_row": footnote_row,
                 "footnotes": footnotes, "skipped": skipped})
    return _frame(records), meta


# --------------------------------------------------------------------------- GVA structure (percent)

def read_gva_structure(path: str | Path, year: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read one year sheet of ``VRP_OKVED2_s2016.xlsx``: GVA structure, percent of the region's total.

    Region labels come from column B (column A is an author-added lookup formula and is ignored).
    ``activity_label`` is the raw section header in the code row (``Раздел A`` ... ``Раздел О``;
    letters may be Cyrillic look-alikes); the total column (100 %) carries its own header text
    (``Валовая добавленная стоимость в основных ценах``).

    Parameters
    ----------
    path : str or Path
        ``gva_structure_region_okved/VRP_OKVED2_s2016.xlsx`` or a workbook of the same layout.
    year : int
        The year; its sheet is named ``str(year)``.

    Returns
    -------
    frame : DataFrame
        :data:`RAW_COLUMNS`; ``value`` is a percent of the region's GVA at basic prices.
    meta : dict
        ``classification`` (``OKVED2`` from 2016, ``OKVED2007`` before; the letters differ),
        ``title``, ``title_year``, ``unit`` ("в текущих ценах; в процентах к итогу"),
        ``header_row``, ``activity_names`` (header label -> section name), ``skipped``, ``file``,
        ``sheet``.

    Raises
    ------
    MappingError
        Not an xlsx file; no sheet for the year; no ``Раздел`` header row; the title names another
        year than the sheet (the ``2023``/``2024`` sheets are copies of ``2022``).
    """
    path = Path(path)
    file = path.name
    sheet = str(int(year))
    rows = _open_sheet_rows(path, sheet)
    header = next((i for i, row in enumerate(rows[:HEADER_SCAN_ROWS])
                   if any(isinstance(v, str) and v.strip().startswith("Раздел") for v in row)), None)
    if header is None:
        raise MappingError(f"{file}, sheet {sheet!r}: no header row with 'Раздел A', 'Раздел B', ... in rows "
                           f"1-{HEADER_SCAN_ROWS}")
    title_row, title = next(((i + 1, " ".join(str(v).split())) for i, row in enumerate(rows[:header]) for v in row
                             if isinstance(v, str) and "структура" in v.lower()), (None, ""))
    m = _TITLE_YEAR_RE.search(title)
    title_year = int(m.group(1)) if m else None
    if title_year is not None and title_year != int(year):
        raise MappingError(f"{file}, sheet {sheet!r}, row {title_row}: the title says {title_year} "
                           f"({title[:90]!r}) but the sheet is named {sheet}: it holds {title_year} data, not "
                           f"{year} data (in VRP_OKVED2_s2016.xlsx the 2023 and 2024 sheets are copies of 2022)")
    unit_m = re.search(r"\(([^()]*)\)\s*$", title)
    # Column label: the section code in the header row, else the text just above it (total column).
    labels: dict[int, str] = {}
    for j in range(2, max(len(r) for r in rows[:header + 1])):
        code = rows[header][j] if j < len(rows[header]) else None
        above = rows[header - 1][j] if header > 0 and j < len(rows[header - 1]) else None
        if isinstance(code, str) and code.strip():
            labels[j] = code
        elif isinstance(above, str) and above.strip() and above.strip() != "в том числе":
            labels[j] = above
    names_row = rows[header + 1] if header + 1 < len(rows) else ()
    activity_names = {lab: " ".join(str(names_row[j]).split()) for j, lab in labels.items()
                      if j < len(names_row) and names_row[j]}
    skipped: dict[str, int] = {}
    for row in rows[:header + 1]:
        _bump(skipped, "blank" if _blank(row) else "title/header")
    start = next((i for i in range(header + 1, len(rows))
                  if len(rows[i]) > 1 and "российская федерация" in _norm(rows[i][1])), None)
    if start is None:
        raise MappingError(f"{file}, sheet {sheet!r}: no 'Российская Федерация' row in column B below the header "
                           f"(row {header + 1})")
    for row in rows[header + 1:start]:
        _bump(skipped, "blank" if _blank(row[1:]) else "title/header")
    records: list[dict] = []
    in_footnotes = False
    for i in range(start, len(rows)):
        row = rows[i]
        label = row[1] if len(row) > 1 else None
        if _blank(row[1:]):
            _bump(skipped, "blank")
            continue
        if in_footnotes or (isinstance(label, str) and (_FOOTNOTE_TEXT_RE.match(label)
                                                         or _FOOTNOTE_LINE_RE.match(label)) and _blank(row[2:])):
            in_footnotes = True
            _bump(skipped, "footnote")
            continue
        if label is None or not str(label).strip():
            first = next(j for j, v in enumerate(row) if j >= 1 and not _blank([v]))
            raise MappingError(f"{file}, sheet {sheet!r}, row {i + 1}, column {_col_letter(first)}: value "
                               f"{row[first]!r} in a row without a label in column B")
        for j, lab in labels.items():
            value, flag, raw = parse_cell(row[j] if j < len(row) else None)
            records.append({"region_label": str(label), "activity_label": lab, "year": int(year), "value": value,
                            "flag": flag, "raw": raw, "source_file": file, "source_sheet": sheet,
                            "source_row": i + 1, "source_col": _col_letter(j)})
    meta = {"file": file, "sheet": sheet, "title": title, "title_row": title_row, "title_year": title_year,
            "unit": unit_m.group(1).strip() if unit_m else "",
            "classification": "OKVED2" if int(year) >= GVA_OKVED2_FROM else "OKVED2007",
            "header_row": header + 1, "first_data_row": start + 1, "activity_names": activity_names,
            "skipped": skipped}
    return _frame(records), meta


# --------------------------------------------------------------------------- GRP totals

def read_vrp_total(path: str | Path, sheet: str = "Total") -> pd.DataFrame:
    """Read ``VRP.xlsx`` (gross regional product by subject and year; ``Total`` is million rubles).

    Labels are in the first column (EMISS-style subject names). Federal-district rows are
    labelled ``#N/A`` in this workbook; they are returned (never dropped) with flag
    ``aggregate_unlabelled`` so callers can skip and count them.

    Parameters
    ----------
    path : str or Path
        ``gva_structure_region_okved/VRP.xlsx``.
    sheet : str
        ``"Total"`` (million rubles) or ``"Per Capita"`` (rubles).

    Returns
    -------
    DataFrame
        :data:`RAW_COLUMNS`; ``activity_label`` is ``""``. ``frame.attrs["meta"]`` holds
        ``header_row``, ``years``, ``aggregate_unlabelled_rows`` and ``skipped``.

    Raises
    ------
    MappingError
        Not an xlsx file, missing sheet, no year header, or values in a row without a label.
    """
    path = Path(path)
    file = path.name
    rows = _open_sheet_rows(path, sheet)
    header, years = _find_year_header(rows, file=file, sheet=sheet, first_col=1)
    skipped: dict[str, int] = {}
    for row in rows[:header + 1]:
        _bump(skipped, "blank" if _blank(row) else "title/header")
    records: list[dict] = []
    unlabelled = 0
    for i in range(header + 1, len(rows)):
        row = rows[i]
        if _blank(row):
            _bump(skipped, "blank")
            continue
        label = row[0]
        if label is None or not str(label).strip():
            first = next(j for j, v in enumerate(row) if not _blank([v]))
            raise MappingError(f"{file}, sheet {sheet!r}, row {i + 1}, column {_col_letter(first)}: value "
                               f"{row[first]!r} in a row without a label in column A")
        aggregate = str(label).strip() == "#N/A"
        unlabelled += aggregate
        for j, (year, _) in years.items():
            value, flag, raw = parse_cell(row[j] if j < len(row) else None)
            records.append({"region_label": str(label), "activity_label": "", "year": year, "value": value,
                            "flag": FLAG_AGGREGATE_UNLABELLED if aggregate else flag, "raw": raw,
                            "source_file": file, "source_sheet": sheet, "source_row": i + 1,
                            "source_col": _col_letter(j)})
    df = _frame(records)
    df.attrs["meta"] = {"file": file, "sheet": sheet, "header_row": header + 1,
                        "years": sorted(y for y, _ in years.values()),
                        "aggregate_unlabelled_rows": unlabelled, "skipped": skipped}
    return df


# --------------------------------------------------------------------------- EMISS CSV exports

def _depth(text: str) -> int:
    """Indentation depth: leading spaces // 4 (EMISS codes the hierarchy by indentation)."""
    return (len(text) - len(text.lstrip(" "))) // 4


def read_emiss_csv(path: str | Path, *, lines: list[tuple[int, list[str]]] | None = None
                   ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read an EMISS (fedstat) CSV export with label columns followed by one column per year.

    Two layouts are recognised by their year header row:

    * the org-count export (``rosstat-org-stats.csv``): title line, blank line, a row of years
      after three empty cells, a ``на 1 октября`` line, then rows ``<ownership>, <region>,
      <activity>, <values>``;
    * the shipments export (``regional_production_2017_2020.csv``): header
      ``region,production_field,2017,...``.

    In both, the last two label columns are region and activity; label columns before them are
    returned in ``breakdown_label`` (e.g. ``ВСЕГО (по всем формам собственности)``).

    Parameters
    ----------
    path : str or Path
        A UTF-8 CSV file.
    lines : list of (line number, fields), optional
        The file already decoded and split (by :mod:`mapping.formats`, which detects the encoding
        and the delimiter); ``path`` then only names the file.

    Returns
    -------
    frame : DataFrame
        :data:`RAW_COLUMNS` plus ``region_depth``, ``activity_depth`` (leading spaces // 4; the
        labels themselves are returned without the leading spaces) and ``breakdown_label``.
        ``source_col`` is the 1-based column index as text.
    meta : dict
        ``title``, ``unit`` (text in brackets in the title, "" if none), ``header_row``,
        ``years``, ``period_note`` (e.g. "на 1 октября"), ``breakdowns``, ``skipped``, ``file``.

    Raises
    ------
    MappingError
        Missing file, not UTF-8, no year header, fewer than two label columns, or values in a row
        without labels.
    """
    path = Path(path)
    file = path.name
    if lines is None:
        if not path.is_file():
            raise MappingError(f"{path}: file not found")
        try:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                reader = csv.reader(fh)
                lines = []
                for rec in reader:
                    lines.append((reader.line_num, rec))
        except UnicodeDecodeError as exc:
            raise MappingError(f"{file}: not UTF-8 text (byte {exc.start}); save the export as UTF-8 CSV") from None
    header = None
    for k, (_, rec) in enumerate(lines[:HEADER_SCAN_ROWS]):
        first_year = next((j for j, v in enumerate(rec) if _parse_year(v) is not None), None)
        if first_year is None:
            continue
        rest = [v for v in rec[first_year:] if v.strip()]
        if all(_parse_year(v) is not None for v in rest):
            header = k
            break
    if header is None:
        raise MappingError(f"{file}: no year header found in lines 1-{HEADER_SCAN_ROWS} (expected label columns "
                           f"followed by years such as 2021)")
    line_no, hrec = lines[header]
    year_cols = {j: _parse_year(v)[0]  # type: ignore[index]
                 for j, v in enumerate(hrec) if j >= first_year and v.strip()}
    if first_year < 2:
        raise MappingError(f"{file}, line {line_no}: the years start in column {first_year + 1}; expected at least "
                           f"two label columns (region, activity) before them")
    region_j, activity_j = first_year - 2, first_year - 1
    title = next((" ".join(v.split()) for _, rec in lines[:header] for v in rec if v.strip()), "")
    unit_m = re.search(r"\(([^()]*)\)\s*$", title)
    skipped: dict[str, int] = {}
    for _, rec in lines[:header + 1]:
        _bump(skipped, "blank" if _blank(rec) else "title/header")
    period_note = ""
    records: list[dict] = []
    breakdowns: set[str] = set()
    for line, rec in lines[header + 1:]:
        if _blank(rec):
            _bump(skipped, "blank")
            continue
        if len(rec) > len(hrec) and not _blank(rec[len(hrec):]):
            raise MappingError(f"{file}, line {line}: {len(rec)} fields, more than the {len(hrec)} of the year header "
                               f"(line {line_no}); value {next(v for v in rec[len(hrec):] if v.strip())!r} has no year")
        rec = list(rec) + [""] * (len(hrec) - len(rec))  # short rows: missing cells are empty
        labels = rec[:first_year]
        if _blank(labels):
            if not any(parse_cell(rec[j])[1] in (FLAG_NORMAL, FLAG_ABSENT) for j in year_cols if j < len(rec)):
                period_note = period_note or next(v.strip() for v in rec if v.strip())  # "на 1 октября"
                _bump(skipped, "title/header")
                continue
            first = next(j for j, v in enumerate(rec) if v.strip())
            raise MappingError(f"{file}, line {line}, column {first + 1}: value {rec[first]!r} in a row without "
                               f"region or activity labels")
        region, activity = labels[region_j], labels[activity_j]
        breakdown = "; ".join(v.strip() for v in labels[:region_j] if v.strip())
        breakdowns.add(breakdown)
        for j, year in year_cols.items():
            value, flag, raw = parse_cell(rec[j] if j < len(rec) else None)
            records.append({"region_label": region.lstrip(" "), "activity_label": activity.lstrip(" "),
                            "year": year, "value": value, "flag": flag, "raw": raw, "source_file": file,
                            "source_sheet": "", "source_row": line, "source_col": str(j + 1),
                            "region_depth": _depth(region), "activity_depth": _depth(activity),
                            "breakdown_label": breakdown})
    df = _frame(records, extra=("region_depth", "activity_depth", "breakdown_label"))
    df["region_depth"] = df["region_depth"].astype("int64")
    df["activity_depth"] = df["activity_depth"].astype("int64")
    meta = {"file": file, "title": title, "unit": unit_m.group(1).strip() if unit_m else "",
            "header_row": line_no, "years": sorted(year_cols.values()), "period_note": period_note,
            "breakdowns": sorted(breakdowns), "skipped": skipped}
    return df, meta
