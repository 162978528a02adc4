"""What every layout reader shares: the result types, the registries labels resolve against,
the guard that refuses a file before it is loaded, and label resolution.

A layout reader returns :class:`_Cells` (region and activity *labels*, raw values, flags and
where each came from); :func:`mapping.ingest.layouts.finish._finish` turns them into tidy rows.
"""

from __future__ import annotations

import math
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from mapping.config import GeodataSection, InputFile
from mapping.errors import MappingError, format_items
from mapping.ingest import registry as reg
from mapping.ingest.limits import check_text_memory, check_workbook_package
from mapping.ingest.values import (
    parse_value,
)
from mapping.ledger import FileLedger

#: Newest first: with no ``years`` given, a file's years of the newest classification are read.
CLASSIFICATION_ORDER = ("OKVED2", "OKVED2007", "NAICS2007", "NAICS2002", "NAICS1997")
_XLSX = (".xlsx", ".xlsm")
_TEXT = (".csv", ".txt", ".tsv")
#: Title fragments (lower case) -> indicator, for annex sheets and EMISS exports that name no indicator.
TITLE_INDICATORS = (("среднегодовая численность занятых", "employment"), ("оборот организаций", "revenue"),
                    ("отгруженных товаров", "shipments"), ("экспорт", "exports"),
                    ("затраты на научные исследования", "rd_expenditure"),
                    ("валовой региональный продукт", "gva"), ("количество организаций", "establishments"),
                    ("число предприятий и организаций", "establishments"))
_NOT_LEVELS = ("на душу", "индекс", "в процентах", "удельный вес", "уровень")


@dataclass
class InputRead:
    """The tidy rows of one input, its ledger and the aggregate checks."""

    tidy: pd.DataFrame
    ledger: FileLedger
    checks: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class _Cells:
    """What a layout reader hands to the common finishing step."""

    frame: pd.DataFrame
    indicator: str
    unit_text: str | None
    fmt: str
    notes: list[str] = field(default_factory=list)
    drops: dict[str, int] = field(default_factory=dict)
    layout: dict[str, int] = field(default_factory=dict)
    row_unit: str = "cell"
    source_name: str = ""
    default_classification: str = "OKVED2"


_CELL_COLUMNS = ["region_label", "activity_code", "activity_label", "level", "classification", "year", "value",
                 "value_low", "value_high", "flag", "footnote", "source_sheet", "source_row", "source_col",
                 "source_file"]


# --------------------------------------------------------------------------- registries

@dataclass(frozen=True)
class _Registries:
    regions: pd.DataFrame
    labels: pd.DataFrame
    activities: pd.DataFrame
    activity_labels: pd.DataFrame


@lru_cache(maxsize=8)
def _load_registries(regions: str, labels: str, activities: str, stamp: tuple) -> _Registries:
    return _Registries(reg.load_region_registry(Path(regions)), reg.load_region_labels(Path(labels)),
                       reg.load_activity_registry(Path(activities)), reg.load_activity_labels())


def _registries(geodata: GeodataSection) -> _Registries:
    paths = (str(geodata.regions), str(geodata.region_labels), str(geodata.activities))
    stamp = tuple(Path(p).stat().st_mtime_ns if Path(p).exists() else 0 for p in paths)
    return _load_registries(*paths, stamp)


# --------------------------------------------------------------------------- guards and detection

