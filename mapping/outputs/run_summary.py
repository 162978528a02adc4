"""What a finished run shows outside its folder: the report's headline and the divergence table.

The flow publishes these as Prefect artifacts (``flows/refresh.py``); this module only reads the
run folder, so the content is the same as the files the analyst opens.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

__all__ = ["headline_markdown", "divergence_rows", "DIVERGENCE_ARTIFACT_COLUMNS"]

#: Columns of ``divergence.csv`` shown in the table artifact.
DIVERGENCE_ARTIFACT_COLUMNS = ["status", "region_code", "region_name_en", "activity_code", "activity_name_en",
                               "lq_max", "lq_indicator", "supported_cluster_ids", "federal_district"]
_STATUS_ORDER = {"specialised_not_supported": 0, "supported_not_specialised": 1, "aligned": 2}


def headline_markdown(run_dir: Path) -> str:
    """The report's title, run line and *Headline* section, plus which stages were reused.

    Parameters
    ----------
    run_dir : Path
        A finished run folder (``report.md`` and ``manifest.json``).

    Returns
    -------
    str
        Markdown.
    """
    run_dir = Path(run_dir)
    lines = (run_dir / "report.md").read_text(encoding="utf-8").splitlines()
    out, sections = [], 0
    for line in lines:
        if line.startswith("## "):
            sections += 1
            if sections > 1:  # stop at the section after "Headline"
                break
        out.append(line)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    cache = manifest.get("stage_cache")
    if cache and cache.get("enabled"):
        reused = ", ".join(cache["reused"]) or "none"
        out.append(f"\nStages reused from the cache: {reused}.")
    out.append(f"\nFull report: `{run_dir / 'report.md'}`")
    return "\n".join(out).strip() + "\n"


def divergence_rows(run_dir: Path, *, limit: int = 500) -> tuple[list[dict], int]:
    """Rows of ``divergence.csv`` for a table artifact: untapped specialisations first.

    Parameters
    ----------
    run_dir : Path
    limit : int
        At most this many rows (the UI is not the place for thousands).

    Returns
    -------
    rows : list of dict
        JSON-ready (missing values as None), sorted by status then LQ descending.
    total : int
        Rows in the file.
    """
    df = pd.read_csv(Path(run_dir) / "divergence.csv", dtype=str, keep_default_na=False)
    cols = [c for c in DIVERGENCE_ARTIFACT_COLUMNS if c in df.columns]
    df = df[cols].copy()
    if "lq_max" in df:
        df["lq_max"] = pd.to_numeric(df["lq_max"], errors="coerce").round(3)
    order = df["status"].map(_STATUS_ORDER).fillna(9) if "status" in df else 0
    df = df.assign(_o=order).sort_values(["_o", "lq_max"] if "lq_max" in df else ["_o"],
                                         ascending=[True, False][: 2 if "lq_max" in df else 1], kind="stable")
    rows = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items() if k != "_o"}
            for r in df.head(limit).to_dict("records")]
    return rows, len(df)
