"""EMISS (fedstat.ru) CSV exports: indented region labels, one column per year.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pandas as pd

from mapping.config import InputFile
from mapping.errors import MappingError, format_items
from mapping.ingest.layouts.cells import (
    FLAG_ABSENT,
    FLAG_NORMAL,
    HEADER_SCAN_ROWS,
    _blank,
    _bump,
    _frame,
    _parse_year,
    parse_cell,
)
from mapping.ingest.layouts.common import (
    _Cells,
    _from_raw,
    _indicator_from_title,
    _Registries,
    _resolve_activities,
    _resolve_regions,
    _try_activities,
)
from mapping.ingest.layouts.text import _csv_note, _text_rows


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
        The file already decoded and split (by :mod:`mapping.ingest.read`, which detects the encoding
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


def _emiss_header(rows: list[list[str]]) -> int | None:
    """Index of an EMISS-style year header: >= 2 label columns, then only years."""
    from mapping.ingest.layouts.cells import _parse_year

    for k, rec in enumerate(rows[:30]):
        first = next((j for j, v in enumerate(rec) if _parse_year(v) is not None), None)
        if first is None or first < 2:
            continue
        rest = [v for v in rec[first:] if v.strip()]
        if rest and all(_parse_year(v) is not None for v in rest):
            return k
    return None


# --------------------------------------------------------------------------- EMISS CSV export

def _read_emiss(path: Path, inp: InputFile, regs: _Registries) -> _Cells:

    rows, tmeta = _text_rows(path, inp)
    raw, meta = read_emiss_csv(path, lines=rows)
    notes = [_csv_note(tmeta)]
    if meta["title"]:
        notes.append(f"title: {meta['title'][:120]!r}" + (f"; {meta['period_note']}" if meta["period_note"] else ""))
    drops: dict[str, int] = {}
    breakdowns = meta["breakdowns"]
    if len(breakdowns) > 1:
        if not inp.breakdown:
            raise MappingError(f"{path}: the export has {len(breakdowns)} breakdowns ("
                               + format_items(repr(b) for b in breakdowns) + "); set breakdown to one of them")
        if inp.breakdown not in breakdowns:
            raise MappingError(f"{path}: breakdown {inp.breakdown!r} not in the file; it has "
                               + format_items(repr(b) for b in breakdowns))
        other = raw["breakdown_label"].ne(inp.breakdown)
        drops[f"breakdown other than {inp.breakdown!r}"] = int(other.sum())
        raw = raw.loc[~other]
    indicator = inp.indicator or _indicator_from_title(meta["title"])
    if not indicator:
        raise MappingError(f"{path}: the export names no indicator I know ({meta['title'][:80]!r}); set indicator")
    unit_text = meta["unit"].split(",")[0].strip() if meta["unit"] else None
    cls = inp.classification or "OKVED2"
    frame = _from_raw(raw, code="", label="", level="", cls=cls)
    frame["_depth"] = raw["activity_depth"].to_numpy()
    # EMISS codes the hierarchy by indentation: unindented rows are sections, the total or aggregates
    # (B-E); indented rows are divisions or finer. The registry has sections and divisions; finer rows
    # are dropped with a reason, and only the level asked for (default: section) is kept.
    labels = frame["activity_label"]
    act_map: dict[str, tuple[str, str]] = {}
    # Rows of aggregates (country, districts) are checks only: an activity that appears only there and
    # is not in the registry (the national row of the shipments export lists OKVED2 groups, some of
    # them unindented) is dropped with a reason instead of stopping the run.
    rcodes = _resolve_regions(frame["region_label"], frame["source_row"], path, regs)
    rkind = frame["region_label"].map(rcodes).map(regs.regions.set_index("region_code")["kind"])
    in_units = set(labels[rkind.isin(["subject", "remainder"])])
    top = sorted(set(labels[frame["_depth"].eq(0)]))
    level_of = dict(zip(regs.activities.loc[regs.activities["classification"] == cls, "code"],
                        regs.activities.loc[regs.activities["classification"] == cls, "level"]))
    resolvable = _try_activities(top, cls, None, regs)
    unknown_in_units = [l for l in top if l not in resolvable and l in in_units]
    if unknown_in_units:
        _resolve_activities(unknown_in_units, cls, None, frame, path, regs)  # raises with the closest names
    for lab in top:
        act_map[lab] = (resolvable[lab], level_of[resolvable[lab]]) if lab in resolvable else ("", "finer")
    divisions = _try_activities(sorted(set(labels[frame["_depth"].gt(0)])), cls, "division", regs)
    for lab in sorted(set(labels[frame["_depth"].gt(0)])):
        act_map[lab] = (divisions[lab], "division") if lab in divisions else ("", "finer")
    frame["activity_code"] = labels.map(lambda l: act_map[l][0])
    frame["level"] = labels.map(lambda l: act_map[l][1])
    finer = frame["level"].eq("finer")
    drops["activity below division level, or only in aggregate rows and not in the activity registry"] = \
        int(finer.sum())
    frame = frame.loc[~finer]
    want = inp.level or "section"
    other = ~frame["level"].isin([want, "total", "aggregate"])
    if other.any():
        lv = sorted(set(frame.loc[other, "level"]))
        drops[f"activity level {', '.join(lv)} not selected (level = {want!r})"] = int(other.sum())
        frame = frame.loc[~other]
    return _Cells(frame.drop(columns="_depth"), indicator, inp.unit if not unit_text else unit_text, "emiss", notes,
                  drops, dict(meta["skipped"]), source_name=path.name, default_classification=cls)
