"""Check a run's geodata before running it: registries, label table, boundaries and how they fit.

``clustermap check`` calls :func:`check_geodata` after reading the inputs, so a configuration whose
boundaries cannot be used fails there, not half-way through ``run``. Every message names the file
actually in use (the configured registry, label table or boundary file, and the id column).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mapping.errors import MappingError, format_items
from mapping.geo import boundaries as bnd
from mapping.geo.credits import read_metadata
from mapping.ingest import registry as reg
from mapping.ingest import regschema, tables

__all__ = ["GeodataCheck", "check_geodata"]


@dataclass
class GeodataCheck:
    """What :func:`check_geodata` found: facts and warnings to print (errors are raised)."""

    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    without_geometry: list[str] = field(default_factory=list)
    unused_boundaries: list[str] = field(default_factory=list)


def _units(regions: pd.DataFrame) -> pd.DataFrame:
    return regions.loc[regions["kind"].isin(["subject", "remainder"])]


def check_geodata(config, data_codes=None) -> GeodataCheck:
    """Validate the configured geodata and their fit with each other and with the data.

    Checks: the region registry and the label table load, and no label, name or code means two
    units (:func:`mapping.ingest.regschema.region_label_index`); the boundary file reads with its
    id column (GeoPackage or GeoJSON, EPSG:4326, unique ids, valid polygons); every region that
    says it has a boundary (``has_boundary``) finds all its ``boundary_codes`` in the file; at
    least one analysed region has a geometry; the supported-cluster registry names known regions
    and activities; the metadata sidecars are valid TOML. Boundary ids that match no region and
    regions without geometry are reported as warnings (they are allowed: the run lists them).

    Parameters
    ----------
    config : mapping.config.RunConfig
    data_codes : iterable of str, optional
        Region codes of the units in the data (``Inputs.tidy["region_code"]``); default every
        region and remainder of the registry.

    Returns
    -------
    GeodataCheck

    Raises
    ------
    MappingError
        Every problem found, in one message naming the files in use.
    """
    g = config.geodata
    out = GeodataCheck()
    regions = reg.load_region_registry(g.regions)
    labels = reg.load_region_labels(g.region_labels)
    regschema.region_label_index(regions, labels, reg._region_key)  # a label meaning two units, naming both files
    activities = reg.load_activity_registry(g.activities)
    for path in (g.regions, g.boundaries, g.activities, g.supported_clusters):
        read_metadata(path)  # a broken sidecar fails here, naming it
    id_col = g.boundary_id_column
    where = f"{g.boundaries} (id column {id_col!r})"
    boundaries = bnd.load_boundaries(g.boundaries, layer=g.boundary_layer, id_column=id_col)
    ids = set(boundaries["region_code"])
    units = _units(regions)
    codes = sorted(set(data_codes)) if data_codes is not None else sorted(units["region_code"])
    r = regions.set_index("region_code")
    problems = []
    referenced: set[str] = set()
    analysed = set(codes)
    for code in r.index:
        parts = [p for p in str(r.at[code, "boundary_codes"] or "").split(";") if p]
        referenced |= set(parts)
        if code in analysed and r.at[code, "has_boundary"] and r.at[code, "kind"] in ("subject", "remainder"):
            missing = [p for p in parts if p not in ids]
            if missing:
                problems.append(f"region {code}: boundary id(s) {', '.join(missing)} not in {where}")
    drawn = [c for c in codes if c in r.index and any(p in ids for p in str(r.at[c, "boundary_codes"]).split(";") if p)]
    out.without_geometry = [c for c in codes if c not in drawn]
    out.unused_boundaries = sorted(ids - referenced)
    if codes and not drawn:
        problems.append(f"none of the {len(codes)} analysed regions has a geometry in {where}: the registry's "
                        f"boundary_codes ({g.regions}) must hold ids of that column, e.g. "
                        f"{', '.join(sorted(ids)[:3])}")
    if g.supported_clusters is not None:
        try:
            known = {c: set(x["code"]) for c, x in activities.groupby("classification")}
            sup = tables.load_supported_clusters(g.supported_clusters, region_codes=set(regions["region_code"]),
                                                 activity_codes=known)
            out.lines.append(f"supported clusters: {len(sup)} in {g.supported_clusters}")
        except MappingError as exc:
            problems.append(str(exc))
    if problems:
        raise MappingError("geodata check failed: " + format_items(problems, limit=8))
    out.lines.insert(0, f"regions: {len(units)} units in {g.regions}; labels: {len(labels)} in {g.region_labels}")
    out.lines.insert(1, f"boundaries: {len(ids)} features in {where}; {len(drawn)} of {len(codes)} analysed "
                        f"regions drawn")
    if out.without_geometry:
        out.warnings.append(f"{len(out.without_geometry)} analysed region(s) without geometry (kept in the tables, "
                            f"not drawn): " + format_items(out.without_geometry, limit=10))
    if out.unused_boundaries:
        out.warnings.append(f"{len(out.unused_boundaries)} boundary id(s) of {Path(g.boundaries).name} match no "
                            f"region's boundary_codes in {Path(g.regions).name}: "
                            + format_items(out.unused_boundaries, limit=10))
    return out
