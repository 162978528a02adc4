"""Co-location relatedness between activities and their grouping into co-location groups.

Activities are related when their activity concentrates in the same regions. Three measures:

``correlation``
    Pearson correlation, across regions, of each activity's share in the region's total (the
    regional structure; equivalently of the LQs). Pairwise-complete: a suppressed cell drops only
    that region.
``cosine``
    Cosine similarity of the activities' LQ profiles across regions.
``proximity``
    Co-specialisation proximity (Hidalgo et al. 2007): ``min(P(j | k), P(k | j))`` where
    P(j | k) is the share of regions with LQ >= 1 in k that also have LQ >= 1 in j.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import AgglomerativeClustering, SpectralClustering
from sklearn.metrics import silhouette_samples, silhouette_score

from mapping.errors import MappingError

__all__ = ["MEASURES", "METHODS", "relatedness", "group_activities", "describe_grouping", "hierarchy_closeness",
           "io_relatedness", "combine_relatedness", "grouping_stability", "agreement",
           "build_groups", "source_contributions"]

MEASURES = ("correlation", "cosine", "proximity")
METHODS = ("agglomerative", "spectral")
#: LQ at or above which a region counts as specialised for the proximity measure (Hidalgo's RCA >= 1).
PROXIMITY_LQ = 1.0


def relatedness(lq: pd.DataFrame, *, indicator: str, level: str = "section", year: int | None = None,
                measure: str = "correlation", min_regions: int = 5) -> pd.DataFrame:
    """Activity x activity relatedness from co-location across regions.

    Parameters
    ----------
    lq : DataFrame
        Output of :func:`mapping.analysis.location_quotient.location_quotients`.
    indicator : str
        Indicator whose regional distribution defines co-location (e.g. ``"gva"``, ``"employment"``).
    level : str
        Classification level.
    year : int, optional
        Year to use; default the latest year with that indicator.
    measure : {"correlation", "cosine", "proximity"}
        See the module docstring.
    min_regions : int
        Pairs observed together in fewer regions get relatedness 0 (too little evidence).

    Returns
    -------
    DataFrame
        Square, symmetric, index and columns the activity codes (sorted), diagonal 1.0, values in
        [-1, 1] (correlation) or [0, 1] (cosine, proximity). ``attrs`` hold the measure, indicator,
        year and the number of regions.

    Raises
    ------
    MappingError
        Unknown measure, or fewer than 3 activities or ``min_regions`` regions with data.
    """
    if measure not in MEASURES:
        raise MappingError(f"relatedness measure {measure!r} is not one of {MEASURES}")
    sub = lq.loc[(lq["indicator"] == indicator) & (lq["level"] == level)]
    if sub.empty:
        raise MappingError(f"relatedness: no LQs for indicator {indicator!r} at level {level!r}; "
                           f"available: {sorted(set(lq['indicator']))}")
    year = int(sub["year"].max()) if year is None else year
    sub = sub.loc[sub["year"] == year]
    # Correlation uses the activity's share of each region's own total, which equals the LQ up to a
    # per-activity factor that Pearson ignores; the region's share of the *national* value would
    # mostly measure region size and make every activity look related.
    wide = sub.pivot_table(index="region_code", columns="activity_code", values="lq", dropna=False)
    wide = wide.sort_index(axis=1)
    if wide.shape[1] < 3 or wide.shape[0] < min_regions:
        raise MappingError(f"relatedness: need at least 3 activities and {min_regions} regions with data for "
                           f"{indicator!r} in {year}; got {wide.shape[1]} activities, {wide.shape[0]} regions")
    mat = _matrix_from_wide(wide.to_numpy(dtype=float), measure, min_regions)
    out = pd.DataFrame(mat, index=wide.columns, columns=wide.columns)
    out.index.name = "activity_code"
    out.attrs.update(measure=measure, indicator=indicator, year=year, level=level, n_regions=int(wide.shape[0]))
    return out


def _matrix_from_wide(x: np.ndarray, measure: str, min_regions: int) -> np.ndarray:
    """Relatedness matrix from a regions x activities array of LQs (NaN = no data)."""
    present = ~np.isnan(x)
    together = present.T.astype(int) @ present.astype(int)
    if measure == "correlation":
        mat = pd.DataFrame(x).corr(min_periods=min_regions).to_numpy()
    elif measure == "cosine":
        z = np.nan_to_num(x)
        norms = np.linalg.norm(z, axis=0)
        norms[norms == 0] = 1.0
        mat = (z.T @ z) / np.outer(norms, norms)
    else:
        s = (np.nan_to_num(x) >= PROXIMITY_LQ).astype(float)
        both = s.T @ s
        n = s.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            cond = both / n[None, :]  # P(row | column)
        mat = np.fmin(cond, cond.T)
    mat = np.where(together >= min_regions, mat, np.nan)
    mat = np.nan_to_num(mat, nan=0.0)
    np.fill_diagonal(mat, 1.0)
    return mat


def _fit(rel: np.ndarray, method: str, k: int, seed: int) -> np.ndarray:
    """Labels of ``k`` groups on a relatedness matrix (distance ``1 - relatedness`` clipped at 0)."""
    if method == "agglomerative":
        dist = np.clip(1.0 - rel, 0.0, None)
        np.fill_diagonal(dist, 0.0)
        model = AgglomerativeClustering(n_clusters=k, metric="precomputed", linkage="average")
        return model.fit_predict(dist)
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

    def fit(k: int) -> np.ndarray:
        return _fit(rel, method, k, seed)

    scores: dict[int, float] = {}
    if n_groups == "auto":
        for k in range(min_groups, min(max_groups, n - 1) + 1):
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
    members = {g: np.flatnonzero(gid == g) for g in groups}
    own, best, best_g, top = [], [], [], []
    for i in range(n):
        mates = [j for j in members[gid[i]] if j != i]
        own.append(float(rel[i, mates].mean()) if mates else np.nan)
        others = {g: float(rel[i, m].mean()) for g, m in members.items() if g != gid[i]}
        g_best = max(others, key=others.get) if others else ""
        best.append(others.get(g_best, np.nan))
        best_g.append(g_best)
        order_i = [j for j in np.argsort(-rel[i], kind="stable") if j != i][:3]
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


# --------------------------------------------------------------------------- evidence beyond co-location

def hierarchy_closeness(codes: list[str], activities: pd.DataFrame | None = None, *,
                        classification: str | None = None) -> pd.DataFrame:
    """Closeness of activities in the classification hierarchy (needs no firm data).

    ``closeness(i, j) = shared ancestors / max(ancestors of i, ancestors of j)``: siblings under the
    same parent chain score 1, activities sharing only the top level score ``1 / depth``, and
    activities in different top-level branches (or without parents, e.g. OKVED2 sections) 0.
    Ancestors come from the registry's ``parent_code``; codes the registry does not know fall back to
    the prefixes of a numeric code (NAICS: ``336411`` has ancestors ``33641, 3364, 336, 33``).

    Examples
    --------
    >>> hierarchy_closeness(["336411", "336412", "336111", "111110"]).round(2).to_numpy().tolist()[0]
    [1.0, 1.0, 0.5, 0.0]
    """
    parent: dict[str, str] = {}
    if activities is not None and len(activities):
        a = activities if classification is None else activities.loc[activities["classification"] == classification]
        parent = {c: (p if isinstance(p, str) else "") for c, p in zip(a["code"], a["parent_code"].fillna(""))}

    def ancestors(code: str) -> list[str]:
        if code in parent:
            out, p = [], parent[code]
            while p and p not in out:
                out.append(p)
                p = parent.get(p, "")
            return out
        if code.isdigit() and len(code) > 2:
            return [code[:n] for n in range(len(code) - 1, 1, -1)]
        return []

    anc = {c: set(ancestors(c)) for c in codes}
    n = len(codes)
    mat = np.zeros((n, n))
    for i, ci in enumerate(codes):
        for j in range(i, n):
            cj = codes[j]
            depth = max(len(anc[ci]), len(anc[cj]))
            v = len(anc[ci] & anc[cj]) / depth if depth else 0.0
            mat[i, j] = mat[j, i] = v
    np.fill_diagonal(mat, 1.0)
    out = pd.DataFrame(mat, index=codes, columns=codes)
    out.index.name = "activity_code"
    return out


def io_relatedness(codes: list[str], table: pd.DataFrame) -> pd.DataFrame:
    """Input-output links between activities from a user-supplied table of flows.

    ``table`` has columns ``from_code, to_code, value`` (intermediate flows, any unit). Following
    Delgado, Porter and Stern (2016), the link of i and j is the largest of: the share of j's inputs
    bought from i, of i's inputs bought from j, of i's output sold to j and of j's output sold to
    i. Scaled by the largest off-diagonal link so that it lies in [0, 1]. Codes absent from the
    table get 0.

    Examples
    --------
    >>> t = pd.DataFrame({"from_code": ["a", "b"], "to_code": ["b", "c"], "value": [10.0, 5.0]})
    >>> io_relatedness(["a", "b", "c"], t).to_numpy().tolist()
    [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]
    """
    missing = [c for c in ("from_code", "to_code", "value") if c not in table.columns]
    if missing:
        raise MappingError(f"input-output table: missing column(s) {missing}; needs from_code, to_code, value")
    flows = table.pivot_table(index="from_code", columns="to_code", values="value", aggfunc="sum", fill_value=0.0)
    allc = sorted(set(flows.index) | set(flows.columns) | set(codes))
    f = flows.reindex(index=allc, columns=allc, fill_value=0.0).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        inputs = np.nan_to_num(f / f.sum(axis=0, keepdims=True))   # share of column's inputs from row
        outputs = np.nan_to_num(f / f.sum(axis=1, keepdims=True))  # share of row's output sold to column
    link = np.maximum.reduce([inputs, inputs.T, outputs, outputs.T])
    pos = [allc.index(c) for c in codes]
    m = link[np.ix_(pos, pos)]
    np.fill_diagonal(m, 0.0)
    top = m.max() if m.size else 0.0
    if top > 0:
        m = m / top
    np.fill_diagonal(m, 1.0)
    out = pd.DataFrame(m, index=codes, columns=codes)
    out.index.name = "activity_code"
    return out


def combine_relatedness(components: dict[str, pd.DataFrame], weights: dict[str, float]) -> pd.DataFrame:
    """Weighted mean of relatedness matrices on the same activities (weights need not sum to 1)."""
    used = {k: w for k, w in weights.items() if w > 0 and k in components}
    if not used:
        raise MappingError(f"relatedness: no source with a positive weight among {sorted(components)} "
                           f"(weights {weights})")
    base = next(iter(components.values()))
    total = sum(used.values())
    mat = sum(components[k].reindex(index=base.index, columns=base.columns).to_numpy() * w
              for k, w in used.items()) / total
    out = pd.DataFrame(mat, index=base.index, columns=base.columns)
    out.attrs.update(base.attrs)
    out.attrs["sources"] = {k: round(w / total, 6) for k, w in used.items()}
    return out


def _upper(m: np.ndarray) -> np.ndarray:
    return m[np.triu_indices_from(m, k=1)]


def _co_membership(labels: np.ndarray) -> np.ndarray:
    return labels[:, None] == labels[None, :]


def grouping_stability(lq: pd.DataFrame, labels, *, indicator: str, level: str, year: int, measure: str,
                       method: str, extra: dict[str, pd.DataFrame] | None = None,
                       weights: dict[str, float] | None = None, n_resamples: int = 50, seed: int = 42,
                       min_regions: int = 5) -> tuple[float, pd.Series, list[float]]:
    """Stability of a grouping when the regions are resampled (bootstrap).

    Each resample draws the regions with replacement, recomputes the co-location matrix (the other
    sources, which need no regional data, stay as they are), regroups with the same method and
    number of groups, and compares with ``labels``: the adjusted Rand index for the whole grouping
    and, per activity, the Jaccard overlap of its group mates.

    Returns
    -------
    mean_ari : float
    per_activity : Series
        Mean Jaccard overlap of each activity's group mates (1 = always with the same mates).
    aris : list of float
    """
    from sklearn.metrics import adjusted_rand_score

    sub = lq.loc[(lq["indicator"] == indicator) & (lq["level"] == level) & (lq["year"] == year)]
    wide = sub.pivot_table(index="region_code", columns="activity_code", values="lq", dropna=False).sort_index(axis=1)
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
        coloc = pd.DataFrame(_matrix_from_wide(x[rows], measure, min_regions), index=codes, columns=codes)
        comps = {"colocation": coloc, **(extra or {})}
        rel = combine_relatedness(comps, weights or {"colocation": 1.0}).to_numpy()
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


def agreement(a: pd.Series, b: pd.Series) -> dict[str, float]:
    """Adjusted Rand index and normalised mutual information of two groupings on their common activities."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    common = a.index.intersection(b.index)
    if len(common) < 2:
        return {"ari": float("nan"), "nmi": float("nan"), "n_activities": int(len(common))}
    return {"ari": float(adjusted_rand_score(a[common], b[common])),
            "nmi": float(normalized_mutual_info_score(a[common], b[common])), "n_activities": int(len(common))}


