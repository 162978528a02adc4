"""Rosstat GVA-structure workbooks (one sheet per year, regions x OKVED2 sections, % of GVA) and the
GRP workbook ``VRP.xlsx`` that turns those shares into money.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mapping.config import InputFile
from mapping.errors import MappingError, format_items
from mapping.ingest.layouts.cells import (
    _FOOTNOTE_LINE_RE,
    _FOOTNOTE_TEXT_RE,
    _TITLE_YEAR_RE,
    FLAG_AGGREGATE_UNLABELLED,
    GVA_OKVED2_FROM,
    HEADER_SCAN_ROWS,
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
    _from_raw,
    _guard,
    _need_sheet,
    _Registries,
    _resolve_regions,
    _sheetnames,
    input_files,
)


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


def _read_gva(path: Path, inp: InputFile, regs: _Registries) -> _Cells:

    sheets = _sheetnames(path)
    year_sheets = sorted(int(s) for s in sheets if re.fullmatch(r"(19|20)\d\d", s.strip()))
    notes: list[str] = []
    drops: dict[str, int] = {}
    layout: dict[str, int] = {}
    explicit = bool(inp.years)
    if explicit:
        missing = [y for y in inp.years if y not in year_sheets]
        if missing:
            raise MappingError(f"{path}: wrong sheet: no sheet for year(s) {missing}; the year sheets are "
                               f"{year_sheets[0]}-{year_sheets[-1]}" if year_sheets else f"{path}: no year sheets")
        wanted = list(inp.years)
    else:
        wanted = [y for y in year_sheets if y >= 2016] or year_sheets
        if wanted != year_sheets:
            old = [y for y in year_sheets if y not in wanted]
            notes.append(f"sheet(s) {format_items(old, 3)} (OKVED 2007) not read: the newest classification is read by "
                         f"default; set years to read them (not together with OKVED2)")
    frames, previous = [], None
    for year in wanted:
        try:
            raw, meta = read_gva_structure(path, year)
        except MappingError as exc:
            if explicit or "the title says" not in str(exc):
                raise
            notes.append(f"sheet {year} refused (not read as {year} data): {exc}")
            continue
        vec = raw.sort_values(["source_row", "source_col"])["value"].to_numpy()
        if previous is not None and len(vec) == len(previous[1]) and np.array_equal(vec, previous[1], equal_nan=True):
            msg = (f"{path}, sheet {str(year)!r}: every value equals sheet {str(previous[0])!r}: a duplicated "
                   f"sheet, not {year} data")
            if explicit:
                raise MappingError(msg)
            notes.append(msg + "; refused")
            continue
        previous = (year, vec)
        for k, v in meta["skipped"].items():
            layout[k] = layout.get(k, 0) + v
        frames.append(_from_raw(raw, code="", label="", level="", cls=meta["classification"]))
        notes.append(f"sheet {year}: {meta['classification']}, unit as printed {meta['unit']!r}")
    if not frames:
        raise MappingError(f"{path}: no usable year sheet (all refused)")
    cells = pd.concat(frames, ignore_index=True)
    files = input_files(inp)
    grp_path = files[1] if len(files) > 1 else None
    if grp_path is None:
        notes.append("no GRP workbook (grp): values are percent of the region's GVA; LQs on shares weight "
                     "every region equally, so give grp = 'VRP.xlsx' for levels")
        return _Cells(cells, inp.indicator or "gva_share", "percent", "gva_structure", notes, drops, layout,
                      source_name=path.name)
    _guard(Path(grp_path), inp.max_bytes)
    grp = read_vrp_total(grp_path, "Total")
    unl = grp["flag"].eq("aggregate_unlabelled")
    grp = grp.loc[~unl]
    codes = _resolve_regions(grp["region_label"], grp["source_row"], Path(grp_path), regs)
    grp = grp.assign(region_code=grp["region_label"].map(codes))
    grp = grp.loc[grp["year"].isin(set(cells["year"]))]
    dup = grp.duplicated(["region_code", "year"], keep=False)
    if dup.any():
        raise MappingError(f"{grp_path}: several rows resolve to the same region: "
                           + format_items(sorted(set(grp.loc[dup, "region_code"]))))
    g = grp.set_index(["region_code", "year"])
    rcodes = _resolve_regions(cells["region_label"], cells["source_row"], path, regs)
    key = list(zip(cells["region_label"].map(rcodes), cells["year"]))
    gv = np.array([g["value"].get(k, np.nan) for k in key])
    gflag = [g["flag"].get(k, "empty") for k in key]
    # The GRP cell is named like the share file: beside it in the same folder of ``source`` when one is given.
    src_dir = Path(inp.source).parent if inp.source else Path(".")
    grp_name = str(src_dir / Path(grp_path).name) if str(src_dir) != "." else Path(grp_path).name
    gref = [f"{grp_name}!Total!{g['source_col'].get(k, '?')}{g['source_row'].get(k, '?')}" for k in key]
    rkind = cells["region_label"].map(rcodes).map(regs.regions.set_index("region_code")["kind"])
    no_grp = rkind.isin(["country", "federal_district"]).to_numpy() & np.isnan(gv)
    if no_grp.any():
        drops["aggregate row (country or district) with no GRP in the GRP workbook: shares cannot become "
              "levels"] = int(no_grp.sum())
        cells, gv = cells.loc[~no_grp].reset_index(drop=True), gv[~no_grp]
        gflag = [f for f, keep in zip(gflag, ~no_grp) if keep]
        gref = [f for f, keep in zip(gref, ~no_grp) if keep]
    cells["value"] = cells["value"] * gv / 100.0
    cells["flag"] = [f if f not in ("", "absent") else ("suppressed" if gf not in ("", "absent") or math.isnan(v)
                                                        else "derived")
                     for f, gf, v in zip(cells["flag"], gflag, gv)]
    cells["_grp_source"] = gref
    notes.append(f"GVA by section = share (%) x GRP ({Path(grp_path).name}, sheet Total, million rubles) / 100; "
                 "the shares are rounded to 0.1 percentage point")
    return _Cells(cells, inp.indicator or "gva", "million RUB", "gva_structure", notes, drops, layout,
                  source_name=path.name)


# --------------------------------------------------------------------------- GRP workbook

def _read_grp(path: Path, inp: InputFile, regs: _Registries) -> _Cells:

    sheets = _sheetnames(path)
    sheet = inp.sheet or "Total"
    if sheet not in sheets:
        raise _need_sheet(path, sheets, f"wrong sheet {sheet!r}: not in the workbook")
    raw = read_vrp_total(path, sheet)
    meta = raw.attrs["meta"]
    unl = raw["flag"].eq("aggregate_unlabelled")
    drops = {"federal-district row labelled #N/A (no name to check it against)": int(unl.sum())}
    raw = raw.loc[~unl]
    unit = {"Total": "million RUB", "Per Capita": "RUB"}.get(sheet, inp.unit)
    frame = _from_raw(raw, code=inp.activity or "TOTAL", label="", level="", cls=inp.classification or "OKVED2")
    notes = [f"GRP workbook, sheet {sheet!r} ({unit}, current prices; the unit is documented in "
             "PROVENANCE.md, the sheet does not print it)"]
    return _Cells(frame, inp.indicator or ("gva" if sheet == "Total" else "grp_per_capita"), unit, "grp", notes,
                  drops, dict(meta["skipped"]), source_name=path.name)
