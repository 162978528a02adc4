"""Grouping activities on a relatedness matrix, the evidence for each membership, and the grouping stage.

:func:`group_activities` groups a relatedness matrix (average linkage or spectral clustering);
:func:`describe_grouping` gives each activity's evidence; :func:`grouping_stability` resamples the
regions; :func:`build_groups` is the whole stage: co-location (development level partialled out
where configured), input-output links and classification closeness, weights and k chosen on
held-out evidence (:mod:`mapping.analysis.validation`), scores beside their nulls, and each group's
correlation with development level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import SpectralClustering
from sklearn.metrics import silhouette_samples, silhouette_score

from mapping.analysis.iorelatedness import io_links, map_io_codes
from mapping.analysis.relatedness import (
    METHODS,
    colocation_wide,
    combine_relatedness,
    hierarchy_closeness,
    matrix_from_wide,
    partial_out,
    agreement,
    rank_scale,
    relatedness,
)
from mapping.analysis.validation import (
    average_tree,
    comembership_corr,
    cut,
    development_by_group,
    mantel_test,
    select_weights_k,
    tree_baseline,
)
from mapping.errors import MappingError

__all__ = ["group_activities", "describe_grouping", "grouping_stability", "build_groups", "source_contributions"]


def _fit(rel: np.ndarray, method: str, k: int, seed: int) -> np.ndarray:
    """Labels of ``k`` groups on a relatedness matrix (distance ``1 - relatedness`` clipped at 0)."""
    if method == "agglomerative":  # average linkage (SciPy: one tree, cut at k)
        return cut(average_tree(rel), [k])[k]
    aff = np.clip(rel, 0.0, None)
    model = SpectralClustering(n_clusters=k, affinity="precomputed", random_state=seed, assign_labels="discretize")
    return model.fit_predict(aff)


def group_activities(matrix: pd.DataFrame, *, method: str = "agglomerative", n_groups: int | str = "auto",
                     min_groups: int = 3, max_groups: int = 8, seed: int = 42) -> pd.DataFrame:
    """Group activities into co-location groups and report the evidence for each membership.

    The number of groups, when ``"auto"``, is the k in ``[min_groups, max_groups]`` with the best
    mean silhouette on the distance ``1 - relatedness`` (ties: the smaller k).

    Parameters
    ----------
    matrix : DataFrame
        Output of :func:`relatedness`.
    method : {"agglomerative", "spectral"}
        scikit-learn ``AgglomerativeClustering`` (average linkage on the precomputed distance) or
        ``SpectralClustering`` (affinity = relatedness clipped at 0).
    n_groups : int or "auto"
    min_groups, max_groups : int
    seed : int
        Random state for spectral clustering.

    Returns
    -------
    DataFrame
        One row per activity: ``activity_code, group_id`` (``G01``... numbered by the group's first
        activity code, so stable for the same data), ``relatedness_own_group`` (mean relatedness to the
        other members; NaN for a singleton), ``relatedness_best_other_group`` and
        ``best_other_group`` (the other group it is most related to), ``validation_margin`` (own minus
        best other: the Delgado-Porter-Stern style check, > 0 means the activity sits in its best group),
        ``silhouette`` (per activity) and ``top_related`` (the three most related activities).
        ``attrs`` hold the method, k, the mean silhouette and the k-selection scores.
    """
    if method not in METHODS:
        raise MappingError(f"grouping method {method!r} is not one of {METHODS}")
    codes = list(matrix.index)
    rel = matrix.to_numpy(dtype=float)
    dist = np.clip(1.0 - rel, 0.0, None)
    np.fill_diagonal(dist, 0.0)
    n = len(codes)

    tree = average_tree(rel) if method == "agglomerative" else None
    cuts: dict[int, np.ndarray] = {}

    def fit(k: int) -> np.ndarray:
        if tree is None:
            return _fit(rel, method, k, seed)
        if k not in cuts:
            cuts.update(cut(tree, [k]))
        return cuts[k]

    scores: dict[int, float] = {}
    if n_groups == "auto":
        ks = list(range(min_groups, min(max_groups, n - 1) + 1))
        if tree is not None:
            cuts.update(cut(tree, ks))  # one tree, every k
        for k in ks:
            labels = fit(k)
            if len(set(labels)) > 1:
                scores[k] = float(silhouette_score(dist, labels, metric="precomputed"))
        if not scores:
            raise MappingError(f"grouping: cannot choose a number of groups for {n} activities "
                               f"in [{min_groups}, {max_groups}]")
        k = max(scores, key=lambda kk: (round(scores[kk], 12), -kk))
    else:
        k = int(n_groups)
        if not 2 <= k < n:
            raise MappingError(f"grouping: n_groups must be between 2 and {n - 1} for {n} activities; got {k}")
    labels = fit(k)
    out = describe_grouping(matrix, _group_ids(codes, labels))
    out.attrs.update(method=method, n_groups=k, k_scores={str(kk): v for kk, v in scores.items()}, seed=seed)
    return out


def _group_ids(codes: list[str], labels) -> np.ndarray:
    """Number groups by their first activity code so ids do not depend on the solver's label order."""
    first = {lab: min(c for c, l in zip(codes, labels) if l == lab) for lab in set(labels)}
    order = {lab: i + 1 for i, lab in enumerate(sorted(first, key=first.get))}
    return np.array([f"G{order[lab]:02d}" for lab in labels])


