"""Text inputs (CSV/TSV): encoding, delimiter and decimal-separator detection.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from mapping.config import InputFile
from mapping.errors import MappingError
from mapping.ingest.limits import MAX_COLUMNS

_DELIMITERS = (";", "\t", ",")
_SNIFF_LINES = 60


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
        try:
            counts = [len(r) for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=d)]
        except csv.Error:  # e.g. a field over the csv module's limit: not this delimiter
            continue
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        score = (counts.count(mode) / len(counts), mode)
        if score[0] > best_score[0] + 1e-9:
            best, best_score = d, score
    return best


def csv_head(text: str, delimiter: str, path: Path, lines: int = _SNIFF_LINES) -> list[list[str]]:
    """The first ``lines`` lines split into fields; MappingError (naming the line) where they cannot be."""
    reader = csv.reader(io.StringIO("\n".join(text.splitlines()[:lines])), delimiter=delimiter)
    try:
        return [r for r in reader]
    except csv.Error as exc:
        raise MappingError(f"{path}, line {reader.line_num}: not a readable CSV: {exc} (a field longer than "
                           f"{csv.field_size_limit()} characters or broken quoting)") from None


def _text_rows(path: Path, inp: InputFile) -> tuple[list[tuple[int, list[str]]], dict]:
    """Decode and split a text table; returns (line number, fields) pairs and what was detected."""
    text, enc = decode_text(path, inp.encoding)
    delim = sniff_delimiter(text, inp.delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows: list[tuple[int, list[str]]] = []
    try:
        for rec in reader:
            if len(rec) > MAX_COLUMNS:
                raise MappingError(f"{path}, line {reader.line_num}: {len(rec)} fields, over the limit of "
                                   f"{MAX_COLUMNS} columns; not a table this tool reads (check the delimiter)")
            rows.append((reader.line_num, rec))
    except csv.Error as exc:
        raise MappingError(f"{path}, line {reader.line_num}: not a readable CSV: {exc} (a field longer than "
                           f"{csv.field_size_limit()} characters or broken quoting)") from None
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
