"""CSV text of a frame, vectorised: the bytes ``DataFrame.to_csv(index=False, float_format="%.10g")`` writes.

A run's ``location_quotients.csv`` can hold millions of rows of some forty columns. pandas formats
every float with Python's ``%`` operator and every row with the :mod:`csv` module (about a
microsecond a cell); here the same text is made with NumPy and Arrow, chunk by chunk:

* floats: ``%.10g`` built from the value's ten-digit decimal mantissa with integer arithmetic
  (:func:`format_floats`); the rare values whose rounding NumPy cannot decide with certainty (within
  1e-5 of a tie), and those printed with an exponent (outside 1e-4 .. 1e10), go through Python's ``%``;
* integers, booleans and text as pandas writes them (``True``/``False``, empty for missing); text is
  formatted once per distinct value with the :mod:`csv` module itself, so quoting is Python's
  ``QUOTE_MINIMAL``;
* rows are joined by Arrow's CSV writer (no quoting), the quotes, commas and newlines inside quoted
  fields travelling as placeholder control characters that are swapped back in the bytes.

Frames this module does not handle byte for byte (other dtypes, non-text column labels, one column,
text holding the placeholders or a carriage return) are left to pandas by the caller:
:func:`frame_csv` then returns ``None``.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pacompute
import pyarrow.csv as pacsv

__all__ = ["format_floats", "frame_csv", "CHUNK_ROWS"]

#: Rows formatted at a time (bounds the temporaries; each chunk is formatted on one thread).
CHUNK_ROWS = 1 << 16
_U8 = np.uint64(8)
# 10**(14 - j) for j = e + 5 (the decimal exponents e = -5..10 NumPy's log10 may give a fast-path value).
_SCALE = 10.0 ** (14 - np.arange(16))
# ASCII digits of 0..9999 (four) and 0..99 (two), first digit in the lowest byte, as uint64 words.
_D4 = np.frombuffer("".join(f"{i:04d}" for i in range(10000)).encode(), "<u4").astype(np.uint64)
_D2 = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), "<u2").astype(np.uint64)
_TZ4 = np.array([4 - len(f"{i:04d}".rstrip("0")) for i in range(10000)], np.int64)
_TZ2 = np.array([2 - len(f"{i:02d}".rstrip("0")) for i in range(100)], np.int64)
# For the 128-bit (lo, hi) text: bytes below position p (p = 0..16), and "." placed at position p.
_MASK_LO = np.array([(1 << (8 * p)) - 1 if p < 8 else (1 << 64) - 1 for p in range(17)], np.uint64)
_MASK_HI = np.array([0 if p <= 8 else (1 << (8 * (p - 8))) - 1 for p in range(17)], np.uint64)
_DOT_LO = np.array([ord(".") << (8 * p) if p < 8 else 0 for p in range(17)], np.uint64)
_DOT_HI = np.array([ord(".") << (8 * (p - 8)) if 8 <= p < 16 else 0 for p in range(17)], np.uint64)
# "0." and zeros before the digits of 10**e for e = -1..-4: q = 1 - e bytes.
_PREFIX = np.array([int.from_bytes(b"0.000"[:q].ljust(8, b"\0"), "little") for q in range(6)], np.uint64)
# Bytes kept of a 16-byte row of length l (the words are little-endian: the text starts at byte 0).
_KEEP = np.zeros((17, 16), bool)
for _l in range(17):
    _KEEP[_l, :_l] = True
# Placeholders for the structural characters inside quoted text (Arrow's writer refuses them unquoted).
_QUOTE, _COMMA, _NEWLINE = b"\x1c", b"\x1d", b"\x1e"
_PLACEHOLDERS = str.maketrans({'"': _QUOTE.decode(), ",": _COMMA.decode(), "\n": _NEWLINE.decode()})
# Characters the csv module quotes for, and those left to pandas (Arrow refuses a bare CR; placeholders).
_SPECIAL = re.compile(r'[",\n\r]')
_REFUSED = re.compile("[\r\x1c\x1d\x1e]")
_RESTORE = bytes.maketrans(_QUOTE + _COMMA + _NEWLINE, b'",\n')


def _shl(lo: np.ndarray, hi: np.ndarray, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) as one 128-bit number shifted left by ``bits`` (uint64, a multiple of 8 below 64)."""
    return lo << bits, (hi << bits) | (lo >> (np.uint64(64) - bits))  # a shift by 64 gives 0 in NumPy