def describe_grouping(matrix: pd.DataFrame, group_ids) -> pd.DataFrame:
    """Validation evidence of any grouping of the matrix's activities (data-driven or fixed).

    Parameters
    ----------
    matrix : DataFrame
        Square relatedness matrix.
    group_ids : sequence of str
        Group of each activity, in the matrix's order.

    Returns
    -------
    DataFrame
        ``activity_code, group_id, relatedness_own_group, relatedness_best_other_group,
        best_other_group, silhouette, top_related, validation_margin`` (see
        :func:`group_activities`); ``attrs`` hold the mean silhouette, the mean validation margin
        and the share of activities with a positive margin.
    """
    codes = list(matrix.index)
    rel = matrix.to_numpy(dtype=float)
    dist = np.clip(1.0 - rel, 0.0, None)
    np.fill_diagonal(dist, 0.0)
    n = len(codes)
    gid = np.asarray(group_ids, dtype=object)
    labels = pd.factorize(gid)[0]
    k = len(set(labels))
    sil = silhouette_samples(dist, labels, metric="precomputed") if 1 < k < n else np.zeros(n)
    groups = sorted(set(gid))
    gpos = {g: i for i, g in enumerate(groups)}
    lab = np.array([gpos[g] for g in gid])
    onehot = np.zeros((n, len(groups)))
    onehot[np.arange(n), lab] = 1.0
    r0 = rel.copy()
    np.fill_diagonal(r0, 0.0)
    sizes = onehot.sum(axis=0)[None, :] - onehot  # members of each group other than the activity itself
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.where(sizes > 0, (r0 @ onehot) / sizes, np.nan)
    own = means[np.arange(n), lab]
    other = means.copy()
    other[np.arange(n), lab] = -np.inf
    other = np.where(np.isnan(other), -np.inf, other)
    bi = np.argmax(other, axis=1)  # first (lowest id) group on ties, as groups are sorted
    has_other = len(groups) > 1
    best = np.where(has_other, other[np.arange(n), bi], np.nan)
    best_g = [groups[b] if has_other else "" for b in bi]
    # three most related activities: a partial sort, then a stable order among those few
    r_top = np.where(np.eye(n, dtype=bool), -np.inf, rel)
    m = min(3, n - 1)
    cand = np.argpartition(-r_top, m - 1, axis=1)[:, :m] if m > 0 else np.zeros((n, 0), int)
    top = []
    for i in range(n):
        order_i = sorted(cand[i], key=lambda j: (-rel[i, j], j))
        top.append(";".join(f"{codes[j]}={rel[i, j]:.2f}" for j in order_i))
    out = pd.DataFrame({"activity_code": codes, "group_id": gid, "relatedness_own_group": own,
                        "relatedness_best_other_group": best, "best_other_group": best_g,
                        "silhouette": sil, "top_related": top})
    out["validation_margin"] = out["relatedness_own_group"] - out["relatedness_best_other_group"]
    margin = out["validation_margin"].dropna()
    out.attrs.update(n_groups=k, silhouette=float(np.mean(sil)),
                     mean_validation_margin=float(margin.mean()) if len(margin) else float("nan"),
                     share_positive_margin=float((margin > 0).mean()) if len(margin) else float("nan"))
    return out



