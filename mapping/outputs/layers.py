"""Assemble the published tables and map layers (names, geometry, flat properties)."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from mapping.geo import boundaries as bnd
from mapping.outputs.styles import add_simplestyle
from mapping.schema import STATUSES

__all__ = ["Built", "build_layers"]


@dataclass
class Built:
    activity_groups: pd.DataFrame
    candidates_table: pd.DataFrame
    candidates_layer: gpd.GeoDataFrame
    supported_table: pd.DataFrame
    supported_layer: gpd.GeoDataFrame
    divergence_table: pd.DataFrame
    divergence_layer: gpd.GeoDataFrame
    headline: dict


def _join_names(codes: str, names: dict[str, str]) -> str:
    return ";".join(names.get(c, "") for c in codes.split(";") if c)


def _layer(table: pd.DataFrame, geoms: pd.Series, codes_col: str) -> gpd.GeoDataFrame:
    """Attach the union of the units' unsplit geometry, keep rows that have one, convert to RFC 7946."""
    def union(codes: str):
        parts = [geoms[c] for c in codes.split(";") if c in geoms.index]
        if not parts:
            return None
        return gpd.GeoSeries(parts, crs="EPSG:4326").union_all() if len(parts) > 1 else parts[0]

    # One union + RFC 7946 conversion per distinct set of codes: many rows share a region (a US run has
    # thousands of divergence pairs over 51 states), and snapping a detailed outline is the slow part.
    cache: dict[str, object] = {}

    def rfc(codes: str):
        if codes not in cache:
            u = union(codes)
            cache[codes] = None if u is None else bnd.to_rfc7946(
                gpd.GeoDataFrame({"region_code": [codes]}, geometry=[u], crs="EPSG:4326")).geometry.iloc[0]
        return cache[codes]

    g = [rfc(c) for c in table[codes_col]]
    gdf = gpd.GeoDataFrame(table.copy(), geometry=g, crs="EPSG:4326")
    return gdf.loc[gdf.geometry.notna()].reset_index(drop=True)


