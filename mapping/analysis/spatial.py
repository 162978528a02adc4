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

__all__ = ["QUADRANTS", "local_moran", "weights_from_neighbours"]

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
    for a, b in zip(neighbours["region_code"], neighbours["neighbour_code"]):
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
    import esda

    with_geom = set(units["region_code"])
    _, land_islands = weights_from_neighbours(sorted(with_geom), neighbours)
    land_islands = set(land_islands)
    rows = []
    w_cache: dict[tuple, tuple] = {}  # most activities cover the same regions: build each W once
    sub_all = lq.loc[(lq["level"] == level) & (lq["year"] == year) & lq["indicator"].isin(indicators)]
    for (ind, cls), sub in sub_all.groupby(["indicator", "classification"], sort=True):
        acts = activities if activities is not None else sorted(set(sub.loc[sub["specialised"], "activity_code"]))
        for act in acts:
            cell = sub.loc[sub["activity_code"] == act, ["region_code", "lq"]]
            if cell.empty:
                continue
            base = {"year": year, "indicator": ind, "classification": cls, "level": level, "activity_code": act}
            defined = cell.loc[cell["lq"].notna() & cell["region_code"].isin(with_geom)]
            codes = sorted(defined["region_code"])
            key = tuple(codes)
            if key not in w_cache:
                w_cache[key] = weights_from_neighbours(codes, neighbours)
            w, islands = w_cache[key]
            res: dict[str, tuple[float, float, float, str]] = {}
            quad: dict[str, str] = {}
            y = defined.set_index("region_code")["lq"]
            if w is not None:
                ids = list(w.id_order)
                vals = y.reindex(ids).to_numpy(dtype=float)
                if np.nanstd(vals) > 0:
                    with warnings.catch_warnings(), np.errstate(all="ignore"):
                        warnings.simplefilter("ignore")
                        m = esda.Moran_Local(vals, w, permutations=permutations, seed=seed)
                    p = m.p_sim if permutations else np.ones(len(ids))
                    q = bh_adjust(p)  # one family per indicator x activity map
                    sig = q < fdr_q if fdr_q is not None else p < alpha
                    for i, code in enumerate(ids):
                        hs = QUADRANTS.get(int(m.q[i]), "") if sig[i] else NOT_SIGNIFICANT
                        res[code] = (float(m.Is[i]), float(p[i]), float(q[i]), hs)
                        quad[code] = QUADRANTS.get(int(m.q[i]), "")
                else:
                    res = {code: (np.nan, np.nan, np.nan, NOT_SIGNIFICANT) for code in ids}
            in_codes = set(codes)
            for code in cell["region_code"]:
                q_ = np.nan
                if code in res:
                    i_, p_, q_, hs = res[code]
                elif code not in with_geom:
                    i_, p_, hs = np.nan, np.nan, NO_GEOMETRY
                elif code not in in_codes:
                    i_, p_, hs = np.nan, np.nan, NO_LQ
                elif code in land_islands:
                    i_, p_, hs = np.nan, np.nan, ISLAND
                else:
                    i_, p_, hs = np.nan, np.nan, NO_NEIGHBOUR_DATA
                rows.append({**base, "region_code": code, "local_moran_i": i_, "local_moran_p": p_,
                             "local_moran_q": q_, "hotspot": hs, "quadrant": quad.get(code, "")})
    cols = ["year", "indicator", "classification", "level", "region_code", "activity_code", "local_moran_i",
            "local_moran_p", "local_moran_q", "hotspot", "quadrant"]
    return pd.DataFrame(rows, columns=cols)