def format_floats(x: np.ndarray) -> pa.Array:
    """``"%.10g" % v`` of every value, ``""`` for NaN, as an Arrow string array.

    Parameters
    ----------
    x : ndarray
        Values (cast to float64); best in chunks of :data:`CHUNK_ROWS`, which keeps the
        temporaries in cache.

    Returns
    -------
    pyarrow.LargeStringArray
        Byte for byte what pandas writes with ``float_format="%.10g"``.

    Notes
    -----
    A finite value ``v`` with decimal exponent ``e`` (``10**e <= |v| < 10**(e+1)``) is printed
    from ``M = round(|v| * 10**(9 - e))``, its ten significant digits: ``v * 10**(9 - e)`` is
    one correctly rounded product of exact numbers (``10**k`` is exact for ``k <= 22``), at most
    1.1e-6 from the true product, so ``M`` is ``%``'s correctly rounded mantissa unless the
    product lies within 1e-5 of a half. Those, the values ``%g`` prints with an exponent
    (``e < -4`` or ``e >= 10``) and infinities go through Python's ``%``.
    """
    with np.errstate(all="ignore"):  # NaN, infinities and zeros are sorted out below
        return _format_floats(np.ascontiguousarray(x, dtype=np.float64))


def _format_floats(x: np.ndarray) -> pa.Array:
    n = len(x)
    if n == 0:
        return pa.array([], pa.large_string())
    ax = np.abs(x)
    e = np.floor(np.log10(ax))
    fast = (e >= -5) & (e <= 10)  # NaN, infinities and zeros fail here
    e = np.where(fast, e, 0).astype(np.int64)
    y = ax * _SCALE[e + 5]
    off = (y >= 1e10).view(np.int8) - (y < 1e9).view(np.int8)  # log10 is off by one near powers of ten
    if off.any():
        e += off
        fast &= (e >= -5) & (e <= 10)
        e[~fast] = 0
        y = ax * _SCALE[e + 5]
    m = np.rint(y)
    fast &= np.abs(y - m) < 0.5 - 1e-5
    up = m >= 1e10  # rounded up to the next power of ten
    if up.any():
        e += up
        m[up] = 1e9
    fast &= (e >= -4) & (e <= 9)
    m[~fast] = 1e9
    # Ten digits: M = a * 10**8 + b * 10**4 + c (the divisions are exact: M < 2**53).
    a = np.floor(m / 1e8)
    r = m - a * 1e8
    b = np.floor(r / 1e4)
    c = (r - b * 1e4).astype(np.intp)
    a, b = a.astype(np.intp), b.astype(np.intp)
    dc = _D4[c]
    lo = _D2[a] | (_D4[b] << np.uint64(16)) | (dc << np.uint64(48))  # digits 0-7 in bytes 0-7
    hi = dc >> np.uint64(16)  # digits 8-9 in bytes 0-1
    tzc = _TZ4[c]
    nd = 10 - np.where(c != 0, tzc, 4 + np.where(b != 0, _TZ4[b], 4 + _TZ2[a]))  # significant digits
    pos = e >= 0
    lens = np.empty(n, np.int64)
    if pos.any():  # e >= 0: digits 0..e, then "." and the other significant digits if any
        p = e + 1
        p[~pos] = 1
        keep_lo, keep_hi = lo & _MASK_LO[p], hi & _MASK_HI[p]
        rest_lo, rest_hi = lo ^ keep_lo, hi ^ keep_hi
        out_lo = keep_lo | _DOT_LO[p] | (rest_lo << _U8)
        out_hi = keep_hi | _DOT_HI[p] | (rest_hi << _U8) | (rest_lo >> np.uint64(56))
        np.copyto(lens, np.where(nd > p, nd + 1, p))
    else:
        out_lo, out_hi = lo, hi
    if not pos.all():  # e < 0: "0." and -e-1 zeros, then the significant digits
        neg_e = ~pos
        q = np.clip(1 - e, 0, 5)
        b_lo, b_hi = _shl(lo, hi, (q * 8).astype(np.uint64))
        b_lo |= _PREFIX[q]
        out_lo = np.where(neg_e, b_lo, out_lo)
        out_hi = np.where(neg_e, b_hi, out_hi)
        np.copyto(lens, q + nd, where=neg_e)
    zero = ax == 0
    if zero.any():  # "0" (with "-" below for -0.0)
        out_lo[zero], out_hi[zero], lens[zero] = ord("0"), 0, 1
        fast |= zero
    neg = np.signbit(x) & fast
    if neg.any():  # one byte right for "-"
        out_hi = np.where(neg, (out_hi << _U8) | (out_lo >> np.uint64(56)), out_hi)
        out_lo = np.where(neg, (out_lo << _U8) | np.uint64(ord("-")), out_lo)
        lens += neg
    words = np.empty((n, 2), "<u8")
    words[:, 0], words[:, 1] = out_lo, out_hi
    slow = ~fast
    lens[slow] = 0
    arr = _strings(words.view(np.uint8).reshape(n, 16), lens)
    slow &= ~np.isnan(x)
    if slow.any():  # exponents, infinities and near-ties: Python's own %
        import pyarrow.compute as pc

        arr = pc.replace_with_mask(arr, pa.array(slow), pa.array(["%.10g" % v for v in x[slow]], pa.large_string()))
    return arr


