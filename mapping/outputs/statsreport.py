"""Report section "Statistical safeguards": what the size floors, the within-industry label, the region
totals, the threshold tests, false-discovery control, exact bounds and the years did in this run.

Renders ``manifest["headline"]["statistics"]`` (:func:`mapping.analysis.statsummary.statistics_summary`).
"""

from __future__ import annotations

__all__ = ["statistics_section"]


def _floors(v) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k} {x:g}" for k, x in sorted(v.items())) or "none"
    return f"{v:g}"


def _share(v) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k} {x:.2%}" for k, x in sorted(v.items())) or "none"
    return f"{v:.2%}"


def statistics_section(manifest: dict) -> str:
    """Markdown lines for ``report.md`` (empty when the run has no statistics summary)."""
    st = (manifest.get("headline") or {}).get("statistics")
    if not st:
        return ""
    out = ["\n## Statistical safeguards\n"]
    f = st.get("size_floors", {})
    removed = f.get("cells_removed", {})
    out.append(f"- **Size floors** (on by default): at least {_share(f.get('min_share_of_national', 0))} of the "
               f"national value and at least {_floors(f.get('min_value', 0))} (indicator's unit). They remove "
               f"**{f.get('cells_removed_total', 0)}** cells that reach the LQ threshold"
               + (f" ({', '.join(f'{k} {v}' for k, v in sorted(removed.items()))})" if removed else "")
               + f"; {f.get('pairs_removed', 0)} region × activity pairs are left unspecialised by them.")
    sc = st.get("scope", {})
    if sc.get("within_industry_indicators"):
        out.append(f"- **Within-industry LQs** ({', '.join(sc['within_industry_indicators'])}: the region's total "
                   f"is industry B–E, not the economy; `lq_scope = within_industry`): "
                   f"{sc.get('specialised_pairs_within_industry_only', 0)} specialised pairs rest on them alone.")
    rt = st.get("region_totals", {})
    unknown = rt.get("regions_with_unknown_total", [])
    out.append("- **Region totals**: published totals where the data have them (GRP for GVA); a region with a "
               "suppressed cell and no published total has no point LQ (only bounds)"
               + (f": {', '.join(unknown)}." if unknown else ": none in this run."))
    tests = st.get("threshold_tests", {})
    if tests:
        out.append("- **Tests behind LQ ≥ threshold** (Garwood Poisson interval for counts, bounds for rounded "
                   "or suppressed figures): " + "; ".join(
                       f"{k} ({v['test']}): {v['passed']} of {v['rows']} pass" for k, v in sorted(tests.items())) + ".")
    hs = st.get("hotspots")
    if hs and hs.get("tests"):
        fdr = (f"after Benjamini–Hochberg control of the false-discovery rate at q = {hs['fdr_q']:g} per map, "
               f"**{hs['significant_fdr']}** ({hs['hh_fdr']} HH hot spots)" if hs.get("fdr_q") is not None
               else "no false-discovery control")
        out.append(f"- **Hot spots**: {hs['tests']} local Moran tests; {hs['significant_unadjusted']} at p < "
                   f"{hs['alpha']:g} ({hs['hh_unadjusted']} HH) where chance alone would give about "
                   f"**{hs['expected_by_chance']:g}**; {fdr}.")
    eb = st.get("exact_bounds", {})
    for ind, e in sorted(eb.items()):
        if e:
            out.append(f"- **Exact bounds** ({ind}: region totals are equalities): {e['decided']} of "
                       f"{e['straddle_general']} cells whose general bounds straddle the threshold are decided; "
                       f"the general bounds are a median {e['median_width_ratio']:g}× wider.")
    yrs = st.get("years", {})
    obs = yrs.get("observed", {})
    if obs:
        out.append(f"- **Years**: analysis year {yrs.get('analysis_year')}; observed " + "; ".join(
            f"{k} {v[0]}–{v[-1]}" if len(v) > 1 else f"{k} {v[0]}" for k, v in sorted(obs.items()) if v) + ".")
    p = st.get("persistence", {})
    if p:
        out.append(f"- **Persistence** (specialised in ≥ {p.get('persistent_share', 0):.0%} of the years observed): "
                   f"of {p.get('specialised_pairs', 0)} specialised pairs, **{p.get('persistent', 0)} persistent**, "
                   f"{p.get('single_year', 0)} single-year, {p.get('other', 0)} intermittent"
                   + (f"; untapped: {p['untapped_persistent']} persistent, {p['untapped_not_persistent']} not"
                      if "untapped_persistent" in p else "") + ".")
    return "\n".join(out) + "\n"