def build_groups(lq: pd.DataFrame, settings, *, year: int, level: str, classification: str | None = None,
                 activities: pd.DataFrame | None = None, io_table: pd.DataFrame | None = None,
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
        Activity registry (for the hierarchy).
    io_table : DataFrame, optional
        Input-output flows ``from_code, to_code, value`` (needed when ``settings.io_weight > 0``;
        read by :func:`mapping.ingest.tables.read_io_table`).
    categories : dict, optional
        Fixed categories, activity code -> category (:func:`mapping.ingest.tables.read_categories`).

    Returns
    -------
    matrix : DataFrame
        The combined relatedness matrix (``attrs``: measure, indicator, year, n_regions, sources).
    groups : DataFrame
        :func:`group_activities` columns plus ``stability`` (bootstrap mean Jaccard of the group
        mates), ``data_group_id`` (the data-driven group) and ``category`` (the fixed category, if
        any). ``group_id`` is the fixed category when one is configured and ``use_grouping =
        "fixed"``. ``attrs`` add ``stability_ari``, ``sources`` (what each source adds) and
        ``agreement`` (ARI/NMI of data groups vs the fixed categories).
    """
    rc = settings
    coloc = relatedness(lq, indicator=rc.indicator, level=level, year=year, measure=rc.measure)
    codes = list(coloc.index)
    comps: dict[str, pd.DataFrame] = {"colocation": coloc}
    if rc.hierarchy_weight > 0:
        comps["hierarchy"] = hierarchy_closeness(codes, activities, classification=classification)
    if rc.io_weight > 0:
        if io_table is None:
            raise MappingError("relatedness.io_weight > 0 needs relatedness.io_table (from_code, to_code, value)")
        comps["io"] = io_relatedness(codes, io_table)
    weights = {"colocation": rc.colocation_weight, "hierarchy": rc.hierarchy_weight, "io": rc.io_weight}
    matrix = combine_relatedness(comps, weights)
    groups = group_activities(matrix, method=rc.method, n_groups=rc.n_groups, min_groups=rc.min_groups,
                              max_groups=rc.max_groups, seed=seed)
    k = groups.attrs["n_groups"]
    extra = {n: m for n, m in comps.items() if n != "colocation"}
    stab_kw = dict(indicator=rc.indicator, level=level, year=year, measure=rc.measure, method=rc.method, seed=seed)
    if rc.stability_resamples > 0:
        ari, per, _ = grouping_stability(lq, groups.set_index("activity_code")["group_id"], extra=extra,
                                         weights=weights, n_resamples=rc.stability_resamples, **stab_kw)
        groups["stability"] = groups["activity_code"].map(per).to_numpy()
    else:
        ari = float("nan")
        groups["stability"] = np.nan
    groups["data_group_id"] = groups["group_id"]
    attrs = dict(groups.attrs, stability_ari=ari, stability_resamples=rc.stability_resamples)
    attrs["sources"] = source_contributions(lq, comps, weights, k=k, settings=rc, year=year, level=level,
                                            seed=seed, final=groups.set_index("activity_code")["group_id"])
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
            keep = groups[["activity_code", "stability", "data_group_id", "category"]]
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


def source_contributions(lq: pd.DataFrame, comps: dict[str, pd.DataFrame], weights: dict[str, float], *, k: int,
                         settings, year: int, level: str, seed: int, final: pd.Series) -> list[dict]:
    """What each relatedness source adds: groupings with co-location alone, each source alone and all.

    For each variant, with the same method and number of groups: mean silhouette and validation
    margin on its own matrix, the correlation of its matrix with co-location (off-diagonal), the
    agreement (ARI) of its grouping with the final one, and the bootstrap stability over regions
    (co-location recomputed per resample; a source alone that needs no regional data is 1 by
    construction, so stability is reported only for variants containing co-location).
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
    n_boot = min(rc.stability_resamples, 20)
    out = []
    for name, w in variants:
        m = combine_relatedness(comps, w)
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
                                           weights=w, n_resamples=n_boot, seed=seed)
            row["stability_ari"] = ari
        else:
            row["stability_ari"] = 1.0
        out.append(row)
    return out
