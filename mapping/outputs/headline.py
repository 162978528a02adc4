"""The report's headline in plain words (Russian and English), and its methods section with a glossary.

The headline answers, without jargon: how many supported clusters the data could test and at which
level, how many are aligned under every rule, how many only under some (and which rule decides),
how many could not be tested and why, and which untapped specialisations give the strongest
signals (traded, sizeable, significant, persistent; see :mod:`mapping.outputs.untapped`). Terms
such as silhouette, ARI or HH/HL hot spots appear only in the methods section, explained in its
glossary.
"""

from __future__ import annotations

import pandas as pd

from mapping.outputs.names import display_name, md_text

__all__ = ["RULE_WORDS", "headline_lines", "methods_section", "GLOSSARY"]

#: Each rule variant in plain words, (English, Russian).
RULE_WORDS: dict[str, tuple[str, str]] = {
    "threshold": ("the LQ ≥ {t} threshold", "порог LQ ≥ {t}"),
    "cmp_percentile": ("the US Cluster Mapping percentile rule", "процентильное правило US Cluster Mapping"),
    "eco_stars": ("the European Cluster Observatory stars", "«звёзды» Европейской кластерной обсерватории"),
}
#: Rules in the Russian dative ("подтверждены по ..."), for the grouped list of rule-dependent clusters.
_RULE_RU_DAT = {"threshold": "порогу LQ ≥ {t}", "cmp_percentile": "процентильному правилу US Cluster Mapping",
                "eco_stars": "«звёздам» Европейской кластерной обсерватории"}
#: Indicators in plain words, (English, Russian).
INDICATOR_WORDS: dict[str, tuple[str, str]] = {
    "gva": ("gross value added", "валовой добавленной стоимости"),
    "shipments": ("industrial shipments", "отгрузке промышленной продукции"),
    "employment": ("employment", "занятости"),
    "establishments": ("establishments", "числу организаций"),
    "revenue": ("revenue", "выручке"),
    "exports": ("exports", "экспорту"),
}
_LEVEL_RU = {"section": "разделов", "division": "классов", "group": "подклассов", "class": "групп",
             "subclass": "подгрупп"}
#: How many untapped specialisations the headline names.
HEADLINE_TOP = 5


def _rule(name: str, lang: int, threshold: float) -> str:
    base = name.removesuffix("_no_floors")
    words = (RULE_WORDS.get(base, (base, base))[0] if lang == 0 else _RULE_RU_DAT.get(base, base)).format(
        t=f"{threshold:g}")
    if name.endswith("_no_floors"):
        words += " without size floors" if lang == 0 else " без порогов размера"
    return words


def _rule_names(rules: tuple[str, ...], lang: int, threshold: float) -> list[str]:
    """Rule variants in words; a rule that holds with and without size floors is named once."""
    out = []
    for r in rules:
        base = r.removesuffix("_no_floors")
        both = base in rules and f"{base}_no_floors" in rules
        if both and r != base:
            continue
        words = _rule(r, lang, threshold)
        if both:
            words += " (with or without size floors)" if lang == 0 else " (с порогами размера и без них)"
        out.append(words)
    return out


def _indicator(name: str, lang: int) -> str:
    return INDICATOR_WORDS.get(name, (name, name))[lang]


def _join(items: list[str], lang: int) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + (" and " if lang == 0 else " и ") + items[-1]


def _level(level: str, lang: int) -> str:
    return _LEVEL_RU.get(level, level) if lang == 1 else level


def _verdicts(text: str) -> dict[str, str]:
    return dict(kv.split("=", 1) for kv in str(text or "").split(";") if "=" in kv)