def _strings(chars: np.ndarray, lens: np.ndarray) -> pa.Array:
    """Arrow strings of the first ``lens[i]`` bytes of each row of ``chars``."""
    keep = _KEEP[lens] if chars.shape[1] == 16 else np.arange(chars.shape[1]) < lens[:, None]
    offsets = np.zeros(len(lens) + 1, np.int64)
    np.cumsum(lens, out=offsets[1:])
    data = chars[keep]
    return pa.LargeStringArray.from_buffers(len(lens), pa.py_buffer(offsets), pa.py_buffer(data))


def _integers(v: np.ndarray) -> pa.Array:
    """``str(v)`` of integers, as pandas writes them (no float format)."""
    return pa.array(v).cast(pa.large_string())


def _csv_field(writer, buf: io.StringIO, v) -> str:
    """The text the :mod:`csv` module writes for ``v`` (quoted as ``QUOTE_MINIMAL`` needs)."""
    buf.seek(0)
    buf.truncate()
    writer.writerow((v, ""))  # a second field: a lone empty field would be written as '""'
    return buf.getvalue()[:-2]


class _Unsupported(Exception):
    """The frame is left to pandas."""


def _text_plan(col: pd.Series, transform: Callable | None):
    """Per-value text of a non-numeric column: (codes, Arrow strings of the distinct values + "" for missing)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    values = col.array
    if col.dtype != object or pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty"):
        # strings, or booleans and integers of an extension dtype: equal values print the same
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        objects = np.asarray(uniques, dtype=object).tolist()
    else:  # mixed objects (1 == 1.0 == True print differently): one by one
        objects = np.asarray(values, dtype=object).tolist()
        codes = np.arange(len(objects), dtype=np.intp)
        codes[np.asarray(pd.isna(values), dtype=bool)] = -1
    texts, quoted = [], False
    for v in objects:
        if isinstance(v, str):
            if transform is not None:
                v = transform(v)
            if not _SPECIAL.search(v):  # plain text is written as it is
                texts.append(v)
                continue
        t = _csv_field(writer, buf, v)
        if t.startswith('"'):
            quoted = True
        texts.append(t)
    if _REFUSED.search("".join(texts)):
        raise _Unsupported("a carriage return or a placeholder character in the text")
    if quoted:
        texts = [t.translate(_PLACEHOLDERS) if t.startswith('"') else t for t in texts]
    strings = pa.array(texts + [""], pa.large_string())  # the last: missing values
    codes = np.asarray(codes, dtype=np.int64)
    codes[codes < 0] = len(texts)
    return codes, strings, quoted


#: Text the csv module quotes or this module refuses (RE2, as :data:`_SPECIAL` and :data:`_REFUSED`).
_NOT_AS_IS = '[",\n\r\x1c\x1d\x1e]'


def _as_is(col: pd.Series, changes: str | None) -> pa.Array | None:
    """An Arrow text column written as it is ("" for missing), or None when a value needs quoting or the
    caller's transform (some value matches ``changes``): checked by Arrow over the whole column at once."""
    arr = pa.array(col.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    pattern = _NOT_AS_IS if changes is None else f"{_NOT_AS_IS}|{changes}"
    if not pa.types.is_large_string(arr.type) and not pa.types.is_string(arr.type):
        return None
    if pacompute.any(pacompute.match_substring_regex(arr, pattern)).as_py():
        return None
    return arr.fill_null("").cast(pa.large_string())


def _plan(col: pd.Series, transform: Callable | None, changes: str | None = None):
    """How to format one column chunk by chunk: a function of (start, stop) -> Arrow strings."""
    dtype = col.dtype
    if getattr(dtype, "storage", None) == "pyarrow" and pd.api.types.is_string_dtype(dtype) \
            and (transform is None or changes is not None):
        # Arrow-backed text without anything to quote or transform (codes, names): no per-value work.
        arr = _as_is(col, changes)
        if arr is not None:
            return lambda a, b: arr.slice(a, b - a)
    if isinstance(dtype, np.dtype) and dtype.kind == "f" or (
            isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind == "f"
            and not isinstance(dtype, (pd.SparseDtype, pd.CategoricalDtype))):
        v = col.to_numpy(dtype=np.float64, na_value=np.nan)
        return lambda a, b: format_floats(v[a:b])
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        v = col.to_numpy()
        return lambda a, b: _integers(v[a:b])
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        v = col.to_numpy().view(np.int8)
        words = pa.array(["False", "True"], pa.large_string())
        return lambda a, b: words.take(v[a:b])
    if dtype == object or pd.api.types.is_string_dtype(dtype) or isinstance(dtype, (pd.BooleanDtype,)) or (
            isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "iu"
            and not isinstance(dtype, (pd.SparseDtype, pd.CategoricalDtype))):
        text = dtype == object or pd.api.types.is_string_dtype(dtype)
        codes, strings, placeholders = _text_plan(col, transform if text else None)

        def take(a: int, b: int) -> pa.Array:
            return strings.take(codes[a:b])

        take.placeholders = placeholders  # quoted text: the chunk's bytes are translated back
        return take
    raise _Unsupported(str(dtype))


def _chunk(plans, a: int, b: int) -> bytes:
    table = pa.table({str(i): p(a, b) for i, p in enumerate(plans)})
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="none",
                                                     batch_size=max(b - a, 1)))
    out = sink.getvalue().to_pybytes()
    return out.translate(_RESTORE) if any(getattr(p, "placeholders", False) for p in plans) else out