def _guard(path: Path, max_bytes: int, *, allow_dir: bool = False) -> None:
    """Refuse a missing, empty, oversized, HTML-instead-of-workbook or damaged file before loading it."""
    if path.is_dir():
        if not allow_dir:
            raise MappingError(f"{path}: is a folder; only a County Business Patterns folder (format cbp) can be "
                               "given as an input folder")
        total = sum(f.stat().st_size for f in path.glob("*.csv"))
        if total > max_bytes:
            raise MappingError(f"{path}: the folder's CSV files hold {total} bytes, over the configured limit of "
                               f"{max_bytes} bytes (max_bytes); refused before loading")
        return
    if not path.is_file():
        raise MappingError(f"{path}: input file not found")
    size = path.stat().st_size
    if size > max_bytes:
        raise MappingError(f"{path}: {size} bytes is over the configured limit of {max_bytes} bytes (max_bytes); "
                           "refused before loading: aggregate it first or raise the limit")
    if size == 0:
        raise MappingError(f"{path}: the file is empty (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(512)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    suffix = path.suffix.lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<table")) and suffix in _XLSX + (".xls",):
        raise MappingError(f"{path}: this is an HTML/XML page saved with a {suffix} name, not an Excel workbook "
                           f"(it starts with {head[:40]!r}); download the original workbook again")
    if suffix == ".xls":
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise MappingError(f"{path}: an old binary Excel 97-2003 workbook (.xls); open it and save it as .xlsx")
        raise MappingError(f"{path}: not an Excel workbook (first bytes {head[:16]!r})")
    if suffix in _XLSX:
        if not head.startswith(b"PK"):
            raise MappingError(f"{path}: not an .xlsx workbook (an .xlsx file is a ZIP package starting with 'PK'; "
                               f"this one starts with {head[:16]!r})")
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
                check_workbook_package(path, zf, max_bytes)  # before any member is decompressed
                bad = zf.testzip() if size < 64 * 1024**2 else None
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            raise MappingError(f"{path}: the workbook is truncated or damaged ({exc}); download it again") from None
        if bad is not None:
            raise MappingError(f"{path}: the workbook is damaged (member {bad!r} fails its CRC check); download it again")
        if "xl/workbook.xml" not in names:
            raise MappingError(f"{path}: a ZIP file but not an Excel workbook (no xl/workbook.xml)")
    elif suffix in _TEXT or suffix == "":
        check_text_memory(path, size)


def _sheetnames(path: Path) -> list[str]:
    """Sheet names from ``xl/workbook.xml`` (no need to load the workbook; ``_guard`` checked the package)."""
    import html

    try:
        with zipfile.ZipFile(path) as zf:
            xml = zf.read("xl/workbook.xml").decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise MappingError(f"{path}: not a readable .xlsx workbook: {exc}") from None
    return [html.unescape(m) for m in re.findall(r"<(?:\w+:)?sheet\b[^>]*?\bname=\"([^\"]*)\"", xml)]


_OKVED2_FINE = re.compile(r"^\d{2}\.\d{1,2}(\.\d{1,2})?$")


def _resolve_regions(labels: pd.Series, rows: pd.Series, path: Path, regs: _Registries,
                     where: str = "") -> dict[str, str]:
    try:
        return reg.resolve_region_labels(labels.unique(), registry=regs.regions, labels_table=regs.labels,
                                         source=f"{path}{where}")
    except MappingError as exc:
        # Say where the first unknown label is; the registry's message lists the closest names.
        known = {}
        for lab in labels.unique():
            try:
                reg.resolve_region_labels([lab], registry=regs.regions, labels_table=regs.labels)
            except MappingError:
                known[lab] = rows[labels == lab].iloc[0]
                if len(known) >= 5:
                    break
        where_rows = "; ".join(f"{k!r} first in row {v}" for k, v in known.items())
        raise MappingError(f"{exc} [{where_rows}]") from None


def _resolve_activities(labels, cls: str, lvl: str | None, g: pd.DataFrame, path: Path, regs: _Registries,
                        where: str = "") -> dict[str, str]:
    level = lvl if lvl and lvl in set(regs.activities["level"]) else None
    try:
        return reg.resolve_activity_labels(labels, classification=cls, level=level, registry=regs.activities,
                                           labels_table=regs.activity_labels, source=f"{path}{where}")
    except MappingError as exc:
        # Say where each unknown label first is (the registry's message lists the closest codes).
        label_col = "activity_label" if "activity_label" in g.columns and g["activity_label"].isin(labels).any() \
            else "activity_code"
        rows = []
        for lab in labels:
            if repr(lab) in str(exc) and "source_row" in g.columns:
                hit = g.loc[g[label_col] == lab, "source_row"]
                if len(hit):
                    rows.append(f"{lab!r} first in row {hit.iloc[0]}")
            if len(rows) >= 5:
                break
        raise MappingError(f"{exc} [{'; '.join(rows)}]" if rows else str(exc)) from None