def _cap_note(s: pd.DataFrame, threshold: float, lang: int) -> str:
    """Indicators that could not reach the threshold in the tested activities of testable clusters."""
    tested = s.loc[s["status"].isin(["aligned", "supported_not_specialised"])]
    low: dict[str, list[float]] = {}
    for text in tested["attainable_lq_max"].fillna(""):
        for ind, v in _verdicts(text).items():
            if v != "inf" and float(v) < threshold:
                low.setdefault(ind, []).append(float(v))
    out = ""
    for ind, v in low.items():
        if lang == 0:
            out += (f" For {len(v)} of them {_indicator(ind, 0)} could not decide: in their activities no region can "
                    f"exceed LQ {max(v):.2f} (the activity holds most of the indicator's total), so the other "
                    f"indicators decided.")
        else:
            out += (f" Для {len(v)} из них показатель по {_indicator(ind, 1)} не мог решить: по их видам "
                    f"деятельности ни один регион не может превысить LQ {max(v):.2f} (вид занимает большую часть "
                    f"итога показателя), решили остальные показатели.")
    return out


def _md(text: str) -> str:
    return md_text(text)


def _name(voc, ru: str, en: str, lang: int) -> str:
    """A registry name as literal Markdown text (:func:`mapping.outputs.names.md_text`)."""
    if lang == 0 and voc.bilingual:
        return md_text(en or ru)
    return md_text(voc.name(ru, en) if lang == 0 else (ru or en))


