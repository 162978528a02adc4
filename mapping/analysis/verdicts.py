"""What the data could test about each supported cluster, and whether the verdict holds across rules.

A verdict on a supported cluster says how it was reached:

* ``tested_level``: the classification level of the data that decided it. The cluster's own level
  is preferred (a cluster defined by OKVED2 divisions is tested on division data when the run has
  any), then the nearest coarser level (sections), then finer levels.
* ``tested_activities``: the cluster's codes mapped onto that level (``21;72`` -> ``C;M``).
* ``attainable_lq_max``: per indicator, the highest LQ any region could reach in the tested
  activities, ``1 / national share`` (``national_total / national_value``). A section holding 66 %
  of the total can never reach an LQ of 2 (1 / 0.66 = 1.51).
* ``status``: ``aligned`` (some region x tested activity is specialised), ``supported_not_specialised``
  (a test was possible and failed), ``not_testable`` (no indicator observes the tested activities
  in the cluster's regions where the rule's LQ cut-off is attainable), ``no_data`` (no observed
  value for any of the cluster's regions).
* ``verdicts_by_rule``: the same verdict under each of the project's rules (``threshold``,
  ``cmp_percentile``, ``eco_stars``, see :mod:`mapping.analysis.rules`), and, when size floors are
  configured, under each rule without them (``<rule>_no_floors``); ``robust`` is true when they
  all agree.

The configured rule's verdict uses the LQ table's own ``specialised`` column (the run's decision);
the other variants re-apply :func:`mapping.analysis.rules.apply_rule` with the run's settings.
At the run's analysis level the indicators and the ``combine`` rule are the configured ones; at
another level, the configured indicators present there (or, if none is, every indicator present
there), combined with ``or``.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mapping.schema import LEVELS

__all__ = ["VERDICT_COLUMNS", "PAIR_VERDICT_COLUMNS", "rule_variants", "attainable_lq", "cluster_verdicts",
           "pair_verdicts", "verdict_summary"]

#: Columns each supported cluster gains (``supported_clusters.csv`` / ``.geojson``).
VERDICT_COLUMNS = ["tested_level", "tested_activities", "attainable_lq_max", "verdicts_by_rule", "robust",
                   "rule_dependence"]
#: Columns each region x activity pair gains (the pair table).
PAIR_VERDICT_COLUMNS = ["attainable_lq_max", "specialised_by_rule", "robust"]
_SUPPORTED = ("aligned", "supported_not_specialised", "not_testable", "no_data")


def _is_floor(name: str) -> bool:
    return name.startswith("min_value") or name.startswith("min_share") or "floor" in name


def rule_variants(settings) -> list[tuple[str, str, dict]]:
    """The rule variants every supported cluster is judged under.

    Parameters
    ----------
    settings : mapping.config.SpecialisationSection

    Returns
    -------
    list of (name, rule, kwargs)
        ``kwargs`` for :func:`mapping.analysis.rules.apply_rule`: every parameter of it that the
        settings carry (so new settings are followed without a change here). The configured rule
        comes first. ``<rule>_no_floors`` variants (size floors set to zero) are added only when a
        floor is configured.
    """
    from mapping.analysis.rules import RULES, apply_rule

    params = inspect.signature(apply_rule).parameters
    kw = {n: getattr(settings, n) for n in params if n not in ("lq", "rule") and hasattr(settings, n)}
    floors = {n: v for n, v in kw.items() if _is_floor(n)}

    def zero(v):
        if isinstance(v, dict):
            return {}
        if isinstance(v, (tuple, list)):
            return type(v)()
        return 0.0

    no_floor = {**kw, **{n: zero(v) for n, v in floors.items()}}
    has_floor = any(bool(v) for v in floors.values())
    order = [settings.rule] + [r for r in RULES if r != settings.rule]
    out = [(r, r, kw) for r in order]
    if has_floor:
        out += [(f"{r}_no_floors", r, no_floor) for r in order]
    return out


def attainable_lq(lq: pd.DataFrame) -> pd.DataFrame:
    """The highest LQ any region could reach, per year x indicator x level x activity.

    ``attainable = national_total / national_value`` (1 / the activity's national share); an LQ is
    ``(v / R) / (V / T)`` with ``v <= R`` and ``v <= V``, so it is at most ``T / V``.

    Returns
    -------
    DataFrame
        ``year, indicator, classification, level, activity_code, national_share, attainable_lq``;
        activities with no positive national value are left out (nothing observes them).
    """
    keys = ["year", "indicator", "classification", "level", "activity_code"]
    a = lq.loc[(lq["level"] != "total") & (lq["national_value"].fillna(0) > 0),
               keys + ["national_value", "national_total"]].drop_duplicates(keys)
    a = a.assign(national_share=a["national_value"] / a["national_total"])
    a["attainable_lq"] = 1.0 / a["national_share"]
    return a[keys + ["national_share", "attainable_lq"]].reset_index(drop=True)


def _cutoff_floor(rule: str, settings) -> float:
    """The smallest LQ cut-off a rule can ask for: the attainability bar of a test under it."""
    if rule == "threshold":
        return float(settings.threshold)
    if rule == "cmp_percentile":
        return float(getattr(settings, "cmp_min_lq", 1.0))
    return 0.0  # eco_stars: the size and focus stars alone can make a region specialised


def _indicators_at(lq: pd.DataFrame, level: str, settings, analysis_level: str) -> tuple[list[str], str]:
    present = sorted(set(lq.loc[lq["level"] == level, "indicator"].unique()))
    configured = [i for i in settings.indicators if i in present]
    if level == analysis_level and len(configured) == len(settings.indicators):
        return configured, settings.combine or " or ".join(configured)
    inds = configured or present
    return inds, " or ".join(inds)


def _level_order(cluster_level: str, levels: list[str]) -> list[str]:
    """The cluster's own level, then coarser levels from the nearest, then finer ones from the nearest."""
    rank = {lv: i for i, lv in enumerate(LEVELS)}
    own = rank.get(cluster_level, 0)
    same = [lv for lv in levels if lv == cluster_level]
    coarser = sorted((lv for lv in levels if rank.get(lv, 99) < own), key=lambda lv: -rank[lv])
    finer = sorted((lv for lv in levels if rank.get(lv, -1) > own), key=lambda lv: rank[lv])
    return same + coarser + finer


def _with_point_bounds(df: pd.DataFrame) -> pd.DataFrame:
    """Bound columns the published LQ table leaves out, set to the point values.

    Only the point decision (``specialised``) of a variant is used here, and it reads point values
    only; the bounds are needed for :func:`mapping.analysis.rules.apply_rule` to run.
    """
    df = df.copy(deep=False)  # columns are added, none is changed in place
    focus = df["value"] / df["region_total"]
    fill = {"value_low": df["value"], "value_high": df["value"], "lq_low": df["lq"], "lq_high": df["lq"],
            "share_of_national_low": df["share_of_national"], "share_of_national_high": df["share_of_national"],
            "region_share_low": focus, "region_share_high": focus}
    for c, v in fill.items():
        if c not in df.columns:
            df[c] = v
    return df


def _specialised_by_variant(lq: pd.DataFrame, settings, analysis_level: str, levels: list[str],
                            cache: dict | None = None) -> dict[str, pd.DataFrame]:
    """Per level: one row per region x activity (``region_code``, ``activity_code``, sorted), one bool
    column per rule variant (indicators combined).

    ``cache`` holds levels already computed from the same LQ table, year and settings (it is filled in):
    a level's decisions depend on that level's rows only.
    """
    from mapping.analysis.frames import KeyCodes, rows
    from mapping.analysis.rules import rule_columns
    from mapping.analysis.specialisation import specialised_variants

    variants = rule_variants(settings)
    out: dict[str, pd.DataFrame] = {}
    cache = {} if cache is None else cache
    for level in levels:
        if level in cache:
            out[level] = cache[level]
            continue
        sub = _with_point_bounds(rows(lq, lq["level"] == level))
        inds, rule = _indicators_at(lq, level, settings, analysis_level)
        # The configured rule keeps the run's own decision (whatever else gates it upstream).
        codes = KeyCodes(sub)  # the key columns factorised once for every variant
        flags = {name: sub["specialised"] if name == settings.rule else
                 rule_columns(sub, rule=rname, **kw, codes=codes, point_only=True)["specialised"] for name, rname, kw in variants}
        sp = specialised_variants(sub, flags, indicators=tuple(inds), rule=rule, level=level)
        out[level] = cache[level] = sp[["region_code", "activity_code", *flags]]
    return out


class _ByRegion:
    """Row positions of a frame by ``region_code``, to pick a few regions' rows without scanning all rows."""

    def __init__(self, frame: pd.DataFrame):
        code, regions = pd.factorize(frame["region_code"])
        self.order = np.argsort(code, kind="stable")
        self.ends = np.cumsum(np.bincount(code[code >= 0], minlength=len(regions)))
        self.pos = {r: i for i, r in enumerate(regions)}

    def rows(self, units) -> np.ndarray:
        """Positions of the rows of ``units``, in the frame's order."""
        parts = [self.order[(self.ends[i - 1] if i else 0):self.ends[i]]
                 for i in (self.pos[u] for u in units if u in self.pos)]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, int)


