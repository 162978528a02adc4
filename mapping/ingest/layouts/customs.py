"""Customs statistics: exports by HS / TN VED code, converted to OKVED2 through a concordance
(``config/hs_okved2.csv``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mapping.config import InputFile
from mapping.errors import MappingError, format_items
from mapping.locations import bundled_path
from mapping.ingest.layouts.common import _Cells, _Registries
from mapping.ingest.layouts.text import _csv_note, _text_rows
from mapping.ingest.values import (
    parse_value,
)

DEFAULT_CONCORDANCE = bundled_path("config", "hs_okved2.csv")
_HS_ROMAN = re.compile(r"^(?:раздел|section)?\s*([IVXLCivxlc]{1,5})$")


# --------------------------------------------------------------------------- customs (HS / TN VED)

def load_concordance(path: Path, activities: pd.DataFrame) -> pd.DataFrame:
    """Load the HS -> OKVED2 concordance (``hs_code, okved2, share, note``) and check it.

    HS codes are sections (Roman numerals ``I`` ... ``XXI``), chapters (2 digits) or headings (4 digits);
    one code may be split over several activities with ``share`` summing to 1.
    """
    if not path.is_file():
        raise MappingError(f"{path}: concordance file not found")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#")
    need = ["hs_code", "okved2", "share"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise MappingError(f"{path}: missing column(s) {missing} (found {list(df.columns)})")
    df["hs_code"] = df["hs_code"].str.strip().map(_hs_key)
    df["okved2"] = df["okved2"].str.strip()
    bad = df["hs_code"].eq("")
    if bad.any():
        raise MappingError(f"{path}: hs_code not a section, chapter or heading in row(s) "
                           + format_items(i + 2 for i in df.index[bad]))
    try:
        df["share"] = df["share"].replace("", "1").astype(float)
    except ValueError:
        raise MappingError(f"{path}: share must be a number") from None
    known = set(activities.loc[activities["classification"] == "OKVED2", "code"])
    unknown = df.loc[~df["okved2"].isin(known)]
    if not unknown.empty:
        raise MappingError(f"{path}: OKVED2 code(s) not in the activity registry: "
                           + format_items(f"row {i + 2}: {c!r}" for i, c in zip(unknown.index, unknown["okved2"])))
    sums = df.groupby("hs_code")["share"].sum()
    off = sums[(sums - 1).abs() > 1e-6]
    if not off.empty:
        raise MappingError(f"{path}: the shares of an HS code must sum to 1: "
                           + format_items(f"{k}: {v:g}" for k, v in off.items()))
    return df


def _hs_key(code: str) -> str:
    """Normalise an HS / TN VED code: digits without dots or spaces, or a Roman section numeral."""
    c = str(code).strip()
    m = _HS_ROMAN.match(c)
    if m:
        return m.group(1).upper()
    digits = re.sub(r"[\s.]", "", c)
    if re.fullmatch(r"\d{1,10}", digits):
        return digits.zfill(2) if len(digits) < 2 else digits
    return ""


def _read_customs(path: Path, inp: InputFile, regs: _Registries) -> _Cells:
    rows, meta = _text_rows(path, inp)
    header = [c.strip().lstrip("\ufeff") for c in rows[0][1]]
    lower = [h.casefold() for h in header]

    def col(role: str, patterns: tuple[str, ...]) -> int:
        if role in inp.columns:
            if inp.columns[role] not in header:
                raise MappingError(f"{path}: missing column {inp.columns[role]!r} (columns.{role}); found {header}")
            return header.index(inp.columns[role])
        j = next((k for k, h in enumerate(lower) if any(re.search(p, h) for p in patterns)), None)
        if j is None:
            raise MappingError(f"{path}: missing column for {role} (looked for {', '.join(patterns)}); found "
                               f"{header}; name it with columns.{role}")
        return j

    rj = col("region", (r"region", r"регион", r"субъект"))
    hj = col("hs", (r"(^|[^a-z])hs([^a-z]|$)", r"hs_code", r"tn[ _.]?ved", r"тн[ _.]?вэд", r"commodity", r"код"))
    yj = col("year", (r"year", r"год"))
    vj = col("value", (r"value", r"export", r"экспорт", r"стоимость"))
    conc_path = Path(inp.concordance) if inp.concordance else DEFAULT_CONCORDANCE
    conc = load_concordance(conc_path, regs.activities)
    by_code = {k: list(zip(g["okved2"], g["share"])) for k, g in conc.groupby("hs_code")}
    records, unmapped, layout = [], [], {}
    total_value = 0.0
    for line, rec in rows[1:]:
        if not any(c.strip() for c in rec):
            layout["blank"] = layout.get("blank", 0) + 1
            continue
        if len(rec) != len(header):
            raise MappingError(f"{path}, line {line}: {len(rec)} fields, the header has {len(header)}")
        cell = parse_value(rec[vj], decimal=meta["decimal"])
        if cell.flag == "unparsed" or cell.flag == "empty":
            raise MappingError(f"{path}, line {line}, column {header[vj]!r}: not a value: {rec[vj]!r}")
        try:
            year = int(float(rec[yj]))
        except ValueError:
            raise MappingError(f"{path}, line {line}, column {header[yj]!r}: not a year: {rec[yj]!r}") from None
        key = _hs_key(rec[hj])
        if not key:
            raise MappingError(f"{path}, line {line}, column {header[hj]!r}: not an HS/TN VED code: {rec[hj]!r}")
        target = None
        for k in ([key] if not key.isdigit() else [key[:4], key[:2]] if len(key) >= 4 else [key[:2]]):
            if k in by_code:
                target = by_code[k]
                break
        v = 0.0 if math.isnan(cell.value) else cell.value
        total_value += v
        if target is None:
            unmapped.append((rec[rj].strip(), year, key, v, line))
            continue
        for code, share in target:
            records.append({"region_label": rec[rj].strip(), "activity_code": code, "year": year,
                            "value": cell.value * share, "flag": cell.flag, "line": line})
    if not records:
        raise MappingError(f"{path}: no line maps to an activity through {conc_path.name}")
    df = pd.DataFrame(records)
    level = inp.level or "division"
    okved_level = dict(zip(regs.activities.loc[regs.activities["classification"] == "OKVED2", "code"],
                           regs.activities.loc[regs.activities["classification"] == "OKVED2", "level"]))
    sections = df.loc[df["activity_code"].map(okved_level).eq("section")]
    if level == "division" and not sections.empty:
        raise MappingError(f"{path}, line {sections['line'].iloc[0]}: an HS section maps to OKVED2 section "
                           f"{sections['activity_code'].iloc[0]!r}, not to a division; set level = 'section'")
    if level == "section":
        parent = dict(zip(regs.activities.loc[regs.activities["classification"] == "OKVED2", "code"],
                          regs.activities.loc[regs.activities["classification"] == "OKVED2", "parent_code"]))
        df["activity_code"] = df["activity_code"].map(lambda c: parent.get(c) or c)
    g = df.groupby(["region_label", "activity_code", "year"], sort=True)
    agg = g.agg(value=("value", lambda s: s.sum(min_count=1)), n=("line", "size"), first=("line", "min"),
                suppressed=("flag", lambda s: s.eq("suppressed").any())).reset_index()
    unmapped_value = sum(u[3] for u in unmapped)
    share = unmapped_value / total_value if total_value else 0.0
    notes = [_csv_note(meta), f"customs lines converted through {conc_path.name}: {len(rows) - 1 - layout.get('blank', 0)} "
             f"line(s), {len(unmapped)} with an HS code not in the concordance; unmapped share of export value "
             f"{share:.1%} ({unmapped_value:g} of {total_value:g})"]
    if unmapped:
        codes = pd.Series([u[2] for u in unmapped]).value_counts()
        notes.append("unmapped HS codes: " + format_items(f"{k} ({n} lines)" for k, n in codes.items()))
    frame = pd.DataFrame({
        "region_label": agg["region_label"], "activity_code": agg["activity_code"], "activity_label": "",
        "level": level, "classification": "OKVED2", "year": agg["year"], "value": agg["value"],
        "value_low": math.nan, "value_high": math.nan,
        "flag": np.where(agg["suppressed"], "suppressed", "derived"), "footnote": "", "source_sheet": "",
        "source_row": agg["first"], "source_col": header[vj], "source_file": path.name, "_raw": ""})
    frame.attrs["customs_lines"] = agg["n"].to_numpy()
    drops = {"HS code not in the concordance (counted in the unmapped export share)": len(unmapped)}
    return _Cells(frame, inp.indicator or "exports", inp.unit, "customs", notes, drops, layout,
                  row_unit="aggregated row (region x activity x year)", source_name=path.name)
