"""Read the tables statistical offices publish into the tidy schema, accounting for every row.

:func:`read_input` is the single entry point of the pipeline (:func:`mapping.pipeline.load_inputs`).
It refuses a file before loading it when it is too large, empty, an HTML page saved as a workbook or
a damaged workbook; detects the layout (:func:`detect_format`) unless the configuration names it; reads
the file with the layout's reader; and then, for every layout alike:

* selects the years (by default those of the file's newest classification: OKVED2 over OKVED 2007,
  NAICS 2007 over 2002) and refuses a selection that mixes classifications;
* resolves every region label through the configured registry (unknown labels stop the run with the
  closest names) and every activity label through the activity registry;
* parses and normalises the unit (the unit is kept in the output), converting to the configured unit
  when both are known and differ only in scale;
* checks reported aggregates (country, federal districts, parents of nested okrugs, activity
  aggregates such as B-E) against the sum of their parts and reports the differences; aggregates are
  never used as data (:func:`mapping.ingest.select_units` drops them with a reason);
* validates the tidy rows (:func:`mapping.ingest.validate_tidy`) and fills the row ledger.

Layouts (``InputFile.format``): ``tidy`` (long CSV/Parquet), ``wide`` (regions x activities CSV),
``annex`` (Rosstat «Регионы России» annex sheet), ``gva_structure`` (GVA structure workbook, one sheet
per year), ``grp`` (GRP workbook ``VRP.xlsx``), ``emiss`` (EMISS/fedstat CSV export), ``cbp`` (US
County Business Patterns state files) and ``customs`` (exports by HS/TN VED code, converted to OKVED2
through ``config/hs_okved2.csv``).
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from mapping import registry as reg
from mapping.cbp import is_cbp_file, read_cbp
from mapping.config import REPO_ROOT, GeodataSection, InputFile
from mapping.errors import MappingError, format_items
from mapping.ingest import FileLedger, sha256_path, validate_tidy
from mapping.schema import LEVELS, TIDY_COLUMNS
from mapping.values import Unit, convert_factor, parse_number, parse_unit, parse_value

__all__ = ["FORMATS", "InputRead", "detect_format", "input_files", "read_input", "decode_text", "sniff_delimiter", "parse_options",
           "format_ledger",
           "harmonise_units", "DEFAULT_CONCORDANCE", "load_concordance", "region_vintage"]

FORMATS = ("tidy", "wide", "annex", "gva_structure", "grp", "emiss", "cbp", "customs")
DEFAULT_CONCORDANCE = REPO_ROOT / "config" / "hs_okved2.csv"
#: Newest first: with no ``years`` given, a file's years of the newest classification are read.
CLASSIFICATION_ORDER = ("OKVED2", "OKVED2007", "NAICS2007", "NAICS2002", "NAICS1997")
_XLSX = (".xlsx", ".xlsm")
_TEXT = (".csv", ".txt", ".tsv")
_DELIMITERS = (";", "\t", ",")
_SNIFF_LINES = 60
_HS_ROMAN = re.compile(r"^(?:раздел|section)?\s*([IVXLCivxlc]{1,5})$")
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
                unpacked = sum(i.file_size for i in zf.infolist())
                bad = zf.testzip() if size < 64 * 1024**2 else None
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise MappingError(f"{path}: the workbook is truncated or damaged ({exc}); download it again") from None
        if bad is not None:
            raise MappingError(f"{path}: the workbook is damaged (member {bad!r} fails its CRC check); download it again")
        if "xl/workbook.xml" not in names:
            raise MappingError(f"{path}: a ZIP file but not an Excel workbook (no xl/workbook.xml)")
        if unpacked > max_bytes:
            raise MappingError(f"{path}: the workbook unpacks to {unpacked} bytes, over the configured limit of "
                               f"{max_bytes} bytes (max_bytes); refused before loading")


def _sheetnames(path: Path) -> list[str]:
    """Sheet names from ``xl/workbook.xml`` (no need to load the workbook; ``_guard`` checked the package)."""
    import html

    try:
        with zipfile.ZipFile(path) as zf:
            xml = zf.read("xl/workbook.xml").decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise MappingError(f"{path}: not a readable .xlsx workbook: {exc}") from None
    return [html.unescape(m) for m in re.findall(r"<(?:\w+:)?sheet\b[^>]*?\bname=\"([^\"]*)\"", xml)]


def detect_format(path: str | Path, *, max_bytes: int = 2 * 1024**3) -> str:
    """Name the layout of a file (one of :data:`FORMATS`) from its name, sheets or first lines.

    Raises
    ------
    MappingError
        The file is missing, refused by the size and content guards, or of no known layout.
    """
    path = Path(path)
    if path.is_dir():
        _guard(path, max_bytes, allow_dir=True)
        if any(is_cbp_file(f) for f in sorted(path.glob("*.csv"))[:20]):
            return "cbp"
        raise MappingError(f"{path}: a folder that holds no County Business Patterns files; give a file")
    _guard(path, max_bytes)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "tidy"
    if suffix in _XLSX:
        sheets = _sheetnames(path)
        if "Total" in sheets:
            return "grp"
        if sheets and sum(bool(re.fullmatch(r"(19|20)\d\d", s.strip())) for s in sheets) >= max(1, len(sheets) // 2):
            return "gva_structure"
        if any(re.fullmatch(r"\d+(\.\d+)+\.?", s.strip()) for s in sheets):
            return "annex"
        raise MappingError(f"{path}: a workbook of no known layout (sheets: {format_items(repr(s) for s in sheets)}); "
                           "name the layout with format = 'annex', 'gva_structure' or 'grp'")
    if suffix in _TEXT or suffix == "":
        if is_cbp_file(path):
            return "cbp"
        text, _ = decode_text(path)
        delim = sniff_delimiter(text)
        rows = [r for r in csv.reader(io.StringIO("\n".join(text.splitlines()[:_SNIFF_LINES])), delimiter=delim)]
        header = [c.strip().lstrip("\ufeff").casefold() for c in (rows[0] if rows else [])]
        if sum(c in header for c in TIDY_COLUMNS) * 2 >= len(TIDY_COLUMNS):
            return "tidy"  # (a tidy table with a column missing is reported as such)
        if any(re.search(r"(^|[^a-z])hs([^a-z]|$)|tn[ _.]?ved|тн[ _.]?вэд|hs_code|commodity", c) for c in header):
            return "customs"
        if _emiss_header(rows) is not None:
            return "emiss"
        return "wide"
    raise MappingError(f"{path}: unknown file type {suffix!r}; expected .csv, .parquet or .xlsx")


def _emiss_header(rows: list[list[str]]) -> int | None:
    """Index of an EMISS-style year header: >= 2 label columns, then only years."""
    from mapping.readers import _parse_year

    for k, rec in enumerate(rows[:30]):
        first = next((j for j, v in enumerate(rec) if _parse_year(v) is not None), None)
        if first is None or first < 2:
            continue
        rest = [v for v in rec[first:] if v.strip()]
        if rest and all(_parse_year(v) is not None for v in rest):
            return k
    return None


# --------------------------------------------------------------------------- text files

def decode_text(path: Path, encoding: str | None = None) -> tuple[str, str]:
    """Read a text file as UTF-8, UTF-8 with BOM, UTF-16 (BOM) or Windows-1251 (detected).

    Returns the text and the encoding used. Raises MappingError for binary content or text that is
    none of them, naming the byte offset and line.
    """
    data = path.read_bytes()
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise MappingError(f"{path}: not readable as {encoding!r}: {exc}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        enc = "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16"
    else:
        enc = "utf-8"
    if enc == "utf-8" and b"\x00" in data[:4096]:
        raise MappingError(f"{path}: binary content (NUL bytes), not a text table; is it a workbook with a .csv name?")
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as exc:
        if enc != "utf-8":
            raise MappingError(f"{path}: not valid {enc} text at byte {exc.start}") from None
        try:
            text = data.decode("cp1251")
        except UnicodeDecodeError:
            text = ""
        non_ascii = [c for c in text if ord(c) > 127]
        cyr = sum("\u0400" <= c <= "\u04ff" or c in "«»№–—\u00a0" for c in non_ascii)
        if not text or cyr < 0.9 * len(non_ascii):
            line = data[:exc.start].count(b"\n") + 1
            raise MappingError(f"{path}: bad encoding: neither UTF-8 nor Windows-1251 text (byte {exc.start}, "
                               f"line {line}: {data[exc.start:exc.start + 4]!r}); save the file as UTF-8") from None
        enc = "cp1251"
    if text.lstrip().lower().startswith(("<!doctype html", "<html")):
        raise MappingError(f"{path}: an HTML page, not a data table; download the data file itself")
    return text, enc


def sniff_delimiter(text: str, delimiter: str | None = None) -> str:
    """The field delimiter (``;``, tab or ``,``) that splits the first lines most consistently."""
    if delimiter:
        return "\t" if delimiter in ("\\t", "tab") else delimiter
    lines = [l for l in text.splitlines()[:_SNIFF_LINES] if l.strip()]
    best, best_score = ",", (-1.0, 0)
    for d in _DELIMITERS:
        counts = [len(r) for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=d)]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        score = (counts.count(mode) / len(counts), mode)
        if score[0] > best_score[0] + 1e-9:
            best, best_score = d, score
    return best


def _text_rows(path: Path, inp: InputFile) -> tuple[list[tuple[int, list[str]]], dict]:
    """Decode and split a text table; returns (line number, fields) pairs and what was detected."""
    text, enc = decode_text(path, inp.encoding)
    delim = sniff_delimiter(text, inp.delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows: list[tuple[int, list[str]]] = []
    try:
        for rec in reader:
            rows.append((reader.line_num, rec))
    except csv.Error as exc:
        raise MappingError(f"{path}, line {reader.line_num}: not a readable CSV: {exc}") from None
    if not any(any(c.strip() for c in r) for _, r in rows):
        raise MappingError(f"{path}: the file holds no data (only blank lines)")
    return rows, {"encoding": enc, "delimiter": delim, "decimal": inp.decimal or _sniff_decimal(rows, delim)}


_COMMA_NUM = re.compile(r"^[+-]?\d[\d \u00a0\u202f]*,\d+$")
_DOT_NUM = re.compile(r"^[+-]?\d[\d \u00a0\u202f]*\.\d+$")
_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(,\d{3})+$")


def _sniff_decimal(rows: list[tuple[int, list[str]]], delim: str) -> str:
    """Decimal mark of a text table: ',' where numbers such as 12,5 are printed, else '.'.

    A ';'- or tab-separated file with "1,5" uses a decimal comma (the Russian convention); in a
    ','-separated file a comma inside a quoted number is a decimal mark only if no value uses a dot
    and some comma number is not a thousands group ("1,234").
    """
    n_comma = n_dot = n_comma_plain = 0
    for _, rec in rows[:5000]:
        for f in rec:
            f = f.strip()
            if _COMMA_NUM.match(f):
                n_comma += 1
                n_comma_plain += not _THOUSANDS_COMMA.match(f)
            elif _DOT_NUM.match(f):
                n_dot += 1
    if delim != ",":
        return "," if n_comma >= n_dot else "."
    return "," if n_comma_plain and not n_dot else "."


def _csv_note(meta: dict) -> str:
    names = {";": "';'", "\t": "tab", ",": "','"}
    return (f"text: {meta['encoding']}, delimiter {names.get(meta['delimiter'], repr(meta['delimiter']))}, "
            f"decimal mark {meta['decimal']!r}")


# --------------------------------------------------------------------------- entry point

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


def read_input(inp: InputFile, geodata: GeodataSection | None = None) -> InputRead:
    """Read one configured input into validated tidy rows, with its ledger and aggregate checks.

    Parameters
    ----------
    inp : InputFile
        The file and how to read it (``format``, ``sheet``, ``years``, ``indicator``, ``unit``, ...).
    geodata : GeodataSection, optional
        Registries to resolve labels against; default the Russian registries of the repository.

    Returns
    -------
    InputRead
        ``tidy``: :data:`mapping.schema.TIDY_COLUMNS` + ``value_low``, ``value_high``, ``source_row``;
        rows of aggregates and nested parents are included (``select_units`` drops them with a reason).
        ``ledger``: rows read and dropped by the reader; the pipeline adds used and dropped units.
        ``checks``: one row per reported aggregate compared with the sum of its parts.

    Raises
    ------
    MappingError
        Any problem with the file, naming the file, sheet, row/column and value.
    """
    geodata = geodata or GeodataSection()
    path = Path(inp.path)
    fmt = inp.format if inp.format != "auto" else detect_format(path, max_bytes=inp.max_bytes)
    _guard(path, inp.max_bytes, allow_dir=fmt == "cbp")
    regs = _registries(geodata)
    readers = {"tidy": _read_tidy, "wide": _read_wide, "annex": _read_annex, "gva_structure": _read_gva,
               "grp": _read_grp, "emiss": _read_emiss, "cbp": _read_cbp, "customs": _read_customs}
    if fmt not in readers:
        raise MappingError(f"{path}: format {fmt!r} is not read by mapping.formats (one of {', '.join(readers)})")
    reader = readers[fmt]
    if fmt == "tidy":
        return reader(path, inp, regs)
    cells = reader(path, inp, regs)
    return _finish(path, cells, inp, regs)


# --------------------------------------------------------------------------- tidy long CSV / Parquet

def _read_tidy(path: Path, inp: InputFile, regs: _Registries) -> InputRead:
    notes: list[str] = []
    layout: dict[str, int] = {}
    if path.suffix.lower() == ".parquet":
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise MappingError(f"{path}: not a readable Parquet file: {exc}") from None
        df = df.astype(object).where(df.notna(), None)
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


def _tidy_values(df: pd.DataFrame, path: Path, decimal: str, inp: InputFile) -> pd.DataFrame:
    """Parse value (and bounds) cells printed with markers, decimal commas and thousands separators."""
    df = df.copy()
    for col in ("region_code", "activity_code", "classification", "level", "indicator", "unit", "flag", "source"):
        df[col] = df[col].map(lambda v: "" if v is None else str(v).strip())
    values, flags, bad = [], [], []
    for row, raw, flag in zip(df["source_row"], df["value"], df["flag"]):
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
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


_OKVED2_FINE = re.compile(r"^\d{2}\.\d{1,2}(\.\d{1,2})?$")


def _resolve_tidy_labels(df: pd.DataFrame, path: Path, regs: _Registries) -> pd.DataFrame:
    """Region codes or labels -> registry codes; activity names -> codes where the classification is known."""
    blank = df["region_code"].eq("")
    if blank.any():
        raise MappingError(f"{path}: empty region_code in row(s) " + format_items(df.loc[blank, "source_row"]))
    codes = _resolve_regions(df["region_code"], df["source_row"], path, regs)
    df["region_code"] = df["region_code"].map(codes)
    known = set(regs.activities["classification"])
    for (cls, lvl), g in df.loc[df["classification"].isin(known)].groupby(["classification", "level"]):
        labels = [a for a in g["activity_code"].unique() if a]
        if cls == "OKVED2" and lvl in ("group", "class", "subclass") and all(_OKVED2_FINE.match(a) for a in labels):
            continue  # hierarchical codes finer than the registry: checked against their division later
        mapping = _resolve_activities(labels, cls, lvl, g, path, regs)
        df.loc[g.index, "activity_code"] = g["activity_code"].map(mapping).fillna(g["activity_code"])
    return df


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
        raise MappingError(str(exc)) from None


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


def _read_annex(path: Path, inp: InputFile, regs: _Registries) -> _Cells:
    from mapping.readers import read_rosstat_annex

    sheets = _sheetnames(path)
    if not inp.sheet:
        raise _need_sheet(path, sheets, "an annex workbook holds one table per sheet and no sheet was named")
    if inp.sheet not in sheets:
        close = [s for s in sheets if s.strip(". ") == inp.sheet.strip(". ")]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise _need_sheet(path, sheets, f"wrong sheet {inp.sheet!r}: not in the workbook{hint}")
    raw, meta = read_rosstat_annex(path, inp.sheet)
    title = meta["title"]
    # The indicator is often named in the section heading above the table title
    # ("12.2. ОБЪЕМ ОТГРУЖЕННЫХ ТОВАРОВ ..." above "12.2.4. «Обрабатывающие производства»").
    indicator = inp.indicator or _indicator_from_title(title) or _indicator_from_title(
        " ".join(t for t in meta.get("title_rows", []) if re.match(r"\s*\d+(\.\d+)+", t)))
    if not indicator:
        raise MappingError(f"{path}, sheet {inp.sheet!r}: cannot tell the indicator from the title {title[:80]!r}; "
                           "set indicator (e.g. employment, revenue, shipments)")
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
    return _Cells(frame, indicator, meta["unit"] or None, "annex", notes, {}, dict(meta["skipped"]),
                  source_name=path.name, default_classification=cls)


def _from_raw(raw: pd.DataFrame, *, code: str, label: str, level: str, cls: str) -> pd.DataFrame:
    """Raw long cells of :mod:`mapping.readers` -> cell frame; text cells re-parsed for known markers."""
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


# --------------------------------------------------------------------------- GVA structure workbook

def _read_gva(path: Path, inp: InputFile, regs: _Registries) -> _Cells:
    from mapping.readers import read_gva_structure, read_vrp_total

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
    from mapping.readers import read_vrp_total

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


# --------------------------------------------------------------------------- EMISS CSV export

def _read_emiss(path: Path, inp: InputFile, regs: _Registries) -> _Cells:
    from mapping.readers import read_emiss_csv

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


# --------------------------------------------------------------------------- County Business Patterns

def _read_cbp(path: Path, inp: InputFile, regs: _Registries) -> _Cells:
    cells, meta = read_cbp(path, indicator=inp.indicator or "employment", columns=dict(inp.columns),
                           levels=tuple(inp.levels), unit=None)
    cells["_raw"] = ""
    return _Cells(cells, inp.indicator or "employment", meta["unit"], "cbp", meta["notes"], meta["drops"],
                  meta["layout"], row_unit="row", source_name=path.name, default_classification="NAICS2007")


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


# --------------------------------------------------------------------------- common finishing step

def _finish(path: Path, c: _Cells, inp: InputFile, regs: _Registries) -> InputRead:
    df = c.frame.reset_index(drop=True).copy()
    drops = dict(c.drops)
    notes = list(c.notes)
    n_read = len(df) + sum(drops.values())
    if df.empty:
        raise MappingError(f"{path}: no data cells found")
    df = _select_years(df, inp, drops, notes, path)
    df = _parse_flags(df, inp, path, notes, drops)
    # Regions.
    where = f", sheet {df['source_sheet'].iloc[0]!r}" if df["source_sheet"].iloc[0] else ""
    codes = _resolve_regions(df["region_label"], df["source_row"], path, regs, where)
    df["region_code"] = df["region_label"].map(codes)
    # Activities given by label.
    todo = df["activity_code"].eq("")
    if todo.any():
        for cls, g in df.loc[todo].groupby("classification"):
            labels = [l for l in g["activity_label"].unique()]
            if cls not in set(regs.activities["classification"]):
                raise MappingError(f"{path}: activity labels of classification {cls!r} cannot be resolved: it is not "
                                   f"in the activity registry")
            m = _resolve_activities(labels, cls, None, g, path, regs, where)
            df.loc[g.index, "activity_code"] = g["activity_label"].map(m)
    lvl = {(cl, co): lv for cl, co, lv in zip(regs.activities["classification"], regs.activities["code"],
                                               regs.activities["level"])}
    blank = df["level"].eq("")
    df.loc[blank, "level"] = [lvl.get((cl, co), "") for cl, co in zip(df.loc[blank, "classification"],
                                                                        df.loc[blank, "activity_code"])]
    nolevel = df["level"].eq("")
    if nolevel.any():
        r = df.loc[nolevel].iloc[0]
        raise MappingError(f"{path}: activity {r['activity_code']!r} ({r['classification']}) is not in the activity "
                           f"registry and no level was given; set level")
    # Units.
    unit, factor = _unit(c, inp, path, notes)
    for col in ("value", "value_low", "value_high"):
        df[col] = df[col] * factor
    checks = _checks(df, regs, c.indicator, unit.name if unit else "")
    agg_act = ~df["level"].isin(LEVELS)
    if agg_act.any():
        drops["activity aggregate (e.g. B-E industry): used only as a check"] = int(agg_act.sum())
        df = df.loc[~agg_act]
    _check_mixing(df, path)
    tidy = pd.DataFrame({
        "year": df["year"].astype(int), "region_code": df["region_code"], "activity_code": df["activity_code"],
        "classification": df["classification"], "level": df["level"], "indicator": c.indicator,
        "value": df["value"], "unit": unit.name if unit else "", "flag": df["flag"],
        "source": _sources(df, inp, c), "value_low": df["value_low"], "value_high": df["value_high"],
        "source_row": df["source_row"]})
    tidy = tidy.astype({"value": float, "value_low": float, "value_high": float})
    if tidy["value_low"].isna().all() and tidy["value_high"].isna().all():
        tidy = tidy.drop(columns=["value_low", "value_high"])
    try:
        tidy = validate_tidy(tidy, path)
    except MappingError as exc:
        raise MappingError(str(exc).replace("row ", "source row ")) from None
    n_used = len(tidy)
    ledger = FileLedger(file=str(path), sha256=sha256_path(path), rows_read=n_read, format=c.fmt, row_unit=c.row_unit,
                        layout_rows=dict(c.layout), notes=notes)
    for reason, n in drops.items():
        ledger.drop(reason, n)
    if ledger.rows_read != n_used + sum(ledger.dropped.values()):
        raise AssertionError(f"reader ledger for {path} does not balance: read {n_read}, kept {n_used}, "
                             f"dropped {sum(ledger.dropped.values())}")
    ledger.rows_read = n_used + sum(ledger.dropped.values())
    ledger.cells_suppressed = int(tidy["flag"].isin(["suppressed", "range"]).sum())
    _vintage_note(tidy, regs, ledger)
    _nesting_note(tidy, regs, ledger)
    ledger.checks = _check_summary(checks)
    return InputRead(tidy, ledger, checks)


def _select_years(df: pd.DataFrame, inp: InputFile, drops: dict, notes: list, path: Path) -> pd.DataFrame:
    present = sorted(set(df["year"]))
    if inp.years:
        missing = [y for y in inp.years if y not in present]
        if missing:
            raise MappingError(f"{path}: year(s) {missing} not in the file (it has {present[0]}-{present[-1]})")
        other = ~df["year"].isin(inp.years)
        if other.any():
            drops[f"year not selected (years = {list(inp.years)})"] = int(other.sum())
        return df.loc[~other]
    classes = sorted(set(df["classification"]), key=lambda x: CLASSIFICATION_ORDER.index(x)
                     if x in CLASSIFICATION_ORDER else 99)
    if len(classes) > 1:
        newest = classes[0]
        keep_years = set(df.loc[df["classification"] == newest, "year"])
        other = ~df["year"].isin(keep_years)
        old = sorted(set(df.loc[other, "year"]))
        drops[f"year of an older classification ({', '.join(classes[1:])}) not selected; set years to read it"] = \
            int(other.sum())
        notes.append(f"the file spans {', '.join(classes)}: years {min(keep_years)}-{max(keep_years)} ({newest}) "
                     f"read, years {old[0]}-{old[-1]} not (classifications are never mixed in one run)")
        return df.loc[~other]
    return df


def _check_mixing(df: pd.DataFrame, path: Path) -> None:
    rows = df.loc[df["level"] != "total"]
    by = rows.groupby("level")["classification"].unique()
    mixed = by[by.map(len) > 1]
    if not mixed.empty:
        years = {c: sorted(set(rows.loc[rows["classification"] == c, "year"])) for c in
                 set(rows["classification"])}
        raise MappingError(f"{path}: the selected years mix classifications ("
                           + format_items(f"{c}: {y[0]}-{y[-1]}" for c, y in sorted(years.items()))
                           + "); OKVED 2007 and OKVED2 (or NAICS vintages) code different activities with the "
                           "same letters, so select years of one classification")


def _parse_flags(df: pd.DataFrame, inp: InputFile, path: Path, notes: list, drops: dict) -> pd.DataFrame:
    """Reader flags -> tidy flags; text cells that are neither numbers nor markers stop the run."""
    df = df.copy()
    unparsed = df["flag"].eq("unparsed")
    if unparsed.any():
        reparsed = [parse_value(r, decimal=",", unit_base="percent") for r in df.loc[unparsed, "_raw"]]
        ok = [x.flag in ("", "suppressed", "absent") for x in reparsed]
        idx = df.index[unparsed]
        for i, x, good in zip(idx, reparsed, ok):
            if good:
                df.at[i, "value"], df.at[i, "flag"] = x.value, x.flag
        still = df["flag"].eq("unparsed")
        if still.any():
            if inp.unparsed == "suppressed":
                notes.append(f"{int(still.sum())} text cell(s) read as suppressed (unparsed = 'suppressed')")
                df.loc[still, ["value", "flag"]] = [math.nan, "suppressed"]
            else:
                bad = df.loc[still]
                raise MappingError(f"{path}: cell(s) that are neither numbers nor known markers (… - x н/д): "
                                   + format_items(_where(r) + f": {r['_raw']!r}" for _, r in bad.iterrows())
                                   + "; fix them or set unparsed = 'suppressed'")
    # A year in which a whole level is empty (EMISS sections before 2019) is not published at all:
    # drop it with a reason rather than carry a column of "suppressed" cells.
    all_empty = df.groupby(["year", "level", "classification"])["flag"].transform(lambda f: f.eq("empty").all())
    if all_empty.any() and not all_empty.all():
        yrs = sorted(set(df.loc[all_empty, "year"]))
        drops[f"no figure published for the level in the year (every cell empty: {format_items(yrs)})"] = \
            int(all_empty.sum())
        df = df.loc[~all_empty]
    empty = df["flag"].eq("empty")
    if empty.any():
        notes.append(f"{int(empty.sum())} empty cell(s) read as suppressed (no figure published)")
        df.loc[empty, "flag"] = "suppressed"
        df.loc[empty, "value"] = math.nan
    foot = df["footnote"].astype(str).ne("")
    if foot.any():
        notes.append(f"footnote markers stripped from {int(foot.sum())} value cell(s): "
                     + ", ".join(sorted(set(df.loc[foot, "footnote"]))))
    neg = df["value"] < 0
    if neg.any():
        raise MappingError(f"{path}: negative value(s) where none is possible: "
                           + format_items(_where(r) + f": {r['value']:g}" for _, r in df.loc[neg].iterrows()))
    return df


def _where(r) -> str:
    sheet = f"sheet {r['source_sheet']!r}, " if r.get("source_sheet") else ""
    col = r["source_col"]
    cell = f"cell {col}{r['source_row']}" if sheet else f"line {r['source_row']}, column {col}"
    return f"{r['source_file']} {sheet}{cell}"


def _unit(c: _Cells, inp: InputFile, path: Path, notes: list) -> tuple[Unit | None, float]:
    """The file's unit, converted to the configured one when both are given."""
    src = parse_unit(c.unit_text) if c.unit_text else None
    if c.unit_text and src is None and not inp.unit:
        raise MappingError(f"{path}: unit {c.unit_text!r} not understood; set unit (e.g. 'million RUB')")
    dst = parse_unit(inp.unit) if inp.unit else None
    if inp.unit and dst is None:
        raise MappingError(f"{path}: configured unit {inp.unit!r} not understood (e.g. 'million RUB', "
                           "'thousand persons', 'count', 'USD', 'percent')")
    if src is None and dst is None:
        raise MappingError(f"{path}: the file states no unit; set unit for this input (e.g. 'thousand RUB')")
    if src is not None and dst is not None:
        f = convert_factor(src, dst, where=f"{path}: the file says {c.unit_text!r}, the configuration says "
                                           f"{inp.unit!r}")
        if f != 1:
            notes.append(f"unit: {c.unit_text!r} ({src.name}) converted to {dst.name} (x {f:g})")
        else:
            notes.append(f"unit: {c.unit_text!r} = {dst.name}")
        return dst, f
    u = src or dst
    notes.append(f"unit: {c.unit_text!r} read as {u.name}" if src else f"unit: {u.name} (from the configuration)")
    return u, 1.0