def _fmt(v: float) -> str:
    return "inf" if not np.isfinite(v) else f"{v:.2f}"


def cluster_verdicts(supported: pd.DataFrame, lq: pd.DataFrame, settings, *, year: int, analysis_level: str,
                     units_of: dict[str, list[str]], level_maps: dict[str, dict[str, list[str]]],
                     activity_levels: dict[str, str], variants_cache: dict | None = None) -> pd.DataFrame:
    """Testability, status and rule robustness of every supported cluster.

    Parameters
    ----------
    supported : DataFrame
        The registry (:func:`mapping.ingest.tables.load_supported_clusters`; lists of codes).
    lq : DataFrame
        The run's LQ table (every level and indicator; one classification).
    settings : mapping.config.SpecialisationSection
    year : int
        The analysis year.
    analysis_level : str
        The level the run's specialisation is computed at (``settings.level``).
    units_of : dict
        Registry region code -> the analysis units covering it.
    level_maps : dict
        Level -> {cluster activity code -> codes at that level} for every level of the data.
    activity_levels : dict
        Activity code -> its level in the registry (the cluster's own level).
    variants_cache : dict, optional
        Shared with :func:`pair_verdicts` on the same table, year and settings: the decisions under each
        rule variant are computed once.

    Returns
    -------
    DataFrame
        ``cluster_id, status`` and :data:`VERDICT_COLUMNS`.
    """
    cols = ["cluster_id", "status"] + VERDICT_COLUMNS
    if supported.empty:
        return pd.DataFrame(columns=cols)
    from mapping.analysis.frames import rows

    y = rows(lq, (lq["year"] == year) & (lq["level"] != "total"))
    levels = sorted(set(y["level"].unique()), key=lambda lv: LEVELS.index(lv) if lv in LEVELS else 99)
    observed = rows(y, y["value"].notna())
    units_with_data = set(observed["region_code"].unique())
    a = attainable_lq(y)
    att = dict(zip(zip(a["indicator"], a["level"], a["activity_code"]), a["attainable_lq"]))
    by_variant = _specialised_by_variant(y, settings, analysis_level, levels, variants_cache)
    variants = rule_variants(settings)
    # Per level: the observed rows of its indicators, and every table by region (a cluster has a few regions).
    inds_at = {lv: _indicators_at(y, lv, settings, analysis_level)[0] for lv in levels}
    obs_at = {lv: rows(observed, (observed["level"] == lv) & observed["indicator"].isin(inds_at[lv])) for lv in levels}
    obs_by = {lv: _ByRegion(f) for lv, f in obs_at.items()}
    spec_by = {lv: _ByRegion(f) for lv, f in by_variant.items()}
    rows = []
    for r in supported.itertuples(index=False):
        units = sorted({u for reg in r.region_codes for u in units_of.get(reg, [reg])})
        own = max((activity_levels.get(c, "") for c in r.activity_codes),
                  key=lambda lv: LEVELS.index(lv) if lv in LEVELS else -1, default="")
        if not units_with_data.intersection(units):
            rows.append({"cluster_id": r.cluster_id, "status": "no_data", "tested_level": "",
                         "tested_activities": "", "attainable_lq_max": "",
                         "verdicts_by_rule": ";".join(f"{n}=no_data" for n, _, _ in variants), "robust": True,
                         "rule_dependence": ""})
            continue
        chosen = None
        for level in _level_order(own, levels):
            acts = sorted({t for c in r.activity_codes for t in level_maps.get(level, {}).get(c, [])})
            obs = obs_at[level].iloc[obs_by[level].rows(units)]
            obs = obs.loc[obs["activity_code"].isin(acts)]
            if obs.empty:
                continue
            caps = {i: max(att.get((i, level, a), np.nan) for a in set(g["activity_code"]))
                    for i, g in obs.groupby("indicator")}
            candidate = (level, acts, caps)
            if chosen is None:
                chosen = candidate
            if max(caps.values()) >= _cutoff_floor(settings.rule, settings):
                chosen = candidate
                break
        if chosen is None:  # data for the regions, but none on the cluster's activities
            rows.append({"cluster_id": r.cluster_id, "status": "not_testable", "tested_level": "",
                         "tested_activities": "", "attainable_lq_max": "",
                         "verdicts_by_rule": ";".join(f"{n}=not_testable" for n, _, _ in variants),
                         "robust": True, "rule_dependence": ""})
            continue
        level, acts, caps = chosen
        spec = by_variant[level]
        spec = spec.iloc[spec_by[level].rows(units)]
        spec = spec.loc[spec["activity_code"].isin(acts)]
        verdicts = {}
        for name, rname, _ in variants:
            hit = spec[name].to_numpy() if name in spec.columns else np.zeros(len(spec), bool)
            if hit.any():
                verdicts[name] = "aligned"
            elif max(caps.values()) >= _cutoff_floor(rname, settings):
                verdicts[name] = "supported_not_specialised"
            else:
                verdicts[name] = "not_testable"
        status = verdicts[settings.rule]
        robust = len(set(verdicts.values())) == 1
        dependence = ""
        if not robust:
            by: dict[str, list[str]] = {}
            for n, v in verdicts.items():
                by.setdefault(v, []).append(n)
            dependence = "; ".join(f"{v} under {', '.join(ns)}" for v, ns in sorted(by.items()))
        rows.append({"cluster_id": r.cluster_id, "status": status, "tested_level": level,
                     "tested_activities": ";".join(acts),
                     "attainable_lq_max": ";".join(f"{i}={_fmt(v)}" for i, v in sorted(caps.items())),
                     "verdicts_by_rule": ";".join(f"{n}={v}" for n, v in verdicts.items()), "robust": robust,
                     "rule_dependence": dependence})
    return pd.DataFrame(rows, columns=cols)


