"""Spatial evidence: Local Moran's I (PySAL ``esda``) on each specialised activity's LQ.

Weights are contiguity weights from the land neighbours of the UNSPLIT unit geometries
(:func:`mapping.geo.boundaries.find_neighbours` on :func:`mapping.pipeline.load_geography`'s units), so
Chukotka, stored continuously across 180 degrees, is one region with its real neighbours.
Row-standardised; inference by conditional permutation with a fixed seed.

Regions are left out of an activity's statistic, each with a stated reason in ``hotspot``, when
they have no geometry (``no geometry``), no land neighbour (``island``: Kaliningrad, Sakhalin;
Alaska, Hawaii), no neighbour with an LQ for the activity (``no neighbour with an LQ``) or no LQ
themselves (``no LQ``). ``hotspot`` is otherwise ``HH`` (a high LQ among high neighbours: a hot spot),
``LL``, ``HL``, ``LH`` when the permutation p-value is below ``alpha``, or ``not significant``.

With ``fdr_q`` set (the default configuration: 0.05), the p-values of each indicator x activity map
are adjusted by Benjamini-Hochberg (:func:`mapping.analysis.significance.bh_adjust`) into
``local_moran_q`` and a region is classed when its q-value is below ``fdr_q``: of the hot spots of a
map, at most that share is expected to be chance (instead of ``alpha`` of every region tested).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from mapping.analysis.significance import bh_adjust

__all__ = ["QUADRANTS", "local_moran", "local_moran_rows", "weights_from_neighbours"]

QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
NO_GEOMETRY = "no geometry"
ISLAND = "island"
NO_LQ = "no LQ"
NOT_SIGNIFICANT = "not significant"
NO_NEIGHBOUR_DATA = "no neighbour with an LQ"


def weights_from_neighbours(codes: list[str], neighbours: pd.DataFrame):
    """libpysal ``W`` on ``codes`` from ``region_code, neighbour_code`` pairs (row-standardised).

    Returns
    -------
    (W or None, list of str)
        The weights over the codes that have at least one neighbour among ``codes``, and the codes
        left out as islands. ``None`` when fewer than 3 regions remain.
    """
    from libpysal.weights import W

    keep = set(codes)
    nb: dict[str, list[str]] = {c: [] for c in codes}
    for a, b in zip(neighbours["region_code"].tolist(), neighbours["neighbour_code"].tolist()):
        if a in keep and b in keep and a != b and b not in nb[a]:
            nb[a].append(b)
    islands = sorted(c for c, v in nb.items() if not v)
    # Removing an island cannot isolate another region (islands have no links), so one pass suffices.
    nb = {c: sorted(v) for c, v in nb.items() if v}
    if len(nb) < 3:
        return None, islands
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # disconnected components are fine for local statistics
        w = W(nb, silence_warnings=True)
    w.transform = "r"
    return w, islands


def local_moran(lq: pd.DataFrame, units: pd.DataFrame, neighbours: pd.DataFrame, *, indicators: tuple[str, ...],
                level: str, year: int, activities: list[str] | None = None, permutations: int = 999,
                alpha: float = 0.05, seed: int = 42, fdr_q: float | None = None) -> pd.DataFrame:
    """Local Moran's I of the LQ across regions, per indicator x activity.

    Parameters
    ----------
    lq : DataFrame
        Location quotients (``year, indicator, classification, level, region_code, activity_code, lq,
        specialised``).
    units : DataFrame
        The unit geometries' ``region_code`` (regions absent here have no geometry).
    neighbours : DataFrame
        ``region_code, neighbour_code`` pairs from the unsplit geometry.
    indicators : tuple of str
        Indicators whose LQs are tested.
    level, year
        Classification level and year.
    activities : list of str, optional
        Activities to test; default those specialised in at least one region for the indicator.
    permutations : int
        Conditional permutations for the pseudo p-value (0: no inference; every row ``not
        significant``).
    alpha : float
        Significance level of ``hotspot`` without false-discovery control.
    fdr_q : float, optional
        Benjamini-Hochberg level per map; when given, ``hotspot`` uses ``local_moran_q < fdr_q``.

    Returns
    -------
    DataFrame
        ``year, indicator, classification, level, region_code, activity_code, local_moran_i,
        local_moran_p, local_moran_q, hotspot, quadrant`` for every region of each tested activity
        (``quadrant``: the region's Moran quadrant whether significant or not).
    """
    return local_moran_rows(lq, units, neighbours, indicators=indicators, level=level, year=year,
                            activities=activities, permutations=permutations, alpha=alpha, seed=seed, fdr_q=fdr_q)[0]


def local_moran_rows(lq: pd.DataFrame, units: pd.DataFrame, neighbours: pd.DataFrame, *,
                     indicators: tuple[str, ...], level: str, year: int, activities: list[str] | None = None,
                     permutations: int = 999, alpha: float = 0.05, seed: int = 42, fdr_q: float | None = None
                     ) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`local_moran`'s table, and for each of its rows the position in ``lq`` of the LQ row it describes.

    The positions let a caller put the statistics onto the LQ table without joining on its keys
    (:func:`mapping.analysis.evidence.spatial_evidence`).
    """
    with_geom = set(units["region_code"])
    _, land_islands = weights_from_neighbours(sorted(with_geom), neighbours)
    land_islands = set(land_islands)
    cols = ["year", "indicator", "classification", "level", "region_code", "activity_code", "local_moran_i",
            "local_moran_p", "local_moran_q", "hotspot", "quadrant"]
    w_cache: dict[tuple, tuple] = {}  # most activities cover the same regions: build each W once
    at = np.flatnonzero(((lq["level"] == level) & (lq["year"] == year) & lq["indicator"].isin(indicators)).to_numpy())
    sub_all = lq[["indicator", "classification", "region_code", "activity_code", "lq", "specialised"]].iloc[at]
    sub_all = sub_all.set_axis(at)  # labels: positions in lq
    parts, positions = [], []
    for (ind, cls), sub in sub_all.groupby(["indicator", "classification"], sort=True):
        acts = activities if activities is not None else sorted(set(sub.loc[sub["specialised"], "activity_code"]))
        part = _moran_rows(sub, list(acts), with_geom, land_islands, neighbours, w_cache, permutations=permutations,
                           alpha=alpha, seed=seed, fdr_q=fdr_q)
        if part is not None:
            n = len(part[0])
            parts.append(part[0].assign(year=year, indicator=_repeated(ind, n), classification=_repeated(cls, n),
                                        level=_repeated(level, n)))
            positions.append(part[1])
    if not parts:
        return pd.DataFrame([], columns=cols), np.zeros(0, dtype=np.int64)
    return pd.concat(parts, ignore_index=True)[cols], np.concatenate(positions)


#: ``hotspot`` values by code: the quadrants (1-4), then the reasons a region was not classed.
_HOTSPOT = np.array(["", "HH", "LH", "LL", "HL", NOT_SIGNIFICANT, NO_GEOMETRY, NO_LQ, ISLAND, NO_NEIGHBOUR_DATA],
                    dtype=object)
_NS, _NO_GEOMETRY, _NO_LQ, _ISLAND, _NO_NEIGHBOUR = 5, 6, 7, 8, 9


def _has_duplicates(keys: np.ndarray, size: int) -> bool:
    """Whether the integer keys (0 <= key < size) repeat (counted in one pass where size allows)."""
    if size <= 50_000_000:
        return bool(len(keys)) and int(np.bincount(keys, minlength=1).max()) > 1
    return len(np.unique(keys)) < len(keys)


def _sorted_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(each value's position among the sorted distinct values, the sorted distinct values)."""
    codes, uniques = pd.factorize(values)
    uniques = np.asarray(uniques, dtype=object)
    order = np.argsort(uniques, kind="stable")  # str comparison, as sorted()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], uniques[order]


def _moran_rows(sub: pd.DataFrame, acts: list[str], with_geom: set, land_islands: set, neighbours: pd.DataFrame,
                w_cache: dict, *, permutations: int, alpha: float, seed: int, fdr_q: float | None):
    """Rows of one indicator x classification: every row of ``sub`` of each activity in ``acts``, in that order.

    The activities whose regions with an LQ (and geometry) are the same share one weights object and
    are computed together (:func:`mapping.analysis.localmoran.moran_local_maps`, esda's numbers).
    Returns the rows and their labels in ``sub``, or None without rows.
    """
    from mapping.analysis.localmoran import moran_local_maps

    a_codes, a_uniques = pd.factorize(sub["activity_code"])
    slot = {a: k for k, a in enumerate(np.asarray(a_uniques, dtype=object))}
    by_code = np.argsort(a_codes, kind="stable")  # sub's rows grouped by activity, each group in sub's order
    bounds = np.concatenate([[0], np.cumsum(np.bincount(a_codes, minlength=len(slot)))])
    tested = list(dict.fromkeys(a for a in acts if a in slot))
    if not tested:
        return None
    rows_of = {a: by_code[bounds[slot[a]]:bounds[slot[a] + 1]] for a in tested}
    order = np.concatenate([rows_of[a] for a in acts if a in slot])  # an activity named twice repeats its rows
    cells = np.concatenate([rows_of[a] for a in tested])
    r_all, regions = _sorted_codes(sub["region_code"].iloc[cells])
    region_index = pd.Index(regions)
    col = np.full(len(slot), -1, dtype=np.int64)
    col[[slot[a] for a in tested]] = np.arange(len(tested))
    a_all = col[a_codes[cells]]
    if _has_duplicates(r_all * len(tested) + a_all, len(regions) * len(tested)):
        raise ValueError("local_moran: more than one LQ row for a region x activity")
    value = np.full((len(regions), len(tested)), np.nan)
    value[r_all, a_all] = sub["lq"].to_numpy(dtype=float)[cells]
    where = np.empty(len(sub), dtype=np.int64)  # row of sub -> its cell
    where[cells] = np.arange(len(cells))
    r_pos, a_pos = r_all[where[order]], a_all[where[order]]
    geom = np.array([r in with_geom for r in regions], dtype=bool)
    defined = ~np.isnan(value) & geom[:, None]
    # Per cell: I, p, q and a hotspot code; the reasons first, overwritten where the statistic is computed.
    stat_i = np.full(value.shape, np.nan)
    stat_p = np.full(value.shape, np.nan)
    stat_q = np.full(value.shape, np.nan)
    quad = np.zeros(value.shape, dtype=np.int64)
    island = np.array([r in land_islands for r in regions], dtype=bool)
    code = np.where(~geom[:, None], _NO_GEOMETRY, np.where(~defined, _NO_LQ, np.where(
        island[:, None], _ISLAND, _NO_NEIGHBOUR)))
    groups: dict[bytes, list[int]] = {}
    for j in range(len(tested)):
        groups.setdefault(np.packbits(defined[:, j]).tobytes() + bytes([len(regions) % 8]), []).append(j)
    for cols_ in groups.values():
        codes = tuple(regions[defined[:, cols_[0]]])
        if codes not in w_cache:
            w_cache[codes] = weights_from_neighbours(list(codes), neighbours)
        w, _ = w_cache[codes]
        if w is None:
            continue
        ids = region_index.get_indexer(list(w.id_order))
        vals = value[np.ix_(ids, cols_)]
        varies = _varies(vals)
        flat = [c for c, v in zip(cols_, varies) if not v]
        code[np.ix_(ids, flat)] = _NS  # a constant LQ: not significant, no statistic
        live = [c for c, v in zip(cols_, varies) if v]
        if not live:
            continue
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            i_stat, q_stat, p_sim = moran_local_maps(vals[:, varies], w, permutations=permutations, seed=seed)
        p = p_sim if permutations else np.ones(i_stat.shape)
        q = bh_adjust_columns(p)  # one family per map
        sig = q < fdr_q if fdr_q is not None else p < alpha
        cells = np.ix_(ids, live)
        stat_i[cells], stat_p[cells], stat_q[cells] = i_stat, p, q
        quad[cells] = q_stat
        code[cells] = np.where(sig, q_stat, _NS)
    out = pd.DataFrame({
        "region_code": sub["region_code"].array.take(order), "activity_code": sub["activity_code"].array.take(order),
        "local_moran_i": stat_i[r_pos, a_pos], "local_moran_p": stat_p[r_pos, a_pos],
        "local_moran_q": stat_q[r_pos, a_pos], "hotspot": _labels(code[r_pos, a_pos]),
        "quadrant": _labels(quad[r_pos, a_pos])})
    return out, sub.index.to_numpy()[order]


def _labels(codes: np.ndarray) -> pd.Series:
    """The ``hotspot`` labels of the codes, as the text column pandas makes of them (taken, not inferred)."""
    return pd.Series(pd.array(_HOTSPOT.tolist(), dtype="str").take(codes))


def _repeated(value, n: int):
    """``n`` copies of a text scalar as the column ``DataFrame.assign`` makes of it (other scalars as they are)."""
    return pd.array([value], dtype="str").take(np.zeros(n, dtype=np.intp)) if isinstance(value, str) else value


def _varies(vals: np.ndarray) -> np.ndarray:
    """Per column of ``vals`` (no missing values): ``np.nanstd(column) > 0``, as computed column by column.

    A column holding two different finite values has a positive deviation from any mean; only the
    constant and non-finite columns, whose computed deviation depends on rounding, are left to ``nanstd``.
    """
    out = (vals != vals[:1]).any(axis=0) & np.isfinite(vals).all(axis=0)
    for k in np.flatnonzero(~out):
        out[k] = np.nanstd(np.ascontiguousarray(vals[:, k])) > 0
    return out


def bh_adjust_columns(p: np.ndarray) -> np.ndarray:
    """:func:`mapping.analysis.significance.bh_adjust` of every column of ``p`` (one family per column).

    The same operations on the whole matrix when every p-value is finite (a sort along the columns,
    the same products and quotients elementwise), so the values are bit for bit the column-wise ones.
    """
    p = np.asarray(p, dtype=float)
    if not np.isfinite(p).all():
        return np.column_stack([bh_adjust(p[:, k]) for k in range(p.shape[1])])
    m = p.shape[0]
    order = np.argsort(p, axis=0, kind="mergesort")
    ranked = np.take_along_axis(p, order, axis=0) * m / np.arange(1, m + 1)[:, None]
    q = np.minimum.accumulate(ranked[::-1], axis=0)[::-1].clip(max=1.0)
    out = np.empty(p.shape)
    np.put_along_axis(out, order, q, axis=0)
    return out
