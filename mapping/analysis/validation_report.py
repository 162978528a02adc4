"""The report's methods section on relatedness: how weights and k were chosen, scores beside their nulls,
and how much of each group is development level (markdown from the grouping's ``attrs``)."""

from __future__ import annotations

import math

__all__ = ["relatedness_methods_section"]

_SOURCE = {"colocation": "co-location", "io": "input–output links", "hierarchy": "classification closeness"}


def _f(v, nd: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def _weights(w: dict) -> str:
    return ", ".join(f"{_SOURCE.get(k, k)} {v:.2f}" for k, v in w.items() if v > 0) or "–"


def relatedness_methods_section(attrs: dict, matrix_attrs: dict | None = None) -> str:
    """Markdown "Methods: related-activity groups" section.

    Parameters
    ----------
    attrs : dict
        ``groups.attrs`` of :func:`mapping.analysis.grouping.build_groups` (``selection``,
        ``validation``, ``development``, ``io``).
    matrix_attrs : dict, optional
        ``matrix.attrs`` (measure, indicator, year, scale, io table).

    Returns
    -------
    str
        The section (empty when the grouping carries no selection record).
    """
    sel = attrs.get("selection")
    if not sel:
        return ""
    m = matrix_attrs or {}
    out = ["\n## Methods: related-activity groups\n"]
    io = attrs.get("io") or {}
    out.append(
        f"Relatedness combines co-location ({m.get('measure', 'correlation')} of the "
        f"{m.get('indicator', '')} LQs across {m.get('n_regions', '?')} regions"
        + (", with the regions' development level partialled out" if attrs.get("development") else "")
        + ")"
        + (f", input–output links from `{io['table'].replace(chr(92), '/').split('/')[-1]}` "
           f"(Delgado–Porter–Stern: largest of the input and output shares; {io['mapped']} activities mapped, "
           f"{len(io['unmapped'])} unmapped: {', '.join(io['unmapped']) or 'none'}; "
           f"{io['pairs_in_one_io_industry']} pairs fall in one input–output industry and carry no "
           "input–output evidence)" if io else "")
        + " and closeness in the classification tree where the codes have one. Each source is put on its "
        "percentile scale" if m.get("scale") == "rank" else " (values as they are)")
    out[-1] += (". The weighted mean over the sources with evidence for a pair is clustered by average linkage.\n")
    how = "chosen" if sel.get("mode") == "auto" else "configured and scored"
    out.append(
        f"**Selection criterion ({how} without any external cluster definition and never on the matrix "
        "being clustered).** The regions are split at random into two halves. A grouping built with "
        "co-location from one half is scored on co-location measured in the other half (both ways), and a "
        "grouping built without one of the other sources (input–output links, classification closeness) is "
        "scored on that source, each in turn. The score is the correlation "
        "between \"same group\" and the held-out relatedness over all activity pairs (a Mantel statistic; "
        "it rewards neither one giant group nor splitting everything). Each source counts once, so no "
        "source scores itself: its weight earns its place only by predicting the others.\n")
    out.append(f"- Chosen weights: **{_weights(sel['weights'])}**; k = **{sel['k']}** "
               f"(held-out score {_f(sel['score'])}).")
    lo, hi = sel.get("k_range", ["?", "?"])
    edge = ("**k is at the edge of the searched range**" if sel.get("k_at_edge") else "k is inside the range")
    out.append(f"- k searched in {lo}..{hi} (initial range {sel['k_range_initial'][0]}..{sel['k_range_initial'][1]}"
               + ("; widened because the best k sat on its edge" if sel.get("widened") else "") + f"); {edge}.")
    table = sel.get("table") or []
    if len(table) > 1:
        out.append("\n| weights | best k | held-out score | co-location A→B | co-location B→A | input–output | "
                   "classification |\n|---|---|---|---|---|---|---|")
        for r in table[:8]:
            out.append(f"| {_weights(r['weights'])} | {r['best_k']} | {_f(r['score'])} | "
                       f"{_f(r.get('colocation_a_to_b'))} | {_f(r.get('colocation_b_to_a'))} | {_f(r.get('io'))} | "
                       f"{_f(r.get('hierarchy'))} |")
    val = attrs.get("validation") or {}
    rows = val.get("scores") or []
    if rows:
        out.append("\n**Validation scores beside their nulls** (one-sided permutation p-values; a score that does "
                   "not beat its null at 5 % is marked *no*):\n")
        out.append("| score | grouping | value | null mean | null 95th pct | p | beats null | null |\n"
                   "|---|---|---|---|---|---|---|---|")
        for r in rows:
            out.append(f"| {r['score']} | {r['grouping']} | {_f(r['value'])} | {_f(r['null_mean'])} | "
                       f"{_f(r['null_p95'])} | {_f(r['p_value'])} | {'yes' if r['beats_null'] else '*no*'} | "
                       f"{r['null']} ({r['n_perm']}) |")
        base = {r["score"]: r["value"] for r in rows if r["grouping"] != "data"}
        data = {r["score"]: r["value"] for r in rows if r["grouping"] == "data" and r["score"] in base}
        if data:
            wins = sum(1 for s, v in data.items() if v > base[s])
            out.append(f"\nAgainst the classification tree (3-digit prefix) on the same held-out evidence, the "
                       f"data grouping scores higher on **{wins} of {len(data)}** held-out scores.")
    stab = attrs.get("stability_ari")
    if stab is not None and not (isinstance(stab, float) and math.isnan(stab)):
        out.append(f"\nBootstrap stability (regions resampled, {attrs.get('stability_resamples')} samples): mean ARI "
                   f"{_f(stab)}. The input–output and classification sources do not change across resamples, so "
                   "stability rises with their weight; it is not a validation score.")
    dev = attrs.get("development") or []
    if dev:
        n_expl = sum(1 for g in dev if g["explained_by_development"])
        out.append("\n**Development level.** Correlation of each member's LQ with log GVA per worker (or the "
                   "configured productivity measure) across regions; co-location is measured after partialling "
                   f"it out. Groups explained by development level alone: **{n_expl}** of {len(dev)} (every member "
                   "|r| ≥ 0.5 with one sign, and neither partial co-location nor input–output links above random "
                   "pairs).\n")
        out.append("| group | members (r with development) | mean r | within-group partial co-location | "
                   "random pairs | input–output percentile | explained by development |\n|---|---|---|---|---|---|---|")
        for g in dev:
            mem = ", ".join(f"{a} ({_f(r, 2)})" for a, r in g["corr_with_development"].items())
            out.append(f"| {g['group_id']} | {mem} | {_f(g['mean_corr'], 2)} | {_f(g['within_partial_colocation'])} | "
                       f"{_f(g['random_pair_partial_colocation'])} | {_f(g['within_io_percentile'], 2)} | "
                       f"{'yes' if g['explained_by_development'] else 'no'} |")
    thr = attrs.get("link_threshold")
    if thr is not None:
        out.append(f"\nCandidate clusters join only activities related at least as much as the "
                   f"{attrs.get('link_quantile', 0.5):.0%} quantile of all pairs ({_f(thr)}), and only neighbouring "
                   "regions specialised in a shared activity.")
    return "\n".join(out) + "\n"