def headline_lines(*, summary: dict, supported: pd.DataFrame, ranked: pd.DataFrame, candidates: pd.DataFrame,
                   pairs_by_status: dict, settings, voc, lang: int, registry: str = "", n_years: int = 1) -> list[str]:
    """The headline's bullets in one language (0 English, 1 Russian).

    Parameters
    ----------
    summary : dict
        :func:`mapping.analysis.verdicts.verdict_summary`.
    supported : DataFrame
        ``supported_clusters.csv`` rows.
    ranked : DataFrame
        :func:`mapping.outputs.untapped.rank_untapped` with names (``region_name``, ``activity_name`` ...).
    candidates : DataFrame
        ``candidate_clusters.csv`` rows (``trade_class``, ``cross_regional``).
    pairs_by_status : dict
        Pair counts by status.
    settings : mapping.config.SpecialisationSection
    voc : mapping.outputs.vocabulary.Vocabulary
    registry : str
        File name of the support registry (named when it is empty).
    n_years : int
        Years of data in the run.

    Returns
    -------
    list of str
        Markdown bullets.
    """
    en = lang == 0
    t = float(settings.threshold)
    out: list[str] = []
    s = supported
    n = int(summary.get("supported", 0))
    if n == 0:
        out.append(("- **The support registry of this run is empty**" + (f" ({_md(registry)})" if registry else "")
                    + ": there is no supported cluster to test, so every specialisation found is listed as untapped.")
                   if en else
                   ("- **Реестр поддерживаемых кластеров пуст**" + (f" ({_md(registry)})" if registry else "")
                    + ": проверять нечего, поэтому все найденные специализации показаны как незадействованные."))
    else:
        levels = summary.get("tested_levels", {})
        lv = _join([f"{k} at the {lvl} level" if en else f"{k} на уровне {_level(lvl, lang)}"
                    for lvl, k in levels.items()], lang)
        own = s["cluster_activity_codes"] != s["activity_codes"] if "activity_codes" in s else pd.Series(False)
        coarse = int((own & s["status"].isin(["aligned", "supported_not_specialised"])).sum())
        if en:
            line = (f"- **What the data could test.** Of **{n}** supported clusters, the data could test "
                    f"**{summary['testable']}**" + (f" ({lv})" if lv else "") + ".")
            if coarse:
                line += (f" {coarse} of them are defined by finer activity codes than the data have: for them the "
                         f"test asks whether the region is specialised in the whole broader activity (e.g. all "
                         f"manufacturing), not in the cluster's own products.")
        else:
            line = (f"- **Что удалось проверить.** Из **{n}** поддерживаемых кластеров данные позволили проверить "
                    f"**{summary['testable']}**" + (f" ({lv})" if lv else "") + ".")
            if coarse:
                line += (f" {coarse} из них заданы более детальными кодами, чем есть в данных: для них проверяется "
                         f"специализация региона во всём более широком виде деятельности (например, во всей "
                         f"обрабатывающей промышленности), а не в профиле самого кластера.")
        out.append(line + _cap_note(s, t, lang))
        robust = s.loc[(s["status"] == "aligned") & s["robust"].astype(bool)]
        names = "; ".join(_name(voc, r.name_ru, r.name_en, lang) for r in robust.itertuples())
        out.append((f"- **Aligned under every rule: {len(robust)}**" if en else
                    f"- **Подтверждены специализацией по всем правилам: {len(robust)}**")
                   + (f": {names}." if names else "."))
        dep = s.loc[~s["robust"].astype(bool) & s["verdicts_by_rule"].fillna("").str.contains("=aligned")]
        if len(dep):
            by_rules: dict[tuple[str, ...], list[str]] = {}
            for r in dep.itertuples():
                yes = tuple(k for k, x in _verdicts(r.verdicts_by_rule).items() if x == "aligned")
                by_rules.setdefault(yes, []).append(_name(voc, r.name_ru, r.name_en, lang))
            parts = [f"{'under' if en else 'по'} {_join(_rule_names(rules, lang, t), lang)} ({len(names)}): "
                     + "; ".join(names) for rules, names in sorted(by_rules.items(), key=lambda kv: -len(kv[1]))]
            decide = _rule(settings.rule, 0, t) if en else _rule(settings.rule, 1, t)
            out.append((f"- **Aligned only under some rules: {len(dep)}**; the rule in force ({decide}) decides their "
                        f"status. Aligned " if en else
                        f"- **Подтверждены только по некоторым правилам: {len(dep)}**; статус определяет действующее "
                        f"правило (по {decide}). Подтверждены ") + "; ".join(parts) + ".")
        never = int(((s["status"] == "supported_not_specialised") & s["robust"].astype(bool)).sum())
        out.append(f"- **Not aligned under any rule: {never}**." if en else
                   f"- **Не подтверждены ни по одному правилу: {never}**.")
        nt, nd = int(summary.get("not_testable", 0)), int(summary.get("no_data", 0))
        if en:
            why = []
            if nt:
                why.append(f"{nt} because no indicator in the data can reach the threshold in their activities")
            if nd:
                why.append(f"{nd} because the run has no data for their regions")
            out.append(f"- **Could not be tested: {nt + nd}**" + (f" ({_join(why, 0)})." if why else "."))
        else:
            why = []
            if nt:
                why.append(f"{nt} — ни один показатель в данных не может достичь порога по их видам деятельности")
            if nd:
                why.append(f"{nd} — нет данных по их регионам")
            out.append(f"- **Проверить не удалось: {nt + nd}**" + (f" ({'; '.join(why)})." if why else "."))
    out += _untapped_lines(ranked, pairs_by_status, voc, lang, n_years)
    nc = len(candidates)
    traded = int((candidates.get("trade_class", pd.Series(dtype=str)) == "traded").sum())
    cross = int(candidates["cross_regional"].sum()) if "cross_regional" in candidates else 0
    out.append(f"- **Candidate clusters: {nc}**, {traded} of them in traded activities, {cross} spanning neighbouring "
               f"regions." if en else
               f"- **Кластеры-кандидаты: {nc}**, из них {traded} в торгуемых видах деятельности, {cross} охватывают "
               f"соседние регионы.")
    return out