def _sources(df: pd.DataFrame, inp: InputFile, c: _Cells) -> list[str]:
    """Provenance of each value: ``file!sheet!B12`` (workbook), ``file!R12C3`` (CSV), ``folder/file!R12:emp`` (CBP)."""
    prefix = inp.source or c.source_name
    sheets, rows, cols = df["source_sheet"].tolist(), df["source_row"].tolist(), df["source_col"].tolist()
    if c.fmt == "cbp":
        out = [f"{prefix}/{f}!R{r}:{col}" for f, r, col in zip(df["source_file"].tolist(), rows, cols)]
    else:
        out = [f"{prefix}!{sh}!{col}{r}" if sh else f"{prefix}!R{r}C{col}" for sh, r, col in zip(sheets, rows, cols)]
    if "_grp_source" in df.columns:
        out = [f"{o} * {g} / 100" for o, g in zip(out, df["_grp_source"].tolist())]
    return out


# --------------------------------------------------------------------------- checks and notes

def _checks(df: pd.DataFrame, regs: _Registries, indicator: str, unit: str) -> pd.DataFrame:
    """Every reported aggregate (country, district, parent of nested okrugs, B-E) vs the sum of its parts."""
    r = regs.regions.set_index("region_code")
    kind = df["region_code"].map(r["kind"])
    parent = r["parent_code"].to_dict()
    fd = r["federal_district"].to_dict()
    out = []
    keys = ["year", "classification", "level", "activity_code"]
    is_unit = kind.isin(["subject", "remainder"])
    is_agg = kind.isin(["country", "federal_district"])
    has_parent = df["region_code"].map(lambda c: bool(parent.get(c)))
    agg_by = {k: g for k, g in df.loc[is_agg].groupby(keys, sort=True)}
    nested_keys = set(df.loc[has_parent, keys].itertuples(index=False, name=None))
    units = df.loc[is_unit]
    for key, g in units.groupby(keys, sort=True):
        if key not in agg_by and key not in nested_keys:
            continue  # nothing reported to check against
        vals = dict(zip(g["region_code"], g["value"]))
        present = set(vals)
        top = {u for u in present if not parent.get(u)}
        for p in {parent[u] for u in present if parent.get(u)} - present:
            top |= {u for u in present if parent.get(u) == p}  # parent absent: its parts stand in
        if key in agg_by:
            for code, rep in zip(agg_by[key]["region_code"], agg_by[key]["value"]):
                is_country = r.at[code, "kind"] == "country"
                members = top if is_country else {u for u in top if fd.get(u) == code}
                out.append(_check_row(key, "country" if is_country else "federal district", code, rep,
                                      [vals[u] for u in members]))
        for p in sorted({parent[u] for u in present if parent.get(u)} & present):
            parts = [u for u in present if parent.get(u) == p]
            out.append(_check_row(key, "nested parent", p, vals[p], [vals[u] for u in parts]))
    # Activity aggregates such as B-E (sections B to E).
    acts = df.loc[~df["level"].isin(LEVELS) & df["activity_code"].str.fullmatch(r"[A-Z]-[A-Z]")]
    for (year, cls, code), g in acts.groupby(["year", "classification", "activity_code"]):
        lo, hi = code.split("-")
        members = [chr(x) for x in range(ord(lo), ord(hi) + 1)]
        sec = df.loc[(df["year"] == year) & (df["classification"] == cls) & df["activity_code"].isin(members)
                     & df["level"].eq("section")]
        for reg_code, rep in zip(g["region_code"], g["value"]):
            parts = sec.loc[sec["region_code"] == reg_code, "value"].tolist()
            if parts:
                out.append(_check_row((year, cls, "aggregate", code), "activity aggregate", reg_code, rep, parts))
    res = pd.DataFrame(out, columns=["year", "classification", "level", "activity_code", "check", "aggregate",
                                     "reported", "sum_of_parts", "difference", "rel_difference", "parts",
                                     "parts_without_value"])
    res.insert(0, "indicator", indicator)
    res.insert(1, "unit", unit)
    return res


