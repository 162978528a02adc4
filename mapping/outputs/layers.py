"""Assemble the published tables and map layers (names, geometry, flat properties)."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from mapping.geo import boundaries as bnd
from mapping.geo.cartography import simplify_coverage
from mapping.outputs.styles import add_simplestyle, group_name
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
    #: Layer name -> the layer's geometries UNSPLIT at 180 degrees (EPSG:4326), row for row: the
    #: GeoPackage stores these, projected (:func:`mapping.outputs.gpkg.write_layers_gpkg`).
    unsplit: dict[str, gpd.GeoSeries] = field(default_factory=dict)

    @property
    def divergence_pairs(self) -> pd.DataFrame:
        """The region x activity pairs (``divergence_pairs.csv``; the same rows as ``divergence.csv``)."""
        return self.divergence_table


def _join_names(codes: str, names: dict[str, str]) -> str:
    return ";".join(names.get(c, "") for c in codes.split(";") if c)


def _per_value(fn, values) -> list:
    """``[fn(v) for v in values]``, calling ``fn`` once per distinct value.

    Tens of thousands of candidate rows share a few thousand region and activity sets; ``values``
    is a plain list (``Series.tolist()``), which iterates far faster than an Arrow-backed column.
    """
    cache: dict = {}
    for v in values:
        if v not in cache:
            cache[v] = fn(v)
    return [cache[v] for v in values]


def _member_clusters(members: list, sup_of: dict) -> list[str]:
    """Per candidate, the sorted ``;``-joined ids of the supported clusters touching any of its members."""
    out = []
    for mem in members:
        ids = {cid for m in mem for cid in sup_of.get((m["region_code"], m["activity_code"]), "").split(";")}
        ids.discard("")
        out.append(";".join(sorted(ids)))
    return out


class _Geometries:
    """Each distinct set of units' geometry, built once: the unsplit union (EPSG:4326) and its RFC 7946 form.

    Many rows share a region (a US run has thousands of divergence pairs over 51 states, candidates
    repeat regions), and snapping a detailed outline is the slow part, so each set of codes is
    unioned and converted once. A large run has thousands of distinct sets: they are unioned one by
    one (plain shapely calls) and then converted together in one vectorised pass
    (:func:`mapping.geo.boundaries.rfc7946_geometries`).
    """

    def __init__(self, geoms: pd.Series):
        self.parts = dict(zip(geoms.index, geoms.to_numpy()))
        #: Code set -> position in ``unsplit``/``rfc`` (object arrays; None where no unit has a geometry).
        self.pos: dict[str, int] = {}
        self.unsplit = np.empty(0, dtype=object)
        self.rfc = np.empty(0, dtype=object)
        # Boundaries that tile without overlaps or gaps (the bundled RU and US files) are unioned as a
        # coverage: the same result as a general union, several times faster on a country-sized candidate.
        self.coverage = bool(len(geoms)) and bool(shapely.coverage_is_valid(geoms.to_numpy()))

    def _union(self, codes: str):
        parts = [self.parts[c] for c in codes.split(";") if c in self.parts]
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        u = shapely.coverage_union_all(parts) if self.coverage else shapely.union_all(parts)
        if u.geom_type not in ("Polygon", "MultiPolygon"):  # slivers of a union: keep the polygonal parts
            u = shapely.MultiPolygon([p for p in shapely.get_parts(u) if p.geom_type == "Polygon"])
        return u

    def _build(self, code_sets: list[str]) -> None:
        new = [c for c in dict.fromkeys(code_sets) if c not in self.pos]
        if not new:
            return
        unions = np.empty(len(new), dtype=object)
        unions[:] = [self._union(c) for c in new]
        rfc = np.empty(len(new), dtype=object)
        has = np.flatnonzero(~pd.isna(unions))
        rfc[has] = bnd.rfc7946_geometries(unions[has], codes=[new[i] for i in has])
        self.pos.update((c, len(self.unsplit) + i) for i, c in enumerate(new))
        self.unsplit = np.concatenate([self.unsplit, unions])
        self.rfc = np.concatenate([self.rfc, rfc])

    def layer(self, table: pd.DataFrame, codes_col: str) -> tuple[gpd.GeoDataFrame, gpd.GeoSeries]:
        """Rows that have a geometry, in RFC 7946 form, and the same rows' unsplit geometry."""
        codes = table[codes_col].tolist()
        self._build(codes)
        at = np.fromiter((self.pos[c] for c in codes), dtype=np.intp, count=len(codes))
        keep = ~pd.isna(self.rfc[at])
        t = table.loc[keep].reset_index(drop=True)
        gdf = gpd.GeoDataFrame(t, geometry=self.rfc[at[keep]], crs="EPSG:4326")
        return gdf, gpd.GeoSeries(self.unsplit[at[keep]], crs="EPSG:4326")