def pair_verdicts(pairs_status: pd.DataFrame, lq: pd.DataFrame, settings, *, year: int, analysis_level: str,
                  variants_cache: dict | None = None) -> pd.DataFrame:
    """New statuses, attainable LQs and the specialisation under each rule for every pair.

    A supported pair that is not specialised becomes ``no_data`` when no configured indicator has
    a value for it, ``not_testable`` when every indicator that has one cannot reach the configured
    rule's cut-off in that activity, and stays ``supported_not_specialised`` otherwise.

    Returns
    -------
    DataFrame
        ``pairs_status`` with ``status`` updated and :data:`PAIR_VERDICT_COLUMNS` added
        (``specialised_by_rule``: ``threshold=yes;cmp_percentile=no;...``).
    """
    out = pairs_status.copy()
    if out.empty:
        for c in PAIR_VERDICT_COLUMNS:
            out[c] = pd.Series(dtype=bool if c == "robust" else object)
        return out
    from mapping.analysis.frames import group_codes, lookup, rows, to_str_series

    y = rows(lq, (lq["year"] == year) & (lq["level"] == analysis_level))
    inds, _ = _indicators_at(y, analysis_level, settings, analysis_level)
    obs = rows(y, y["value"].notna() & y["indicator"].isin(inds), ["region_code", "activity_code", "indicator"])
    att = attainable_lq(y)
    att = att.loc[att["indicator"].isin(inds)]
    # Each observed cell's attainable LQ, and the highest over its indicators (on integer codes: the
    # observed cells are the whole table).
    at = lookup(obs, att, ["indicator", "activity_code"])
    caps = att["attainable_lq"].to_numpy(dtype=float)
    cap = np.where(at >= 0, caps[np.maximum(at, 0)] if len(caps) else np.nan, np.nan)
    keys = ["region_code", "activity_code"]
    # The pairs are a few of the table's cells: each observed row finds its pair (a lookup into the small
    # table), when every pair is listed once.
    pairs_unique = len(group_codes(out, keys, sort=False)[1]) == len(out)
    if pairs_unique:
        to_pair = lookup(obs, out, keys)
        hit = to_pair >= 0
        best_cap = pd.Series(cap[hit]).groupby(to_pair[hit]).max().reindex(np.arange(len(out))).to_numpy()
    else:
        cell, cells = group_codes(obs, keys, sort=False)
        best = pd.Series(cap).groupby(cell, sort=False).max().reindex(np.arange(len(cells))).to_numpy()
        at = lookup(out, cells, keys)
        best_cap = np.where(at >= 0, best[np.maximum(at, 0)] if len(best) else np.nan, np.nan)
    per_act: dict[str, list[str]] = {}
    for a, i, v in sorted(zip(att["activity_code"], att["indicator"], att["attainable_lq"])):
        per_act.setdefault(a, []).append(f"{i}={_fmt(v)}")
    sns = out["status"] == "supported_not_specialised"
    out.loc[sns & np.isnan(best_cap), "status"] = "no_data"
    out.loc[sns & ~np.isnan(best_cap) & (best_cap < _cutoff_floor(settings.rule, settings)), "status"] = "not_testable"
    out["attainable_lq_max"] = out["activity_code"].map(pd.Series({a: ";".join(v) for a, v in per_act.items()},
                                                                  dtype=object)).fillna("")
    spec = _specialised_by_variant(y, settings, analysis_level, [analysis_level], variants_cache)[analysis_level]
    names = [c for c in spec.columns if c not in ("region_code", "activity_code")]
    if pairs_unique:  # each pair takes its first row of the decisions
        to_pair = lookup(spec, out, keys)
        rows_hit = np.flatnonzero(to_pair >= 0)
        pair_rows, first = np.unique(to_pair[rows_hit], return_index=True)
        flags = np.zeros((len(out), len(names)), bool)
        flags[pair_rows] = spec[names].to_numpy(dtype=bool)[rows_hit[first]]
    else:
        at = lookup(out, spec, keys)
        flags = np.column_stack([np.where(at >= 0, spec[n].to_numpy(dtype=bool)[np.maximum(at, 0)]
                                          if len(spec) else False, False) for n in names])
    pieces = [pc.if_else(pa.array(flags[:, j]), pa.scalar(f"{n}=yes"), pa.scalar(f"{n}=no"))
              for j, n in enumerate(names)]
    out["specialised_by_rule"] = to_str_series(pc.binary_join_element_wise(*pieces, ";") if len(pieces) > 1
                                               else pieces[0], index=out.index)
    out["robust"] = flags.all(axis=1) | ~flags.any(axis=1)
    return out


