"""Resource limits checked before a file is parsed: memory for text tables, and the size, compression
ratio and cell count of workbooks (so a zip bomb is refused in seconds, in little memory).

A workbook is a ZIP package of XML. Its members' unpacked sizes are read from the ZIP directory
(no decompression) and refused above :data:`MAX_UNPACKED_BYTES` or a compression ratio above
:data:`MAX_RATIO`; a sheet about to be read is then scanned as a stream (:func:`scan_sheet`, constant
memory) for its cell count, formula cells without a cached value, and numeric cells that are not
numbers, before openpyxl parses it. Text tables need many times their size in memory once split into
fields (:data:`TEXT_MEMORY_FACTOR`); a file whose estimate exceeds the memory available to this
process (free memory, ``ulimit -v`` and the cgroup limit) is refused before it is loaded.
"""

from __future__ import annotations

import math
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mapping.errors import MappingError, format_items

__all__ = ["mark_formulas", "MAX_UNPACKED_BYTES", "MAX_RATIO", "MAX_CELLS", "MAX_COLUMNS", "TEXT_MEMORY_FACTOR",
           "available_memory", "check_text_memory", "check_workbook_package", "scan_sheet", "sheet_member"]

#: Unpacked size of a workbook refused before parsing (bytes): about 40 times the largest Rosstat workbook.
MAX_UNPACKED_BYTES = 256 * 1024**2
#: Compression ratio of one member refused when it unpacks to over 8 MiB (real workbooks stay below 30).
MAX_RATIO = 200
#: Cells of one sheet refused before parsing (openpyxl holds about 100 bytes per cell).
MAX_CELLS = 2_000_000
#: Columns of a text table refused (Excel's own limit).
MAX_COLUMNS = 16_384
#: Memory a text table needs per byte of file once decoded and split into fields (measured: about 16).
TEXT_MEMORY_FACTOR = 16


# --------------------------------------------------------------------------- memory

def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_memory() -> int | None:
    """Bytes this process can still allocate: the least of free memory, ``RLIMIT_AS`` headroom and the
    cgroup's headroom; None when none of them is known."""
    limits: list[int] = []
    try:
        meminfo = Path("/proc/meminfo").read_text()
        m = re.search(r"^MemAvailable:\s+(\d+) kB", meminfo, re.M)
        if m:
            limits.append(int(m.group(1)) * 1024)
    except OSError:
        pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            status = Path("/proc/self/status").read_text()
            m = re.search(r"^VmSize:\s+(\d+) kB", status, re.M)
            used = int(m.group(1)) * 1024 if m else 0
            limits.append(max(soft - used, 0))
    except (ImportError, OSError, ValueError):
        pass
    cg_max, cg_cur = _read_int("/sys/fs/cgroup/memory.max"), _read_int("/sys/fs/cgroup/memory.current")
    if cg_max is not None and cg_cur is not None:
        limits.append(max(cg_max - cg_cur, 0))
    return min(limits) if limits else None


def check_text_memory(path: Path, size: int, *, factor: float = TEXT_MEMORY_FACTOR) -> None:
    """Refuse a text table whose estimated memory need (``size x factor``) exceeds what is available."""
    need = int(size * factor)
    free = available_memory()
    if free is not None and need > free:
        raise MappingError(f"{path}: reading this {size / 1e6:.0f} MB text table needs about {need / 1e6:.0f} MB of "
                           f"memory ({factor:g} x its size), but only {free / 1e6:.0f} MB is available; refused before "
                           "loading: aggregate it, split it by year, or save it as Parquet")


# --------------------------------------------------------------------------- workbook package

def check_workbook_package(path: Path, zf: zipfile.ZipFile, max_bytes: int) -> None:
    """Refuse a workbook whose members unpack to too much, or compress implausibly well (a zip bomb)."""
    infos = zf.infolist()
    unpacked = sum(i.file_size for i in infos)
    limit = min(max_bytes, MAX_UNPACKED_BYTES)
    if unpacked > limit:
        raise MappingError(f"{path}: the workbook unpacks to {unpacked} bytes, over the limit of {limit} bytes "
                           f"({path.stat().st_size} bytes packed); refused before parsing (a damaged or hostile "
                           "file, or a workbook to split)")
    for i in infos:
        ratio = i.file_size / max(i.compress_size, 1)
        if i.file_size > 8 * 1024**2 and ratio > MAX_RATIO:
            raise MappingError(f"{path}: member {i.filename!r} unpacks {ratio:.0f} times its packed size "
                               f"({i.file_size} bytes); refused as a likely zip bomb (real workbooks stay below "
                               f"{MAX_RATIO})")


