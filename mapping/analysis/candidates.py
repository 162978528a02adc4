"""Candidate clusters: a region's related specialised activities, merged across neighbouring regions."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["candidate_clusters"]


def candidate_clusters(spec: pd.DataFrame, groups: pd.DataFrame, neighbours: pd.DataFrame) -> pd.DataFrame:
    """Detect candidate clusters from specialisation and co-location groups.

    In each region, the specialised activities of one co-location group form a candidate.
    Neighbouring regions (sharing a border) specialised in a shared activity of the same group merge
    into one cross-regional candidate (connected components of the neighbour graph restricted to the
    regions holding that group, with an edge only where both regions are specialised in the same
    activity), e.g. Saint Petersburg with Leningrad Oblast: so a candidate is contiguous and each of
    its regions shares a specialised activity with a neighbour in it. When ``groups`` has a ``linked``
    column (same-group activities at least as related as random pairs,
    :func:`mapping.analysis.grouping.build_groups`), a group's activities are first split into sets
    joined by such links, so no candidate joins activities less related than random pairs.

    Parameters
    ----------
    spec : DataFrame
        Output of :func:`mapping.analysis.specialisation.specialisation` for one year, classification and
        level: ``region_code, activity_code, specialised, lq_max, indicators_specialised``.
    groups : DataFrame
        ``activity_code, group_id`` (output of :func:`mapping.analysis.grouping.group_activities`).
        Activities without a group (not in the relatedness matrix) form singleton groups named
        ``S-<code>``.
    neighbours : DataFrame
        ``region_code, neighbour_code`` pairs (both directions), from the unsplit boundaries.

    Returns
    -------
    DataFrame
        One row per candidate: ``candidate_id`` (``<group_id>:<first region code>``, stable for the
        same data), ``group_id``, ``region_codes`` and ``activity_codes`` (``;``-joined, sorted),
        ``n_regions``, ``cross_regional``, ``indicators``, ``max_lq``, and per-region details in
        ``members`` (a list of dicts, not written to GeoJSON).
    """
    cols = ["candidate_id", "group_id", "region_codes", "n_regions", "cross_regional", "activity_codes",
            "indicators", "max_lq", "specialisation_call", "n_pairs", "n_certain_pairs", "years_specialised",
            "single_year", "members"]
    # Only the columns read below: a row filter of every text column of the table costs more than the rest.
    used = [c for c in ("region_code", "activity_code", "lq_max", "indicators_specialised", "specialisation_call",
                        "years_specialised", "single_year") if c in spec.columns]
    s = spec.loc[spec["specialised"].to_numpy(dtype=bool), used].reset_index(drop=True)
    if s.empty:
        return pd.DataFrame([], columns=cols).sort_values("candidate_id").reset_index(drop=True)
    # Integer codes of the specialised rows' regions and activities, numbered in sorted order.
    reg_code, regions = pd.factorize(s["region_code"], sort=True)
    act_code, acts = pd.factorize(s["activity_code"], sort=True)
    regions, acts = [str(r) for r in regions], [str(a) for a in acts]
    gmap = dict(zip(groups["activity_code"], groups["group_id"]))
    gid_of_act = [gmap.get(a, f"S-{a}") for a in acts]
    gid_code, gids = pd.factorize(pd.Series(gid_of_act, dtype=object), sort=True)
    # Linked activity sets: components of the links between specialised activities of one group.
    set_of_act = _linked_set_ids(acts, gid_code, groups)
    # Nodes: (linked set, region) pairs held; edges: neighbours specialised in a shared activity.
    n_act = len(acts)
    node_key = set_of_act[act_code].astype(np.int64) * len(regions) + reg_code
    node, node_keys = pd.factorize(node_key)
    node_set, node_reg = node_keys // len(regions), node_keys % len(regions)
    held = np.zeros(len(regions) * n_act, bool)  # (region, activity) cells specialised
    held[reg_code.astype(np.int64) * n_act + act_code] = True
    pos = {r: i for i, r in enumerate(regions)}
    nb = neighbours.loc[neighbours["region_code"].isin(regions) & neighbours["neighbour_code"].isin(regions)]
    n1 = nb["region_code"].map(pos).to_numpy(dtype=np.int64)
    n2 = nb["neighbour_code"].map(pos).to_numpy(dtype=np.int64)
    # Every specialised row (region a, activity x) against each neighbour b of a: an edge when b holds x too.
    order = np.argsort(n1, kind="stable")
    n1, n2 = n1[order], n2[order]
    start_of = np.searchsorted(n1, np.arange(len(regions)))
    end_of = np.searchsorted(n1, np.arange(len(regions)), side="right")
    count = end_of[reg_code] - start_of[reg_code]
    row = np.repeat(np.arange(len(s)), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)  # position in each row's block
    other = n2[np.repeat(start_of[reg_code], count) + offset]
    shared = held[other * n_act + act_code[row]]
    row, other = row[shared], other[shared]
    other_node = pd.Index(node_keys).get_indexer(set_of_act[act_code[row]].astype(np.int64) * len(regions) + other)
    adj = coo_matrix((np.ones(len(row)), (node[row], other_node)), shape=(len(node_keys),) * 2)
    _, comp_of_node = connected_components(adj, directed=False)
    comp = comp_of_node[node]
    # Candidates in the order they are named: group, linked set (by its first activity), first region.
    n_comp = int(comp_of_node.max()) + 1
    first_reg = np.full(n_comp, len(regions), np.int64)
    np.minimum.at(first_reg, comp_of_node, node_reg)
    comp_set = np.zeros(n_comp, np.int64)
    comp_set[comp_of_node] = node_set
    set_first_act = np.full(int(set_of_act.max()) + 1, n_act, np.int64)
    np.minimum.at(set_first_act, set_of_act, np.arange(n_act))
    set_gid = np.zeros(len(set_first_act), np.int64)
    set_gid[set_of_act] = gid_code
    rank = np.lexsort((first_reg, set_first_act[comp_set], set_gid[comp_set]))
    columns = _candidate_rows(s, comp, rank, regions, reg_code, acts, act_code, [str(g) for g in gids],
                              set_gid[comp_set], first_reg)
    return pd.DataFrame(columns, columns=cols).sort_values("candidate_id").reset_index(drop=True)


def _linked_set_ids(acts: list[str], gid_code: np.ndarray, groups: pd.DataFrame) -> np.ndarray:
    """Linked set of each specialised activity: without a ``linked`` column, one set per group; with it,
    the components of the links between specialised activities of the same group."""
    if "linked" not in groups:
        return gid_code.astype(np.int64)
    linked = dict(zip(groups["activity_code"], groups["linked"]))
    pos = {a: i for i, a in enumerate(acts)}
    pairs = np.array([(i, pos[b]) for i, a in enumerate(acts) for b in (linked.get(a) or [])
                      if b in pos and gid_code[pos[b]] == gid_code[i]], dtype=int).reshape(-1, 2)
    adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(acts),) * 2)
    return connected_components(adj, directed=False)[1].astype(np.int64)


def _sorted_text_ranks(values: list[str]) -> np.ndarray:
    """Rank of each string in Python's sorted order (the order ``sorted`` gives the joined codes)."""
    ranks = np.empty(len(values), np.int64)
    ranks[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
    return ranks


def _joined_distinct(comp_sorted: np.ndarray, code_sorted: np.ndarray, labels: list[str], rank: np.ndarray,
                     n_comp: int) -> list[str]:
    """Per component, its distinct labels sorted and ``;``-joined (codes index ``labels``)."""
    by_rank = sorted(labels)
    key = np.unique(comp_sorted.astype(np.int64) * len(labels) + rank[code_sorted])
    comp_of, r = np.divmod(key, len(labels))
    text = [by_rank[i] for i in r.tolist()]
    cut = np.searchsorted(comp_of, np.arange(n_comp + 1)).tolist()
    return [";".join(text[cut[c]:cut[c + 1]]) for c in range(n_comp)]


def _candidate_rows(s: pd.DataFrame, comp: np.ndarray, rank: np.ndarray, regions: list[str], reg_code: np.ndarray,
                    acts: list[str], act_code: np.ndarray, gids: list[str], comp_gid: np.ndarray,
                    first_reg: np.ndarray) -> dict[str, list]:
    """The candidates' columns (``rank`` lists the components in naming order); members in table order.

    Per-component aggregates run on the rows sorted by component (reductions over contiguous runs), so
    tens of thousands of candidates cost no NumPy call each.
    """
    order = np.argsort(comp, kind="stable")  # each candidate's rows, in the order of the table
    n_comp = len(rank)
    bounds = np.searchsorted(comp[order], np.arange(n_comp + 1))
    starts, size = bounds[:-1], np.diff(bounds)
    co = comp[order]
    lq = s["lq_max"].to_numpy(dtype=float)[order]
    max_lq = np.fmax.reduceat(lq, starts)  # NaN only where every LQ of the candidate is NaN
    if "specialisation_call" in s:
        n_cert = np.add.reduceat((s["specialisation_call"].to_numpy(dtype=object)[order] == "certain")
                                 .astype(np.int64), starts)
    else:
        n_cert = size
    years = (np.maximum.reduceat(s["years_specialised"].to_numpy()[order], starts).astype(np.int64)
             if "years_specialised" in s else np.ones(n_comp, np.int64))
    single = (np.logical_and.reduceat(s["single_year"].to_numpy(dtype=bool)[order], starts)
              if "single_year" in s else np.zeros(n_comp, bool))
    region_text = _joined_distinct(co, reg_code[order], regions, _sorted_text_ranks(regions), n_comp)
    act_text = _joined_distinct(co, act_code[order], acts, _sorted_text_ranks(acts), n_comp)
    if "indicators_specialised" in s:
        ind_code, ind_values = pd.factorize(s["indicators_specialised"].to_numpy(dtype=object)[order])
        ind_of = [[i for i in str(v).split(";") if i] for v in ind_values]
        pairs = np.unique(co.astype(np.int64) * max(len(ind_values), 1) + ind_code)
        pc, pi = np.divmod(pairs, max(len(ind_values), 1))
        cut = np.searchsorted(pc, np.arange(n_comp + 1)).tolist()
        pi = pi.tolist()
        joined: dict[tuple, str] = {}
        indicators = []
        for c in range(n_comp):
            key = tuple(pi[cut[c]:cut[c + 1]])
            if key not in joined:
                joined[key] = ";".join(sorted({i for k in key for i in ind_of[k]}))
            indicators.append(joined[key])
    else:
        indicators = [""] * n_comp
    n_regions = np.array([t.count(";") + 1 for t in region_text], np.int64)
    reg = s["region_code"].to_numpy(dtype=object)[order].tolist()
    act = s["activity_code"].to_numpy(dtype=object)[order].tolist()
    lq_list, bl = lq.tolist(), bounds.tolist()
    rank_l = rank.tolist()
    ids, seen = [], set()
    first_l, gid_l = first_reg.tolist(), comp_gid.tolist()
    for c in rank_l:
        gid = gids[gid_l[c]]
        cid = f"{gid}:{regions[first_l[c]]}"
        n = 2
        while cid in seen:  # a group split into linked activity sets with the same first region
            cid = f"{gid}:{regions[first_l[c]]}.{n}"
            n += 1
        seen.add(cid)
        ids.append(cid)
    n_cert_l, size_l = n_cert.tolist(), size.tolist()
    return {
        "candidate_id": ids,
        "group_id": [gids[gid_l[c]] for c in rank_l],
        "region_codes": [region_text[c] for c in rank_l],
        "n_regions": n_regions[rank].tolist(),
        "cross_regional": (n_regions[rank] > 1).tolist(),
        "activity_codes": [act_text[c] for c in rank_l],
        "indicators": [indicators[c] for c in rank_l],
        "max_lq": max_lq[rank].tolist(),
        "specialisation_call": ["certain" if n_cert_l[c] == size_l[c] else "possible" for c in rank_l],
        "n_pairs": size[rank].tolist(),
        "n_certain_pairs": n_cert[rank].tolist(),
        "years_specialised": years[rank].tolist(),
        "single_year": single[rank].tolist(),
        "members": [[{"region_code": r, "activity_code": a, "lq_max": v}
                     for r, a, v in zip(reg[bl[c]:bl[c + 1]], act[bl[c]:bl[c + 1]], lq_list[bl[c]:bl[c + 1]])]
                    for c in rank_l],
    }
