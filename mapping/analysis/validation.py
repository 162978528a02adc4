"""Choosing the relatedness weights and k on held-out evidence, and scoring groupings against nulls.

A grouping scored on the matrix it was built from grades itself (any clustering of any matrix has
a positive mean validation margin on that matrix). Here every score that decides or validates a
grouping is computed on evidence the grouping did not see:

- **Split-half co-location.** The regions are split in two halves at random (seeded); a grouping
  built with co-location from one half is scored on co-location measured in the other half, and
  the other way round.
- **Cross-source.** A grouping built without one source (input-output links, classification
  closeness) is scored on that source, each in turn (as Delgado, Porter and Stern validate cluster
  definitions built from one measure on the others).

The score is the Mantel correlation between "same group" (1/0 over activity pairs) and the held-out
relatedness (on the percentile scale of :func:`mapping.analysis.relatedness.rank_scale`): the
point-biserial correlation, which rewards groups whose pairs are related in the held-out evidence
and penalises both one giant group and splitting everything, so it has an interior optimum in k. Each
source counts once in the criterion (co-location as the mean of its two directions), so no source
scores itself: a source's weight earns its place only by predicting the others.

Each score is printed beside its value under a null: activity labels permuted (Mantel), or regions
permuted within each activity (co-location destroyed), with a one-sided permutation p-value.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import cut_tree, fcluster, linkage
from scipy.spatial.distance import squareform

from mapping.analysis.relatedness import matrix_from_wide, partial_out, rank_scale

__all__ = ["HeldOut", "comembership_corr", "mantel_test", "split_colocation", "weight_grid", "average_tree", "cut",
           "select_weights_k", "tree_baseline", "development_by_group"]


class HeldOut:
    """A held-out relatedness matrix prepared for many :func:`comembership_corr` evaluations.

    The point-biserial correlation needs, per grouping, only the sum of the held-out values over
    same-group pairs and their count, which one matrix product with the group indicator gives.
    """

    def __init__(self, held: np.ndarray):
        h = np.asarray(held, dtype=float)
        n = h.shape[0]
        ok = ~np.isnan(h)
        np.fill_diagonal(ok, False)
        self.n = n
        self.h0 = np.where(ok, h, 0.0)
        self.ok = ok.astype(float)
        iu = np.triu_indices(n, k=1)
        v = h[iu][ok[iu]]
        self.m, self.sh, self.shh = len(v), float(v.sum()), float((v * v).sum())
        # Every off-diagonal pair has a value: a block's count of pairs is then n_g (n_g - 1).
        self.complete = bool(ok.sum() == n * (n - 1))

    def corr(self, labels) -> float:
        lab = pd.factorize(np.asarray(labels))[0]
        order = np.argsort(lab, kind="stable")
        size = np.bincount(lab)
        start = np.concatenate(([0], np.cumsum(size)[:-1]))
        # The same-group blocks h0[ix_(idx, idx)] of every group, gathered in one take: each block's cells
        # row by row, the blocks one after the other. Each block is then summed as the contiguous array
        # the per-block indexing gave (the same pairwise summation, to the last bit), without its
        # per-group indexing overhead.
        g = lab[order]                                  # group of each position in the sorted order
        reps = size[g]                                  # a row of group g has n_g cells in the block
        first = np.repeat(np.cumsum(reps) - reps, reps)
        col = order[np.repeat(start[g], reps) + np.arange(len(first)) - first]
        flat = np.repeat(order, reps) * self.n + col
        cells = self.h0.ravel().take(flat)
        okc = None if self.complete else self.ok.ravel().take(flat)
        ends = np.cumsum(size * size)
        ss = sxy = 0.0
        for k in np.flatnonzero(size > 1):  # same-group blocks in group order, as the per-group loop adds them
            lo, hi = ends[k] - size[k] * size[k], ends[k]
            ss += float(size[k] * (size[k] - 1)) if okc is None else float(okc[lo:hi].sum())
            sxy += float(cells[lo:hi].sum())
        ss, sxy = ss / 2, sxy / 2  # same-group pairs with a held-out value, and their held-out sum
        m = self.m
        den = (m * ss - ss * ss) * (m * self.shh - self.sh * self.sh)
        if m < 3 or den <= 0:
            return float("nan")
        return float((m * sxy - ss * self.sh) / np.sqrt(den))


def comembership_corr(labels, held) -> float:
    """Point-biserial correlation of "same group" with a held-out relatedness over activity pairs.

    Pairs where ``held`` is NaN are left out; NaN when either side is constant. ``held`` may be a
    :class:`HeldOut` prepared once for many groupings.
    """
    h = held if isinstance(held, HeldOut) else HeldOut(held)
    return h.corr(labels)


def mantel_test(labels, held: np.ndarray, *, n_perm: int = 199, seed: int = 42) -> dict:
    """:func:`comembership_corr` beside its value with the activity labels permuted.

    Returns
    -------
    dict
        ``value``, ``null_mean``, ``null_p95`` (95th percentile of the null), ``p_value``
        (one-sided, ``(1 + #null >= value) / (1 + n_perm)``), ``n_perm`` and ``beats_null``
        (p < 0.05).
    """
    lab = np.asarray(labels)
    h = held if isinstance(held, HeldOut) else HeldOut(held)
    value = h.corr(lab)
    rng = np.random.default_rng(seed)
    null = np.array([h.corr(rng.permutation(lab)) for _ in range(n_perm)])
    null = null[~np.isnan(null)]
    return _vs_null(value, null, n_perm)


def _vs_null(value: float, null: np.ndarray, n_perm: int) -> dict:
    if np.isnan(value) or not len(null):
        return {"value": value, "null_mean": float("nan"), "null_p95": float("nan"), "p_value": float("nan"),
                "n_perm": n_perm, "beats_null": False}
    p = (1 + int((null >= value).sum())) / (1 + len(null))
    return {"value": float(value), "null_mean": float(null.mean()), "null_p95": float(np.quantile(null, 0.95)),
            "p_value": float(p), "n_perm": int(len(null)), "beats_null": bool(p < 0.05)}


def split_colocation(wide: np.ndarray, control: np.ndarray | None, *, measure: str, min_regions: int,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Co-location matrices of two random halves of the regions (development partialled out in each)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(wide.shape[0])
    halves = (order[: len(order) // 2], order[len(order) // 2:])
    out = []
    for h in halves:
        x = wide[h]
        if control is not None:
            x, _ = partial_out(x, control[h])
        out.append(matrix_from_wide(x, measure, max(3, min(min_regions, len(h) // 2))))
    return out[0], out[1]


def weight_grid(sources: list[str], levels: tuple[float, ...] = (0.0, 1.0, 2.0)) -> list[dict[str, float]]:
    """Distinct normalised weight vectors over ``sources`` from the given levels (at least one positive)."""
    seen, out = set(), []
    for combo in itertools.product(levels, repeat=len(sources)):
        tot = sum(combo)
        if tot <= 0:
            continue
        key = tuple(round(c / tot, 6) for c in combo)
        if key not in seen:
            seen.add(key)
            out.append(dict(zip(sources, key)))
    return out


def _combine(ranked: dict[str, np.ndarray], w: dict[str, float]) -> np.ndarray | None:
    num = den = 0.0
    for name, arr in ranked.items():
        wt = w.get(name, 0.0)
        if wt <= 0:
            continue
        ok = ~np.isnan(arr)
        num = num + np.where(ok, arr, 0.0) * wt
        den = den + ok * wt
    if isinstance(den, float):
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(den > 0, num / den, 0.0)
    np.fill_diagonal(m, 1.0)
    return m


def average_tree(rel: np.ndarray) -> np.ndarray:
    """Average-linkage tree (SciPy) on the distance ``1 - relatedness`` clipped at 0."""
    dist = np.clip(1.0 - rel, 0.0, None)
    dist = (dist + dist.T) / 2
    np.fill_diagonal(dist, 0.0)
    return linkage(squareform(dist, checks=False), method="average")


def cut(tree: np.ndarray, ks: list[int]) -> dict[int, np.ndarray]:
    """Labels of each k in ``ks`` from one tree (exactly k groups each)."""
    out = {}
    for k in ks:  # fcluster is fast (C); with tied heights it may give fewer groups, then cut_tree
        lab = fcluster(tree, k, criterion="maxclust")
        if len(np.unique(lab)) == k:
            out[k] = lab - 1
    rest = [k for k in ks if k not in out]
    if rest:
        labs = cut_tree(tree, n_clusters=rest)
        out.update({k: labs[:, i] for i, k in enumerate(rest)})
    return {k: out[k] for k in ks}


def select_weights_k(wide: np.ndarray, others: dict[str, np.ndarray], *, control: np.ndarray | None,
                     measure: str, min_regions: int, k_min: int, k_max: int, seed: int = 42,
                     levels: tuple[float, ...] = (0.0, 1.0, 2.0), widen: bool = True,
                     only: dict[str, float] | None = None) -> dict:
    """Weights of the relatedness sources and the number of groups, chosen on held-out evidence.

    Parameters
    ----------
    wide : ndarray
        Regions x activities LQs (NaN = no data), the co-location source.
    others : dict
        Other sources, name -> square matrix on the same activities (``"io"``, ``"hierarchy"``); NaN = no evidence.
    control : ndarray, optional
        Regional covariate partialled out of co-location (per region, same order as ``wide``).
    measure, min_regions
        Co-location measure (:func:`mapping.analysis.relatedness.relatedness`).
    k_min, k_max : int
        Range of k searched first; a best k on an edge widens the range (``widen``) until it is
        interior or the range reaches 2 / n - 1.
    levels : tuple of float
        Weight levels per source (the grid is every distinct normalised combination).
    only : dict, optional
        Score this one weight vector instead of a grid (configured weights).

    Returns
    -------
    dict
        ``weights`` (normalised, every source named), ``k``, ``score`` (mean held-out correlation),
        ``heldout`` (per held-out evaluation at the chosen weights and k: ``colocation_a_to_b``,
        ``colocation_b_to_a`` and one per other source), ``k_range`` (searched), ``k_range_initial``, ``k_at_edge``
        (the best k is still on an edge after widening), ``widened`` (bool), ``table`` (best k and
        score per weight vector) and ``labels`` (the held-out groupings at the chosen point, for the
        null tests).
    """
    n = wide.shape[1]
    co_a, co_b = split_colocation(wide, control, measure=measure, min_regions=min_regions, seed=seed)
    ra, rb = rank_scale(co_a), rank_scale(co_b)
    ranked_others = {k: rank_scale(v) for k, v in others.items()}
    sources = ["colocation"] + sorted(others)
    grid = weight_grid(sources, levels)
    if only is not None:
        tot = sum(only.get(k, 0.0) for k in sources) or 1.0
        grid = [{k: round(only.get(k, 0.0) / tot, 6) for k in sources}]
    targets = [("colocation_a_to_b", "a", HeldOut(rb)), ("colocation_b_to_a", "b", HeldOut(ra))]
    for name in sorted(others):  # every other source held out in turn
        targets.append((name, f"-{name}", HeldOut(ranked_others[name])))
    trees: dict[tuple, np.ndarray | None] = {}

    full_ranked: dict[str, np.ndarray] = {}

    def tree_for(variant: str, w: dict[str, float]):
        """Average-linkage tree of the grouping that does not see ``variant``'s held-out evidence."""
        if variant.startswith("-"):
            if "m" not in full_ranked:
                x = wide if control is None else partial_out(wide, control)[0]
                full_ranked["m"] = rank_scale(matrix_from_wide(x, measure, min_regions))
            mats = {"colocation": full_ranked["m"], **{k: v for k, v in ranked_others.items() if k != variant[1:]}}
        else:
            mats = {"colocation": ra if variant == "a" else rb, **ranked_others}
        use = {k: w[k] for k in mats if w.get(k, 0) > 0}
        tot = sum(use.values())
        key = (variant,) + tuple(sorted((k, round(v / tot, 6)) for k, v in use.items()))
        if key not in trees:
            trees[key] = average_tree(_combine({k: mats[k] for k in use}, use)) if use else None
        return trees[key]

    lo, hi = max(2, k_min), min(max(k_max, k_min), n - 1)
    initial = (lo, hi)
    scores: dict[tuple[int, int], dict[str, float]] = {}

    def evaluate(ks: list[int]) -> None:
        for gi, w in enumerate(grid):
            per_target = {}
            for name, variant, held in targets:
                tree = tree_for(variant, w)
                labs = cut(tree, ks) if tree is not None else {}
                per_target[name] = {k: (comembership_corr(labs[k], held) if k in labs else 0.0) for k in ks}
            for k in ks:
                vals = {t: (0.0 if np.isnan(per_target[t][k]) else per_target[t][k]) for t in per_target}
                co = (vals["colocation_a_to_b"] + vals["colocation_b_to_a"]) / 2
                rest = [vals[t] for t in vals if not t.startswith("colocation")]
                total = (co + sum(rest)) / (1 + len(rest))  # each source counts once
                scores[(gi, k)] = {"score": total, **vals}

    evaluate(list(range(lo, hi + 1)))
    widened = False
    while True:
        best = max(scores, key=lambda key: (round(scores[key]["score"], 12), -key[1], -key[0]))
        k = best[1]
        if widen and k == hi and hi < n - 1:
            new_hi = min(n - 1, max(hi + 2, int(np.ceil(hi * 1.5))))
            evaluate(list(range(hi + 1, new_hi + 1)))
            hi, widened = new_hi, True
            continue
        if widen and k == lo and lo > 2:
            evaluate(list(range(2, lo)))
            lo, widened = 2, True
            continue
        break
    gi, k = best
    w = grid[gi]
    at_edge = (k == hi and hi < n - 1) or (k == lo and lo > 2)
    labels = {}
    for name, variant, _ in targets:
        tree = tree_for(variant, w)
        if tree is not None:
            labels[name] = cut(tree, [k])[k]
    table = []
    for g, ww in enumerate(grid):
        ks = {kk: v for (gg, kk), v in scores.items() if gg == g}
        kb = max(ks, key=lambda kk: (round(ks[kk]["score"], 12), -kk))
        table.append({"weights": ww, "best_k": int(kb), **{t: round(v, 4) for t, v in ks[kb].items()}})
    table.sort(key=lambda r: -r["score"])
    heldout = {t: v for t, v in scores[best].items() if t != "score"}
    return {"weights": w, "k": int(k), "score": float(scores[best]["score"]), "heldout": heldout,
            "k_range": [int(lo), int(hi)], "k_range_initial": list(initial), "k_at_edge": bool(at_edge),
            "widened": widened, "table": table, "labels": labels, "split_halves": [co_a, co_b],
            "targets": {name: held for name, _, held in targets}}


def tree_baseline(codes: list[str], activities: pd.DataFrame | None = None, digits: int = 3) -> list[str] | None:
    """Groups by the classification tree: the first ``digits`` digits of numeric codes (NAICS-3), or the
    registry parent; None when the codes have no tree (e.g. OKVED2 sections)."""
    if all(c.isdigit() and len(c) > digits for c in codes):
        return [c[:digits] for c in codes]
    if activities is not None and len(activities):
        parent = dict(zip(activities["code"], activities["parent_code"].fillna("")))
        labs = [parent.get(c, "") for c in codes]
        if all(labs) and len(set(labs)) > 1:
            return labs
    return None


def development_by_group(wide: pd.DataFrame, control: pd.Series, groups: pd.Series, partial: pd.DataFrame,
                         io: pd.DataFrame | None = None) -> list[dict]:
    """How much of each group is development level: member LQs' correlation with the regional covariate.

    Parameters
    ----------
    wide : DataFrame
        Regions x activities LQs (not partialled).
    control : Series
        Region -> covariate (log GVA per worker or another productivity measure).
    groups : Series
        Activity -> group id.
    partial : DataFrame
        Co-location after partialling out the covariate (activity x activity).
    io : DataFrame, optional
        Input-output links (activity x activity; NaN = no evidence).

    Returns
    -------
    list of dict
        Per group: ``group_id``, ``members``, ``corr_with_development`` (per member, rounded),
        ``mean_corr``, ``within_partial_colocation`` (mean over member pairs, NaN for a singleton),
        ``random_pair_partial_colocation`` (mean over all pairs), ``within_io_percentile`` and
        ``explained_by_development``: every member moves the same way with the covariate
        (|r| >= 0.5, one sign) and neither the partial co-location nor the input-output links of
        its pairs exceed those of random pairs.
    """
    z = control.reindex(wide.index)
    ok = z.notna()
    w, z = wide.loc[ok], z.loc[ok]
    corr = {a: float(pd.Series(w[a].to_numpy(), dtype=float).corr(pd.Series(z.to_numpy(), dtype=float)))
            for a in w.columns}
    pm = partial.to_numpy(dtype=float)
    iu = np.triu_indices(len(pm), k=1)
    # what a pair reaches by chance: the mean pair, or the 95th percentile of a correlation between
    # unrelated profiles over these regions (1.645 / sqrt(n)), whichever is higher
    rand_co = max(float(np.nanmean(pm[iu])), 1.645 / np.sqrt(max(int(ok.sum()), 1)))
    io_r = rank_scale(io.reindex(index=partial.index, columns=partial.columns).to_numpy()) if io is not None else None
    pos = {c: i for i, c in enumerate(partial.index)}
    out = []
    for g, members in groups.groupby(groups).groups.items():
        m = [a for a in members if a in pos]
        idx = [pos[a] for a in m]
        pairs = [(i, j) for a, i in enumerate(idx) for j in idx[a + 1:]]
        within = float(np.mean([pm[i, j] for i, j in pairs])) if pairs else float("nan")
        io_w = float(np.nanmean([io_r[i, j] for i, j in pairs])) if pairs and io_r is not None and \
            not np.all(np.isnan([io_r[i, j] for i, j in pairs])) else float("nan")
        rs = [corr.get(a, float("nan")) for a in m]
        same_sign = len(rs) > 1 and all(abs(r) >= 0.5 for r in rs) and len({np.sign(r) for r in rs}) == 1
        explained = bool(same_sign and not (within > rand_co) and not (io_w > 0.5))
        out.append({"group_id": str(g), "members": m, "corr_with_development": {a: round(c, 3) for a, c in zip(m, rs)},
                    "mean_corr": float(np.mean(fin)) if (fin := [r for r in rs if np.isfinite(r)]) else float("nan"),
                    "within_partial_colocation": within, "random_pair_partial_colocation": rand_co,
                    "within_io_percentile": io_w, "explained_by_development": explained})
    return out
