"""Compare detected specialisation with the registry of supported clusters."""

from __future__ import annotations

import pandas as pd

__all__ = ["supported_pairs", "divergence"]

def supported_pairs(supported: pd.DataFrame, *, units_of: dict[str, list[str]], to_level: dict[str, list[str]]
                    ) -> pd.DataFrame:
    """Expand supported clusters to region x activity pairs at the data's units and granularity.

    Parameters
    ----------
    supported : DataFrame
        Output of :func:`mapping.ingest.tables.load_supported_clusters`.
    units_of : dict
        Registry region code -> the analysis units covering it (a parent expands to its parts
        when nested units are analysed as parts).
    to_level : dict
        Cluster activity code -> the activity codes at the data's level (a division maps to its
        section when the data are by section).

    Returns
    -------
    DataFrame
        ``cluster_id, region_code, activity_code, cluster_activity_codes`` (the codes of the cluster
        that mapped onto this activity).
    """
    rows = []
    for r in supported.itertuples():
        for reg in r.region_codes:
            for unit in units_of.get(reg, [reg]):
                mapped: dict[str, list[str]] = {}
                for code in r.activity_codes:
                    for target in to_level.get(code, [code]):
                        mapped.setdefault(target, []).append(code)
                for target, src in mapped.items():
                    rows.append({"cluster_id": r.cluster_id, "region_code": unit, "activity_code": target,
                                 "cluster_activity_codes": ";".join(src)})
    return pd.DataFrame(rows, columns=["cluster_id", "region_code", "activity_code", "cluster_activity_codes"])


def divergence(spec: pd.DataFrame, pairs: pd.DataFrame, supported: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give every supported cluster and every region x activity pair exactly one status.

    ``aligned``: supported and specialised; ``supported_not_specialised``: supported, no
    specialisation backs it; ``specialised_not_supported``: specialised, no supported cluster
    covers it.

    Parameters
    ----------
    spec : DataFrame
        Combined specialisation (:func:`mapping.analysis.specialisation.specialisation`) for one year,
        classification and level.
    pairs : DataFrame
        Output of :func:`supported_pairs`.
    supported : DataFrame
        Output of :func:`mapping.ingest.tables.load_supported_clusters`.

    Returns
    -------
    pairs_status : DataFrame
        One row per region x activity that is supported or specialised: ``region_code,
        activity_code, status, specialised, supported_cluster_ids, lq_max, lq_indicator,
        lq_by_indicator``.
    clusters_status : DataFrame
        One row per supported cluster: ``cluster_id, status, specialised_pairs`` (``region:activity``
        joined with ``;``), ``n_pairs``, ``best_lq``, ``best_lq_indicator``, ``activity_codes`` (at
        the data's level).
    """
    s = spec.set_index(["region_code", "activity_code"])
    sup = (pairs.groupby(["region_code", "activity_code"])["cluster_id"]
           .agg(lambda x: ";".join(sorted(set(x)))).rename("supported_cluster_ids"))
    specialised_idx = s.index[s["specialised"]]
    idx = sup.index.union(specialised_idx)
    out = pd.DataFrame(index=idx).join(sup)
    out["supported_cluster_ids"] = out["supported_cluster_ids"].fillna("")
    out = out.join(s[["specialised", "lq_max", "lq_indicator", "lq_by_indicator"]])
    out["specialised"] = out["specialised"].fillna(False).astype(bool)
    supported_flag = out["supported_cluster_ids"] != ""
    out["status"] = "specialised_not_supported"
    out.loc[supported_flag & out["specialised"], "status"] = "aligned"
    out.loc[supported_flag & ~out["specialised"], "status"] = "supported_not_specialised"
    out = out.reset_index()

    crow = []
    p = pairs.join(s[["specialised", "lq_max", "lq_indicator"]], on=["region_code", "activity_code"])
    p["specialised"] = p["specialised"].fillna(False).astype(bool)
    for cid in supported["cluster_id"]:
        pc = p.loc[p["cluster_id"] == cid]
        hit = pc.loc[pc["specialised"]]
        best = pc.loc[pc["lq_max"].idxmax()] if pc["lq_max"].notna().any() else None
        crow.append({
            "cluster_id": cid,
            "status": "aligned" if len(hit) else "supported_not_specialised",
            "specialised_pairs": ";".join(f"{a}:{b}" for a, b in zip(hit["region_code"], hit["activity_code"])),
            "n_pairs": int(len(pc)),
            "best_lq": float(best["lq_max"]) if best is not None else float("nan"),
            "best_lq_indicator": str(best["lq_indicator"]) if best is not None else "",
            "activity_codes": ";".join(sorted(set(pc["activity_code"]))),
        })
    return out, pd.DataFrame(crow)
