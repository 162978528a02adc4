"""The run report (``report.md``): headline first, then tables, sources and the row ledger."""

from __future__ import annotations

import pandas as pd

__all__ = ["render_report"]


def _md_table(df: pd.DataFrame, max_rows: int = 30) -> str:
    if df.empty:
        return "_none_\n"
    df = df.head(max_rows)
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append("" if pd.isna(v) else f"{v:.2f}")
            else:
                cells.append(str(v).replace("|", "/").replace("\n", " "))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_report(manifest: dict, built, inputs, analysis, config) -> str:
    """Render ``report.md`` for a run.

    Parameters
    ----------
    manifest : dict
        The run manifest (run id, inputs with the ledger, regions without geometry, timings).
    built : mapping.layers.Built
        Tables of the run.
    inputs, analysis, config
        The stage results and the validated configuration.

    Returns
    -------
    str
        Markdown text.
    """
    h = manifest["headline"]
    cs, ps = h["clusters_by_status"], h["pairs_by_status"]
    a = manifest["analysis"]
    s = built.supported_table
    d = built.divergence_table
    out = [f"# Cluster map: specialisation vs support, {h['year']}\n",
           f"Run `{manifest['run_id']}` · rule: **{a['rule']}** with LQ ≥ {a['threshold']:g} "
           f"(\"twice the national average\") · {a['classification']} {a['level']}s · "
           f"{h['regions_analysed']} regions\n",
           "## Headline\n",
           f"- Of **{h['supported_clusters']}** supported clusters, **{cs.get('aligned', 0)} are `aligned`** "
           f"(their regions are specialised in their activities) and **{cs.get('supported_not_specialised', 0)} "
           f"are `supported_not_specialised`**.",
           f"- Region × activity pairs: {ps['aligned']} aligned, {ps['supported_not_specialised']} supported "
           f"but not specialised, **{ps['specialised_not_supported']} specialised but not supported** "
           f"(untapped specialisations).",
           f"- {h['candidates']} candidate clusters, {h['cross_regional_candidates']} of them spanning "
           f"neighbouring regions.\n"]
    notes = s.loc[s["granularity_note"] != "", "granularity_note"]
    if len(notes):
        out.append(f"> Granularity: the data are by OKVED2 **{analysis.level}**, coarser than the clusters' "
                   f"divisions; {len(notes)} clusters are compared at the {analysis.level} level "
                   f"(e.g. {notes.iloc[0]}). An `aligned` status means the region is specialised in the "
                   f"{analysis.level}, not necessarily in the cluster's own divisions.\n")

    out.append("## Supported clusters\n")
    out.append(_md_table(s[["cluster_id", "name_en", "region_codes", "activity_codes", "status",
                            "best_lq", "best_lq_indicator", "specialised_pairs"]], max_rows=200))

    out.append("\n## Untapped specialisations (`specialised_not_supported`), by federal district\n")
    un = d.loc[d["status"] == "specialised_not_supported"].copy()
    un = un.sort_values(["federal_district", "lq_max"], ascending=[True, False])
    out.append(_md_table(un[["federal_district", "region_code", "region_name", "region_name_en", "activity_code",
                             "activity_name_en", "lq_max", "lq_indicator"]], max_rows=60))
    if len(un) > 60:
        out.append(f"\n… and {len(un) - 60} more in `divergence.csv`.\n")

    out.append("\n## Candidate clusters spanning neighbouring regions\n")
    cand = built.candidates_table
    out.append(_md_table(cand.loc[cand["cross_regional"], ["candidate_id", "region_names_en", "activity_codes",
                                                           "max_lq", "supported_cluster_ids"]], max_rows=40))

    out.append("\n## Co-location groups\n")
    g = manifest["analysis"]["grouping"]
    rel = manifest["analysis"]["relatedness"]
    out.append(f"Measure: {rel.get('measure')} of `{rel.get('indicator')}` across {rel.get('n_regions')} regions "
               f"({rel.get('year')}); grouping: {g.get('method')}, k = {g.get('n_groups')} "
               f"(chosen by mean silhouette; scores {g.get('k_scores')}), mean silhouette "
               f"{g.get('silhouette', float('nan')):.3f}.\n")
    out.append(_md_table(built.activity_groups[["group_id", "activity_code", "activity_name_en",
                                                "relatedness_own_group", "relatedness_best_other_group",
                                                "validation_margin"]], max_rows=200))

    out.append("\n## Regions without bundled geometry\n")
    wg = manifest["regions_without_geometry"]
    if wg:
        r = inputs.regions.set_index("region_code")
        out.append("These units keep their rows in every table (`has_geometry` = false) but are not drawn: "
                   + "; ".join(f"{c} ({r.at[c, 'name_en']})" for c in wg) + ".\n")
    else:
        out.append("_none_\n")

    out.append("\n## Data\n")
    ind = inputs.tidy.groupby(["indicator", "level", "unit"]).size().reset_index(name="rows")
    out.append(_md_table(ind, max_rows=50))
    out.append("\nIndicators by activity in this run come from the inputs listed below; where an indicator "
               "(employment, revenue or exports by activity) is absent, the inputs did not provide it in real "
               "form, and `level = total` rows are region context only (not used for LQs).\n")
    out.append("\n## Row ledger\n")
    led = pd.DataFrame([{"file": i["file"].split("/")[-1], "read": i["rows_read"], "used": i["rows_used"],
                         "context rows": i["rows_context"],
                         "dropped": "; ".join(f"{k}: {v}" for k, v in i["rows_dropped"].items()) or "0",
                         "suppressed cells": i["cells_suppressed"]} for i in manifest["inputs"]])
    out.append(_md_table(led))
    out.append("\nEvery row read is used or dropped with the reason above (read = used + dropped, checked by the code).\n")
    if manifest.get("stage_seconds"):
        out.append("\n## Timings (seconds)\n")
        out.append(_md_table(pd.DataFrame([manifest["stage_seconds"]])))
    return "\n".join(out)
