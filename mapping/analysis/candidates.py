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
    s = spec.loc[spec["specialised"]].copy()
    gmap = dict(zip(groups["activity_code"], groups["group_id"]))
    s["group_id"] = [gmap.get(a, f"S-{a}") for a in s["activity_code"]]
    edges = set(zip(neighbours["region_code"], neighbours["neighbour_code"]))
    linked = dict(zip(groups["activity_code"], groups["linked"])) if "linked" in groups else None
    rows, seen = [], set()
    for gid, gsub in s.groupby("group_id", sort=True):
        for acts in _linked_sets(sorted(set(gsub["activity_code"])), linked):
            sub = gsub.loc[gsub["activity_code"].isin(acts)]
            regions = sorted(set(sub["region_code"]))
            pos = {r: i for i, r in enumerate(regions)}
            held = sub.groupby("region_code")["activity_code"].agg(set).to_dict()
            # neighbours join only when specialised in a shared activity: every region of a
            # multi-region candidate shares one with a neighbour in it, and the candidate is contiguous
            pairs = np.array([(pos[a], pos[b]) for a, b in edges if a in pos and b in pos and held[a] & held[b]],
                             dtype=int).reshape(-1, 2)
            adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(regions),) * 2)
            _, label = connected_components(adj, directed=False)
            for lab in sorted(set(label), key=lambda l: regions[int(np.flatnonzero(label == l)[0])]):
                comp = [regions[i] for i in np.flatnonzero(label == lab)]
                part = sub.loc[sub["region_code"].isin(comp)]
                indicators = sorted({i for v in part["indicators_specialised"] for i in v.split(";") if i})
                cid = f"{gid}:{comp[0]}"
                n = 2
                while cid in seen:  # a group split into linked activity sets with the same first region
                    cid = f"{gid}:{comp[0]}.{n}"
                    n += 1
                seen.add(cid)
                rows.append({
                    "candidate_id": cid,
                    "group_id": gid,
                    "region_codes": ";".join(comp),
                    "n_regions": len(comp),
                    "cross_regional": len(comp) > 1,
                    "activity_codes": ";".join(sorted(set(part["activity_code"]))),
                    "indicators": ";".join(indicators),
                    "max_lq": float(part["lq_max"].max()),
                    **_evidence(part),
                    "members": part[["region_code", "activity_code", "lq_max"]].to_dict("records"),
                })
    cols = ["candidate_id", "group_id", "region_codes", "n_regions", "cross_regional", "activity_codes",
            "indicators", "max_lq", "specialisation_call", "n_pairs", "n_certain_pairs", "years_specialised",
            "single_year", "members"]
    return pd.DataFrame(rows, columns=cols).sort_values("candidate_id").reset_index(drop=True)


def _linked_sets(acts: list[str], linked: dict | None) -> list[list[str]]:
    """Split a group's specialised activities into sets joined by links at or above the threshold."""
    if linked is None or len(acts) < 2:
        return [acts]
    pos = {a: i for i, a in enumerate(acts)}
    pairs = np.array([(pos[a], pos[b]) for a in acts for b in (linked.get(a) or []) if b in pos], dtype=int).reshape(-1, 2)
    adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(acts),) * 2)
    _, label = connected_components(adj, directed=False)
    return [[acts[i] for i in np.flatnonzero(label == lab)] for lab in sorted(set(label), key=list(label).index)]


def _evidence(part: pd.DataFrame) -> dict:
    """Robustness of one candidate from its member pairs (all specialised on the published values).

    ``specialisation_call`` is ``certain`` when every member pair is certain within the bounds of
    the data, otherwise ``possible``; ``years_specialised`` is the most years any member pair was
    specialised, and ``single_year`` marks a candidate none of whose pairs was specialised in any
    other year of several.
    """
    calls = part["specialisation_call"] if "specialisation_call" in part else pd.Series("certain", index=part.index)
    n_cert = int((calls == "certain").sum())
    years = part["years_specialised"] if "years_specialised" in part else pd.Series(1, index=part.index)
    single = part["single_year"] if "single_year" in part else pd.Series(False, index=part.index)
    return {"specialisation_call": "certain" if n_cert == len(part) else "possible",
            "n_pairs": int(len(part)), "n_certain_pairs": n_cert,
            "years_specialised": int(years.max()) if len(years) else 0,
            "single_year": bool(single.all()) if len(single) else False}