def _untapped_lines(ranked: pd.DataFrame, pairs_by_status: dict, voc, lang: int, n_years: int) -> list[str]:
    en = lang == 0
    n = int(pairs_by_status.get("specialised_not_supported", len(ranked)))
    cls = ranked.get("trade_class", pd.Series("", index=ranked.index))
    traded = ranked.loc[cls == "traded"]
    local = int((cls == "local").sum())
    line = (f"- **Untapped specialisations: {n}** region × activity pairs are specialised with no supported cluster: "
            f"**{len(traded)} in traded activities** (concentrated in some regions, selling beyond them) and {local} "
            f"in local ones (construction, utilities, public services and the like; listed apart)." if en else
            f"- **Незадействованные специализации: {n}** пар «регион × вид деятельности» специализированы без "
            f"поддерживаемого кластера: **{len(traded)} в торгуемых видах деятельности** (сосредоточены в части "
            f"регионов и продают за их пределы) и {local} в локальных (строительство, коммунальные и общественные "
            f"услуги и т. п.; показаны отдельно).")
    if n_years <= 1:
        line += (" One year of data: persistence over time is not checked." if en else
                 " Данные за один год: устойчивость во времени не проверялась.")
    elif "persistent" in traded:
        k = int(traded["persistent"].sum())
        line += (f" {k} of the traded ones are persistent (specialised in most of the years observed, up to "
                 f"{n_years}); the others appear in fewer years." if en else
                 f" {k} из торгуемых устойчивы (специализация в большинстве наблюдаемых лет, до {n_years}); "
                 f"остальные — в меньшем числе лет.")
    out = [line]
    top = traded.head(HEADLINE_TOP)
    if len(top):
        items = []
        for i, r in enumerate(top.itertuples(), 1):
            region = _name(voc, r.region_name, r.region_name_en, lang)
            act = _md(display_name((r.activity_name_en if en and voc.bilingual else r.activity_name)
                                   or r.activity_code))
            share = f"{100 * r.share_of_national:.1f} %" if pd.notna(r.share_of_national) else ""
            sig = [w for w in str(r.signal_text).split(", ") if w]
            sig_ru = {"sizeable": "крупная", "significant": "значимая", "persistent": "устойчивая"}
            sig_txt = ", ".join(sig if en else [sig_ru.get(w, w) for w in sig])
            items.append(f"{i}) {region} — {str(act)[:1].lower() + str(act)[1:]} "
                         f"(LQ {r.lq_rank:.2f} {'on' if en else 'по'} {_indicator(r.rank_indicator, lang)}"
                         + (f", {share} {'of the national total' if en else 'от итога по стране'}" if share else "")
                         + (f"; {sig_txt}" if sig_txt else "") + ")")
        out.append(("  Strongest traded signals: " if en else "  Самые сильные сигналы в торгуемых видах: ")
                   + "; ".join(items) + ".")
    return out


#: Terms used in the report, explained (English).
GLOSSARY: tuple[tuple[str, str], ...] = (
    ("LQ (location quotient)", "the activity's share of the region's total divided by its share of the national "
     "total; 2 means twice as concentrated as in the country as a whole."),
    ("within-industry LQ", "an LQ whose total covers only some activities (industrial shipments: mining, "
     "manufacturing, utilities); it compares a region with industry, not with the whole economy."),
    ("attainable LQ", "1 / the activity's national share: the highest LQ any region could reach. An activity "
     "holding 66 % of the total caps every LQ at 1.51."),
    ("aligned / supported_not_specialised", "a supported cluster whose region is / is not specialised in the "
     "cluster's activities at the level tested."),
    ("not_testable / no_data", "a supported cluster the data cannot judge: no indicator can reach the threshold "
     "in its activities / no data for its regions."),
    ("specialised_not_supported (untapped)", "a specialised region × activity pair that no supported cluster covers."),
    ("robust", "the verdict is the same under the three rules (and without size floors, when floors are set)."),
    ("threshold rule", "LQ at or above the threshold (2)."),
    ("CMP percentile rule", "US Cluster Mapping Project: LQ at or above the activity's 75th percentile across "
     "regions (and at least 1), with employment and establishments above their 25th percentile where present."),
    ("ECO stars", "European Cluster Observatory: one star each for size (top 10 % share of the national "
     "activity), specialisation (LQ ≥ 2) and focus (top 10 % share of the region's total); two stars qualify."),
    ("traded / local", "an activity concentrated in some regions (selling beyond them) / spread like the economy "
     "itself (serving local demand), by the locational Gini below."),
    ("locational Gini", "0 when an activity is spread exactly like the whole economy, towards 1 when it sits in a "
     "few regions (Krugman 1991)."),
    ("certain / possible", "the rule holds at every value / at some values the published (rounded, suppressed) "
     "figures allow."),
    ("Local Moran's I, HH / HL", "a test of whether a region's LQ resembles its neighbours'; HH: high among high "
     "(a hot spot), HL: high among low (an outlier)."),
    ("p-value, FDR", "the chance of a result at least this strong if nothing were there; the false discovery "
     "rate controls the share of false hot spots among many tests."),
    ("silhouette", "how much closer each activity is to its own co-location group than to the next (−1 to 1)."),
    ("ARI, NMI", "agreement between two groupings (1 identical, 0 as by chance)."),
    ("validation margin", "relatedness to the own group minus relatedness to the best other group."),
)