def _check_row(key, check: str, code: str, reported: float, parts: list[float]) -> dict:
    arr = np.array(parts, dtype=float)
    s = float(np.nansum(arr))
    diff = s - reported if not math.isnan(reported) else math.nan
    rel = diff / reported if reported and not math.isnan(reported) else math.nan
    return {"year": int(key[0]), "classification": key[1], "level": key[2], "activity_code": key[3], "check": check,
            "aggregate": code, "reported": reported, "sum_of_parts": s, "difference": diff, "rel_difference": rel,
            "parts": len(parts), "parts_without_value": int(np.isnan(arr).sum())}


def _check_summary(checks: pd.DataFrame) -> list[dict]:
    """Per kind of check: how many, and the largest relative difference where all parts have values."""
    out = []
    if checks.empty:
        return out
    for kind, g in checks.groupby("check"):
        full = g.loc[g["parts_without_value"].eq(0) & g["rel_difference"].notna()]
        row = {"check": kind, "n": int(len(g)), "complete": int(len(full))}
        if not full.empty:
            w = full.loc[full["rel_difference"].abs().idxmax()]
            row.update({"max_abs_rel_difference": float(abs(w["rel_difference"])),
                        "worst": f"{w['aggregate']} {w['activity_code']} {int(w['year'])}: reported {w['reported']:.6g}, "
                                 f"sum of parts {w['sum_of_parts']:.6g}"})
        out.append(row)
    return out


