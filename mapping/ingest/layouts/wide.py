"""The wide layout: regions in rows, activities (or years) in columns, one indicator per file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mapping.config import InputFile
from mapping.errors import MappingError, format_items
from mapping.ingest.layouts.common import (
    _CELL_COLUMNS,
    _cell_record,
    _Cells,
    _Registries,
)
from mapping.ingest.layouts.text import _csv_note, _text_rows

# --------------------------------------------------------------------------- wide CSV (regions x activities)

def _read_wide(path: Path, inp: InputFile, regs: _Registries) -> _Cells:
    rows, meta = _text_rows(path, inp)
    layout: dict[str, int] = {}
    start = 0
    while start < len(rows) and not any(c.strip() for c in rows[start][1]):
        start += 1
        layout["blank"] = layout.get("blank", 0) + 1
    line0, header = rows[start]
    header = [c.strip().lstrip("\ufeff") for c in header]
    layout["header"] = 1
    region_col = inp.columns.get("region")
    rj = header.index(region_col) if region_col in header else 0
    if region_col and region_col not in header:
        raise MappingError(f"{path}, line {line0}: missing column {region_col!r} (columns.region); found {header}")
    if len(inp.years) != 1 or not inp.indicator:
        raise MappingError(f"{path}: a wide table (regions x activities) states neither its year nor its indicator; "
                           f"set years = [YYYY] and indicator (and unit) for this input")
    act_cols = {j: h for j, h in enumerate(header) if j != rj and h}
    empty_cols = [j + 1 for j, h in enumerate(header) if j != rj and not h]
    if empty_cols:
        raise MappingError(f"{path}, line {line0}: header cell(s) without an activity name in column(s) "
                           + format_items(empty_cols))
    if not act_cols:
        raise MappingError(f"{path}, line {line0}: no activity columns after the region column")
    records = []
    for line, rec in rows[start + 1:]:
        if not any(c.strip() for c in rec):
            layout["blank"] = layout.get("blank", 0) + 1
            continue
        if len(rec) != len(header):
            raise MappingError(f"{path}, line {line}: {len(rec)} fields, the header has {len(header)}")
        label = rec[rj].strip()
        if not label:
            raise MappingError(f"{path}, line {line}, column {rj + 1}: values in a row without a region label")
        for j, act in act_cols.items():
            records.append(_cell_record(label, "", act, "", inp.classification or "OKVED2", inp.years[0], rec[j],
                                        meta["decimal"], "", line, str(j + 1), path.name))
    frame = pd.DataFrame.from_records(records, columns=_CELL_COLUMNS + ["_raw"])
    return _Cells(frame, inp.indicator, None, "wide", [_csv_note(meta)], {}, layout, "cell",
                  source_name=path.name)
