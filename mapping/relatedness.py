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

__all__ = ["MEASURES", "METHODS", "relatedness", "group_activities"]

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
        Output of :func:`mapping.location_quotient.location_quotients`.
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
    x = wide.to_numpy(dtype=float)
    present = ~np.isnan(x)
    together = present.T.astype(int) @ present.astype(int)
    if measure == "correlation":
        mat = wide.corr(min_periods=min_regions).to_numpy()
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
    out = pd.DataFrame(mat, index=wide.columns, columns=wide.columns)
    out.index.name = "activity_code"
    out.attrs.update(measure=measure, indicator=indicator, year=year, level=level, n_regions=int(wide.shape[0]))
    return out


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
        if method == "agglomerative":
            model = AgglomerativeClustering(n_clusters=k, metric="precomputed", linkage="average")
            return model.fit_predict(dist)
        aff = np.clip(rel, 0.0, None)
        model = SpectralClustering(n_clusters=k, affinity="precomputed", random_state=seed,
                                   assign_labels="discretize")
        return model.fit_predict(aff)

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
    # Number groups by their first activity code so ids do not depend on the solver's label order.
    first = {lab: min(c for c, l in zip(codes, labels) if l == lab) for lab in set(labels)}
    order = {lab: i + 1 for i, lab in enumerate(sorted(first, key=first.get))}
    gid = np.array([f"G{order[lab]:02d}" for lab in labels])
    sil = silhouette_samples(dist, labels, metric="precomputed") if len(set(labels)) > 1 else np.zeros(n)
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
    out.attrs.update(method=method, n_groups=k, silhouette=float(np.mean(sil)),
                     k_scores={str(kk): v for kk, v in scores.items()}, seed=seed)
    return out