def region_vintage(codes, regions: pd.DataFrame) -> str:
    """Name the region set of a Russian table: 83 (before 2014), 85 (2014-2022) or 89 subjects (from 2022)."""
    kind = dict(zip(regions["region_code"], regions["kind"]))
    subj = sorted(c for c in set(codes) if kind.get(c) == "subject")
    n = len(subj)
    if not subj or not str(subj[0]).startswith("RU"):
        return f"{n} subject(s)"
    crimea = {"RU-X-CR", "RU-X-SEV"} & set(subj)
    new = {"RU-X-DPR", "RU-X-LPR", "RU-X-ZAP", "RU-X-KHE"} & set(subj)
    if n == 89:
        return "89 subjects (from 2022: with Crimea, Sevastopol and the four units added in 2022)"
    if n == 85 and len(crimea) == 2 and not new:
        return "85 subjects (2014-2022 set: with Crimea and Sevastopol)"
    if n == 83 and not crimea and not new:
        return "83 subjects (2008-2014 set: without Crimea and Sevastopol)"
    return f"{n} subjects (not a complete 83/85/89 set)"


def _vintage_note(tidy: pd.DataFrame, regs: _Registries, ledger: FileLedger) -> None:
    sets: dict[str, list[str]] = {}
    for (ind, year), g in tidy.groupby(["indicator", "year"]):
        sets.setdefault(region_vintage(g["region_code"], regs.regions), []).append(f"{ind} {year}")
    for name, where in sets.items():
        ledger.notes.append(f"region set: {name}" + (f" ({format_items(where, 4)})" if len(sets) > 1 else ""))


