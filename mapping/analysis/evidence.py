"""Joins the robustness evidence (bounds and calls, years, hot spots, grouping stability) into the outputs.

Small glue between :mod:`mapping.pipeline` and the statistics modules (:mod:`mapping.analysis.uncertainty`,
:mod:`mapping.analysis.rules`, :mod:`mapping.analysis.timeseries`, :mod:`mapping.analysis.spatial`,
:mod:`mapping.analysis.relatedness`), plus the report section that tells certain findings from possible ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["PAIR_EVIDENCE", "pair_evidence", "SpatialEvidence", "spatial_evidence", "robustness_summary",
           "robustness_section"]

#: Columns of the combined specialisation carried onto each divergence pair.
PAIR_EVIDENCE = ["specialisation_call", "call_indicator", "lq_low", "lq_high", "lq_ci_low", "lq_ci_high",
                 "years_specialised", "n_years", "lq_change", "single_year", "persistent", "lq_scope",
                 "within_industry_only"]
_SPATIAL = ["local_moran_i", "local_moran_p", "local_moran_q", "hotspot"]


def pair_evidence(pairs_status: pd.DataFrame, spec: pd.DataFrame) -> pd.DataFrame:
    """Add the pair's call, bounds, interval and years (from the combined specialisation) to each pair.

    Pairs without data for the analysis year (a supported pair in an activity the inputs lack) get
    an empty call.
    """
    cols = [c for c in PAIR_EVIDENCE if c in spec.columns]
    extra = spec.set_index(["region_code", "activity_code"])[cols]
    out = pairs_status.drop(columns=[c for c in cols if c in pairs_status.columns]).join(
        extra, on=["region_code", "activity_code"])
    for c in ("specialisation_call", "call_indicator"):
        if c in out:
            out[c] = out[c].fillna("")
    for c in ("single_year", "persistent", "within_industry_only"):
        if c in out:
            out[c] = out[c].fillna(False).astype(bool)
    if "lq_scope" in out:
        out["lq_scope"] = out["lq_scope"].fillna("")
    for c in ("years_specialised", "n_years"):
        if c in out:
            out[c] = out[c].fillna(0).astype(int)
    return out


@dataclass
class SpatialEvidence:
    """Local Moran results and the tables annotated with them."""

    table: pd.DataFrame
    lq: pd.DataFrame
    pairs_status: pd.DataFrame
    candidates: pd.DataFrame
    summary: dict


def spatial_evidence(analysis, geography, config, pairs_status: pd.DataFrame,
                     candidates: pd.DataFrame) -> SpatialEvidence:
    """Local Moran's I for the specialisation indicators, joined onto the LQs, pairs and candidates.

    Pairs take the hot-spot class of their reference indicator (``call_indicator``); candidates
    count their member pairs in ``HH`` hot spots (``hotspot_pairs``).
    """
    from mapping.analysis.spatial import local_moran_rows

    sp = config.spatial
    s = config.specialisation
    base = analysis.lq
    if sp.enabled:
        table, at = local_moran_rows(base, geography.units, geography.neighbours, indicators=tuple(s.indicators),
                                     level=analysis.level, year=analysis.year, permutations=sp.permutations,
                                     alpha=sp.alpha, seed=config.run.seed, fdr_q=sp.fdr_q if sp.fdr else None)
    else:
        table = pd.DataFrame(columns=["year", "indicator", "classification", "level", "region_code",
                                      "activity_code"] + _SPATIAL + ["quadrant"])
        at = np.zeros(0, dtype=np.int64)
    # Each table row describes the LQ row at its position: the statistics go there (as a left join on the
    # six keys would put them, without joining millions of rows on text keys); other rows stay empty.
    lq = base.reset_index(drop=True)
    if not len(at) or int(np.bincount(at).max()) <= 1:
        where = np.full(len(lq), -1, dtype=np.intp)  # LQ row -> its table row (-1: not tested), as a reindex
        where[at] = np.arange(len(at))
        for c in _SPATIAL:
            if c in lq.columns:
                lq[c] = pd.api.extensions.take(table[c].array, where, allow_fill=True)
    else:  # an LQ row tested twice: the join's rows
        keys = ["year", "indicator", "classification", "level", "region_code", "activity_code"]
        lq = lq.drop(columns=[c for c in _SPATIAL if c in lq.columns]).merge(table, on=keys, how="left")
    lq["hotspot"] = lq["hotspot"].fillna("")
    lq = lq[list(analysis.lq.columns)]
    ps = pairs_status.drop(columns=[c for c in ("hotspot", "local_moran_p", "local_moran_q")
                                    if c in pairs_status.columns])
    ind = ps["call_indicator"] if "call_indicator" in ps else pd.Series("", index=ps.index)
    # Each pair's first table row of its region, activity and reference indicator (a left join on the
    # deduplicated table, by integer keys: the table has a row per region x activity x indicator tested).
    first, keys = _first_rows(table, [ps["region_code"], ps["activity_code"], ind])
    ps["hotspot"] = pd.Series(pd.api.extensions.take(table["hotspot"].array, first, allow_fill=True)
                              ).fillna("").to_numpy()
    ps["local_moran_p"] = pd.api.extensions.take(table["local_moran_p"].to_numpy(), first, allow_fill=True)
    ps["local_moran_q"] = pd.api.extensions.take(table["local_moran_q"].to_numpy(), first, allow_fill=True)
    t = table.loc[keys & (table["hotspot"] == "HH").to_numpy(dtype=bool)]
    hh = set(zip(t["region_code"].tolist(), t["activity_code"].tolist()))
    c = candidates.copy()
    c["hotspot_pairs"] = [sum((m["region_code"], m["activity_code"]) in hh for m in mem) for mem in c["members"]] \
        if len(c) else pd.Series(dtype=int)
    tested = table.loc[table["local_moran_p"].notna(), ["indicator", "activity_code"]]
    summary = {
        "enabled": sp.enabled, "permutations": sp.permutations, "alpha": sp.alpha,
        "activities_tested": _distinct_pairs(tested["indicator"], tested["activity_code"]),
        "hotspots": table["hotspot"].value_counts().to_dict(),
        "islands": sorted(set(table.loc[table["hotspot"] == "island", "region_code"])),
        "candidates_with_hotspot": int((c["hotspot_pairs"] > 0).sum()) if len(c) else 0,
    }
    from mapping.analysis.significance import fdr_summary

    summary.update(fdr_summary(table, alpha=sp.alpha, fdr_q=sp.fdr_q if sp.fdr else None))
    return SpatialEvidence(table=table, lq=lq, pairs_status=ps, candidates=c, summary=summary)


def _codes(values: pd.Series, uniques: pd.Index | None = None) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of the values (-1 for a value not among ``uniques``, when given) and the distinct values."""
    if uniques is None:
        codes, uniq = pd.factorize(values, use_na_sentinel=False)
        return np.asarray(codes, dtype=np.int64), pd.Index(uniq)
    return np.asarray(uniques.get_indexer(values), dtype=np.int64), uniques