def build_layers(inputs, analysis, groups, geography, candidates, pairs_status, clusters_status, supported,
                 matrix, *, simplify_deg: float = 0.0) -> Built:
    """Build the contract's tables and layers from the stage results.

    Layers are in EPSG:4326, RFC 7946 form (split at 180 degrees, CCW, 6 decimals). Rows whose
    regions have no bundled geometry stay in the tables (``has_geometry`` false) and are left
    out of the layers only. ``simplify_deg`` (degrees; ``[maps] layer_simplify_deg``) simplifies
    the region outlines once, together, before any union
    (:func:`mapping.geo.cartography.simplify_coverage`); 0 keeps the boundary file's detail.
    """
    r = inputs.regions.set_index("region_code")
    name_ru, name_en = r["name_ru"].to_dict(), r["name_en"].to_dict()
    fd = r["federal_district"].fillna("").to_dict()
    acts = inputs.activities.loc[inputs.activities["classification"] == analysis.classification].set_index("code")
    act_ru, act_en = acts["name_ru"].to_dict(), acts["name_en"].to_dict()
    geoms = simplify_coverage(geography.units.set_index("region_code").geometry, tolerance_deg=simplify_deg)
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
    gname = {g: group_name(m["activity_code"], act_en) for g, m in ag.groupby("group_id")}

    # Which supported clusters touch each region x activity.
    sup_of = dict(zip(zip(pairs_status["region_code"].tolist(), pairs_status["activity_code"].tolist()),
                      pairs_status["supported_cluster_ids"].tolist()))

    c = candidates.copy()
    gids, acodes, rcodes = c["group_id"].tolist(), c["activity_codes"].tolist(), c["region_codes"].tolist()
    c["group_label"] = [glabel.get(g, f"{g}: singleton") for g in gids]
    # Legends name activities, not codes: the group's member activities in words (mapping/outputs/styles.py).
    singleton_name = _per_value(lambda a: group_name(str(a).split(";"), act_en), acodes)
    c["group_name"] = [gname.get(g) or n for g, n in zip(gids, singleton_name)]
    c["region_names"] = _per_value(lambda s: _join_names(s, name_ru), rcodes)
    c["region_names_en"] = _per_value(lambda s: _join_names(s, name_en), rcodes)
    c["federal_districts"] = _per_value(lambda s: ";".join(sorted({fd.get(x, "") for x in s.split(";")} - {""})),
                                        rcodes)
    c["activity_names"] = _per_value(lambda s: _join_names(s, act_ru), acodes)
    c["activity_names_en"] = _per_value(lambda s: _join_names(s, act_en), acodes)
    c["year"], c["classification"], c["level"] = analysis.year, analysis.classification, analysis.level
    c["supported_cluster_ids"] = _member_clusters(c["members"].tolist(), sup_of)
    c["has_geometry"] = _per_value(lambda s: any(x in has_geom for x in s.split(";")), rcodes)
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
    d["supported_cluster_names"] = _per_value(lambda x: ";".join(sup_names.get(i, "") for i in x.split(";") if i),
                                              d["supported_cluster_ids"].tolist())
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
    from mapping.outputs.statusmix import region_divergence
    from mapping.schema import CANDIDATE_COLUMNS, DIVERGENCE_COLUMNS, DIVERGENCE_REGION_COLUMNS, SUPPORTED_COLUMNS

    geo = _Geometries(geoms)
    # Every layer carries the same string id field, ``id`` (the GeoJSON feature id, a column in the
    # GeoPackage); the contract's own id columns stay as properties.
    cand_layer, cand_unsplit = geo.layer(c[CANDIDATE_COLUMNS].assign(id=c["candidate_id"].astype(str)),
                                         "region_codes")
    sup_layer, sup_unsplit = geo.layer(s[SUPPORTED_COLUMNS + ["_units"]].assign(id=s["cluster_id"].astype(str)),
                                       "_units")
    info = pd.DataFrame({"region_name": name_ru, "region_name_en": name_en, "federal_district": fd})
    regions = region_divergence(d, region_info=info)
    div_layer, div_unsplit = geo.layer(regions[DIVERGENCE_REGION_COLUMNS], "region_code")
    headline["divergence_regions"] = int(len(regions))
    headline["regions_by_status_mix"] = {str(k): int(v) for k, v in regions["status_mix"].value_counts().items()}

    def first_id(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return gdf[["id"] + [col for col in gdf.columns if col != "id"]]

    return Built(
        activity_groups=ag,
        candidates_table=c[CANDIDATE_COLUMNS],
        # Layers also carry simplestyle-spec properties (fill, stroke, title, ...), appended last.
        candidates_layer=add_simplestyle(first_id(cand_layer), "candidate_clusters"),
        supported_table=s[SUPPORTED_COLUMNS],
        supported_layer=add_simplestyle(first_id(sup_layer).drop(columns="_units"), "supported_clusters"),
        divergence_table=d[DIVERGENCE_COLUMNS],
        divergence_layer=add_simplestyle(div_layer, "divergence"),
        headline=headline,
        unsplit={"candidate_clusters": cand_unsplit, "supported_clusters": sup_unsplit, "divergence": div_unsplit},
    )
