"""Vectorised building blocks for the long tables of the analysis: group codes, long to wide, text.

The LQ table of a large country has millions of rows (3,000 regions x 1,000 activities x indicators x
years) whose keys are text. Python loops over such rows (``zip`` over text columns, ``.apply``, f-strings
per row) and pandas operations keyed on several text columns (``pivot_table``, merges) cost seconds
each; the same work on integer codes takes milliseconds. The functions here give the results of
those operations exactly (same order, same values, same text) without them:

- :func:`group_codes` (:class:`KeyCodes` for several key sets of one frame) -- one integer per row for
  the key columns, numbered in the order of ``groupby(keys, sort=True)`` (or of first appearance), with
  the unique keys; each text column is factorised once (:func:`factorize_sorted`);
- :func:`rows` -- a row filter that shares the columns when it keeps every row;
- :func:`lookup` -- the position of each row's key among another table's keys (a left merge's
  row match without the merge);
- :func:`wide_first` -- long to wide (``pivot_table(..., aggfunc="first")``) on those codes;
- :func:`fixed_text` -- ``f"{v:.3f}"`` for a whole float array, :func:`join_text` to join text pieces
  per row, :func:`take_text` to spread a few strings over millions of rows by position.
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["KeyCodes", "factorize_sorted", "rows", "group_codes", "lookup", "wide_first", "fixed_text", "join_text",
           "text_codes", "take_text", "to_str_series"]


def _combine(codes: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """One int64 code per row from per-column codes (lexicographic: the first column varies slowest)."""
    out = codes[0].astype(np.int64)
    size = sizes[0]
    for c, n in zip(codes[1:], sizes[1:]):
        if size * max(n, 1) >= 2**62:  # keep the product in range: renumber what is present so far
            out, uniq = pd.factorize(out, sort=True)
            out, size = out.astype(np.int64), len(uniq)
        out = out * max(n, 1) + c
        size *= max(n, 1)
    return out


#: Factorisations of Arrow text columns by the identity of their immutable data (weakly held): the frames of
#: the analysis share their key columns, so each is factorised once however many steps group on it.
_FACTORISED: dict[int, tuple] = {}
_FACTORISED_MAX = 16


def factorize_sorted(s: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(s, sort=True, use_na_sentinel=False)`` (codes as int64), remembered for Arrow text columns."""
    data = getattr(s.array, "_pa_array", None)
    if data is not None:
        hit = _FACTORISED.get(id(data))
        if hit is not None and hit[0]() is data:
            return hit[1], hit[2]
    c, u = pd.factorize(s, sort=True, use_na_sentinel=False)
    c = np.asarray(c, dtype=np.int64)
    u = pd.Index(u)
    if data is not None:
        c.flags.writeable = False  # shared by every caller of the same column
        if len(_FACTORISED) >= _FACTORISED_MAX:
            _FACTORISED.pop(next(iter(_FACTORISED)))
        key = id(data)
        _FACTORISED[key] = (weakref.ref(data, lambda _, k=key: _FACTORISED.pop(k, None)), c, u)
    return c, u


def rows(frame: pd.DataFrame, mask, columns: list[str] | None = None) -> pd.DataFrame:
    """``frame.loc[mask, columns]`` that shares the columns' data when every row is kept (no copy of millions
    of rows, and the columns keep their remembered factorisations)."""
    mask = np.asarray(mask, dtype=bool)
    cols = list(frame.columns) if columns is None else columns
    if mask.all():
        return frame[cols]
    return frame.loc[mask, cols]