def _upper(m: np.ndarray) -> np.ndarray:
    return m[np.triu_indices_from(m, k=1)]


def _co_membership(labels: np.ndarray) -> np.ndarray:
    return labels[:, None] == labels[None, :]


def grouping_stability(lq: pd.DataFrame, labels, *, indicator: str, level: str, year: int, measure: str,
                       method: str, extra: dict[str, pd.DataFrame] | None = None,
                       weights: dict[str, float] | None = None, n_resamples: int = 50, seed: int = 42,
                       min_regions: int = 5, control: pd.Series | None = None, scale: str = "raw",
                       ranked: tuple[str, ...] = (), wide: pd.DataFrame | None = None
                       ) -> tuple[float, pd.Series, list[float]]:
    """Stability of a grouping when the regions are resampled (bootstrap).

    Each resample draws the regions with replacement, recomputes the co-location matrix (the other
    sources, which need no regional data, stay as they are), regroups with the same method and
    number of groups, and compares with ``labels``: the adjusted Rand index for the whole grouping
    and, per activity, the Jaccard overlap of its group mates. ``wide``: the
    :func:`mapping.analysis.relatedness.colocation_wide` of the same arguments, when the caller has it.

    Returns
    -------
    mean_ari : float
    per_activity : Series
        Mean Jaccard overlap of each activity's group mates (1 = always with the same mates).
    aris : list of float
    """
    from sklearn.metrics import adjusted_rand_score

    if wide is None:
        wide = colocation_wide(lq, indicator=indicator, level=level, year=year, measure=measure)
    z = None
    if control is not None:
        zz = control.reindex(wide.index)
        wide, z = wide.loc[zz.notna().to_numpy()], zz.dropna().to_numpy(dtype=float)
    codes = list(wide.columns)
    labels = pd.Series(list(labels), index=codes) if not isinstance(labels, pd.Series) else labels.reindex(codes)
    lab = pd.factorize(labels.to_numpy())[0]
    k = len(set(lab))
    x = wide.to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    same = _co_membership(lab)
    np.fill_diagonal(same, False)
    aris, jac = [], np.zeros(len(codes))
    for _ in range(n_resamples):
        rows = rng.integers(0, x.shape[0], size=x.shape[0])
        xr = x[rows] if z is None else partial_out(x[rows], z[rows])[0]
        coloc = pd.DataFrame(matrix_from_wide(xr, measure, min_regions), index=codes, columns=codes)
        comps = {"colocation": coloc, **(extra or {})}
        rel = combine_relatedness(comps, weights or {"colocation": 1.0}, scale=scale, ranked=ranked).to_numpy()
        try:
            new = _fit(rel, method, k, seed)
        except ValueError:  # degenerate resample (e.g. too few distinct regions)
            continue
        aris.append(float(adjusted_rand_score(lab, new)))
        s2 = _co_membership(new)
        np.fill_diagonal(s2, False)
        inter = (same & s2).sum(axis=1)
        union = (same | s2).sum(axis=1)
        jac += np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    done = max(len(aris), 1)
    return (float(np.mean(aris)) if aris else float("nan"), pd.Series(jac / done, index=codes), aris)