def sheet_member(zf: zipfile.ZipFile, sheet: str) -> str | None:
    """The ZIP member (``xl/worksheets/sheetN.xml``) holding the sheet named ``sheet``."""
    import html

    try:
        wb = zf.read("xl/workbook.xml").decode("utf-8", errors="replace")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", errors="replace")
    except KeyError:
        return None
    rid = None
    for m in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)>", wb):
        attrs = m.group(1)
        name = re.search(r'\bname="([^"]*)"', attrs)
        if name and html.unescape(name.group(1)) == sheet:
            r = re.search(r'\br:id="([^"]*)"|\b\w+:id="([^"]*)"', attrs)
            rid = r and (r.group(1) or r.group(2))
            break
    if not rid:
        return None
    for m in re.finditer(r"<Relationship\b([^>]*)>", rels):
        attrs = m.group(1)
        if re.search(rf'\bId="{re.escape(rid)}"', attrs):
            target = re.search(r'\bTarget="([^"]*)"', attrs)
            if not target:
                return None
            t = target.group(1)
            member = t.lstrip("/") if t.startswith("/") else str(PurePosixPath("xl") / t)
            parts: list[str] = []
            for p in member.split("/"):  # resolve "../"
                if p == "..":
                    parts and parts.pop()
                elif p not in ("", "."):
                    parts.append(p)
            return "/".join(parts)
    return None


# --------------------------------------------------------------------------- sheet scan

@dataclass
class SheetScan:
    """What a streamed pass over one sheet's XML found."""

    cells: int = 0
    rows: int = 0
    #: Cell reference (``B12``) -> formula text, for formula cells that store no value.
    formulas_without_value: dict[str, str] = field(default_factory=dict)
    bad_numbers: list[tuple[str, str]] = field(default_factory=list)


def scan_sheet(path: Path, member: str, sheet: str, *, max_cells: int | None = None) -> SheetScan:
    """Stream one sheet's XML (constant memory) and refuse what openpyxl would choke on or misread.

    Formula cells without a stored (cached) value are listed in ``formulas_without_value``: openpyxl
    reads them as empty, which the readers would count as suppressed; :func:`mark_formulas` puts
    their formula text in their place so that a data cell holding one is refused by name.

    Raises
    ------
    MappingError
        More than ``max_cells`` cells; a numeric cell that is not a finite number; damaged XML. Each
        message names the file, the sheet and the cell.
    """
    import xml.parsers.expat

    max_cells = MAX_CELLS if max_cells is None else max_cells
    scan = SheetScan()
    state = {"ref": "", "type": "n", "formula": False, "in_v": False, "in_f": False, "v": [], "f": [],
             "has_v": False}

    def start(name, attrs):
        local = name.rsplit(":", 1)[-1]
        if local == "c":
            scan.cells += 1
            if scan.cells > max_cells:
                raise MappingError(f"{path}, sheet {sheet!r}: more than {max_cells} cells; refused before parsing "
                                   "(split the workbook or give the table as CSV/Parquet)")
            state.update(ref=attrs.get("r", "?"), type=attrs.get("t", "n"), formula=False, has_v=False, v=[], f=[])
        elif local == "row":
            scan.rows += 1
        elif local == "f":
            state["formula"], state["in_f"] = True, True
        elif local == "v":
            state["in_v"], state["has_v"] = True, True

    def end(name):
        local = name.rsplit(":", 1)[-1]
        if local == "v":
            state["in_v"] = False
        elif local == "f":
            state["in_f"] = False
        elif local == "c":
            text = "".join(state["v"]).strip()
            if state["formula"] and (not state["has_v"] or (not text and state["type"] != "str")):
                scan.formulas_without_value[state["ref"]] = "".join(state["f"]).strip()[:60] or "(shared formula)"
            elif state["type"] == "n" and text:
                try:
                    ok = math.isfinite(float(text))
                except ValueError:
                    ok = False
                if not ok:
                    scan.bad_numbers.append((state["ref"], text[:40]))

    def chars(data):
        if state["in_v"]:
            state["v"].append(data)
        elif state["in_f"]:
            state["f"].append(data)

    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, chars
    try:
        with zipfile.ZipFile(path) as zf, zf.open(member) as fh:
            while True:
                block = fh.read(1 << 20)
                parser.Parse(block, not block)
                if not block:
                    break
    except xml.parsers.expat.ExpatError as exc:
        raise MappingError(f"{path}, sheet {sheet!r}: the sheet's XML is damaged ({exc}); open and save the workbook "
                           "again, or download it again") from None
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
        raise MappingError(f"{path}, sheet {sheet!r}: the workbook is damaged ({exc}); download it again") from None
    if scan.bad_numbers:
        raise MappingError(f"{path}, sheet {sheet!r}: numeric cell(s) that are not finite numbers: "
                           + format_items(f"cell {r} = {v!r}" for r, v in scan.bad_numbers))
    return scan



#: Prefix of the text put in place of a formula cell without a stored value (see :func:`mark_formulas`).
FORMULA_MARK = "=formula without a stored value: "


def mark_formulas(rows: list[tuple], formulas: dict[str, str]) -> list[tuple]:
    """Put ``FORMULA_MARK + formula`` into the cells (``{"B12": "SUM(B9:B11)"}``) that read as empty."""
    from openpyxl.utils.cell import coordinate_from_string, column_index_from_string

    rows = list(rows)
    for ref, formula in formulas.items():
        try:
            col, row = coordinate_from_string(ref)
        except ValueError:
            continue
        i, j = row - 1, column_index_from_string(col) - 1
        if i >= len(rows) or (j < len(rows[i]) and rows[i][j] is not None):
            continue  # beyond the rows read, or a value is there after all
        cells = list(rows[i]) + [None] * max(0, j + 1 - len(rows[i]))
        cells[j] = FORMULA_MARK + formula
        rows[i] = tuple(cells)
    return rows