class KeyCodes:
    """Integer codes of a frame's key columns, each column factorised once (sorted), for grouping the same
    rows on several sets of keys (:meth:`codes`)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._columns: dict[str, tuple[np.ndarray, int]] = {}

    def column(self, key: str) -> tuple[np.ndarray, int]:
        """Codes of one column in the sorted order of its values (a missing value is a value of its own)."""
        if key not in self._columns:
            c, u = factorize_sorted(self.frame[key])
            self._columns[key] = (c, len(u))
        return self._columns[key]

    def codes(self, keys: list[str], *, sort: bool = True) -> tuple[np.ndarray, pd.DataFrame]:
        """See :func:`group_codes`."""
        frame = self.frame
        if not keys:
            return np.zeros(len(frame), np.int64), pd.DataFrame(index=range(1 if len(frame) else 0))
        per = [self.column(k) for k in keys]
        combined = _combine([c for c, _ in per], [n for _, n in per])
        if sort:
            _, first, codes = np.unique(combined, return_index=True, return_inverse=True)
        else:
            codes, uniq = pd.factorize(combined, sort=False)
            first = np.full(len(uniq), len(combined), np.int64)
            np.minimum.at(first, codes, np.arange(len(combined)))
        codes = np.asarray(codes, dtype=np.int64).reshape(-1)
        if len(first) == len(frame) and (first == np.arange(len(first))).all():  # every row its own group, in order
            uniques = pd.DataFrame({k: frame[k].reset_index(drop=True) for k in keys})
        else:
            uniques = pd.DataFrame({k: frame[k].iloc[first].reset_index(drop=True) for k in keys})
        return codes, uniques


def group_codes(frame: pd.DataFrame, keys: list[str], *, sort: bool = True) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer group codes of ``frame``'s rows for the columns ``keys``, and the unique keys.

    Parameters
    ----------
    frame : DataFrame
    keys : list of str
        Key columns; a missing value is a key of its own (``groupby(..., dropna=False)``).
    sort : bool
        Number the groups in the sorted order of their keys (as ``groupby(keys, sort=True)``), or in
        the order each first appears.

    Returns
    -------
    codes : ndarray of int64
        Group of each row, ``0 .. len(uniques) - 1``.
    uniques : DataFrame
        One row per group (RangeIndex), the key columns with their original dtypes; row ``i`` is group ``i``.
    """
    return KeyCodes(frame).codes(keys, sort=sort)


def lookup(left: pd.DataFrame, right: pd.DataFrame, keys: list[str], left_on: list[str] | None = None
           ) -> np.ndarray:
    """For each row of ``left``, the position of the first row of ``right`` with the same key (-1 if none).

    ``left_on`` names the key columns in ``left`` when they differ from ``keys`` (matched in order).
    Missing values match missing values, as in a pandas merge.
    """
    left_on = left_on or keys
    if not len(right):
        return np.full(len(left), -1, np.int64)
    per_l, per_r, sizes = [], [], []
    for k, lk in zip(keys, left_on):
        # The right side coded by the left side's distinct values: a key absent from the left matches nothing.
        cl, uniques = factorize_sorted(left[lk])
        per_l.append(cl)
        per_r.append(uniques.get_indexer(right[k]))
        sizes.append(len(uniques))
    known = np.logical_and.reduce([c >= 0 for c in per_r])
    cl = _combine(per_l, sizes)
    cr = _combine([np.maximum(c, 0) for c in per_r], sizes)[known]
    right_rows = np.flatnonzero(known)
    if not len(cr):
        return np.full(len(left), -1, np.int64)
    # First occurrence in ``right`` of each key.
    ru, rfirst = np.unique(cr, return_index=True)
    pos = np.clip(np.searchsorted(ru, cl), 0, len(ru) - 1)
    found = ru[pos] == cl
    return np.where(found, right_rows[rfirst[pos]], -1).astype(np.int64)


def wide_first(row: np.ndarray, n_rows: int, col: np.ndarray, n_cols: int, values: np.ndarray, *,
               fill=np.nan, dtype=float, valid: np.ndarray | None = None, unique: bool | None = None) -> np.ndarray:
    """``pivot_table(aggfunc="first")`` on codes: the first non-missing value of each (row, column).

    Parameters
    ----------
    row, col : ndarray of int
        Row and column code of each long row.
    values : ndarray
        The long values; missing ones (NaN, None) are skipped as ``first`` skips them.
    fill
        Value of the cells no long row fills.
    valid : ndarray of bool, optional
        The values that are present (default: those that are not NaN or None).
    unique : bool, optional
        Whether no two long rows share a (row, column) cell, when the caller knows (else it is checked).

    Returns
    -------
    ndarray, shape (n_rows, n_cols)
    """
    out = np.full((n_rows, n_cols), fill, dtype=dtype)
    valid = ~pd.isna(values) if valid is None else valid
    r, c, v = row[valid], col[valid], values[valid]
    cell = r * n_cols + c
    if unique is None:
        unique = not (len(cell) and np.bincount(cell, minlength=n_rows * n_cols).max() > 1)
    if not unique:
        _, first = np.unique(cell, return_index=True)  # several long rows per cell: keep the first
        r, c, v = r[first], c[first], v[first]
    out[r, c] = v
    return out


