"""The run report (``report.md``): the headline a ministry analyst reads first, then tables, maps and sources.

Order: headline numbers (supported clusters ``aligned`` / ``supported_not_specialised``, the
untapped specialisations ranked by LQ and by size, the same per group of regions), the static
maps, the detailed tables, co-location groups, the data sources and the row ledger. Words that
depend on the country (the grouping level above regions, the language of the names, the credits)
come from :mod:`mapping.outputs.vocabulary`: names are given in the source language and English,
English alone where the source language is English.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mapping.outputs.names import display_name, md_text
from mapping.outputs.vocabulary import Vocabulary, level_phrase, reference_statement, rule_statement, vocabulary

__all__ = ["render_report", "untapped_specialisations", "district_summary", "display_name"]

#: How many rows the headline rankings show.
TOP_N = 10
_MAPS = (("divergence.png", "Divergence by status / Расхождение специализации и поддержки"),
         ("candidate_clusters.png", "Candidate clusters by co-location group / Кластеры-кандидаты"))


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "" if pd.isna(v) else f"{v:.2f}"
    return md_text(v)


def _md_table(df: pd.DataFrame, max_rows: int = 30) -> str:
    if df.empty:
        return "_none_\n"
    df = df.head(max_rows)
    cols = list(df.columns)
    lines = ["| " + " | ".join(_cell(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _pct(v) -> str:
    return "" if v is None or pd.isna(v) else f"{100 * float(v):.1f}%"


def untapped_specialisations(divergence: pd.DataFrame, lq: pd.DataFrame, year: int) -> pd.DataFrame:
    """The ``specialised_not_supported`` pairs with their size, ranked by LQ.

    Size is the region's value of the indicator that gave the highest LQ and its share of the
    national value (``share_of_national`` in ``location_quotients.csv``).

    Parameters
    ----------
    divergence : DataFrame
        ``divergence.csv`` rows (``region_code, activity_code, status, lq_max, lq_indicator``, ...).
    lq : DataFrame
        ``location_quotients.csv`` rows.
    year : int
        The analysis year.

    Returns
    -------
    DataFrame
        The untapped pairs plus ``value, unit, share_of_national``, sorted by ``lq_max``
        descending, then region and activity code (a stable order).
    """
    un = divergence.loc[divergence["status"] == "specialised_not_supported"].copy()
    size = lq.loc[lq["year"] == year, ["region_code", "activity_code", "indicator", "value", "unit",
                                       "share_of_national"]]
    un = un.merge(size, how="left", left_on=["region_code", "activity_code", "lq_indicator"],
                  right_on=["region_code", "activity_code", "indicator"]).drop(columns="indicator")
    return un.sort_values(["lq_max", "region_code", "activity_code"], ascending=[False, True, True],
                          kind="stable").reset_index(drop=True)


def _pair_label(r) -> str:
    return (f"{r.region_name} ({r.region_name_en}): {r.activity_code} {display_name(r.activity_name)} "
            f"({r.activity_name_en})")


def district_summary(supported: pd.DataFrame, untapped: pd.DataFrame, regions: pd.DataFrame,
                     voc: Vocabulary | None = None) -> pd.DataFrame:
    """Headline numbers per group of regions (federal district, Census region, country, ...).

    A supported cluster counts in every group one of its regions lies in.

    Parameters
    ----------
    voc : Vocabulary, optional
        Names the group column (default "district") and orders the group's names.

    Returns
    -------
    DataFrame
        One row per group: ``<group name>, aligned, supported_not_specialised, untapped pairs,
        strongest untapped (LQ), largest untapped (share)``; groups without any are omitted.
    """
    voc = voc or Vocabulary(group_name="district", source_language="ru")
    r = regions.set_index("region_code")
    fd_of = r["federal_district"].fillna("").to_dict()
    groups = set(fd_of.values()) - {""}
    fd_name = {c: voc.name_slash(r.at[c, "name_ru"], r.at[c, "name_en"]) for c in r.index if c in groups}
    rows: dict[str, dict] = {}

    def row(fd: str) -> dict:
        return rows.setdefault(fd or "", {"aligned": 0, "supported_not_specialised": 0, "not_testable": 0,
                                          "no_data": 0, "untapped pairs": 0,
                                          "strongest untapped (LQ)": "", "largest untapped (share)": ""})

    for s in supported.itertuples(index=False):
        for fd in sorted({fd_of.get(c, "") for c in str(s.region_codes).split(";") if c}):
            row(fd)[s.status] = row(fd).get(s.status, 0) + 1
    for fd, g in untapped.groupby("federal_district", sort=True):
        row(fd)["untapped pairs"] = len(g)
        top = g.iloc[0]
        row(fd)["strongest untapped (LQ)"] = (f"{top.region_name_en}: {top.activity_code} {top.activity_name_en} "
                                              f"(LQ {top.lq_max:.2f})")
        big = g.sort_values("share_of_national", ascending=False, kind="stable").iloc[0]
        row(fd)["largest untapped (share)"] = (f"{big.region_name_en}: {big.activity_code} {big.activity_name_en} "
                                               f"({_pct(big.share_of_national)} of national)")
    gcol = voc.group_name
    out = pd.DataFrame([{gcol: fd_name.get(fd, fd or "(none)"), **v} for fd, v in sorted(rows.items())])
    if not len(out):
        return out
    extra = [c for c in ("not_testable", "no_data") if out[c].sum() > 0]  # statuses without a verdict, when any
    return out[[gcol, "aligned", "supported_not_specialised", *extra, "untapped pairs", "strongest untapped (LQ)",
                "largest untapped (share)"]]


#: Column holding a pair's certainty call (certain / possible / no), where the run has one.
CERTAINTY_COLUMN = "specialisation_call"


def _certainty_note(df: pd.DataFrame) -> str:
    if CERTAINTY_COLUMN not in df.columns or df.empty:
        return ""
    counts = df[CERTAINTY_COLUMN].fillna("").astype(str).value_counts()
    return " By certainty: " + ", ".join(f"{k or 'unknown'} {v}" for k, v in counts.items()) + "."


def _sources(manifest: dict, inputs, config, voc: Vocabulary | None = None) -> list[str]:
    from mapping.geo.credits import credit_line, run_credits

    voc = voc or vocabulary(config)
    out = ["### Inputs\n"]
    out.append(_md_table(pd.DataFrame([{"file": Path(i["file"]).name, "sha256 (first 16)": i["sha256"][:16],
                                        "rows read": i["rows_read"]} for i in manifest["inputs"]])))
    # The file of origin of each distinct source, then per row (a large run has millions of rows, few sources).
    codes, uniques = pd.factorize(inputs.tidy["source"], use_na_sentinel=False)
    src = pd.Series(uniques).astype(str).str.split("!").str[0].take(codes).reset_index(drop=True)
    by = src.value_counts().rename_axis("source (file of origin)").reset_index(name="rows used")
    out.append("\nWhere the rows used come from (the `source` column of the tidy input; provenance and "
               "licences in `data/README.md`):\n")
    out.append(_md_table(by, max_rows=40))
    out.append("\n### Geography and registries\n")
    credits = run_credits(config)  # from the files' .meta.toml sidecars and [geodata.credits] (mapping/geo/credits.py)
    out += [credit_line(c) for c in credits if c["role"] != "data"]
    out.append("- Boundaries are drawn unsplit on the maps (a region crossing 180° stays whole) and split at 180° "
               "in the GeoJSON (RFC 7946).")
    sc = config.geodata.supported_clusters
    if sc is not None and Path(sc).is_file():
        reg = pd.read_csv(sc, dtype=str).fillna("")
        for s, n in reg["source"].value_counts().items() if "source" in reg.columns else []:
            out.append(f"- Supported clusters ({n}, `{Path(sc).name}`): {s}")
    out.append(f"- Regions and activities: `{Path(config.geodata.regions).name}`, "
               f"`{Path(config.geodata.activities).name}` ({voc.names_note()}).")
    data = [credit_line(c) for c in credits if c["role"] == "data"]
    if data:
        out.append("\n### Data credits\n")
        out += data
    out.append("- Web map: Leaflet 1.9.4 (BSD-2-Clause, © Volodymyr Agafonkin, CloudMade), inlined from the PyPI "
               "package `django-js-lib-leaflet`; no tiles or scripts are fetched.\n")
    return out


def render_report(manifest: dict, built, inputs, analysis, config, *, maps: tuple[str, ...] | None = None,
                  sections: dict[str, list[str]] | None = None) -> str:
    """Render ``report.md`` for a run.

    Parameters
    ----------
    manifest : dict
        The run manifest (run id, inputs with the ledger, regions without geometry, timings).
    built : mapping.outputs.layers.Built
        Tables of the run.
    inputs, analysis, config
        The stage results and the validated configuration.
    maps : tuple of str, optional
        File names of the static maps written beside the report (default: the two PNGs of
        :mod:`mapping.outputs.staticmaps`).
    sections : dict, optional
        Markdown blocks other modules add: ``"headline"`` (bullets appended to the English
        headline), ``"results"`` (after the result tables, before the methods) and ``"methods"``
        (inside the methods section, before the glossary).

    Returns
    -------
    str
        Markdown text.
    """
    from mapping.outputs.headline import headline_lines, methods_section
    from mapping.outputs.untapped import rank_untapped

    sections = sections or {}
    h = manifest["headline"]
    ps = h["pairs_by_status"]
    a = manifest["analysis"]
    s = built.supported_table
    d = built.divergence_table
    sp = config.specialisation
    ranked = rank_untapped(d, analysis.lq, year=analysis.year, level=analysis.level, indicators=tuple(sp.indicators))
    traded_only = getattr(getattr(config, "traded", None), "rank_traded_only", True)
    cls = ranked["trade_class"] if "trade_class" in ranked else pd.Series("", index=ranked.index)
    main = ranked.loc[cls != "local"] if traded_only else ranked
    local = ranked.loc[cls == "local"] if traded_only else ranked.iloc[0:0]
    maps = _MAPS if maps is None else tuple((m, t) for m, t in _MAPS if m in maps)

    voc = vocabulary(config)  # the run's own words: group level, names' language (mapping/outputs/vocabulary.py)
    russian = voc.source_language == "ru"
    if not russian:
        maps = tuple((m, t.split(" / ")[0]) for m, t in maps)  # the Russian caption only on Russian runs
    reference = reference_statement(config.specialisation, inputs.regions, analysis.spec["region_code"])
    out = [f"# Cluster map {h['year']}: specialisation vs support\n",
           f"_Карта кластеров {h['year']}: специализация регионов и поддерживаемые кластеры_\n" if russian else "",
           f"Run `{manifest['run_id']}` · rule: **{rule_statement(config.specialisation)}** · {reference} · "
           f"{level_phrase(a['classification'], a['level'])} · {h['regions_analysed']} regions\n",
           "## Headline\n"]
    registry = Path(config.geodata.supported_clusters).name if config.geodata.supported_clusters else ""
    kw = dict(summary=h.get("verdicts") or {"supported": int(len(s))}, supported=s, ranked=ranked,
              candidates=built.candidates_table, pairs_by_status=ps, settings=sp, voc=voc, registry=registry,
              n_years=len(h.get("robustness", {}).get("years", [])) or 1)
    if russian:
        out.append("### Коротко\n")
        out += headline_lines(lang=1, **kw)
        out.append("\n### In brief\n")
    out += headline_lines(lang=0, **kw)
    out += sections.get("headline", [])
    out.append("")

    cols = {"region_name": "region", "region_name_en": "region (en)", "activity_code": "code",
            "activity_name": "activity", "activity_name_en": "activity (en)", "lq_rank": "LQ",
            "rank_indicator": "indicator", "share": "share of national", "signal_text": "signals",
            "district": voc.group_name}
    if voc.english_source:  # English names are the source's own: one name column each
        cols = {("region_name_en" if k == "region_name" else "activity_name_en" if k == "activity_name" else k): v
                for k, v in cols.items() if k not in ("region_name_en", "activity_name_en")}
    if CERTAINTY_COLUMN in ranked.columns:
        cols[CERTAINTY_COLUMN] = "certainty"
    fd_en = inputs.regions.set_index("region_code")["name_en"].to_dict()

    def view(df: pd.DataFrame, rows: int) -> pd.DataFrame:
        df = df.head(rows)  # the rows a table shows: names are looked up for these only
        v = df.assign(share=df["share_of_national"].map(_pct), activity_name=df["activity_name"].map(display_name),
                      district=df["federal_district"].map(lambda c: fd_en.get(c, c)),
                      rank_indicator=[f"{i} (within industry)" if w else i
                                      for i, w in zip(df["rank_indicator"], df["within_industry_only"])])
        return v[list(cols)].rename(columns=cols)

    kind = "traded " if traded_only else ""
    out.append(f"### Strongest {kind}untapped specialisations (top {TOP_N} by signal)\n")
    out.append(_md_table(view(main, TOP_N), max_rows=TOP_N))
    out.append(f"\n### Largest {kind}untapped specialisations (top {TOP_N} by share of the national total)\n")
    big = main.sort_values(["share_of_national", "lq_rank"], ascending=[False, False], kind="stable")
    out.append(_md_table(view(big, TOP_N), max_rows=TOP_N))
    if traded_only:
        out.append(f"\n### Local untapped specialisations ({len(local)}; top {TOP_N} by signal)\n")
        out.append("Local activities serve mainly their own region; a high LQ there says more about the region's "
                   "structure than about a cluster to support.\n")
        out.append(_md_table(view(local, TOP_N), max_rows=TOP_N))
    out.append(f"\n### By {voc.group_name}\n")
    out.append(f"Supported clusters by status (a cluster spanning several {voc.group_name_plural} counts in each) "
               "and untapped specialisations (the strongest by signal):\n")
    out.append(_md_table(district_summary(s, ranked.assign(lq_max=ranked["lq_rank"]), inputs.regions, voc),
                         max_rows=50))

    if maps:
        out.append("\n## Maps\n")
        out.append("Equal-area projection centred on the data; regions crossing 180° drawn whole. Interactive map: "
                   "`map.html` (offline); GIS: `clusters.gpkg` (styles embedded) or the GeoJSON files with their "
                   "`.qml` styles.\n")
        for fname, title in maps:
            out.append(f"![{title}]({fname})\n")

    out.append("\n## Supported clusters\n")
    out.append(_supported_table(s, voc))

    out.append(f"\n## Untapped specialisations (`specialised_not_supported`), by {voc.group_name}\n")
    full_cols = {**cols, "trade_class": "traded / local"}
    full = ranked.sort_values(["federal_district", "lq_rank"], ascending=[True, False], kind="stable")
    fv = view(full, 80).assign(**{"traded / local": full["trade_class"].head(80).to_numpy()}) \
        if "trade_class" in full else view(full, 80)
    out.append(_md_table(fv[[c for c in full_cols.values() if c in fv.columns]], max_rows=80))
    if len(full) > 80:
        out.append(f"\n… and {len(full) - 80} more in `divergence.csv`.\n")

    out.append("\n## Candidate clusters spanning neighbouring regions\n")
    cand = built.candidates_table
    cross = cand.loc[cand["cross_regional"]].assign(
        regions=lambda x: x["region_names_en"].str.replace(";", ", "),
        activities=lambda x: x["activity_names_en"].str.replace(";", ", "))
    ccols = ["candidate_id", "regions", "activity_codes", "activities", "max_lq", "supported_cluster_ids"]
    if "trade_class" in cross and traded_only:
        out.append(_md_table(cross.loc[cross["trade_class"] != "local", ccols], max_rows=40))
        lc = cross.loc[cross["trade_class"] == "local"]
        out.append(f"\nIn local activities only ({len(lc)}), listed apart:\n")
        out.append(_md_table(lc[ccols], max_rows=40))
    else:
        out.append(_md_table(cross[ccols], max_rows=40))
    out += sections.get("results", [])

    out.append("\n## Regions without bundled geometry\n")
    wg = manifest["regions_without_geometry"]
    if wg:
        r = inputs.regions.set_index("region_code")
        out.append("These units keep their rows in every table (`has_geometry` = false) but are not drawn: "
                   + "; ".join(md_text(f"{c} ({voc.name_slash(r.at[c, 'name_ru'], r.at[c, 'name_en'])})") for c in wg)
                   + ".\n")
    else:
        out.append("_none_\n")

    out.append(methods_section(settings=sp, trade=built.activity_groups, trade_settings=getattr(config, "traded", None)
                               or _DefaultTraded(), blocks=[_groups_block(a, built)] + sections.get("methods", [])))

    out.append("\n## Data sources\n")
    ind = inputs.tidy.groupby(["indicator", "level", "unit"]).size().reset_index(name="rows")
    out.append(_md_table(ind, max_rows=50))
    out.append("\nIndicators by activity in this run come from the inputs listed below; where an indicator "
               "(employment, revenue or exports by activity) is absent, the inputs did not provide it in real "
               "form, and `level = total` rows are region context only (not used for LQs).\n")
    out += _sources(manifest, inputs, config, voc)
    out.append("\n## Row ledger\n")
    led = pd.DataFrame([{"file": i["file"].split("/")[-1], "read": i["rows_read"], "used": i["rows_used"],
                         "context rows": i["rows_context"],
                         "dropped": "; ".join(f"{k}: {v}" for k, v in i["rows_dropped"].items()) or "0",
                         "suppressed cells": i["cells_suppressed"]} for i in manifest["inputs"]])
    out.append(_md_table(led))
    out.append("\nEvery row read is used or dropped with the reason above (read = used + dropped, checked by the code).\n")
    from mapping.ledger import format_ledger  # per-file notes: layout, units, nesting, region set, checks

    for i in manifest["inputs"]:
        out.append("\n```text\n" + "\n".join(format_ledger(i)) + "\n```\n")
    if manifest.get("stage_seconds"):
        out.append("\n## Timings (seconds)\n")
        out.append(_md_table(pd.DataFrame([manifest["stage_seconds"]])))
    return "\n".join(out)


class _DefaultTraded:
    gini_cutoff = 0.30


def _supported_table(s: pd.DataFrame, voc: Vocabulary) -> str:
    """The supported clusters with their verdict: status, level tested, attainable LQ, verdict under each rule."""
    st = s.assign(regions=s["region_names"].str.replace(";", ", "),
                  name=[voc.name(r, e) for r, e in zip(s["name_ru"], s["name_en"])])
    cols = ["cluster_id", "name", "regions", "cluster_activity_codes", "status"]
    if "tested_level" in st:
        st = st.assign(rules=st["verdicts_by_rule"].fillna("").str.replace(";", ", ").str.replace("=", ": "),
                       attainable=st["attainable_lq_max"].fillna("").str.replace(";", ", ").str.replace("=", " "))
        st = st.rename(columns={"tested_level": "tested at", "tested_activities": "tested activities",
                                "attainable": "highest attainable LQ", "rules": "verdict by rule"})
        cols += ["tested at", "tested activities", "highest attainable LQ", "verdict by rule", "robust"]
    cols += ["best_lq", "best_lq_indicator", "specialised_pairs"]
    return _md_table(st[cols], max_rows=200)


def _groups_block(a: dict, built) -> str:
    """Co-location groups (a methods block): measure, k chosen by silhouette, and the groups."""
    g, rel = a["grouping"], a["relatedness"]
    ks = g.get("k_scores") or {}
    scores = ", ".join(f"k = {k}: {float(v):.3f}" for k, v in ks.items()) if isinstance(ks, dict) else str(ks)
    sil = g.get("silhouette")
    text = [f"\n## Co-location groups\n",
            f"Measure: {rel.get('measure')} of `{rel.get('indicator')}` across {rel.get('n_regions')} regions "
            f"({rel.get('year')}); grouping: {g.get('method')}, k = {g.get('n_groups')} (chosen by mean silhouette"
            + (f"; {scores}" if scores else "") + ")"
            + (f", mean silhouette {float(sil):.3f}" if sil is not None else "") + ".\n"]
    ag = built.activity_groups.assign(activity_name=lambda x: x["activity_name"].map(display_name))
    gcols = ["group_id", "activity_code", "activity_name", "activity_name_en", "relatedness_own_group",
             "relatedness_best_other_group", "validation_margin"]
    gcols += [c for c in ("trade_class",) if c in ag.columns]
    text.append(_md_table(ag[gcols], max_rows=200))
    return "\n".join(text)
