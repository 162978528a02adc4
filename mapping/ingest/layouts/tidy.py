"""The tidy long layout (CSV or Parquet; columns of :data:`mapping.schema.TIDY_COLUMNS`), read with
labels resolved and values parsed.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from mapping.config import InputFile
from mapping.errors import MappingError, format_items
from mapping.hashing import sha256_path
from mapping.ingest.layouts.common import (
    _OKVED2_FINE,
    InputRead,
    _Registries,
    _resolve_activities,
    _resolve_regions,
)
from mapping.ingest.layouts.finish import _vintage_note
from mapping.ingest.layouts.text import _csv_note, _text_rows
from mapping.ingest.layouts.tidyheader import canonical_header, complete_tidy_columns
from mapping.ingest.tidy import map_distinct, validate_tidy
from mapping.ingest.values import (
    parse_number,
    parse_value,
)
from mapping.ledger import FileLedger
from mapping.schema import TIDY_COLUMNS

# --------------------------------------------------------------------------- tidy long CSV / Parquet

def _read_tidy(path: Path, inp: InputFile, regs: _Registries) -> InputRead:
    notes: list[str] = []
    layout: dict[str, int] = {}
    if path.suffix.lower() == ".parquet":
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise MappingError(f"{path}: not a readable Parquet file: {exc}") from None
        df = _cells_as_read(df)
        df["source_row"] = range(1, len(df) + 1)
        decimal = "."
    else:
        rows, meta = _text_rows(path, inp)
        notes.append(_csv_note(meta))
        decimal = meta["decimal"]
        header = [c.strip().lstrip("\ufeff") for c in rows[0][1]]
        body = []
        for line, rec in rows[1:]:
            if not any(c.strip() for c in rec):
                layout["blank"] = layout.get("blank", 0) + 1
                continue
            if len(rec) != len(header):
                raise MappingError(f"{path}, line {line}: {len(rec)} fields, the header has {len(header)} "
                                   f"(delimiter {meta['delimiter']!r}); check quoting and delimiters")
            body.append([line] + rec)
        df = pd.DataFrame(body, columns=["source_row"] + header)
    header, renamed = canonical_header([str(c) for c in df.columns])  # Russian/English header words
    df.columns = header
    df = complete_tidy_columns(df, path, inp, regs.activities, renamed, notes)  # columns the options supply
    missing = [c for c in TIDY_COLUMNS if c not in df.columns]
    if missing:
        raise MappingError(f"{path}: missing column(s) {missing}; the tidy schema needs {TIDY_COLUMNS} "
                           f"(found {[c for c in df.columns if c != 'source_row']})")
    if df.empty:
        raise MappingError(f"{path}: no data rows (only a header)")
    df = _tidy_values(df, path, decimal, inp)
    df = _resolve_tidy_labels(df, path, regs)
    df = validate_tidy(df, path)
    ledger = FileLedger(file=str(path), sha256=sha256_path(path), rows_read=len(df), format="tidy", row_unit="row",
                        layout_rows=layout, notes=notes)
    ledger.cells_suppressed = int(df["flag"].eq("suppressed").sum())
    _vintage_note(df, regs, ledger)
    return InputRead(df, ledger, pd.DataFrame())


def _cells_as_read(df: pd.DataFrame) -> pd.DataFrame:
    """Parquet columns as the per-cell parsing reads them: a column with a missing cell becomes Python
    objects with None for the missing ones; a complete text or number column keeps its dtype (the same
    values, without millions of per-cell objects)."""
    out = {}
    for c in df.columns:
        s = df[c]
        typed = isinstance(s.dtype, pd.StringDtype) or (pd.api.types.is_numeric_dtype(s)
                                                         and not pd.api.types.is_bool_dtype(s))
        out[c] = s if typed and s.notna().all() else s.astype(object).where(s.notna(), None)
    return pd.DataFrame(out, index=df.index)


def _text_column(s: pd.Series) -> pd.Series:
    """``"" if v is None else str(v).strip()`` for every cell; vectorised when every cell is text or None."""
    present = s.notna()
    # A missing cell of a text dtype is NaN, which the per-cell rule prints as "nan": those keep the map.
    if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty") and (s.dtype == object or present.all()):
        return s.where(present, "").astype("str").str.strip()
    return s.map(lambda v: "" if v is None else str(v).strip())


def _numeric(s: pd.Series) -> np.ndarray | None:
    """The cells as floats (None -> NaN) when every one is an int, a float or None; else None."""
    if pd.api.types.infer_dtype(s, skipna=True) not in ("floating", "integer", "mixed-integer-float", "empty"):
        return None
    return s.to_numpy(dtype=float, na_value=np.nan)


def _tidy_values_fast(df: pd.DataFrame) -> pd.DataFrame | None:
    """:func:`_tidy_values` for the common case of numeric cells (e.g. Parquet), without a loop over rows.

    Returns None when a cell needs the per-cell path: text values (markers, decimal commas), an infinite
    number, an empty value without a flag, bounds or years that are not plain numbers.
    """
    v = _numeric(df["value"])
    if v is None or np.isinf(v).any() or (np.isnan(v) & df["flag"].eq("").to_numpy()).any():
        return None
    bounds = {}
    for col in ("value_low", "value_high"):
        if col in df.columns:
            b = _numeric(df[col])
            if b is None or np.isinf(b).any():
                return None
            bounds[col] = b
    y = _numeric(df["year"])
    if y is None or not np.isfinite(y).all() or (y != np.floor(y)).any():
        return None
    df["value"] = v
    for col, b in bounds.items():
        df[col] = b
    df["year"] = y.astype(np.int64)
    return df


def _tidy_values(df: pd.DataFrame, path: Path, decimal: str, inp: InputFile) -> pd.DataFrame:
    """Parse value (and bounds) cells printed with markers, decimal commas and thousands separators."""
    df = df.copy()
    for col in ("region_code", "activity_code", "classification", "level", "indicator", "unit", "flag", "source"):
        df[col] = _text_column(df[col])
    fast = _tidy_values_fast(df.copy())
    if fast is not None:
        return fast
    values, flags, bad = [], [], []
    for row, raw, flag in zip(df["source_row"], df["value"], df["flag"]):
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            if math.isinf(float(raw)):  # a Parquet inf is no number a statistical office publishes
                bad.append(f"row {row}, column 'value': {raw!r} (not a finite number)")
            values.append(float(raw) if math.isfinite(float(raw)) else None)
            flags.append(flag if values[-1] is not None else (flag or "suppressed"))
            continue
        cell = parse_value(raw, decimal=decimal)
        if cell.flag == "unparsed":
            if inp.unparsed == "suppressed":
                values.append(None)
                flags.append("suppressed")
                continue
            bad.append(f"row {row}, column 'value': {raw!r}")
            values.append(None)
            flags.append(flag)
            continue
        if cell.flag in ("suppressed", "absent") and not flag:
            flag = cell.flag
        if cell.flag == "empty" and not flag:
            bad.append(f"row {row}, column 'value': empty without flag 'suppressed'")
        values.append(None if math.isnan(cell.value) else cell.value)
        flags.append(flag)
    if bad:
        raise MappingError(f"{path}: value(s) that are not numbers or known markers (… - x н/д): "
                           + format_items(bad))
    df["value"] = values
    df["flag"] = flags
    for col in ("value_low", "value_high"):
        if col in df.columns:
            out = []
            for row, raw in zip(df["source_row"], df[col]):
                if raw is None or (isinstance(raw, str) and not raw.strip()):
                    out.append(None)
                    continue
                if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                    if not math.isfinite(float(raw)):
                        raise MappingError(f"{path}: row {row}, column {col!r}: not a finite number: {raw!r}")
                    out.append(float(raw))
                    continue
                v = parse_number(str(raw), decimal)
                if v is None:
                    raise MappingError(f"{path}: row {row}, column {col!r}: not a number: {raw!r}")
                out.append(v)
            df[col] = out
    years = []
    for row, y in zip(df["source_row"], df["year"]):
        try:
            yf = float(str(y).strip())
            if not yf.is_integer():
                raise ValueError
            years.append(int(yf))
        except (TypeError, ValueError):
            raise MappingError(f"{path}: row {row}, column 'year': not a year: {y!r}") from None
    df["year"] = years
    return df


def _resolve_tidy_labels(df: pd.DataFrame, path: Path, regs: _Registries) -> pd.DataFrame:
    """Region codes or labels -> registry codes; activity names -> codes where the classification is known."""
    blank = df["region_code"].eq("")
    if blank.any():
        raise MappingError(f"{path}: empty region_code in row(s) " + format_items(df.loc[blank, "source_row"]))
    codes = _resolve_regions(df["region_code"], df["source_row"], path, regs)
    df["region_code"] = map_distinct(df["region_code"], codes)
    known = set(regs.activities["classification"])
    # Only the columns the label resolution reads (a row filter of every column of millions of rows is slow).
    cols = [c for c in ("classification", "level", "activity_code", "activity_label", "source_row") if c in df.columns]
    for (cls, lvl), g in df.loc[df["classification"].isin(known), cols].groupby(["classification", "level"]):
        labels = [a for a in g["activity_code"].unique() if a]
        if cls == "OKVED2" and lvl in ("group", "class", "subclass") and all(_OKVED2_FINE.match(a) for a in labels):
            continue  # hierarchical codes finer than the registry: checked against their division later
        mapping = _resolve_activities(labels, cls, lvl, g, path, regs)
        if all(mapping.get(a, a) == a for a in labels):
            continue  # every label is already its code: nothing to rewrite
        df.loc[g.index, "activity_code"] = g["activity_code"].map(mapping).fillna(g["activity_code"])
    blank = df["level"].eq("")
    if blank.any():  # a table without a level column named the activity: its level is the registry's
        level_of = dict(zip(zip(regs.activities["classification"], regs.activities["code"]), regs.activities["level"]))
        df.loc[blank, "level"] = [level_of.get((c, a), "") for c, a in zip(df.loc[blank, "classification"],
                                                                           df.loc[blank, "activity_code"])]
    return df