def _chunks(plans, n: int, workers: int) -> Iterator[bytes]:
    """The CSV bytes of rows [0, n), chunk by chunk in order (formatted on ``workers`` threads)."""
    starts = range(0, n, CHUNK_ROWS)
    if workers <= 1 or len(starts) <= 1:
        for a in starts:
            yield _chunk(plans, a, min(a + CHUNK_ROWS, n))
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = []
        for a in starts:
            pending.append(pool.submit(_chunk, plans, a, min(a + CHUNK_ROWS, n)))
            if len(pending) > workers:  # bounded read-ahead keeps memory flat
                yield pending.pop(0).result()
        for f in pending:
            yield f.result()


def frame_csv(df: pd.DataFrame, path, *, transform: Callable[[str], str] | None = None,
              transform_labels: Callable[[str], str] | None = None, workers: int | None = None,
              hasher=None, transform_changes: str | None = None) -> int | None:
    """Write ``df`` as ``df.to_csv(path, index=False, float_format="%.10g")`` would, only faster.

    Parameters
    ----------
    df : DataFrame
        Columns of float, integer, boolean, text (object or string dtype) or nullable boolean and
        integer dtypes, labelled by text; at least two columns.
    path : path-like
        The file written (UTF-8, ``\\n`` line ends).
    transform : callable, optional
        Applied to every text value of the object and string columns before quoting (the
        caller's formula neutralisation).
    transform_labels : callable, optional
        Applied to the column labels when the frame has an object or string column.
    workers : int, optional
        Threads formatting chunks (default: the CPUs, at most 2).
    hasher : hashlib object, optional
        Updated with every byte written (the file's digest without reading it again).
    transform_changes : str, optional
        A regular expression (RE2) matching every text ``transform`` changes: an Arrow-backed text
        column without a match (and nothing to quote) is then written without calling ``transform``.

    Returns
    -------
    int or None
        Rows written, or ``None`` (nothing written) when the frame holds what only pandas writes
        byte for byte: another dtype, a column label that is not text, a single column, text
        holding a carriage return or the placeholder characters.
    """
    if df.shape[1] < 2 or not all(isinstance(c, str) for c in df.columns) or isinstance(df.columns, pd.MultiIndex):
        return None
    try:
        plans = [_plan(df.iloc[:, j], transform, transform_changes) for j in range(df.shape[1])]
    except _Unsupported:
        return None
    labels = list(df.columns)
    if transform_labels is not None and any(dt == object or pd.api.types.is_string_dtype(dt) for dt in df.dtypes):
        labels = [transform_labels(c) for c in labels]
    head = io.StringIO()
    csv.writer(head, lineterminator="\n").writerow(labels)
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    with open(path, "wb") as f:
        for block in itertools.chain([head.getvalue().encode("utf-8")], _chunks(plans, len(df), workers)):
            f.write(block)
            if hasher is not None:
                hasher.update(block)  # releases the GIL: overlaps the formatting threads
    return len(df)
