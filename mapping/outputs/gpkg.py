"""``clusters.gpkg``: the run's layers in a projected equal-area CRS, plus the per-pair attribute table.

The GeoJSON files are RFC 7946 (longitude/latitude, split at 180 degrees). The GeoPackage is for
GIS users, so it stores the same features, with the same ``id`` field and the same attribute names
and types, in the equal-area CRS of the run's country (:func:`mapping.geo.cartography.layer_crs`;
for Russia an Albers projection with central meridian 100 E). Its geometries are projected from the
UNSPLIT shapes: Chukotka is one polygon across 180 degrees, so there is no cut edge to draw and
"zoom to layer" shows the country instead of the world.

``divergence_pairs`` (one row per region x activity pair, the columns of ``divergence_pairs.csv``)
is a non-spatial table joinable on ``region_code`` to the ``divergence`` layer.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyproj
import shapely

from mapping.geo.cartography import layer_crs, reference_longitude, unwrap_antimeridian
from mapping.outputs.publish import write_geopackage

__all__ = ["choose_layer_crs", "write_clusters_gpkg", "GPKG_LAYERS", "PAIRS_TABLE"]

#: Layer name -> attribute of :class:`mapping.outputs.layers.Built`.
GPKG_LAYERS = {"candidate_clusters": "candidates_layer", "supported_clusters": "supported_layer",
               "divergence": "divergence_layer"}
#: The non-spatial per-pair table.
PAIRS_TABLE = "divergence_pairs"


def choose_layer_crs(units: gpd.GeoDataFrame, country: str | None, *, override: str | None = None) -> pyproj.CRS:
    """The equal-area CRS of a run's GeoPackage, from the country or the units' geometry.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Every analysis unit, EPSG:4326 (longitude/latitude, degrees), split or unsplit.
    country : str or None
        ISO 3166-1 alpha-2 code (``config.geodata.country``).
    override : str, optional
        ``[maps] projection`` from the config.

    Returns
    -------
    pyproj.CRS
        Projected, metres.
    """
    ref = reference_longitude(units) if len(units) else 0.0
    bounds = tuple(unwrap_antimeridian(units, ref).total_bounds) if len(units) else (-10.0, -10.0, 10.0, 10.0)
    return layer_crs(country, ref, bounds, override=override)


def write_clusters_gpkg(path: Path, built, crs: pyproj.CRS, *, description: str | None = None) -> dict[str, int]:
    """Write the three layers (projected to ``crs``) and the ``divergence_pairs`` table into ``path``.

    Parameters
    ----------
    path : Path
        The ``clusters.gpkg`` to create.
    built : mapping.outputs.layers.Built
        The run's layers; ``built.unsplit`` holds each layer's unsplit geometry (EPSG:4326).
    crs : pyproj.CRS
        Projected CRS of the layers (:func:`choose_layer_crs`).
    description : str, optional
        Stored in ``gpkg_contents`` (the boundary attribution).

    Returns
    -------
    dict
        Layer or table name -> rows written.
    """
    layers = {}
    for name, attr in GPKG_LAYERS.items():
        gdf = getattr(built, attr)
        geom = built.unsplit[name]
        attrs = gdf.drop(columns=gdf.geometry.name)
        projected = gpd.GeoDataFrame(attrs, geometry=geom.to_numpy(), crs=geom.crs).to_crs(crs)
        # Projection can make nearly-touching rings of a valid shape cross (seen on US candidate unions).
        bad = ~projected.is_valid.to_numpy()
        if bad.any():
            fixed = shapely.make_valid(projected.geometry.to_numpy()[bad])
            projected.loc[bad, projected.geometry.name] = [
                g if g.geom_type in ("Polygon", "MultiPolygon") else
                shapely.MultiPolygon([p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]) for g in fixed]
        layers[name] = projected
    pairs = built.divergence_pairs
    write_geopackage(layers, Path(path), description=description, tables={PAIRS_TABLE: pairs})
    return {**{n: len(g) for n, g in layers.items()}, PAIRS_TABLE: len(pairs)}