def _try_activities(labels, cls: str, level: str | None, regs: _Registries) -> dict[str, str]:
    """Resolve the labels that resolve; the rest are left out (no error, no closest-name search)."""
    a = regs.activities.loc[regs.activities["classification"] == cls]
    level_of = dict(zip(a["code"], a["level"]))
    codes = set(a["code"] if level is None else a.loc[a["level"] == level, "code"])
    lab = regs.activity_labels.loc[(regs.activity_labels["classification"] == cls)
                                   & regs.activity_labels["code"].isin(codes)]
    names = {reg.normalise_label(n) for n in a.loc[a["code"].isin(codes), "name_ru"]} | \
        {reg.normalise_label(n) for n in lab["label"]}
    likely = [l for l in labels if reg.normalise_label(l) in names
              or reg._activity_code_key(reg.normalise_label(l), level_of) in codes]
    out: dict[str, str] = {}
    try:
        out = reg.resolve_activity_labels(likely, classification=cls, level=level, registry=regs.activities,
                                          labels_table=regs.activity_labels)
    except MappingError:
        for l in likely:
            try:
                out.update(reg.resolve_activity_labels([l], classification=cls, level=level, registry=regs.activities,
                                                       labels_table=regs.activity_labels))
            except MappingError:
                pass
    return out


def _cell_record(region, code, label, level, cls, year, raw, decimal, sheet, row, col, file) -> dict:
    cell = parse_value(raw, decimal=decimal)
    return {"region_label": region, "activity_code": code, "activity_label": label, "level": level,
            "classification": cls, "year": int(year), "value": cell.value, "value_low": math.nan,
            "value_high": math.nan, "flag": cell.flag, "footnote": cell.footnote, "source_sheet": sheet,
            "source_row": row, "source_col": col, "source_file": file, "_raw": cell.raw}


# --------------------------------------------------------------------------- Rosstat annex sheet

def _indicator_from_title(title: str) -> str | None:
    t = title.casefold()
    if any(w in t for w in _NOT_LEVELS):
        return None
    return next((ind for frag, ind in TITLE_INDICATORS if frag in t), None)


def _classification_from_title(title: str) -> str | None:
    if re.search(r"ОКВЭД\s*2", title):
        return "OKVED2"
    if "ОКВЭД" in title:
        return "OKVED2007"
    return None


def _need_sheet(path: Path, sheets: list[str], what: str) -> MappingError:
    return MappingError(f"{path}: {what}; set sheet to one of: " + format_items(repr(s) for s in sheets))


def _from_raw(raw: pd.DataFrame, *, code: str, label: str, level: str, cls: str) -> pd.DataFrame:
    """Raw long cells of :mod:`mapping.ingest.layouts` -> cell frame; text cells re-parsed for known markers."""
    out = pd.DataFrame({
        "region_label": raw["region_label"], "activity_code": code,
        "activity_label": raw["activity_label"] if label == "" and "activity_label" in raw and not code
        else label, "level": level, "classification": cls, "year": raw["year"], "value": raw["value"],
        "value_low": math.nan, "value_high": math.nan, "flag": raw["flag"],
        # A marker after a value ("…3)", "105,3 2)"): the readers strip it; it is recorded here.
        "footnote": [parse_value(r).footnote if ")" in r else "" for r in raw["raw"].astype(str)],
        "source_sheet": raw["source_sheet"], "source_row": raw["source_row"], "source_col": raw["source_col"],
        "source_file": raw["source_file"], "_raw": raw["raw"]})
    return out


def check_years(path: Path, wanted, present) -> str:
    """The ledger's reason for rows of years not asked for; raises if an asked-for year is absent.

    Shared by the finishing step and readers that leave such rows out while reading (CBP).
    """
    missing = [y for y in wanted if y not in present]
    if missing and present:
        raise MappingError(f"{path}: year(s) {missing} not in the file (it has {min(present)}-{max(present)})")
    return f"year not selected (years = {list(wanted)})"


def input_files(inp: InputFile) -> list[Path]:
    """Every file an input reads: its path and the files read beside it by default.

    The GVA-structure layout reads the GRP workbook ``VRP.xlsx`` next to it unless ``grp`` names one.
    The stage cache hashes these files, so a changed sidecar invalidates cached results.
    """
    path = Path(inp.path)
    files = [path]
    if inp.format in ("gva_structure", "auto") and path.suffix.lower() in (".xlsx", ".xlsm"):
        grp = inp.grp or (path.parent / "VRP.xlsx")
        if Path(grp).is_file() and Path(grp) != path:
            files.append(Path(grp))
    return files