def build_layers(inputs, analysis, groups, geography, candidates, pairs_status, clusters_status, supported,
                 matrix) -> Built:
    """Build the contract's tables and layers from the stage results.

    Layers are in EPSG:4326, RFC 7946 form (split at 180 degrees, CCW, 6 decimals). Rows whose
    regions have no bundled geometry stay in the tables (``has_geometry`` false) and are left
    out of the layers only.
    """
    r = inputs.regions.set_index("region_code")
    name_ru, name_en = r["name_ru"].to_dict(), r["name_en"].to_dict()
    fd = r["federal_district"].fillna("").to_dict()
    acts = inputs.activities.loc[inputs.activities["classification"] == analysis.classification].set_index("code")
    act_ru, act_en = acts["name_ru"].to_dict(), acts["name_en"].to_dict()
    geoms = geography.units.set_index("region_code").geometry
    has_geom = set(geoms.index)

    # Activity groups with names and the relatedness evidence.
    ag = groups.copy()
    ag["classification"], ag["level"] = analysis.classification, analysis.level
    ag["activity_name"] = ag["activity_code"].map(act_ru).fillna("")
    ag["activity_name_en"] = ag["activity_code"].map(act_en).fillna("")
    members = ag.groupby("group_id")["activity_code"].agg(lambda s: ", ".join(sorted(s)))
    ag["group_label"] = ag["group_id"].map(lambda g: f"{g}: {members[g]}")
    ag["measure"], ag["method"] = matrix.attrs["measure"], groups.attrs["method"]
    ag["indicator"], ag["n_regions"] = matrix.attrs["indicator"], matrix.attrs["n_regions"]
    glabel = dict(zip(ag["group_id"], ag["group_label"]))

    # Which supported clusters touch each region x activity.
    sup_of = dict(zip(zip(pairs_status["region_code"], pairs_status["activity_code"]),
                      pairs_status["supported_cluster_ids"]))

    c = candidates.copy()
    c["group_label"] = c["group_id"].map(lambda g: glabel.get(g, f"{g}: singleton"))
    c["region_names"] = c["region_codes"].map(lambda s: _join_names(s, name_ru))
    c["region_names_en"] = c["region_codes"].map(lambda s: _join_names(s, name_en))
    c["federal_districts"] = c["region_codes"].map(
        lambda s: ";".join(sorted({fd.get(x, "") for x in s.split(";")} - {""})))
    c["activity_names"] = c["activity_codes"].map(lambda s: _join_names(s, act_ru))
    c["activity_names_en"] = c["activity_codes"].map(lambda s: _join_names(s, act_en))
    c["year"], c["classification"], c["level"] = analysis.year, analysis.classification, analysis.level
    c["supported_cluster_ids"] = [
        ";".join(sorted({cid for m in mem for cid in sup_of.get((m["region_code"], m["activity_code"]), "").split(";")
                         if cid})) for mem in c["members"]]
    c["has_geometry"] = c["region_codes"].map(lambda s: any(x in has_geom for x in s.split(";")))
    c = c.drop(columns="members")

    s = supported.drop(columns=["activity_codes"]).merge(clusters_status, on="cluster_id", how="left")
    s["cluster_activity_codes"] = supported["activity_codes"].map(";".join).to_numpy()
    s["region_codes"] = s["region_codes"].map(";".join)
    s["region_names"] = s["region_codes"].map(lambda x: _join_names(x, name_ru))
    coarser = s["cluster_activity_codes"] != s["activity_codes"]
    s["granularity_note"] = ""
    s.loc[coarser, "granularity_note"] = (f"data are by {analysis.level}: cluster codes " + s.loc[coarser, "cluster_activity_codes"]
                                         + " compared as " + s.loc[coarser, "activity_codes"])
    s["year"] = analysis.year
    s["has_geometry"] = s["region_codes"].map(lambda x: any(u in has_geom for u in x.split(";")))
    sup_names = dict(zip(s["cluster_id"], s["name_en"]))
    # Supported geometry uses the analysis units the cluster's regions map to.
    unit_codes = pairs_status.groupby("supported_cluster_ids")["region_code"].agg(set)
    s["_units"] = [";".join(sorted({u for ids, us in unit_codes.items() if cid in ids.split(";") for u in us}))
                   for cid in s["cluster_id"]]

    d = pairs_status.copy()
    d["divergence_id"] = d["region_code"] + ":" + d["activity_code"] + f":{analysis.year}"
    d["region_name"] = d["region_code"].map(name_ru).fillna("")
    d["region_name_en"] = d["region_code"].map(name_en).fillna("")
    d["federal_district"] = d["region_code"].map(fd).fillna("")
    d["activity_name"] = d["activity_code"].map(act_ru).fillna("")
    d["activity_name_en"] = d["activity_code"].map(act_en).fillna("")
    d["classification"], d["level"], d["year"] = analysis.classification, analysis.level, analysis.year
    d["supported_cluster_names"] = d["supported_cluster_ids"].map(
        lambda x: ";".join(sup_names.get(i, "") for i in x.split(";") if i))
    gmap = dict(zip(groups["activity_code"], groups["group_id"]))
    d["group_id"] = d["activity_code"].map(gmap).fillna("")
    d["lq_indicator"] = d["lq_indicator"].fillna("")
    d["lq_by_indicator"] = d["lq_by_indicator"].fillna("")
    d["has_geometry"] = d["region_code"].isin(has_geom)
    d = d.sort_values(["region_code", "activity_code"]).reset_index(drop=True)

    headline = {
        "year": analysis.year,
        "supported_clusters": int(len(s)),
        "clusters_by_status": s["status"].value_counts().reindex(
            ["aligned", "supported_not_specialised", "not_testable", "no_data"], fill_value=0).astype(int).to_dict(),
        "pairs_by_status": d["status"].value_counts().reindex(
            list(STATUSES), fill_value=0).astype(int).to_dict(),
        "candidates": int(len(c)),
        "cross_regional_candidates": int(c["cross_regional"].sum()),
        "regions_analysed": int(analysis.spec["region_code"].nunique()),
    }
    from mapping.schema import CANDIDATE_COLUMNS, DIVERGENCE_COLUMNS, SUPPORTED_COLUMNS

    return Built(
        activity_groups=ag,
        candidates_table=c[CANDIDATE_COLUMNS],
        # Layers also carry simplestyle-spec properties (fill, stroke, title, ...), appended last.
        candidates_layer=add_simplestyle(_layer(c[CANDIDATE_COLUMNS], geoms, "region_codes"), "candidate_clusters"),
        supported_table=s[SUPPORTED_COLUMNS],
        supported_layer=add_simplestyle(_layer(s[SUPPORTED_COLUMNS + ["_units"]], geoms, "_units")
                                        .drop(columns="_units"), "supported_clusters"),
        divergence_table=d[DIVERGENCE_COLUMNS],
        divergence_layer=add_simplestyle(_layer(d[DIVERGENCE_COLUMNS], geoms, "region_code"), "divergence"),
        headline=headline,
    )
