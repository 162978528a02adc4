"""Read tidy input tables, validate them at the boundary and account for every row.

The tidy schema is documented in ``data/README.md`` and defined in :mod:`mapping.schema`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from mapping.errors import MappingError, format_items
from mapping.hashing import sha256_file
from mapping.ingest.layouts.common import _guard
from mapping.ledger import FileLedger
from mapping.schema import TIDY_COLUMNS, TIDY_OPTIONAL_COLUMNS, TIDY_SCHEMA

__all__ = ["read_tidy", "validate_tidy", "select_units", "MAX_INPUT_BYTES"]

#: Files larger than this are refused before they are loaded (bytes).
MAX_INPUT_BYTES = 2 * 1024**3
_KEY = ["year", "region_code", "activity_code", "classification", "level", "indicator"]


def read_tidy(path: str | Path, *, max_bytes: int = MAX_INPUT_BYTES) -> tuple[pd.DataFrame, FileLedger]:
    """Read and validate a tidy long table (CSV or Parquet).

    Parameters
    ----------
    path : str or Path
        CSV (UTF-8, comma) or Parquet with the columns of :data:`mapping.schema.TIDY_COLUMNS`.
    max_bytes : int
        Files larger than this are refused before reading.

    Returns
    -------
    frame : DataFrame
        One row per input row, columns ``TIDY_COLUMNS`` plus ``source_row`` (1-based line in a
        CSV including the header, or row number in Parquet).
    ledger : FileLedger
        ``rows_read`` filled; the caller records what is used and dropped.

    Raises
    ------
    MappingError
        Missing file, empty file, missing columns, wrong types, negative values, unknown flags
        or duplicate keys; the message names the file, row, column and value.
    """
    path = Path(path)
    _guard(path, max_bytes)  # missing, empty or too large: refused before reading
    if path.suffix.lower() == ".parquet":
        df = pd.read_parquet(path)
        first_row = 1
    else:
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise MappingError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
        except pd.errors.ParserError as exc:
            raise MappingError(f"{path}: not a readable CSV: {exc}") from None
        first_row = 2  # line 1 is the header
    df = validate_tidy(df, path, first_row=first_row)
    ledger = FileLedger(file=str(path), sha256=sha256_file(path), rows_read=len(df), format="tidy")
    ledger.cells_suppressed = int(df["flag"].eq("suppressed").sum())
    return df, ledger


def validate_tidy(df: pd.DataFrame, path: str | Path, *, first_row: int = 2) -> pd.DataFrame:
    """Check a frame against the tidy schema (columns, types, flags, bounds, duplicate keys, units).

    ``source_row`` is kept when the frame has it (readers of other layouts set it to the source line),
    else numbered from ``first_row``. Returns the validated frame (``TIDY_COLUMNS``, the optional
    bound columns present, ``source_row``); raises :class:`MappingError` naming row, column and value.
    """
    path = Path(path)
    missing = [c for c in TIDY_COLUMNS if c not in df.columns]
    if missing:
        raise MappingError(f"{path}: missing column(s) {missing}; the tidy schema needs {TIDY_COLUMNS} "
                           f"(found {list(df.columns)})")
    if df.empty:
        raise MappingError(f"{path}: no data rows")
    optional = [c for c in TIDY_OPTIONAL_COLUMNS if c in df.columns]
    rows = df["source_row"].to_numpy() if "source_row" in df.columns else range(first_row, first_row + len(df))
    df = df[TIDY_COLUMNS + optional].copy()
    df["source_row"] = rows
    for col in ("region_code", "activity_code", "classification", "level", "indicator", "unit", "flag", "source"):
        df[col] = df[col].astype(str).str.strip()
    for col in ["value"] + optional:
        df[col] = df[col].replace({"": None})
    if not _passes_schema(df, optional):  # else every check holds and no column needs coercing
        try:
            df = TIDY_SCHEMA.validate(df, lazy=True)
        except pa.errors.SchemaErrors as exc:
            raise MappingError(_schema_message(path, df, exc.failure_cases)) from None
    df["year"] = df["year"].astype(int)
    for col in ["value"] + optional:
        df[col] = df[col].astype(float)
    for lo, hi, what in (("value_low", "value", "value_low above value"), ("value", "value_high", "value above value_high"),
                         ("value_low", "value_high", "value_low above value_high")):
        if lo in df and hi in df:
            bad = df[lo] > df[hi]
            if bad.any():
                rows = [f"row {r}: {a} > {b}" for r, a, b in df.loc[bad, ["source_row", lo, hi]].itertuples(index=False)]
                raise MappingError(f"{path}: {what}: " + format_items(rows))
    bad_supp = df["flag"].isin(["suppressed", "range"]) & df["value"].notna()
    if bad_supp.any():
        rows = [f"row {r}: value {v}" for r, v in df.loc[bad_supp, ["source_row", "value"]].itertuples(index=False)]
        raise MappingError(f"{path}: flag 'suppressed' or 'range' with a value (such cells must be empty; "
                           "put known bounds in value_low/value_high): "
                           + format_items(rows))
    dup = df.duplicated(_KEY, keep=False)
    if dup.any():
        d = df.loc[dup].sort_values(_KEY)
        rows = [f"row {r.source_row}: {r.region_code} x {r.activity_code} x {r.indicator} x {r.year}"
                for r in d.itertuples()]
        raise MappingError(f"{path}: duplicate year x region x activity x indicator rows: " + format_items(rows))
    _check_magnitudes(df, path)
    units = df.groupby("indicator")["unit"].unique()
    conflict = units[units.map(len) > 1]
    if not conflict.empty:
        raise MappingError(f"{path}: unit conflict: " + format_items(
            f"indicator '{i}' has units {sorted(u)}" for i, u in conflict.items()))
    return df.reset_index(drop=True)


_TEXT_DTYPE = pd.Series(["a"]).astype(str).dtype  # what ``astype(str)`` gives text columns


def _passes_schema(df: pd.DataFrame, optional: list[str]) -> bool:
    """Whether :data:`mapping.schema.TIDY_SCHEMA` would accept ``df`` unchanged, checked on each column's
    distinct values (pandera runs its checks on millions of rows one column at a time).

    True only when every column already has the schema's type (nothing to coerce) and every check holds;
    anything else (including a value that would fail) is left to pandera, which names the failures.
    """
    import re

    import numpy as np

    from mapping.schema import FLAGS, LEVELS

    text = ["region_code", "activity_code", "classification", "level", "indicator", "unit", "flag", "source"]
    if df["year"].dtype != np.int64 or any(df[c].dtype != np.float64 for c in ["value"] + optional):
        return False
    if any(df[c].dtype != _TEXT_DTYPE for c in text):
        return False
    year = df["year"].to_numpy()
    if len(year) and (year.min() < 1900 or year.max() > 2100):
        return False
    for c in ["value"] + optional:
        v = df[c].to_numpy()
        if (v < 0).any():  # NaN compares False: missing values are allowed
            return False
    distinct = {}
    for c in text:
        u = df[c].unique()
        if pd.isna(u).any():
            return False
        distinct[c] = [str(x) for x in u]
    if any(not x for c in ("region_code", "activity_code", "unit") for x in distinct[c]):
        return False
    patterns = {"classification": r"^[A-Z][A-Z0-9]*$", "indicator": r"^[a-z][a-z0-9_]*$"}
    if any(not re.match(p, x) for c, p in patterns.items() for x in distinct[c]):
        return False
    return set(distinct["level"]) <= set(LEVELS) and set(distinct["flag"]) <= set(FLAGS)


#: Largest value or indicator-year sum accepted: far above any published figure (world GDP is about 1e14 USD,
#: 1e17 RUB), and far below where sums and the products in the location quotient overflow (about 1e308).
MAX_PLAUSIBLE = 1e100


def _check_magnitudes(df: pd.DataFrame, path: Path) -> None:
    """Refuse non-finite values and values whose sums would overflow, naming the rows."""
    import numpy as np

    for col in [c for c in ("value", "value_low", "value_high") if c in df.columns]:
        v = df[col].to_numpy(dtype=float)
        bad = np.isinf(v) | (np.abs(np.nan_to_num(v)) > MAX_PLAUSIBLE)
        if bad.any():
            rows = [f"row {r}: {float(x):g}" for r, x in zip(df.loc[bad, "source_row"], v[bad])]
            raise MappingError(f"{path}: column '{col}': implausible value(s), not finite or above {MAX_PLAUSIBLE:g} "
                               "(sums of them would overflow): " + format_items(rows))
    with np.errstate(over="ignore"):
        sums = df.groupby(["indicator", "year"])["value"].sum()
    over = sums[~np.isfinite(sums) | (sums.abs() > MAX_PLAUSIBLE)]
    if not over.empty:
        ind, year = over.index[0]
        g = df.loc[(df["indicator"] == ind) & (df["year"] == year)]
        top = g.nlargest(3, "value")
        raise MappingError(f"{path}: indicator '{ind}' in {year}: the values sum to {over.iloc[0]:g}, beyond "
                           f"{MAX_PLAUSIBLE:g}; largest: " + format_items(
                               f"row {r}: {float(v):g}" for r, v in zip(top["source_row"], top["value"])))


def _schema_message(path: Path, df: pd.DataFrame, cases: pd.DataFrame) -> str:
    items = []
    for case in cases.itertuples():
        idx = case.index
        row = df["source_row"].iloc[int(idx)] if idx is not None and pd.notna(idx) else "?"
        what = {"greater_than_or_equal_to(0)": "expected >= 0"}.get(str(case.check), f"failed {case.check}")
        items.append(f"row {row}, column '{case.column}': {what}, got {case.failure_case!r}")
    return f"{path}: invalid values: " + format_items(items)


def map_distinct(s: pd.Series, mapper) -> pd.Series:
    """``s.map(mapper)`` through the distinct values of ``s`` (millions of rows, a few thousand codes)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    return pd.Series(uniques).map(mapper).take(codes).set_axis(s.index)


