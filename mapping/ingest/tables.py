"""Auxiliary tables the analysis needs, read and validated at the ingestion stage.

Known national totals (narrow the bounds of suppressed cells), the supported-cluster registry,
input-output flows and fixed activity categories. The analysis stage receives them as frames
(or dicts) and never opens a file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mapping.errors import MappingError, format_items
from mapping.ingest.tidy import read_tidy

__all__ = ["SUPPORTED_REGISTRY_COLUMNS", "read_known_totals", "load_supported_clusters", "read_io_table",
           "read_io_concordance", "read_categories"]

#: Columns of ``geodata/supported_clusters.csv``; ``programme`` separates support programmes.
SUPPORTED_REGISTRY_COLUMNS = ["cluster_id", "programme", "name_ru", "name_en", "support_group", "selected_year",
                              "region_codes", "classification", "activity_level", "activity_codes",
                              "specialisation_ru", "specialisation_en", "source"]


#: Columns a supported-cluster registry must have; the others of SUPPORTED_REGISTRY_COLUMNS default to empty.
SUPPORTED_REQUIRED = ["cluster_id", "name_ru", "region_codes", "classification", "activity_codes"]


def _neutral_supported(df: pd.DataFrame) -> pd.DataFrame:
    """Country-neutral column names (``name``, ``specialisation``) and defaults for optional columns."""
    aliases = {"name": "name_ru", "specialisation": "specialisation_ru"}
    df = df.rename(columns={k: v for k, v in aliases.items() if k in df.columns and v not in df.columns})
    if not set(SUPPORTED_REQUIRED) <= set(df.columns):
        return df  # the caller names what is missing
    for col in SUPPORTED_REGISTRY_COLUMNS:
        if col not in df.columns:
            df[col] = df["name_ru"] if col == "name_en" else ""
    return df


def load_supported_clusters(path: str | Path, *, region_codes: set[str], activity_codes: dict[str, set[str]]
                            ) -> pd.DataFrame:
    """Read and validate a supported-cluster registry.

    Parameters
    ----------
    path : str or Path
        CSV with :data:`SUPPORTED_REGISTRY_COLUMNS`; lists are ``;``-joined.
    region_codes : set of str
        Codes of the region registry.
    activity_codes : dict
        Classification -> set of known activity codes.

    Returns
    -------
    DataFrame
        The registry with ``region_codes`` and ``activity_codes`` as lists.

    Raises
    ------
    MappingError
        Missing columns, duplicate ids, unknown region or activity codes (file, row, value).
    """
    path = Path(path)
    df = _neutral_supported(pd.read_csv(path, dtype=str, keep_default_na=False))
    missing = [c for c in SUPPORTED_REGISTRY_COLUMNS if c not in df.columns]
    if missing:
        raise MappingError(f"{path}: missing column(s) {missing}")
    problems = []
    dup = df["cluster_id"][df["cluster_id"].duplicated()]
    problems += [f"duplicate cluster_id {c!r}" for c in dup]
    df["region_codes"] = df["region_codes"].str.split(";").map(lambda xs: [x.strip() for x in xs if x.strip()])
    df["activity_codes"] = df["activity_codes"].str.split(";").map(lambda xs: [x.strip() for x in xs if x.strip()])
    for i, r in df.iterrows():
        line = i + 2
        for code in r["region_codes"]:
            if code not in region_codes:
                problems.append(f"row {line} ({r['cluster_id']}), column 'region_codes': unknown region {code!r}")
        known = activity_codes.get(r["classification"])
        if known is None:
            problems.append(f"row {line} ({r['cluster_id']}), column 'classification': unknown {r['classification']!r}")
            continue
        for code in r["activity_codes"]:
            if code not in known:
                problems.append(f"row {line} ({r['cluster_id']}), column 'activity_codes': unknown {code!r}")
        if not r["region_codes"] or not r["activity_codes"]:
            problems.append(f"row {line} ({r['cluster_id']}): needs at least one region and one activity")
    if problems:
        raise MappingError(f"{path}: " + format_items(problems))
    return df


def read_known_totals(paths: tuple[Path, ...] | list[Path]) -> pd.DataFrame:
    """Read national totals from tidy files (rows of any region code are read as the country's)."""
    frames = []
    for p in paths:
        df, _ = read_tidy(p)
        df["file"] = str(p)
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=["year", "indicator", "classification", "level"] + ["activity_code", "value"])
    out = pd.concat(frames, ignore_index=True)
    return out.loc[out["level"] != "total"].reset_index(drop=True)


def read_io_table(path: str | Path) -> pd.DataFrame:
    """Input-output flows between activities: CSV ``from_code, to_code, value`` (any unit).

    Raises
    ------
    MappingError
        Missing file or columns, or a value that is not a finite number (row and value named).
    """
    path = Path(path)
    if not path.is_file():
        raise MappingError(f"{path}: input-output table not found")
    table = pd.read_csv(path, dtype={"from_code": str, "to_code": str})
    missing = [c for c in ("from_code", "to_code", "value") if c not in table.columns]
    if missing:
        raise MappingError(f"{path}: missing column(s) {missing}; needs from_code, to_code, value")
    vals = pd.to_numeric(table["value"], errors="coerce")
    bad = table.index[vals.isna()]
    if len(bad):
        i = int(bad[0])
        raise MappingError(f"{path}: row {i + 2}, column 'value': {table.at[i, 'value']!r} is not a number")
    table["value"] = vals
    return table


def read_io_concordance(path: str | Path) -> pd.DataFrame:
    """Concordance of input-output industries and classification codes: CSV ``io_code, activity_code``.

    An industry that merges several codes has one row per code; ``activity_code`` may be empty for
    an industry with no classification code (reported as unmapped by the analysis).
    """
    path = Path(path)
    if not path.is_file():
        raise MappingError(f"{path}: input-output concordance not found")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("io_code", "activity_code") if c not in df.columns]
    if missing:
        raise MappingError(f"{path}: missing column(s) {missing}; needs io_code, activity_code")
    return df


def read_categories(path: str | Path | None = None, inline: dict[str, str] | None = None) -> dict[str, str]:
    """A fixed mapping of activities to cluster categories: CSV ``activity_code, category`` plus inline pairs."""
    out: dict[str, str] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise MappingError(f"{path}: categories file not found")
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        missing = [c for c in ("activity_code", "category") if c not in df.columns]
        if missing:
            raise MappingError(f"{path}: missing column(s) {missing}; needs activity_code, category")
        dup = df["activity_code"][df["activity_code"].duplicated()]
        if len(dup):
            raise MappingError(f"{path}: activity_code listed twice: {sorted(set(dup))[:5]}")
        empty = df.index[df["category"].str.strip() == ""]
        if len(empty):
            raise MappingError(f"{path}: empty category in row(s) {[int(i) + 2 for i in empty[:5]]}")
        out.update(zip(df["activity_code"].str.strip(), df["category"].str.strip()))
    out.update({str(k): str(v) for k, v in (inline or {}).items()})
    return out
