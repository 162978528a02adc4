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
  never used as data (:func:`mapping.ingest.tidy.select_units` drops them with a reason);
* validates the tidy rows (:func:`mapping.ingest.tidy.validate_tidy`) and fills the row ledger.

Layouts (``InputFile.format``): ``tidy`` (long CSV/Parquet), ``wide`` (regions x activities CSV),
``annex`` (Rosstat «Регионы России» annex sheet), ``gva_structure`` (GVA structure workbook, one sheet
per year), ``grp`` (GRP workbook ``VRP.xlsx``), ``emiss`` (EMISS/fedstat CSV export), ``cbp`` (US
County Business Patterns state files) and ``customs`` (exports by HS/TN VED code, converted to OKVED2
through ``config/hs_okved2.csv``).
"""

from __future__ import annotations

import re
import csv
import zipfile
import zlib
from pathlib import Path
from xml.etree.ElementTree import ParseError

import pandas as pd

from mapping.config import GeodataSection, InputFile
from mapping.errors import MappingError, format_items
from mapping.ingest.layouts.annex import _read_annex
from mapping.ingest.layouts.cbp import _read_cbp, is_cbp_file
from mapping.ingest.layouts.common import (
    _TEXT,
    _XLSX,
    InputRead,
    _guard,
    _registries,
    _sheetnames,
)
from mapping.ingest.layouts.customs import _read_customs
from mapping.ingest.layouts.emiss import _emiss_header, _read_emiss
from mapping.ingest.layouts.finish import _finish
from mapping.ingest.layouts.gva import _read_grp, _read_gva
from mapping.ingest.layouts.text import csv_head, decode_text, sniff_delimiter
from mapping.ingest.layouts.tidy import _read_tidy
from mapping.ingest.layouts.tidyheader import looks_tidy
from mapping.ingest.layouts.wide import _read_wide
from mapping.ingest.values import (
    parse_unit,
)
from mapping.schema import TIDY_COLUMNS

#: What parsers raise on content they cannot read (zipfile.BadZipFile is a subclass of Exception, listed).
_PARSER_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError, ArithmeticError, UnicodeError,
                  RecursionError, zipfile.BadZipFile, zlib.error, csv.Error, ParseError, pd.errors.ParserError)

FORMATS = ("tidy", "wide", "annex", "gva_structure", "grp", "emiss", "cbp", "customs")


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
        rows = csv_head(text, delim, path)
        header = [c.strip().lstrip("\ufeff").casefold() for c in (rows[0] if rows else [])]
        if sum(c in header for c in TIDY_COLUMNS) * 2 >= len(TIDY_COLUMNS) or looks_tidy(header):
            return "tidy"  # (a tidy table with a column missing is reported as such)
        if any(re.search(r"(^|[^a-z])hs([^a-z]|$)|tn[ _.]?ved|тн[ _.]?вэд|hs_code|commodity", c) for c in header):
            return "customs"
        if _emiss_header(rows) is not None:
            return "emiss"
        return "wide"
    raise MappingError(f"{path}: unknown file type {suffix!r}; expected .csv, .parquet or .xlsx")


# --------------------------------------------------------------------------- entry point

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
    try:
        return _read_input(path, inp, geodata)
    except (MappingError, MemoryError, OSError):  # OSError: the flow retries what may be transient
        raise
    except _PARSER_ERRORS as exc:
        # A reader met content it does not expect: the file's fault, never retried, reported in one paragraph.
        raise MappingError(f"{path}: not readable as {inp.format if inp.format != 'auto' else 'a known layout'} "
                           f"({type(exc).__name__}: {' '.join(str(exc).split())[:300]})") from exc


def _read_input(path: Path, inp: InputFile, geodata: GeodataSection) -> InputRead:
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