def build_groups(lq: pd.DataFrame, settings, *, year: int, level: str, classification: str | None = None,
                 activities: pd.DataFrame | None = None, io_table: pd.DataFrame | None = None,
                 io_concordance: pd.DataFrame | None = None, control: pd.Series | None = None,
                 categories: dict[str, str] | None = None, seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Relatedness (co-location combined with the configured sources) and the grouping used downstream.

    Parameters
    ----------
    lq : DataFrame
        Location quotients of the run.
    settings : mapping.config.RelatednessSection
    year, level, classification
        The analysis year, level and classification.
    activities : DataFrame, optional
        Activity registry (the hierarchy; climbing from input-output industries to the run's codes).
    io_table : DataFrame, optional
        Input-output flows ``from_code, to_code, value`` (:func:`mapping.ingest.tables.read_io_table`).
    io_concordance : DataFrame, optional
        ``io_code, activity_code``: the classification codes of each input-output industry
        (:func:`mapping.analysis.iorelatedness.map_io_codes`); without it the table's codes are the run's.
    control : Series, optional
        Region code -> development level (e.g. log GVA per worker), partialled out of co-location.
    categories : dict, optional
        Fixed categories, activity code -> category (:func:`mapping.ingest.tables.read_categories`).

    Returns
    -------
    matrix : DataFrame
        The combined relatedness matrix (``attrs``: measure, indicator, year, n_regions, sources, scale).
    groups : DataFrame
        :func:`group_activities` columns plus ``stability``, ``data_group_id``, ``category`` and
        ``linked`` (same-group activities at least as related as ``attrs["link_threshold"]``).
        ``attrs`` add ``selection`` (weights and k chosen on held-out evidence), ``validation``
        (scores beside their nulls), ``development`` (each group's correlation with the control),
        ``io`` (table, mapped and unmapped activities), ``stability_ari``, ``sources``, ``agreement``.
    """
    rc = settings
    scale = rc.combine_scale
    # The regions x activities LQs, pivoted once for every step below (a pivot of millions of rows each time).
    wide_all = colocation_wide(lq, indicator=rc.indicator, level=level, year=year, measure=rc.measure)
    coloc = relatedness(lq, indicator=rc.indicator, level=level, year=year, measure=rc.measure, control=control,
                        wide=wide_all)
    codes = list(coloc.index)
    comps: dict[str, pd.DataFrame] = {"colocation": coloc}
    auto = rc.weights == "auto"
    if rc.hierarchy_weight > 0 or auto:
        h = hierarchy_closeness(codes, activities, classification=classification)
        if rc.hierarchy_weight > 0 or np.ptp(h.to_numpy()[np.triu_indices(len(codes), 1)]) > 0:
            comps["hierarchy"] = h  # OKVED2 sections have no tree: nothing to add
    io_info: dict = {}
    if rc.io_weight > 0 or (auto and io_table is not None):
        if io_table is None:
            raise MappingError("relatedness.io_weight > 0 needs relatedness.io_table (from_code, to_code, value)")
        if io_concordance is not None:
            mapping, unmapped = map_io_codes(codes, io_concordance, activities)
        else:
            known = set(io_table["from_code"].astype(str)) | set(io_table["to_code"].astype(str))
            mapping = {c: (c,) for c in codes if c in known}
            unmapped = [c for c in codes if c not in known]
        comps["io"] = io_links(codes, io_table, mapping)
        same = sum(1 for i, a in enumerate(codes) for b in codes[i + 1:] if a in mapping and mapping.get(b) == mapping[a])
        io_info = {"table": str(rc.io_table or ""), "mapped": len(mapping), "unmapped": unmapped,
                   "pairs_in_one_io_industry": same}
    ranked: tuple[str, ...] = ()
    if scale == "rank":  # the other sources do not change across resamples and nulls: rank them once
        ranked = tuple(k for k in comps if k != "colocation")
        for k in ranked:
            comps[k] = pd.DataFrame(rank_scale(comps[k].to_numpy(dtype=float)), index=codes, columns=codes)
    wide = wide_all
    z = None
    if control is not None:
        zz = control.reindex(wide.index)
        wide, z = wide.loc[zz.notna().to_numpy()], zz.dropna().to_numpy(dtype=float)
    others = {k: v.to_numpy(dtype=float) for k, v in comps.items() if k != "colocation"}
    config_w = {"colocation": rc.colocation_weight, "hierarchy": rc.hierarchy_weight, "io": rc.io_weight}
    if auto:
        sel = select_weights_k(wide.to_numpy(dtype=float), others, control=z, measure=rc.measure, min_regions=5,
                               k_min=rc.min_groups, k_max=rc.max_groups, seed=seed)
        weights, n_groups = sel["weights"], sel["k"]
    else:  # the configured weights, still scored on held-out evidence
        fixed_k = rc.n_groups if rc.n_groups != "auto" else None
        sel = select_weights_k(wide.to_numpy(dtype=float), others, control=z, measure=rc.measure, min_regions=5,
                               k_min=fixed_k or rc.min_groups, k_max=fixed_k or rc.max_groups, seed=seed,
                               widen=fixed_k is None, only=config_w)
        weights, n_groups = config_w, (sel["k"] if fixed_k is None else fixed_k)
    matrix = combine_relatedness(comps, weights, scale=scale, ranked=ranked)
    if io_info:
        matrix.attrs["io_table"] = io_info["table"]
    groups = group_activities(matrix, method=rc.method, n_groups=n_groups, min_groups=rc.min_groups,
                              max_groups=rc.max_groups, seed=seed)
    k = groups.attrs["n_groups"]
    extra = {n: m for n, m in comps.items() if n != "colocation"}
    stab_kw = dict(indicator=rc.indicator, level=level, year=year, measure=rc.measure, method=rc.method, seed=seed,
                   control=control, scale=scale, ranked=ranked, wide=wide_all)
    final = groups.set_index("activity_code")["group_id"]
    if rc.stability_resamples > 0:
        ari, per, _ = grouping_stability(lq, final, extra=extra, weights=weights,
                                         n_resamples=rc.stability_resamples, **stab_kw)
        groups["stability"] = groups["activity_code"].map(per).to_numpy()
    else:
        ari = float("nan")
        groups["stability"] = np.nan
    groups["data_group_id"] = groups["group_id"]
    attrs = dict(groups.attrs, stability_ari=ari, stability_resamples=rc.stability_resamples)
    attrs["selection"] = {kk: v for kk, v in sel.items() if kk not in ("labels", "split_halves", "targets")}
    attrs["selection"]["mode"] = "auto" if auto else "configured"
    attrs["validation"] = _validate(sel, comps, wide, z, groups, matrix, weights, k, rc, seed,
                                    baseline=tree_baseline(codes, activities))
    if control is not None:
        attrs["development"] = development_by_group(wide, control, final, coloc, comps.get("io"))
    attrs["io"] = io_info
    attrs["sources"] = source_contributions(lq, comps, weights, k=k, settings=rc, year=year, level=level,
                                            seed=seed, final=final, control=control, ranked=ranked, wide=wide_all)
    thr = float(np.quantile(matrix.to_numpy()[np.triu_indices(len(codes), 1)], rc.link_quantile))
    attrs["link_threshold"] = thr
    attrs["link_quantile"] = rc.link_quantile
    rel = matrix.to_numpy()
    gid = groups["group_id"].to_numpy()
    groups["linked"] = [[codes[j] for j in np.flatnonzero((gid == gid[i]) & (rel[i] >= thr)) if j != i]
                        for i in range(len(codes))]
    cats = dict(categories or {})
    groups["category"] = [cats.get(a, "") for a in groups["activity_code"]]
    if cats:
        fixed = pd.Series({c: cats.get(c, f"S-{c}") for c in codes})
        attrs["agreement"] = agreement(groups.set_index("activity_code")["data_group_id"],
                                       fixed[fixed.index.isin(list(cats))])
        attrs["categories"] = {"n_activities": int(sum(c in cats for c in codes)),
                               "n_categories": int(len(set(cats[c] for c in codes if c in cats))),
                               "unmapped": [c for c in codes if c not in cats][:20]}
        if rc.use_grouping == "fixed":
            desc = describe_grouping(matrix, fixed.reindex(codes).to_numpy())
            keep = groups[["activity_code", "stability", "data_group_id", "category", "linked"]]
            if rc.stability_resamples > 0:
                fari, fper, _ = grouping_stability(lq, fixed, extra=extra, weights=weights,
                                                   n_resamples=rc.stability_resamples, **stab_kw)
                keep = keep.assign(stability=keep["activity_code"].map(fper).to_numpy())
                attrs["fixed_stability_ari"] = fari
            fixed_attrs = dict(desc.attrs)
            groups = desc.merge(keep, on="activity_code", how="left")
            attrs.update(grouping="fixed", fixed_silhouette=fixed_attrs["silhouette"],
                         fixed_mean_validation_margin=fixed_attrs["mean_validation_margin"],
                         fixed_share_positive_margin=fixed_attrs["share_positive_margin"])
    attrs.setdefault("grouping", "data")
    groups.attrs = attrs
    return matrix, groups


def _margin_share(rel: np.ndarray, labels: np.ndarray) -> float:
    """Share of activities more related, on average, to their own group than to any other (vectorised)."""
    lab = pd.factorize(np.asarray(labels))[0]
    n, k = len(lab), lab.max() + 1
    onehot = np.zeros((n, k))
    onehot[np.arange(n), lab] = 1.0
    r = rel.copy()
    np.fill_diagonal(r, 0.0)
    sums = r @ onehot
    sizes = onehot.sum(axis=0)[None, :] - onehot  # others in each group, excluding the activity itself
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.where(sizes > 0, sums / sizes, np.nan)
    own = means[np.arange(n), lab]
    means[np.arange(n), lab] = -np.inf
    best = np.max(np.where(np.isnan(means), -np.inf, means), axis=1)
    ok = ~np.isnan(own)
    return float((own[ok] > best[ok]).mean()) if ok.any() else float("nan")


def _validate(sel: dict, comps: dict, wide: pd.DataFrame, z, groups: pd.DataFrame, matrix: pd.DataFrame,
              weights: dict, k: int, rc, seed: int, baseline: list[str] | None) -> dict:
    """Every validation score beside its value on a null, with a one-sided permutation p-value."""
    n_perm = rc.null_permutations
    rows = []
    names = {"colocation_a_to_b": "co-location, other half of the regions (A→B)",
             "colocation_b_to_a": "co-location, other half of the regions (B→A)",
             "io": "input–output links (grouping built without them)",
             "hierarchy": "classification closeness (grouping built without it)"}
    for t, held in sel["targets"].items():
        if t in sel["labels"]:
            rows.append({"score": f"held-out {names[t]}", "grouping": "data", "null": "activity labels permuted",
                         **mantel_test(sel["labels"][t], held, n_perm=max(n_perm, 99), seed=seed)})
        if baseline is not None and t != "hierarchy":  # the tree scored on itself would say nothing
            rows.append({"score": f"held-out {names[t]}", "grouping": "classification tree (3-digit prefix)",
                         "null": "activity labels permuted",
                         **mantel_test(np.asarray(baseline), held, n_perm=max(n_perm, 99), seed=seed)})
    # In-sample scores (on the matrix clustered) against the same statistic on data whose regions are
    # permuted within each activity (co-location destroyed, the other sources kept).
    labels = groups["group_id"].to_numpy()
    rel = matrix.to_numpy()
    dist = np.clip(1.0 - rel, 0.0, None)
    np.fill_diagonal(dist, 0.0)
    sil = float(silhouette_score(dist, labels, metric="precomputed")) if 1 < k < len(labels) else float("nan")
    share = _margin_share(rel, labels)
    rng = np.random.default_rng(seed)
    x = wide.to_numpy(dtype=float)
    null_sil, null_share = [], []
    n_null = min(n_perm, 19) if len(labels) > 200 else n_perm
    other = {kk: v for kk, v in comps.items() if kk != "colocation"}
    for _ in range(n_null):
        xp = rng.permuted(x, axis=0)  # each column shuffled on its own: the draws of a permutation per column
        if z is not None:
            xp = partial_out(xp, z)[0]
        co = pd.DataFrame(matrix_from_wide(xp, rc.measure, 5), index=matrix.index, columns=matrix.columns)
        m = combine_relatedness({"colocation": co, **other}, weights, scale=matrix.attrs.get("scale", "raw"),
                                ranked=tuple(other)).to_numpy()
        try:
            lab = _fit(m, rc.method, k, seed)
        except ValueError:
            continue
        d = np.clip(1.0 - m, 0.0, None)
        np.fill_diagonal(d, 0.0)
        if len(set(lab)) > 1:
            null_sil.append(float(silhouette_score(d, lab, metric="precomputed")))
        null_share.append(_margin_share(m, lab))
    from mapping.analysis.validation import _vs_null

    rows.append({"score": "in-sample mean silhouette", "grouping": "data", "null": "regions permuted within activity",
                 **_vs_null(sil, np.array(null_sil), n_null)})
    rows.append({"score": "in-sample share of activities closest to their own group", "grouping": "data",
                 "null": "regions permuted within activity", **_vs_null(share, np.array(null_share), n_null)})
    return {"scores": rows, "n_null": n_null}



def source_contributions(lq: pd.DataFrame, comps: dict[str, pd.DataFrame], weights: dict[str, float], *, k: int,
                         settings, year: int, level: str, seed: int, final: pd.Series,
                         control: pd.Series | None = None, ranked: tuple[str, ...] = (),
                         wide: pd.DataFrame | None = None) -> list[dict]:
    """What each relatedness source adds: groupings with co-location alone, each source alone and all.

    For each variant, with the same method and number of groups: mean silhouette and validation
    margin on its own matrix, the correlation of its matrix with co-location (off-diagonal), the
    agreement (ARI) of its grouping with the final one, and the bootstrap stability over regions
    (co-location recomputed per resample; a source alone that needs no regional data is 1 by
    construction, so stability is reported only for variants containing co-location). ``wide``: the
    :func:`mapping.analysis.relatedness.colocation_wide` of ``lq``, when the caller has it.
    """
    from sklearn.metrics import adjusted_rand_score

    rc = settings
    codes = list(comps["colocation"].index)
    co_up = _upper(comps["colocation"].to_numpy())
    variants: list[tuple[str, dict[str, float]]] = [("colocation", {"colocation": 1.0})]
    for name in comps:
        if name != "colocation":
            variants.append((name, {name: 1.0}))
            variants.append((f"colocation+{name}", {"colocation": weights.get("colocation", 1.0),
                                                    name: weights.get(name, 0.0)}))
    if len(comps) > 2:
        variants.append(("all", weights))
    fin = pd.factorize(final.reindex(codes).to_numpy())[0]
    n_boot = min(rc.stability_resamples, 20 if len(codes) <= 200 else 5)  # large runs: a few resamples each
    out = []
    for name, w in variants:
        m = combine_relatedness(comps, w, scale=getattr(rc, "combine_scale", "raw"), ranked=ranked)
        arr = m.to_numpy()
        try:
            lab = _fit(arr, rc.method, k, seed)
        except ValueError:
            continue
        d = describe_grouping(m, _group_ids(codes, lab))
        up = _upper(arr)
        corr = float(np.corrcoef(co_up, up)[0, 1]) if up.std() > 0 and co_up.std() > 0 else float("nan")
        row = {"sources": name, "weights": {kk: round(v, 4) for kk, v in w.items() if v > 0},
               "silhouette": d.attrs["silhouette"], "mean_validation_margin": d.attrs["mean_validation_margin"],
               "share_positive_margin": d.attrs["share_positive_margin"], "corr_with_colocation": corr,
               "ari_vs_final": float(adjusted_rand_score(fin, lab))}
        if "colocation" in w and w["colocation"] > 0 and n_boot > 0:
            extra = {kk: v for kk, v in comps.items() if kk != "colocation"}
            ari, _, _ = grouping_stability(lq, pd.Series(lab, index=codes), indicator=rc.indicator, level=level,
                                           year=year, measure=rc.measure, method=rc.method, extra=extra,
                                           weights=w, n_resamples=n_boot, seed=seed, control=control,
                                           scale=getattr(rc, "combine_scale", "raw"), ranked=ranked, wide=wide)
            row["stability_ari"] = ari
        else:
            row["stability_ari"] = 1.0
        out.append(row)
    return out

