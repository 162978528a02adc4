"""Relatedness between activities: co-location across regions, closeness in the classification, and their combination.

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

Where regions differ strongly in development level, every activity whose share rises or falls with
productivity looks related to every other such activity (public services in poorer regions, finance
in richer ones). :func:`relatedness` therefore accepts a regional ``control`` (e.g. log GVA per
worker) that is partialled out of each activity's LQ profile before co-location is measured.
Grouping lives in :mod:`mapping.analysis.grouping`, input-output links in
:mod:`mapping.analysis.iorelatedness`, validation against nulls in :mod:`mapping.analysis.validation`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mapping.errors import MappingError

__all__ = ["MEASURES", "METHODS", "relatedness", "development_level", "colocation_wide", "matrix_from_wide", "partial_out",
           "hierarchy_closeness", "combine_relatedness", "rank_scale", "agreement"]

MEASURES = ("correlation", "cosine", "proximity")
METHODS = ("agglomerative", "spectral")
#: LQ at or above which a region counts as specialised for the proximity measure (Hidalgo's RCA >= 1).
PROXIMITY_LQ = 1.0


def relatedness(lq: pd.DataFrame, *, indicator: str, level: str = "section", year: int | None = None,
                measure: str = "correlation", min_regions: int = 5, control: pd.Series | None = None,
                regions: list[str] | None = None, wide: pd.DataFrame | None = None) -> pd.DataFrame:
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
    control : Series, optional
        Region code -> a regional covariate (e.g. log GVA per worker) partialled out of every
        activity's LQ profile before the measure is taken (:func:`partial_out`); regions without a
        value are left out. ``attrs["control_r2"]`` then holds each activity's share of LQ variance
        the control explains.
    regions : list of str, optional
        Use only these regions (e.g. one half of a split for validation).
    wide : DataFrame, optional
        :func:`colocation_wide` of the same arguments, when the caller has it (not modified).

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
    if wide is None:
        wide = colocation_wide(lq, indicator=indicator, level=level, year=year, measure=measure)
    year = int(wide.attrs["year"])
    if regions is not None:
        wide = wide.loc[wide.index.isin(regions)]
    r2 = None
    if control is not None:
        z = control.reindex(wide.index)
        wide = wide.loc[z.notna().to_numpy()]
        x, r2 = partial_out(wide.to_numpy(dtype=float), z.dropna().to_numpy(dtype=float))
        wide = pd.DataFrame(x, index=wide.index, columns=wide.columns)
    if wide.shape[1] < 3 or wide.shape[0] < min_regions:
        raise MappingError(f"relatedness: need at least 3 activities and {min_regions} regions with data for "
                           f"{indicator!r} in {year}; got {wide.shape[1]} activities, {wide.shape[0]} regions")
    mat = matrix_from_wide(wide.to_numpy(dtype=float), measure, min_regions)
    out = pd.DataFrame(mat, index=wide.columns, columns=wide.columns)
    out.index.name = "activity_code"
    out.attrs.update(measure=measure, indicator=indicator, year=year, level=level, n_regions=int(wide.shape[0]))
    if r2 is not None:
        out.attrs["control_r2"] = {c: round(float(v), 4) for c, v in zip(wide.columns, r2)}
    return out


def colocation_wide(lq: pd.DataFrame, *, indicator: str, level: str, year: int | None = None,
                    measure: str = "correlation") -> pd.DataFrame:
    """Regions x activities LQ frame of one indicator, level and year (NaN = no data); ``attrs["year"]``."""
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
    wide = _wide_lq(sub)
    wide.attrs["year"] = year
    return wide


def _wide_lq(sub: pd.DataFrame) -> pd.DataFrame:
    """``pivot_table(index="region_code", columns="activity_code", values="lq", dropna=False)`` with sorted
    columns, built on integer codes (a pivot on text keys is slow for thousands of regions x activities)."""
    r, regions = pd.factorize(sub["region_code"], sort=True)
    a, acts = pd.factorize(sub["activity_code"], sort=True)
    cell = r.astype(np.int64) * len(acts) + a
    if (r < 0).any() or (a < 0).any() or (len(cell) and np.bincount(cell).max() > 1):  # missing keys or repeats:
        wide = sub.pivot_table(index="region_code", columns="activity_code", values="lq", dropna=False)
        return wide.sort_index(axis=1)                                  # the pivot's own rules (means)
    values = np.full((len(regions), len(acts)), np.nan)
    values.ravel()[cell] = sub["lq"].to_numpy(dtype=float)
    # copy=False keeps the memory layout a pivot gives (row-major regions x activities): the correlations'
    # sums then run in the same order, to the last bit.
    return pd.DataFrame(values, index=pd.Index(regions, name="region_code"),
                        columns=pd.Index(acts, name="activity_code"), copy=False)


def partial_out(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Residuals of each column of ``x`` (regions x activities, NaN = no data) on ``[1, z]``.

    Each column uses its own observed rows. Returns the residuals (NaN kept) and each column's R²
    (share of its variance the covariate explains; NaN for a column with fewer than 3 rows).
    """
    x = np.asarray(x, dtype=float)
    z = np.asarray(z, dtype=float)
    ok = ~np.isnan(x)
    n = ok.sum(axis=0)
    zz = np.where(ok, z[:, None], 0.0)
    xx = np.where(ok, x, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mz, mx = zz.sum(axis=0) / n, xx.sum(axis=0) / n
        dz = np.where(ok, z[:, None] - mz, 0.0)
        dx = np.where(ok, x - mx, 0.0)
        szz, sxz, sxx = (dz * dz).sum(axis=0), (dz * dx).sum(axis=0), (dx * dx).sum(axis=0)
        beta = np.where(szz > 0, sxz / szz, 0.0)
        r2 = np.where((sxx > 0) & (n >= 3), beta * sxz / sxx, np.nan)
    res = np.where(ok, dx - beta * dz, np.nan)
    return res, r2


def matrix_from_wide(x: np.ndarray, measure: str, min_regions: int) -> np.ndarray:
    """Relatedness matrix from a regions x activities array of LQs (NaN = no data).

    The dense kernels of :func:`mapping.analysis.fastlq.dense_relatedness` (pairwise-complete
    correlation; pairs seen together in fewer than ``min_regions`` regions get 0; diagonal 1).
    """
    from mapping.analysis.fastlq import dense_relatedness

    return dense_relatedness(x, measure=measure, min_regions=min_regions)


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


def rank_scale(matrix: np.ndarray) -> np.ndarray:
    """Off-diagonal values as their percentile among all off-diagonal pairs (share of pairs strictly below).

    Puts sources with very different distributions (correlations in [-1, 1], input-output shares that
    are mostly near 0, a handful of hierarchy levels) on one scale before they are combined. NaN
    stays NaN; the diagonal is 1.
    """
    m = np.asarray(matrix, dtype=float)
    n = m.shape[0]
    iu = np.triu_indices(n, k=1)
    v = m[iu]
    ok = ~np.isnan(v)
    out = np.full(n * (n - 1) // 2, np.nan)
    if ok.any():
        vals = v[ok]
        order = np.argsort(vals, kind="stable")
        sv = vals[order]
        # Pairs strictly below = position of the first of each run of ties in sorted order (one sort;
        # a sort plus a binary search per value took twice as long on a 1,000-activity matrix).
        first = np.empty(len(sv), dtype=bool)
        first[0], first[1:] = True, sv[1:] != sv[:-1]
        below = np.maximum.accumulate(np.where(first, np.arange(len(sv)), 0))
        ranks = np.empty(len(sv))
        ranks[order] = below
        out[ok] = ranks / max(len(sv) - 1, 1)
    r = np.full((n, n), np.nan)
    r[iu] = out
    r.T[iu] = out
    np.fill_diagonal(r, 1.0)
    return np.clip(r, 0.0, 1.0)


def combine_relatedness(components: dict[str, pd.DataFrame], weights: dict[str, float], *,
                        scale: str = "raw", ranked: tuple[str, ...] | frozenset = ()) -> pd.DataFrame:
    """Weighted mean of relatedness matrices on the same activities (weights need not sum to 1).

    Parameters
    ----------
    components : dict
        Source name -> square matrix (NaN = the source has no evidence for that pair).
    weights : dict
        Source name -> weight (>= 0).
    scale : {"raw", "rank"}
        ``"rank"`` puts each source on the percentile scale of :func:`rank_scale` first.
    ranked : tuple of str
        Sources already on that scale (ranked once by the caller, e.g. across bootstrap resamples).

    Returns
    -------
    DataFrame
        Per pair, the weighted mean over the sources with evidence for it (0 where none has);
        ``attrs["sources"]`` holds the normalised weights.
    """
    used = {k: w for k, w in weights.items() if w > 0 and k in components}
    if not used:
        raise MappingError(f"relatedness: no source with a positive weight among {sorted(components)} "
                           f"(weights {weights})")
    base = next(iter(components.values()))
    total = sum(used.values())
    num = np.zeros(base.shape)
    den = np.zeros(base.shape)
    for k, w in used.items():
        arr = components[k].reindex(index=base.index, columns=base.columns).to_numpy(dtype=float)
        if scale == "rank" and k not in ranked:
            arr = rank_scale(arr)
        ok = ~np.isnan(arr)
        num += np.where(ok, arr, 0.0) * w
        den += ok * w
    with np.errstate(divide="ignore", invalid="ignore"):
        mat = np.where(den > 0, num / den, 0.0)
    np.fill_diagonal(mat, 1.0)
    out = pd.DataFrame(mat, index=base.index, columns=base.columns)
    out.attrs.update(base.attrs)
    out.attrs["sources"] = {k: round(w / total, 6) for k, w in used.items()}
    out.attrs["scale"] = scale
    return out


def agreement(a: pd.Series, b: pd.Series) -> dict[str, float]:
    """Adjusted Rand index and normalised mutual information of two groupings on their common activities."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    common = a.index.intersection(b.index)
    if len(common) < 2:
        return {"ari": float("nan"), "nmi": float("nan"), "n_activities": int(len(common))}
    return {"ari": float(adjusted_rand_score(a[common], b[common])),
            "nmi": float(normalized_mutual_info_score(a[common], b[common])), "n_activities": int(len(common))}


def development_level(tidy: pd.DataFrame, numerator: str, denominator: str, *, year: int | None = None) -> pd.Series:
    """log(numerator / denominator) of each region's totals (``level == "total"`` rows), e.g. GVA per worker.

    Uses the latest year both indicators have (or ``year`` when both have it). Returns an empty
    Series when either indicator has no regional totals.
    """
    tot = tidy.loc[tidy["level"] == "total"]
    num = tot.loc[tot["indicator"] == numerator]
    den = tot.loc[tot["indicator"] == denominator]
    years = sorted(set(num["year"]) & set(den["year"]))
    if not years:
        return pd.Series(dtype=float, name="development")
    y = year if year in years else years[-1]
    a = num.loc[num["year"] == y].groupby("region_code")["value"].sum()
    b = den.loc[den["year"] == y].groupby("region_code")["value"].sum()
    ratio = (a / b).replace([float("inf"), -float("inf")], float("nan"))
    ratio = ratio.loc[ratio > 0]
    out = np.log(ratio).rename("development")
    out.attrs.update(numerator=numerator, denominator=denominator, year=int(y))
    return out