def select_units(frame: pd.DataFrame, registry: pd.DataFrame, ledger_by_file: dict[str, FileLedger], *,
                 nested: str = "parts", source_label: str = "input") -> pd.DataFrame:
    """Keep one non-overlapping set of territorial units and account for the rows dropped.

    Parameters
    ----------
    frame : DataFrame
        Tidy rows from :func:`read_tidy`, with a ``file`` column naming the input.
    registry : DataFrame
        Region registry (``geodata/regions.csv``): ``region_code``, ``kind``, ``parent_code``.
    ledger_by_file : dict
        Ledgers updated in place with used and dropped rows.
    nested : {"parts", "parents"}
        Keep the nested okrugs and "without the okrugs" remainders ("parts") or their parents.

    Returns
    -------
    DataFrame
        Rows of the kept units, activity rows and ``level == "total"`` context rows.

    Raises
    ------
    MappingError
        A region code is not in the registry (listing each one and the closest codes).
    """
    from mapping.ingest.suggest import region_suggestions

    known = set(registry["region_code"])
    unknown = sorted(set(frame["region_code"].unique()) - known)
    if unknown:
        items = []
        for code in unknown:
            rows = frame.loc[frame["region_code"] == code]
            where = f"{rows['file'].iloc[0]} row {rows['source_row'].iloc[0]}"
            close = region_suggestions(code, registry) if len(items) < 5 else []
            items.append(f"'{code}' ({where}; closest: {', '.join(close) or 'none'})")
        raise MappingError(f"unknown region code(s) in {source_label}: " + format_items(items))
    kind = registry.set_index("region_code")["kind"]
    parent = registry.set_index("region_code")["parent_code"].fillna("")
    has_children = set(parent[parent != ""].unique())
    k = map_distinct(frame["region_code"], kind)
    parent_of = map_distinct(frame["region_code"], parent)
    aggregate = k.isin(["country", "federal_district"])
    if nested == "parts":
        # A parent is replaced by its parts only where the parts are in the data for that indicator-year.
        key = ["year", "indicator", "level"]
        # Only rows of units with parts in the registry can be replaced: the others need no match.
        cand = frame["region_code"].isin(has_children)
        overlap = pd.Series(False, index=frame.index)
        if cand.any():
            present = frame.loc[parent_of.ne(""), key + ["region_code"]].copy()
            present["parent"] = present["region_code"].map(parent)
            present = present[key + ["parent"]].drop_duplicates()
            merged = frame.loc[cand, key + ["region_code"]].merge(present, how="left", left_on=key + ["region_code"],
                                                                  right_on=key + ["parent"], indicator=True)
            overlap[cand] = merged["_merge"].to_numpy() == "both"
        reason = "nested: parent unit replaced by its parts (nested_units = parts)"
    else:
        overlap = parent_of.ne("")
        reason = "nested: part of a parent unit kept whole (nested_units = parents)"
    keep = ~aggregate & ~overlap
    for f, ledger in ledger_by_file.items():
        in_file = frame["file"] == f
        ledger.drop("aggregate unit (country or federal district): used only as a check", int((in_file & aggregate).sum()))
        ledger.drop(reason, int((in_file & overlap & ~aggregate).sum()))
        ledger.rows_used += int((in_file & keep).sum())
        ledger.rows_context += int((in_file & keep & frame["level"].eq("total")).sum())
    return frame.loc[keep].reset_index(drop=True)