def fixed_text(x: np.ndarray, decimals: int = 3) -> pa.Array:
    """``f"{v:.{decimals}f}"`` of every value (null where ``v`` is NaN), as an Arrow string array.

    Non-negative values below ``2**50 / 10**decimals`` are rounded in NumPy: ``rint(v * 10**decimals)``
    is the correctly rounded digit string whenever the product is not within a few units in the last
    place of a half (the product's own rounding error cannot move it across the half); those, the
    negatives, the very large and the infinite values go through Python's own formatting.
    """
    x = np.asarray(x, dtype=float)
    scale = 10 ** decimals
    with np.errstate(invalid="ignore", over="ignore"):
        s = x * scale
        frac = s - np.floor(s)
        fast = (x >= 0) & ~np.signbit(x) & (s < 2.0 ** 50) & (np.abs(frac - 0.5) > 8 * np.spacing(s) + 1e-300)
    fast &= np.isfinite(x)
    r = np.where(fast, np.rint(np.where(fast, s, 0.0)), 0).astype(np.int64)
    ip = pc.cast(pa.array(r // scale), pa.string())
    fp = pc.utf8_lpad(pc.cast(pa.array(r % scale), pa.string()), decimals, "0")
    text = pc.binary_join_element_wise(ip, fp, ".") if decimals else ip
    slow = np.flatnonzero(~fast & ~np.isnan(x))
    if len(slow):
        fmt = "{:." + str(decimals) + "f}"
        patch = pa.array([fmt.format(float(v)) for v in x[slow]], pa.string())
        mask = np.zeros(len(x), bool)
        mask[slow] = True
        text = pc.replace_with_mask(text, pa.array(mask), patch)
    return pc.if_else(pa.array(np.isnan(x)), pa.scalar(None, pa.string()), text)


def join_text(pieces: list[pa.Array], sep: str) -> pa.Array:
    """Join text pieces per row with ``sep``, leaving out the null pieces (no separator for them).

    ``";".join(p for p in row if p is not None)`` for every row, without a Python loop.
    """
    if not pieces:
        return pa.array([], pa.string())
    n = len(pieces[0])
    if not n:
        return pa.array([], pa.string())
    # Each present piece carries its separator and the one after the last piece is cut. (Arrow's own
    # null_handling="skip" drops rows whose pieces are all null, so it is not used.)
    with_sep = [pc.fill_null(pc.binary_join_element_wise(p, pa.scalar(sep), ""), "") for p in pieces]
    joined = pc.binary_join_element_wise(*with_sep, "") if len(with_sep) > 1 else with_sep[0]
    return pc.utf8_slice_codeunits(joined, 0, -len(sep)) if sep else joined


def text_codes(s: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """Integer codes of a text column (-1 where missing) and its distinct values as an Arrow array."""
    codes, uniques = pd.factorize(s)
    return codes, pa.array(np.asarray(uniques, dtype=object), pa.string())


def take_text(values: pa.Array, codes: np.ndarray, missing: str | None = "") -> pa.Array:
    """``values[codes]`` as Arrow text; code -1 gives ``missing`` (None: null)."""
    vals = pa.concat_arrays([values, pa.array([missing], pa.string())])
    return vals.take(pa.array(np.where(codes >= 0, codes, len(values))))


_TEXT_DTYPE = pd.Series(["a"]).dtype  # what pandas infers for Python text: "str" (pandas 3) or object


def to_str_series(text: pa.Array, index=None) -> pd.Series:
    """An Arrow string array as a pandas Series of the dtype pandas infers for Python text."""
    if _TEXT_DTYPE == object:
        return pd.Series(text.to_numpy(zero_copy_only=False), index=index, dtype=object)
    return pd.Series(pd.array(text, dtype=_TEXT_DTYPE), index=index)