def _nesting_note(tidy: pd.DataFrame, regs: _Registries, ledger: FileLedger) -> None:
    r = regs.regions.set_index("region_code")
    codes = set(tidy["region_code"])
    parents = sorted({r.at[c, "parent_code"] for c in codes if c in r.index and r.at[c, "parent_code"]})
    both = [p for p in parents if p in codes]
    aggs = sorted(c for c in codes if r.at[c, "kind"] in ("country", "federal_district"))
    if both:
        ledger.notes.append(f"nested units: {', '.join(both)} and their parts are both in the file; the run keeps "
                            "one side (geodata.nested_units) and drops the other, so nothing is counted twice")
    if aggs:
        ledger.notes.append(f"{len(aggs)} aggregate unit(s) ({format_items(aggs, 3)}) used only as checks: the sum "
                            "of their units is compared with the reported value")


def harmonise_units(frames: list[pd.DataFrame]) -> list[str]:
    """Bring one indicator to one unit across inputs (in place); returns notes.

    Units of the same base (thousand and million RUB) are converted to the first input's unit;
    different bases (RUB and USD, persons and percent) raise a unit conflict naming both files.
    """
    notes, first = [], {}
    for df in frames:
        for ind, g in df.groupby("indicator"):
            unit = g["unit"].iloc[0]
            if ind not in first:
                first[ind] = (unit, g["file"].iloc[0] if "file" in g else "")
                continue
            want, wfile = first[ind]
            if unit == want:
                continue
            src, dst = parse_unit(unit), parse_unit(want)
            f = g["file"].iloc[0] if "file" in g else ""
            if src is None or dst is None or src.base != dst.base:
                raise MappingError(f"unit conflict: indicator '{ind}' is in {want!r} in {wfile} and in {unit!r} "
                                   f"in {f}; give both in one unit")
            factor = src.factor / dst.factor
            idx = g.index
            for col in ("value", "value_low", "value_high"):
                if col in df.columns:
                    df.loc[idx, col] = df.loc[idx, col] * factor
            df.loc[idx, "unit"] = want
            notes.append(f"{f}: indicator '{ind}' converted from {unit} to {want} (x {factor:g})")
    return notes