def _first_rows(table: pd.DataFrame, keys: list[pd.Series]) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``keys`` (region, activity, indicator), the position of the first row of ``table``
    with the same three values (-1: none), and which rows of ``table`` are such first rows."""
    cols = ["region_code", "activity_code", "indicator"]
    t_key = np.zeros(len(table), dtype=np.int64)
    q_key = np.zeros(len(keys[0]), dtype=np.int64)
    missing = np.zeros(len(keys[0]), dtype=bool)
    for col, k in zip(cols, keys):
        t_codes, uniq = _codes(table[col])
        q_codes, _ = _codes(k, uniq)
        missing |= q_codes < 0
        t_key = t_key * max(len(uniq), 1) + t_codes
        q_key = q_key * max(len(uniq), 1) + q_codes
    index = pd.Index(t_key)
    firsts = np.ones(len(table), dtype=bool) if index.is_unique else ~index.duplicated(keep="first")
    rows = np.flatnonzero(firsts)
    found = pd.Index(t_key[rows]).get_indexer(q_key)
    first = np.where((found >= 0) & ~missing, rows[np.maximum(found, 0)], -1)
    return first, firsts


def _distinct_pairs(a: pd.Series, b: pd.Series) -> int:
    """How many distinct (a, b) pairs."""
    ca, ua = _codes(a)
    cb, _ = _codes(b)
    return int(len(np.unique(ca * max(len(ua), 1) + cb))) if len(ca) else 0


def robustness_summary(analysis, groups: pd.DataFrame, candidates: pd.DataFrame, pairs_status: pd.DataFrame,
                       spatial: dict | None) -> dict:
    """Counts for the headline: certain vs possible specialisations, candidates and divergence pairs."""
    spec = analysis.spec
    call = spec["specialisation_call"] if "specialisation_call" in spec else pd.Series("", index=spec.index)
    out = {
        "specialised_pairs": int(spec["specialised"].sum()),
        "certain": int((call == "certain").sum()),
        "possible": int((call == "possible").sum()),
        "possible_not_specialised_at_published_values": int(((call == "possible") & ~spec["specialised"]).sum()),
        "candidates_certain": int((candidates.get("specialisation_call", pd.Series(dtype=str)) == "certain").sum()),
        "candidates_possible": int((candidates.get("specialisation_call", pd.Series(dtype=str)) == "possible").sum()),
        "single_year_candidates": int(candidates.get("single_year", pd.Series(dtype=bool)).sum()),
        "years": sorted(int(y) for y in analysis.lq["year"].unique()),
        "uncertainty": getattr(analysis, "uncertainty", {}) or {},
    }
    if "specialisation_call" in pairs_status:
        out["pairs_by_status_and_call"] = {
            f"{st}/{c or 'no data'}": int(n) for (st, c), n in
            pairs_status.groupby(["status", "specialisation_call"]).size().items()}
    if spatial:
        out["spatial"] = spatial
    g = groups.attrs
    out["grouping"] = {k: g.get(k) for k in ("grouping", "n_groups", "silhouette", "mean_validation_margin",
                                             "share_positive_margin", "stability_ari", "stability_resamples",
                                             "agreement", "fixed_stability_ari")
                       if k in g}
    return out


def _fmt(v, nd: int = 3) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def robustness_section(manifest: dict, built, analysis, config) -> str:
    """Markdown section of ``report.md``: certain vs possible findings and the other robustness checks."""
    h = manifest.get("headline", {}).get("robustness")
    if not h:
        return ""
    s = config.specialisation
    rule = {"threshold": f"LQ ≥ {s.threshold:g}",
            "cmp_percentile": (f"US Cluster Mapping Project percentile rule (LQ ≥ max({s.cmp_min_lq:g}, "
                               f"p{s.cmp_lq_percentile:g}); {', '.join(s.cmp_size_indicators)} > p{s.cmp_size_percentile:g})"),
            "eco_stars": (f"European Cluster Observatory stars (size, specialisation LQ ≥ {s.threshold:g}, focus; "
                          f"top {s.eco_top_share:.0%}; ≥ {s.eco_min_stars} stars)")}[s.rule]
    u = h.get("uncertainty", {})
    out = ["\n## How certain are the findings?\n",
           f"Rule: **{rule}**, combined as `{s.combine or ' or '.join(s.indicators)}`. Each call is `certain` when "
           "the rule holds for every value the published figures allow (rounding, suppression and ranges "
           "carried as bounds consistent with the known totals), `possible` when it holds for some of them, "
           "`no` otherwise.\n",
           f"- Region × activity pairs specialised at the published values: **{h['specialised_pairs']}** — "
           f"**{h['certain']} certain**, {h['possible'] - h['possible_not_specialised_at_published_values']} "
           f"possible only; a further {h['possible_not_specialised_at_published_values']} pairs are "
           f"not specialised at the published values but possibly are within the bounds.",
           f"- Candidate clusters: **{h['candidates_certain']} certain** (every member pair certain), "
           f"{h['candidates_possible']} possible.",
           ]
    if u:
        out.append(f"- Bounds: {u.get('range_cells_imputed', 0)} range cells given their midpoint; cells narrowed by "
                   f"region totals {u.get('region_total', 0)}, by parent activities {u.get('parent_activity', 0)}, "
                   f"by national totals {u.get('national_total', 0)}"
                   + (f" ({', '.join(p.split('/')[-1] for p in u.get('known_totals', []))})" if u.get("known_totals") else "")
                   + ".")
    if len(h.get("years", [])) > 1:
        out.append(f"- Years: {h['years'][0]}–{h['years'][-1]}; {h['single_year_candidates']} candidates are "
                   "specialised in only one year of several (`single_year`).")
    else:
        out.append(f"- Years: one year of data ({h['years'][0] if h.get('years') else '?'}); no persistence check.")
    pbc = h.get("pairs_by_status_and_call")
    if pbc:
        out.append("\n| status / call | pairs |\n|---|---|")
        out += [f"| {k} | {v} |" for k, v in sorted(pbc.items())]
    d = built.divergence_table
    if "specialisation_call" in d:
        un = d.loc[(d["status"] == "specialised_not_supported")]
        for call in ("certain", "possible"):
            part = un.loc[un["specialisation_call"] == call].sort_values("lq_max", ascending=False)
            out.append(f"\n**Untapped specialisations, {call}** ({len(part)}):"
                       + (" " + ", ".join(f"{r.region_code} {r.activity_code} "
                                          f"({_fmt(r.lq_low, 2)}–{_fmt(r.lq_high, 2)})"
                                          for r in part.head(25).itertuples())
                          + (" …" if len(part) > 25 else "") if len(part) else " none."))
        snp = d.loc[(d["status"] == "supported_not_specialised") & (d["specialisation_call"] == "possible")]
        if len(snp):
            out.append(f"\n**Supported, not specialised at the published values, but possibly within the bounds** "
                       f"({len(snp)}): " + ", ".join(f"{r.region_code} {r.activity_code}" for r in snp.head(25).itertuples()))
    sp = h.get("spatial")
    if sp and sp.get("enabled"):
        hs = sp.get("hotspots", {})
        out.append(f"\n**Spatial evidence** (Local Moran's I on each specialised activity's LQ, contiguity weights "
                   f"from the unsplit boundaries, {sp['permutations']} permutations, α = {sp['alpha']}): "
                   f"{sp['activities_tested']} indicator × activity maps tested; {hs.get('HH', 0)} region × activity "
                   f"hot spots (HH), {hs.get('HL', 0)} high outliers (HL); {sp['candidates_with_hotspot']} candidates "
                   f"contain a hot spot. Without land neighbours (left out, stated as `island`): "
                   f"{', '.join(sp.get('islands', [])) or 'none'}.")
    g = h.get("grouping", {})
    out.append(f"\n**Grouping** ({g.get('grouping', 'data')}): k = {g.get('n_groups')}, mean silhouette "
               f"{_fmt(g.get('silhouette'))}, mean validation margin (own group − best other group) "
               f"{_fmt(g.get('mean_validation_margin'))}, {_fmt(g.get('share_positive_margin'), 2)} of activities "
               f"closest to their own group; stability under resampling of regions: mean ARI "
               f"{_fmt(g.get('stability_ari'))} over {g.get('stability_resamples')} bootstrap samples.")
    null = {r["score"]: r for r in manifest.get("analysis", {}).get("grouping", {}).get("validation", {})
            .get("scores", []) if r.get("grouping") == "data" and r["score"].startswith("in-sample")}
    if null:  # the in-sample scores beside the same scores on data with the regions permuted (relatedness)
        out.append("On data with the regions permuted within each activity: " + "; ".join(
            f"{k.removeprefix('in-sample ')} {_fmt(r['value'])} vs null mean {_fmt(r['null_mean'])}, p = "
            f"{_fmt(r['p_value'], 2)}{'' if r['beats_null'] else ' (does not beat its null)'}" for k, r in null.items())
            + ". Held-out scores: see *Methods: related-activity groups*.")
    if g.get("agreement"):
        a = g["agreement"]
        out.append(f"Agreement of the data-driven groups with the fixed categories: ARI {_fmt(a.get('ari'))}, "
                   f"NMI {_fmt(a.get('nmi'))} over {a.get('n_activities')} activities.")
    src = manifest.get("analysis", {}).get("grouping", {}).get("sources")
    if src:
        out.append("\nWhat each relatedness source adds (same method and k; in-sample figures, computed on each "
                   "variant's own matrix, so descriptive only):\n")
        out.append("| sources | silhouette | mean margin | corr. with co-location | ARI vs final | stability ARI |\n"
                   "|---|---|---|---|---|---|")
        out += [f"| {r['sources']} | {_fmt(r['silhouette'])} | {_fmt(r['mean_validation_margin'])} | "
                f"{_fmt(r['corr_with_colocation'])} | {_fmt(r['ari_vs_final'])} | {_fmt(r.get('stability_ari'))} |"
                for r in src]
    return "\n".join(out) + "\n"
