"""Rosstat «Регионы России» annex sheets: one table per sheet, regions x years, one activity.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from mapping.config import InputFile
from mapping.errors import MappingError, format_items
from mapping.ingest.layouts.cells import (
    _FOOTNOTE_LINE_RE,
    _FOOTNOTE_TEXT_RE,
    _IN_WORDS_RE,
    _TABLE_NO_RE,
    _TITLE_MARKER_RE,
    _UNIT_ROW_RE,
    _UNIT_WORD_RE,
    _blank,
    _bump,
    _col_letter,
    _find_year_header,
    _frame,
    _norm,
    _open_sheet_rows,
    parse_cell,
)
from mapping.ingest.layouts.common import (
    _Cells,
    _classification_from_title,
    _from_raw,
    _indicator_from_title,
    _need_sheet,
    _Registries,
    _sheetnames,
)


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


def _read_annex(path: Path, inp: InputFile, regs: _Registries) -> _Cells:
    """One annex sheet (``sheet``), or every table sheet when the workbook holds one activity per sheet
    of the same indicator (``sheet`` not given or ``"all"``)."""
    sheets = _sheetnames(path)
    if not inp.sheet or inp.sheet.strip().lower() == "all":
        tables = [s for s in sheets if re.fullmatch(r"\s*\d+(\.\d+)+\.?\s*", s)]
        parts = _activity_sheets(path, tables, inp) if len(tables) > 1 else None
        if parts is None:
            raise _need_sheet(path, sheets, "an annex workbook holds one table per sheet and no sheet was named")
        frames = [p[0] for p in parts]
        indicator, unit, cls = parts[0][1], parts[0][2], parts[0][3]
        units = {p[2] for p in parts}
        if len(units) > 1:
            raise MappingError(f"{path}: the activity sheets print different units ({format_items(sorted(units))}); "
                               "name one sheet, or give the sheets as separate inputs")
        notes = [f"one activity per sheet ({len(parts)} sheets: {format_items(tables, limit=8)}), indicator "
                 f"'{indicator}'"] + [n for p in parts for n in p[4][:1]]
        skipped: dict[str, int] = {}
        for p in parts:
            for k, v in p[5].items():
                skipped[k] = skipped.get(k, 0) + v
        return _Cells(pd.concat(frames, ignore_index=True), indicator, unit or None, "annex", notes, {}, skipped,
                      source_name=path.name, default_classification=cls)
    if inp.sheet not in sheets:
        close = [s for s in sheets if s.strip(". ") == inp.sheet.strip(". ")]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise _need_sheet(path, sheets, f"wrong sheet {inp.sheet!r}: not in the workbook{hint}")
    frame, indicator, unit, cls, notes, skipped = _annex_sheet(path, inp.sheet, inp)
    return _Cells(frame, indicator, unit or None, "annex", notes, {}, skipped,
                  source_name=path.name, default_classification=cls)


def _activity_sheets(path: Path, tables: list[str], inp: InputFile) -> list[tuple] | None:
    """Every table sheet read, when each names one activity («...») of one common indicator; else None."""
    parts = []
    for sheet in tables:
        try:
            part = _annex_sheet(path, sheet, inp)
        except MappingError:
            return None
        if not part[0]["activity_label"].astype(str).ne("").all():
            return None  # a sheet without an activity in its title: not this shape
        parts.append(part)
    return parts if len({p[1] for p in parts}) == 1 else None


def _annex_sheet(path: Path, sheet: str, inp: InputFile) -> tuple:
    """``(cells, indicator, unit as printed, classification, notes, skipped rows)`` of one annex sheet."""
    raw, meta = read_rosstat_annex(path, sheet)
    title = meta["title"]
    # The indicator is often named in the section heading above the table title
    # ("12.2. ОБЪЕМ ОТГРУЖЕННЫХ ТОВАРОВ ..." above "12.2.4. «Обрабатывающие производства»").
    indicator = inp.indicator or _indicator_from_title(title) or _indicator_from_title(
        " ".join(t for t in meta.get("title_rows", []) if re.match(r"\s*\d+(\.\d+)+", t)))
    if not indicator:
        raise MappingError(f"{path}, sheet {sheet!r}: cannot tell the indicator from the title {title[:80]!r}; "
                           "pass it for this input, e.g. --option indicator=employment")
    cls = inp.classification or _classification_from_title(title) or "OKVED2"
    code, label = inp.activity or "", ""
    if not code:
        m = re.search(r"«([^»]+)»", title)
        if m and _classification_from_title(title):
            label = m.group(1)
        else:
            code = "TOTAL"
    notes = [f"annex table {meta['table']} «{title[:90]}», unit as printed: {meta['unit']!r}"]
    if meta.get("year_markers"):
        notes.append("footnote markers stripped from the year header: "
                     + ", ".join(f"{y}{m}" for y, m in sorted(meta["year_markers"].items())))
    if meta.get("title_markers"):
        notes.append(f"footnote marker(s) {meta['title_markers']} stripped from the title")
    if meta.get("footnotes"):
        notes.append("footnotes: " + " | ".join(" ".join(f.split())[:160] for f in meta["footnotes"][:4]))
    frame = _from_raw(raw, code=code, label=label, level="", cls=cls)
    return frame, indicator, meta["unit"], cls, notes, dict(meta["skipped"])
