"""Establishment-level records (firms) aggregated to region x activity, and municipal units as regions.

A firm file has one row per establishment: a region or municipality code, its OKVED2 code (class
``DD.DD`` or finer), employees, revenue and exports, optionally a year; CSV or Parquet, any size.
:func:`aggregate_firms` streams it through DuckDB (one ``GROUP BY`` over the file, bounded memory;
the file is never loaded into Python) and rolls the result up to any OKVED2 level -- section,
division (``DD``), group (``DD.D``) or class (``DD.DD``). :func:`read_firms` turns that into the
pipeline's tidy rows (``format = "firms"`` in the config): ``employment`` (persons), ``revenue`` and
``exports`` (the input's ``unit``, default thousand RUB) and ``establishments`` (count of records).

:func:`municipal_geodata` makes municipal units usable as the analysis units when their boundaries
are supplied: it writes a region registry and a boundary GeoPackage holding the bundled regions plus
the municipal units as parts of their region, so the same code paths (nested units, neighbours,
supported clusters expanded to their municipal parts) apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mapping.errors import MappingError, format_items

__all__ = ["FIRM_ROLES", "OKVED2_LEVELS", "FirmAggregate", "aggregate_firms", "read_firms", "municipal_geodata"]

#: Column roles of a firm file -> default column names tried in order (``InputFile.columns`` overrides).
FIRM_ROLES = {"region_code": ("region_code", "municipality_code", "oktmo"),
              "okved2": ("okved2", "okved", "activity_code"),
              "employees": ("employees",), "revenue": ("revenue",), "exports": ("exports",),
              "year": ("year",)}
#: OKVED2 levels and the length of their code prefix (section: via the division's parent).
OKVED2_LEVELS = {"section": 2, "division": 2, "group": 4, "class": 5}
_CODE = re.compile(r"^\d{2}(\.\d{1,2}(\.\d{1,2})?)?$")
_MEASURES = {"employees": ("employment", "persons"), "revenue": ("revenue", None), "exports": ("exports", None)}


@dataclass
class FirmAggregate:
    """Region x activity sums of a firm file and the record accounting."""

    table: pd.DataFrame  # year, region_code, activity_code, establishments, employees, revenue, exports (+ n_*)
    records: int
    dropped: dict[str, int] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)


def _sql_str(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _describe(con, expr: str, path: Path) -> dict[str, str]:
    try:
        return {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {expr}").fetchall()}
    except Exception as exc:  # duckdb raises its own IOException / InvalidInputException
        raise MappingError(f"{path}: cannot read firm records: {exc}") from None


def _source(con, path: Path, mapping: dict[str, str] | None) -> tuple[str, dict[str, str], dict[str, str]]:
    """DuckDB table expression reading ``path``, the role -> column map and the column types.

    CSV columns are typed by DuckDB's sniffer except the code columns, which stay text (leading
    zeros of OKTMO and OKVED2 codes such as ``01.11`` must survive).
    """
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        expr = f"read_parquet({_sql_str(path)})"
        types = _describe(con, expr, path)
        return expr, _resolve_columns(path, list(types), mapping), types
    if suffix not in (".csv", ".txt", ".tsv", ".gz"):
        raise MappingError(f"{path}: firm records must be CSV or Parquet (got {path.suffix or 'no suffix'})")
    names = list(_describe(con, f"read_csv({_sql_str(path)}, header = true, all_varchar = true)", path))
    cols = _resolve_columns(path, names, mapping)
    text = ", ".join(f"{_sql_str(cols[r])}: 'VARCHAR'" for r in ("region_code", "okved2"))
    expr = f"read_csv({_sql_str(path)}, header = true, types = {{{text}}})"
    return expr, cols, _describe(con, expr, path)


def _resolve_columns(path: Path, names: list[str], mapping: dict[str, str] | None) -> dict[str, str]:
    mapping = dict(mapping or {})
    out, missing = {}, []
    for role, candidates in FIRM_ROLES.items():
        if role in mapping:
            if mapping[role] not in names:
                raise MappingError(f"{path}: column {mapping[role]!r} (for {role}) not found; columns are {names}")
            out[role] = mapping[role]
            continue
        found = next((c for c in candidates if c in names), None)
        if found:
            out[role] = found
        elif role not in ("year", "exports", "revenue"):
            missing.append(f"{role} (one of {', '.join(candidates)})")
    if missing:
        raise MappingError(f"{path}: missing firm column(s): {'; '.join(missing)}; columns are {names} "
                           "(map others with the input's columns = {role = \"name\"})")
    return out


def aggregate_firms(path: str | Path, *, level: str = "division", year: int | None = None,
                    columns: dict[str, str] | None = None, activities: pd.DataFrame | None = None,
                    memory_limit: str = "1GB", threads: int | None = None) -> FirmAggregate:
    """Sum establishment records to year x region x OKVED2 code at ``level``, streaming the file.

    Parameters
    ----------
    path : str or Path
        CSV (header row, UTF-8) or Parquet; one row per establishment.
    level : {"section", "division", "group", "class"}
        OKVED2 level to aggregate to; every record's code must be at least that detailed.
    year : int, optional
        Year of the records when the file has no ``year`` column.
    columns : dict, optional
        Role -> column name, for files whose columns are named differently (see :data:`FIRM_ROLES`).
    activities : DataFrame, optional
        Activity registry (``geodata/activities.csv``); needed for ``level="section"``
        (division -> section).
    memory_limit : str
        DuckDB's memory limit (it spills to disk beyond it).
    threads : int, optional
        DuckDB threads (default: all cores).

    Returns
    -------
    FirmAggregate
        ``table``: one row per year x region x activity with ``establishments`` and the sums of
        ``employees``, ``revenue``, ``exports`` (NaN where every record's value is missing) and the
        number of records with a value (``n_employees``...). Records without a region or an
        activity code are counted in ``dropped``.

    Raises
    ------
    MappingError
        Unreadable file, missing column, a malformed or too coarse OKVED2 code, a negative value, or
        no year; naming the file, the row and the value (at most five, then "and N more").
    """
    import duckdb

    path = Path(path)
    if level not in OKVED2_LEVELS:
        raise MappingError(f"firm records: level {level!r} is not one of {list(OKVED2_LEVELS)}")
    if not path.is_file():
        raise MappingError(f"{path}: firm records file not found")
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = {_sql_str(memory_limit)}")
        con.execute("SET enable_progress_bar = false")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        expr, cols, types = _source(con, path, columns)
        if "year" not in cols and year is None:
            raise MappingError(f"{path}: the firm records have no 'year' column; give the year in the input's "
                               "configuration (years = [2023])")
        q = {role: f'"{name}"' for role, name in cols.items()}
        # Casts only where the stored type needs one: a no-op cast still costs a pass over 10^7 rows.
        num = {m: (_cast(q[m], types[cols[m]], "DOUBLE") if m in q else "CAST(NULL AS DOUBLE)") for m in _MEASURES}
        year_sql = _cast(q["year"], types[cols["year"]], "INTEGER") if "year" in q else str(int(year))
        # One pass: group by the stored code (few distinct values); trimming, validation and the
        # roll-up to the level happen on the small result.
        sql = (f"SELECT {year_sql} AS year, {_cast(q['region_code'], types[cols['region_code']], 'VARCHAR')} "
               f"AS region_code, {_cast(q['okved2'], types[cols['okved2']], 'VARCHAR')} AS code, "
               "count(*) AS establishments, "
               + ", ".join(f"sum({e}) AS {m}, count({e}) AS n_{m}, min({e}) AS min_{m}" for m, e in num.items())
               + f" FROM {expr} GROUP BY ALL")
        try:
            raw = con.execute(sql).df()
        except duckdb.ConversionException as exc:
            raise _conversion_error(con, expr, q, cols, types, path, exc) from None
        except Exception as exc:
            raise MappingError(f"{path}: cannot aggregate firm records: {exc}") from None
        raw["region_code"] = raw["region_code"].str.strip()
        raw["code"] = raw["code"].str.strip()
        records = int(raw["establishments"].sum())
        raw, dropped = _drop_incomplete(raw)
        _check_values(con, expr, q, path, raw, num)
        _check_codes(con, expr, q, path, raw, level)
    finally:
        con.close()
    table = _roll_up(raw, level, activities, path)
    return FirmAggregate(table=table, records=records, dropped=dropped, columns=cols)


def _cast(col: str, stored: str, wanted: str) -> str:
    numeric = ("DOUBLE", "FLOAT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "DECIMAL", "UINTEGER",
               "UBIGINT", "USMALLINT", "UTINYINT")
    if stored == wanted or (wanted == "DOUBLE" and stored.startswith(numeric)):
        return col
    return f"CAST({col} AS {wanted})"


def _conversion_error(con, expr, q, cols, types, path, exc) -> MappingError:
    """Name the rows of the first column holding text that is not a number."""
    for role in ("employees", "revenue", "exports", "year"):
        if role in cols and types[cols[role]] == "VARCHAR":
            where = f"TRY_CAST({q[role]} AS DOUBLE) IS NULL AND trim({q[role]}) <> ''"
            rows = con.execute(f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, {q[role]} AS v FROM {expr}) "
                               f"WHERE {where.replace(q[role], 'v')} ORDER BY rn LIMIT 5").fetchall()
            if rows:
                return MappingError(f"{path}, column '{cols[role]}': not a number: "
                                    + format_items(f"row {rn}: {v!r}" for rn, v in rows))
    return MappingError(f"{path}: cannot read firm records: {exc}")


def _drop_incomplete(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    dropped = {}
    no_region = raw["region_code"].isna() | raw["region_code"].astype(str).str.strip().eq("")
    no_code = ~no_region & (raw["code"].isna() | raw["code"].astype(str).eq(""))
    for mask, reason in ((no_region, "firm record without a region code"),
                         (no_code, "firm record without an OKVED2 code")):
        if mask.any():
            dropped[reason] = int(raw.loc[mask, "establishments"].sum())
    return raw.loc[~no_region & ~no_code].reset_index(drop=True), dropped


def _rows_of(con, expr: str, q: dict, where: str, limit: int = 5) -> list[tuple]:
    """Row numbers (1-based, file order) and values of the first records matching ``where``."""
    return con.execute(f"SELECT rn, code, region FROM (SELECT row_number() OVER () AS rn, "
                       f"trim(CAST({q['okved2']} AS VARCHAR)) AS code, CAST({q['region_code']} AS VARCHAR) AS region, "
                       f"* FROM {expr}) WHERE {where} ORDER BY rn LIMIT {limit}").fetchall()


def _check_values(con, expr, q, path, raw, num) -> None:
    for m, e in num.items():
        if (raw[f"min_{m}"] < 0).any():
            n = int(con.execute(f"SELECT count(*) FROM {expr} WHERE {e} < 0").fetchone()[0])
            rows = [f"row {rn} ({region}, {code})" for rn, code, region in _rows_of(con, expr, q, f"{e} < 0")]
            raise MappingError(f"{path}, column '{q[m].strip(chr(34))}': negative {m} in {n} record(s): " + format_items(rows)
                               + (f"; and {n - len(rows)} more" if n > len(rows) else ""))


def _check_codes(con, expr, q, path, raw, level) -> None:
    codes = pd.Series(raw["code"].unique())
    bad = sorted(codes[~codes.map(lambda c: bool(_CODE.match(c)))])
    reason = "not an OKVED2 code (DD, DD.D, DD.DD or DD.DD.D[D])"
    if not bad:
        need = OKVED2_LEVELS[level]
        bad = sorted(codes[codes.str.len() < need])
        reason = f"coarser than the {level} level (aggregate at a coarser level, or fix the code)"
    if bad:
        listed = ", ".join(_sql_str(c) for c in bad[:50])
        rows = [f"row {rn}: {code!r}" for rn, code, _ in
                _rows_of(con, expr, q, f"trim(CAST({q['okved2']} AS VARCHAR)) IN ({listed})")]
        raise MappingError(f"{path}, column '{q['okved2'].strip(chr(34))}': {len(bad)} code value(s) {reason}: "
                           + format_items(rows))


def _roll_up(raw: pd.DataFrame, level: str, activities: pd.DataFrame | None, path: Path) -> pd.DataFrame:
    code = raw["code"].str.slice(0, OKVED2_LEVELS[level])
    if level == "section":
        if activities is None:
            raise MappingError("firm records: the activity registry is needed to aggregate to sections")
        a = activities.loc[(activities["classification"] == "OKVED2") & (activities["level"] == "division")]
        section = dict(zip(a["code"], a["parent_code"]))
        unknown = sorted(set(code) - set(section))
        if unknown:
            raise MappingError(f"{path}: OKVED2 division(s) not in the activity registry: " + format_items(unknown))
        code = code.map(section)
    df = raw.assign(activity_code=code)
    sums = ["establishments"] + [c for m in _MEASURES for c in (m, f"n_{m}")]
    out = df.groupby(["year", "region_code", "activity_code"], sort=True)[sums].sum(min_count=1).reset_index()
    for m in _MEASURES:
        out.loc[out[f"n_{m}"].fillna(0) == 0, m] = np.nan
    return out


def read_firms(inp, geodata=None):
    """Read a ``format = "firms"`` input into the pipeline's tidy rows and ledger.

    Parameters
    ----------
    inp : mapping.config.InputFile
        ``path``; ``level`` (default "division"); ``years`` (the year when the file has none);
        ``columns`` (role -> column); ``unit`` (of revenue and exports, default "thousand RUB");
        ``source``; ``max_bytes`` is not applied (the file is streamed, never loaded).
    geodata : mapping.config.GeodataSection, optional
        For the activity registry (sections).

    Returns
    -------
    mapping.ingest.layouts.common.InputRead
    """
    from mapping.hashing import sha256_file
    from mapping.ingest import registry as reg
    from mapping.ingest.layouts.common import InputRead
    from mapping.ingest.tidy import validate_tidy
    from mapping.ledger import FileLedger

    path = Path(inp.path)
    level = inp.level or "division"
    years = tuple(getattr(inp, "years", ()) or ())
    activities = reg.load_activity_registry(geodata.activities if geodata is not None else None)
    agg = aggregate_firms(path, level=level, year=years[0] if len(years) == 1 else None,
                          columns=dict(getattr(inp, "columns", {}) or {}), activities=activities)
    t = agg.table
    if years:
        t = t.loc[t["year"].isin(years)]
    money = inp.unit or "thousand RUB"
    parts = [t.assign(indicator="establishments", unit="count", value=t["establishments"].astype(float))]
    for m, (indicator, unit) in _MEASURES.items():
        if m in agg.columns or m == "employees":
            parts.append(t.assign(indicator=indicator, unit=unit or money, value=t[m]))
    tidy = pd.concat(parts, ignore_index=True)
    tidy = tidy.assign(classification="OKVED2", level=level, source=inp.source or "firm records",
                       flag=np.where(tidy["value"].isna(), "suppressed", ""))
    tidy["source_row"] = np.arange(1, len(tidy) + 1)
    tidy = validate_tidy(tidy[["year", "region_code", "activity_code", "classification", "level", "indicator",
                               "value", "unit", "flag", "source", "source_row"]], path)
    ledger = FileLedger(file=str(path), sha256=sha256_file(path), rows_read=len(tidy), format="firms",
                        row_unit="cell", notes=[
                            f"{agg.records:,} firm records aggregated to {len(t):,} year x region x OKVED2 "
                            f"{level} cells ({len(tidy):,} cells with the indicators); "
                            + ("; ".join(f"{k}: {v}" for k, v in agg.dropped.items()) or "no record dropped")])
    ledger.cells_suppressed = int(tidy["flag"].eq("suppressed").sum())
    return InputRead(tidy, ledger, pd.DataFrame())


def municipal_geodata(boundaries: str | Path, out_dir: str | Path, *, code_column: str = "code",
                      name_column: str = "name", parent_column: str = "region_code",
                      name_en_column: str | None = None, base_regions: str | Path | None = None,
                      base_boundaries: str | Path | None = None) -> tuple[Path, Path]:
    """Registry and boundaries with municipal units as parts of their regions.

    Parameters
    ----------
    boundaries : str or Path
        Municipal boundaries (any file GDAL reads; reprojected to EPSG:4326): a unique code, a name
        and the code of the region each unit belongs to.
    out_dir : str or Path
        Where ``regions.csv`` and ``boundaries.gpkg`` are written; point ``[geodata] regions`` and
        ``boundaries`` at them.
    code_column, name_column, parent_column, name_en_column : str
        Columns of the municipal file.
    base_regions, base_boundaries : str or Path, optional
        Default: the bundled ``geodata/regions.csv`` and ``geodata/ru_regions.gpkg``.

    Returns
    -------
    regions_csv, boundaries_gpkg : Path

    Raises
    ------
    MappingError
        Missing columns, empty or duplicate codes, codes clashing with region codes, a parent that is
        not a region of the registry, or an invalid geometry.
    """
    import geopandas as gpd
    import shapely

    from mapping.geo.boundaries import load_boundaries
    from mapping.ingest import registry as reg

    boundaries, out_dir = Path(boundaries), Path(out_dir)
    base = reg.load_region_registry(Path(base_regions) if base_regions else None)
    base_gdf = load_boundaries(Path(base_boundaries) if base_boundaries else reg.GEODATA_DIR / "ru_regions.gpkg")
    try:
        muni = gpd.read_file(boundaries)
    except Exception as exc:
        raise MappingError(f"{boundaries}: cannot read municipal boundaries ({exc})") from None
    wanted = [c for c in (code_column, name_column, parent_column, name_en_column) if c]
    missing = [c for c in wanted if c not in muni.columns]
    if missing:
        raise MappingError(f"{boundaries}: missing column(s) {missing}; columns are {list(muni.columns)}")
    if muni.crs is None:
        raise MappingError(f"{boundaries}: no CRS; set one (EPSG:4326 for longitude/latitude)")
    muni = muni.to_crs(4326)
    codes = muni[code_column].astype(str).str.strip()
    parents = muni[parent_column].astype(str).str.strip()
    kinds = dict(zip(base["region_code"], base["kind"]))
    problems = [f"row {i + 1}: empty code" for i in np.flatnonzero(codes.eq(""))]
    problems += [f"code {c!r} appears more than once" for c in sorted(set(codes[codes.duplicated()]))]
    problems += [f"code {c!r} is already a region code" for c in sorted(set(codes) & set(kinds))]
    problems += [f"row {i + 1} ({codes.iloc[i]}): parent {p!r} is not a region of the registry"
                 for i, p in enumerate(parents) if kinds.get(p) not in ("subject", "remainder")]
    invalid = ~muni.geometry.is_valid | muni.geometry.is_empty
    problems += [f"row {i + 1} ({codes.iloc[i]}): invalid or empty geometry" for i in np.flatnonzero(invalid)]
    if problems:
        raise MappingError(f"{boundaries}: " + format_items(problems))
    rows = pd.DataFrame({
        "region_code": codes, "kind": "remainder", "iso_3166_2": "", "okato": "",
        "name_ru": muni[name_column].astype(str), "name_en": (muni[name_en_column].astype(str) if name_en_column
                                                            else muni[name_column].astype(str)),
        "federal_district": parents.map(dict(zip(base["region_code"], base["federal_district"]))).fillna(""),
        "parent_code": parents, "boundary_codes": codes, "has_boundary": "true",
        "note": "municipal unit (part of " + parents + ")"})
    registry = base.assign(has_boundary=base["has_boundary"].map({True: "true", False: "false"}))
    out_dir.mkdir(parents=True, exist_ok=True)
    regions_csv, gpkg = out_dir / "regions.csv", out_dir / "boundaries.gpkg"
    pd.concat([registry, rows], ignore_index=True)[reg.REGION_COLUMNS].to_csv(regions_csv, index=False)
    geoms = gpd.GeoDataFrame({"region_code": codes, "name_en": rows["name_en"],
                              "geometry": shapely.make_valid(muni.geometry.values)}, crs=4326)
    combined = pd.concat([base_gdf[["region_code", "name_en", "geometry"]], geoms], ignore_index=True)
    gpd.GeoDataFrame(combined, geometry="geometry", crs=4326).to_file(gpkg, layer="regions", driver="GPKG")
    return regions_csv, gpkg