def methods_section(*, settings, trade: pd.DataFrame | None, trade_settings, blocks: list[str]) -> str:
    """``## Methods``: how verdicts, rankings and the traded/local split are made, extra blocks, the glossary.

    Parameters
    ----------
    settings : mapping.config.SpecialisationSection
    trade : DataFrame, optional
        ``activity_groups.csv`` rows with ``locational_gini`` and ``trade_class``.
    trade_settings : mapping.config.TradedSection
    blocks : list of str
        Further Markdown blocks (co-location groups, certainty and spatial evidence ...); their
        second-level headings become third-level ones.

    Returns
    -------
    str
    """
    out = ["\n## Methods\n",
           "### How a verdict on a supported cluster is reached\n",
           "Each cluster's activity codes are mapped onto the data's classification level: its own level where the "
           "run has data there (a user's division file makes a division-defined cluster testable at `division`), "
           "else the nearest coarser level, else a finer one (`tested_level`, `tested_activities`). For each "
           "indicator the highest LQ any region could reach in those activities is `1 / national share` "
           "(`attainable_lq_max`). `not_testable`: no indicator observes the activities in the cluster's regions "
           "where the rule's LQ cut-off is attainable; `no_data`: no value at all for its regions; "
           "`supported_not_specialised` only where a test was possible and failed. The verdict is repeated under "
           f"the three rules (threshold LQ ≥ {settings.threshold:g}, CMP percentile, ECO stars) and, when size "
           "floors are set, without them (`verdicts_by_rule`); `robust` is true when all agree. The rule in force "
           "decides `status`.\n",
           "### Traded and local activities\n",
           "Following the US Cluster Mapping Project (Porter 2003; Delgado, Porter & Stern 2016), an activity is "
           "traded when it is concentrated in a subset of regions and local when it is spread like the economy. "
           f"Measured here by the locational Gini coefficient; traded when it is at least "
           f"{trade_settings.gini_cutoff:g}. Rankings of untapped specialisations and candidate clusters use traded "
           "activities; local ones are listed apart.\n"]
    if trade is not None and len(trade) and "locational_gini" in trade:
        t = trade.sort_values("locational_gini", ascending=False, na_position="last")
        n = t["trade_class"].value_counts()
        if len(t) > 40:  # a fine classification: the counts and the two ends; every activity in activity_groups.csv
            out.append(f"{n.get('traded', 0)} activities traded, {n.get('local', 0)} local "
                       f"(every activity with its Gini in `activity_groups.csv`); the most and the least concentrated:\n")
            t = pd.concat([t.head(10), t.dropna(subset=["locational_gini"]).tail(10)])
        out.append("| code | activity | locational Gini | class |\n|---|---|---|---|")
        out += [f"| {md_text(r.activity_code)} | {md_text(r.activity_name_en)} | "
                f"{'' if pd.isna(r.locational_gini) else f'{r.locational_gini:.3f}'} | {r.trade_class} |"
                for r in t.itertuples()]
        out.append("")
    out.append("### Ranking of untapped specialisations\n")
    out.append("Traded pairs first; then pairs specialised on an economy-wide indicator before those resting on a "
               "within-industry LQ alone (industrial shipments); then by how many signals hold — sizeable (at least "
               "0.5 % of the national value), significant (a significance test where the run has one, else certain "
               "within the published figures' bounds), persistent (specialised in at least two thirds of two or "
               "more years) — then by the economy-wide LQ.\n")
    for b in blocks:
        out.append(b.replace("\n## ", "\n### ").replace("\n# ", "\n### "))
    out.append("\n### Glossary\n")
    out += [f"- **{term}**: {text}" for term, text in GLOSSARY]
    return "\n".join(out) + "\n"