def verdict_summary(clusters: pd.DataFrame, analysis_level: str) -> dict:
    """Headline counts of the supported clusters' verdicts (JSON-ready).

    Returns
    -------
    dict
        ``supported`` (clusters), ``testable`` (aligned or supported_not_specialised),
        ``tested_levels`` (level -> clusters), ``by_status``, ``aligned_robust``,
        ``aligned_rule_dependent`` (clusters aligned under some rule but not all, each with
        ``cluster_id`` and ``rule_dependence``), ``not_aligned_robust``, ``not_testable``,
        ``no_data``, ``coarser_than_defined`` (clusters tested at a level other than their own).
    """
    c = clusters
    if c.empty:
        return {"supported": 0, "testable": 0, "tested_levels": {}, "by_status": {}, "aligned_robust": 0,
                "aligned_rule_dependent": [], "not_aligned_robust": 0, "not_testable": 0, "no_data": 0}
    testable = c["status"].isin(["aligned", "supported_not_specialised"])
    some_aligned = c["verdicts_by_rule"].fillna("").str.contains("=aligned")
    dep = c.loc[some_aligned & ~c["robust"].astype(bool)]
    return {
        "supported": int(len(c)),
        "testable": int(testable.sum()),
        "tested_levels": {str(k): int(v) for k, v in c.loc[testable, "tested_level"].value_counts().items()},
        "by_status": {s: int((c["status"] == s).sum()) for s in _SUPPORTED},
        "aligned_robust": int(((c["status"] == "aligned") & c["robust"].astype(bool)).sum()),
        "aligned_rule_dependent": [{"cluster_id": str(r.cluster_id), "status": str(r.status),
                                    "rule_dependence": str(r.rule_dependence)} for r in dep.itertuples()],
        "not_aligned_robust": int(((c["status"] == "supported_not_specialised") & c["robust"].astype(bool)).sum()),
        "not_testable": int((c["status"] == "not_testable").sum()),
        "no_data": int((c["status"] == "no_data").sum()),
        "analysis_level": analysis_level,
    }