# --------------------------------------------------------------------------- command-line helpers

_LIST_OPTIONS = {"years": int, "levels": str}


def parse_options(items: list[str] | None) -> dict:
    """``["sheet=2.3.", "years=2020,2021", "columns.value=emp"]`` -> InputFile fields (the CLI's ``--option``).

    Raises MappingError for an item without ``=``.
    """
    out: dict = {}
    for item in items or []:
        if "=" not in item:
            raise MappingError(f"--option {item!r}: expected KEY=VALUE (e.g. sheet=2.3. or years=2021)")
        key, value = (x.strip() for x in item.split("=", 1))
        if key.startswith("columns."):
            out.setdefault("columns", {})[key.split(".", 1)[1]] = value
        elif key in _LIST_OPTIONS:
            try:
                out[key] = tuple(_LIST_OPTIONS[key](v.strip()) for v in value.split(",") if v.strip())
            except ValueError:
                raise MappingError(f"--option {item!r}: {key} must be a comma-separated list of "
                                   f"{'years' if key == 'years' else 'names'}") from None
        else:
            out[key] = value
    return out


def format_ledger(d: dict) -> list[str]:
    """Lines describing one ledger (``FileLedger.to_dict()``) for the terminal and the report."""
    unit = d.get("row_unit", "row")
    lines = [f"{d['file']} ({d.get('format') or 'tidy'}; one {unit} per value): read {d['rows_read']}, "
             f"used {d['rows_used']} (context {d['rows_context']}), suppressed cells {d['cells_suppressed']}"]
    lines += [f"  dropped {n}: {reason}" for reason, n in d["rows_dropped"].items()]
    if d.get("layout_rows"):
        lines.append("  layout rows without values: " + ", ".join(f"{k} {v}" for k, v in d["layout_rows"].items()))
    lines += [f"  note: {n}" for n in d.get("notes", [])]
    for c in d.get("checks", []):
        s = f"  check {c['check']}: {c['n']} compared, {c['complete']} with every part published"
        if "max_abs_rel_difference" in c:
            s += f"; largest difference {c['max_abs_rel_difference']:.3%} ({c['worst']})"
        lines.append(s)
    return lines
