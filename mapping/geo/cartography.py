"""Geometry for drawing: undo the antimeridian split, simplify for the web, choose a map projection.

The published layers are in RFC 7946 form, split at 180 degrees (Chukotka is two parts, one at
-180..-169.7). Drawn as is, a web or static map tears Chukotka apart. Here each part is moved by
a multiple of 360 degrees next to a reference longitude (the data's centre) and the parts are
unioned again, so Chukotka is one shape running to longitude ~190 -- the "unsplit" geometry the
boundary files store, recovered from any published layer.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from mapping.errors import MappingError

__all__ = ["reference_longitude", "unwrap_antimeridian", "simplify_for_web", "simplify_coverage", "map_projection", "bulk_extent",
           "COUNTRY_PROJECTIONS", "COUNTRY_CRS_NAMES", "layer_crs"]

#: Equal-area conic projections centred on each country (PROJ strings).
COUNTRY_PROJECTIONS: dict[str, str] = {
    # Albers equal-area for Russia: central meridian 100 E, standard parallels 52 and 64 N.
    "RU": "+proj=aea +lat_0=0 +lon_0=100 +lat_1=52 +lat_2=64 +datum=WGS84 +units=m +no_defs",
    # Albers for the United States (as EPSG:5070, here with Alaska and Hawaii on the same map).
    "US": "+proj=aea +lat_0=23 +lon_0=-96 +lat_1=29.5 +lat_2=45.5 +datum=WGS84 +units=m +no_defs",
}

#: Names under which the projections are stored in the GeoPackage (``gpkg_spatial_ref_sys``).
COUNTRY_CRS_NAMES: dict[str, str] = {
    "RU": "Russia Albers Equal Area (WGS 84, lon_0 100E, standard parallels 52N 64N)",
    "US": "United States Albers Equal Area (WGS 84, parameters of EPSG:5070)",
}


def _check_4326(gdf: gpd.GeoDataFrame, where: str) -> None:
    if gdf.crs is None or gdf.crs.to_epsg() != 4326:
        raise MappingError(f"{where}: CRS must be EPSG:4326 (longitude/latitude, degrees), got "
                           f"{gdf.crs.to_string() if gdf.crs is not None else 'none'}; reproject with to_crs(4326)")


def reference_longitude(*layers: gpd.GeoDataFrame) -> float:
    """Area-weighted circular mean longitude of the layers' polygon parts, in degrees (-180, 180].

    For Russia this is ~100 E: Chukotka's part west of -180 lies more than 180 degrees away and
    is moved east of 180 by :func:`unwrap_antimeridian`.

    Parameters
    ----------
    *layers : geopandas.GeoDataFrame
        Polygonal layers in EPSG:4326 (longitude/latitude, degrees).

    Returns
    -------
    float
        Longitude in degrees; 0.0 for empty input.

    Examples
    --------
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame(geometry=[box(170, 60, 180, 70), box(-180, 60, -170, 70)], crs=4326)
    >>> round(abs(reference_longitude(g)), 6)
    180.0
    """
    x = y = 0.0
    for gdf in layers:
        _check_4326(gdf, "reference_longitude")
        parts = shapely.get_parts(gdf.geometry.dropna().to_numpy())
        if len(parts) == 0:
            continue
        area = shapely.area(parts)
        lon = np.radians(shapely.get_x(shapely.centroid(parts)))
        x += float(np.sum(area * np.cos(lon)))
        y += float(np.sum(area * np.sin(lon)))
    if x == 0.0 and y == 0.0:
        return 0.0
    return math.degrees(math.atan2(y, x))


def _unwrap(geom: BaseGeometry, ref: float) -> BaseGeometry:
    if geom is None or geom.is_empty:
        return geom
    parts = shapely.get_parts(geom)
    cx = shapely.get_x(shapely.centroid(parts))
    shifts = 360.0 * np.round((ref - cx) / 360.0)
    if not shifts.any():
        return geom
    moved = [shapely.transform(p, lambda c, dx=dx: c + np.array([dx, 0.0])) if dx else p
             for p, dx in zip(parts, shifts)]
    # Parts split at 180 share their edge on the meridian: the union makes them one polygon again.
    out = shapely.union_all(moved)
    return out if out.is_valid else shapely.make_valid(out)


def unwrap_antimeridian(gdf: gpd.GeoDataFrame, ref_lon: float) -> gpd.GeoDataFrame:
    """Join geometries split at 180 degrees: move each part within 180 degrees of ``ref_lon`` and union.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Polygonal layer in EPSG:4326 (longitude/latitude, degrees), e.g. a published layer.
    ref_lon : float
        Reference longitude in degrees (see :func:`reference_longitude`).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy whose geometries may run beyond +/-180 (Chukotka to ~190 with ``ref_lon`` ~100).
        Only for drawing and projection; never write it as GeoJSON.

    Examples
    --------
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame(geometry=[box(170, 60, 180, 70).union(box(-180, 60, -170, 70))], crs=4326)
    >>> unwrap_antimeridian(g, 100.0).geometry.iloc[0].bounds
    (170.0, 60.0, 190.0, 70.0)
    """
    _check_4326(gdf, "unwrap_antimeridian")
    out = gdf.copy()
    out["geometry"] = [_unwrap(g, ref_lon) for g in gdf.geometry]
    return out.set_geometry("geometry")


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    return shapely.MultiPolygon([p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"])


def _drop_small_parts(geom: BaseGeometry, min_area: float) -> BaseGeometry:
    if geom is None or geom.geom_type != "MultiPolygon":
        return geom
    parts = shapely.get_parts(geom)
    area = shapely.area(parts)
    keep = (area >= min_area) | (area == area.max())
    return geom if keep.all() else shapely.MultiPolygon(list(parts[keep]))


def bulk_extent(geoms, *, gap: float = 0.2) -> tuple[tuple[float, float, float, float], list]:
    """The extent of the bulk of a map's area, leaving far-flung parts out (for insets or a note).

    Starting from the largest polygon part, parts are added while they lie within ``gap`` times
    the diagonal of the extent gathered so far; what never gets close is far-flung (Alaska and
    Hawaii seen from the contiguous United States; nothing in Russia, where Kaliningrad lies
    ~500 km from the mainland on a ~7,000 km map).

    Parameters
    ----------
    geoms : array-like of shapely geometries
        In a projected CRS (metres).
    gap : float, default 0.2
        Largest distance, as a share of the current extent's diagonal, at which a part joins.

    Returns
    -------
    extent : tuple of float
        ``(minx, miny, maxx, maxy)`` of the parts kept.
    outlying : list
        Per input geometry: its far-flung parts (one geometry), or None when it lies in the bulk.
    """
    geoms = np.asarray(geoms, dtype=object)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    if len(parts) == 0:
        return (0.0, 0.0, 1.0, 1.0), [None] * len(geoms)
    area = shapely.area(parts)
    keep = np.zeros(len(parts), dtype=bool)
    keep[int(np.argmax(area))] = True
    while True:
        box = shapely.box(*shapely.total_bounds(parts[keep]))
        minx, miny, maxx, maxy = box.bounds
        reach = gap * float(np.hypot(maxx - minx, maxy - miny))
        near = ~keep & (shapely.distance(parts, box) <= reach)
        if not near.any():
            break
        keep |= near
    outlying = [None] * len(geoms)
    for i in np.unique(owner[~keep]):
        outlying[int(i)] = shapely.union_all(parts[(owner == i) & ~keep])
    return tuple(float(v) for v in shapely.total_bounds(parts[keep])), outlying


def simplify_for_web(gdf: gpd.GeoDataFrame, *, tolerance_deg: float = 0.02, decimals: int | None = 4,
                     preserve_topology: bool = True, min_part_area: float | None = None) -> gpd.GeoDataFrame:
    """Simplify polygons for an embedded web map (topology-preserving, per feature) and round.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        In EPSG:4326 (longitude/latitude, degrees).
    tolerance_deg : float, default 0.02
        Douglas-Peucker tolerance in degrees (~2 km north-south): invisible at the zoom levels a
        country map opens at, and it shrinks the page several times.
    decimals : int or None, default 4
        Decimal places kept (~10 m); None keeps the coordinates as they are.
    preserve_topology : bool, default True
        False is several times faster and fine for drawing a raster image (rings may then
        self-touch, so the geometry is not re-validated).
    min_part_area : float, optional
        Polygon parts smaller than this (square degrees) are left out, except each feature's
        largest part: islets below a pixel at the zooms a country map opens at.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with valid, non-empty geometries (a part that collapses is dropped, a feature
        never: the unsimplified geometry is kept if simplification empties it).
    """
    _check_4326(gdf, "simplify_for_web")
    if tolerance_deg < 0:
        raise MappingError(f"simplify_for_web: tolerance_deg must be >= 0, got {tolerance_deg}")
    out = gdf.copy()
    geoms = gdf.geometry.to_numpy()
    if min_part_area:
        geoms = np.array([_drop_small_parts(g, min_part_area) for g in geoms], dtype=object)
    simple = shapely.simplify(geoms, tolerance_deg, preserve_topology=preserve_topology) if tolerance_deg else geoms
    if decimals is not None:
        simple = shapely.set_precision(simple, 10.0 ** -decimals)
    empty = shapely.is_empty(simple)
    simple[empty] = geoms[empty]
    if preserve_topology:
        bad = ~shapely.is_valid(simple)
        if bad.any():
            # make_valid may return a GeometryCollection (polygons plus stray lines): keep the polygons.
            simple[bad] = [_polygonal(g) for g in shapely.make_valid(simple[bad])]
    out["geometry"] = simple
    return out.set_geometry("geometry")


def simplify_coverage(geoms: gpd.GeoSeries, *, tolerance_deg: float) -> gpd.GeoSeries:
    """Simplify region outlines for the published overview layers, keeping shared borders shared.

    Parameters
    ----------
    geoms : geopandas.GeoSeries
        Region polygons, EPSG:4326 (longitude/latitude, degrees), unsplit or split at 180 degrees.
    tolerance_deg : float
        Simplification tolerance in degrees (0 returns ``geoms`` unchanged). Polygon parts smaller
        than a tolerance-sized square (``tolerance_deg ** 2`` square degrees) are left out, except
        each region's largest part: islets that no overview map shows but every candidate that
        contains the region would repeat.

    Returns
    -------
    geopandas.GeoSeries
        Same index and CRS, valid polygonal geometries. When the regions form a coverage (they tile
        without overlaps, as the bundled RU and US boundaries do) they are simplified together
        (``shapely.coverage_simplify``), so neighbours keep one common border and unions of
        neighbours show no slivers; otherwise each is simplified on its own, preserving topology.
    """
    _check_4326(gpd.GeoDataFrame(geometry=geoms), "simplify_coverage")
    if tolerance_deg < 0:
        raise MappingError(f"simplify_coverage: tolerance_deg must be >= 0, got {tolerance_deg}")
    if not tolerance_deg or not len(geoms):
        return geoms
    arr = np.array([_drop_small_parts(g, tolerance_deg ** 2) for g in geoms.to_numpy()], dtype=object)
    if bool(shapely.coverage_is_valid(arr)):
        simple = shapely.coverage_simplify(arr, tolerance_deg)
    else:
        simple = shapely.simplify(arr, tolerance_deg, preserve_topology=True)
    empty = shapely.is_empty(simple)
    simple[empty] = arr[empty]
    bad = ~shapely.is_valid(simple)
    if bad.any():
        simple[bad] = [_polygonal(g) for g in shapely.make_valid(simple[bad])]
    return gpd.GeoSeries(simple, index=geoms.index, crs=geoms.crs)


def map_projection(country: str | None, ref_lon: float, bounds: tuple[float, float, float, float]) -> pyproj.CRS:
    """An equal-area conic projection for a static map of the data.

    Parameters
    ----------
    country : str or None
        ISO 3166-1 alpha-2 code of the run (``config.geodata.country``); a known country uses
        :data:`COUNTRY_PROJECTIONS`.
    ref_lon : float
        The data's central longitude, used for other countries.
    bounds : tuple of float
        ``(minx, miny, maxx, maxy)`` of the (unwrapped) data in degrees; for other countries
        the standard parallels sit at 1/6 and 5/6 of the latitude range.

    Returns
    -------
    pyproj.CRS
    """
    if country and country.upper() in COUNTRY_PROJECTIONS:
        return pyproj.CRS.from_proj4(COUNTRY_PROJECTIONS[country.upper()])
    if not all(map(math.isfinite, bounds)):
        raise MappingError(f"map_projection: the data's bounds {bounds} are not finite (no geometry?)")
    _, miny, _, maxy = bounds
    lat1, lat2 = miny + (maxy - miny) / 6, maxy - (maxy - miny) / 6
    if abs(lat1 - lat2) < 1e-6:
        lat1, lat2 = lat1 - 1, lat2 + 1
    return pyproj.CRS.from_proj4(f"+proj=aea +lat_0={(miny + maxy) / 2:.4f} +lon_0={ref_lon:.4f} "
                                 f"+lat_1={lat1:.4f} +lat_2={lat2:.4f} +datum=WGS84 +units=m +no_defs")


def layer_crs(country: str | None, ref_lon: float, bounds: tuple[float, float, float, float], *,
              override: str | None = None) -> pyproj.CRS:
    """The projected, equal-area CRS the GeoPackage layers are stored in, with a readable name.

    A GIS client's "zoom to layer" then shows the country, not the world (in longitude/latitude
    Chukotka's part west of -180 stretches a Russian layer across every meridian), and areas
    measured in the layer are true areas (square metres).

    Parameters
    ----------
    country : str or None
        ISO 3166-1 alpha-2 code; ``RU`` and ``US`` use :data:`COUNTRY_PROJECTIONS`, named by
        :data:`COUNTRY_CRS_NAMES`; other countries an Albers projection centred on the data
        (see :func:`map_projection`).
    ref_lon : float
        The data's central longitude in degrees (:func:`reference_longitude`).
    bounds : tuple of float
        ``(minx, miny, maxx, maxy)`` of the unwrapped data in degrees.
    override : str, optional
        Any CRS pyproj understands (``EPSG:3576``, a PROJ string, WKT): ``[maps] projection``.

    Returns
    -------
    pyproj.CRS
        Projected, units metres.

    Raises
    ------
    MappingError
        If ``override`` is not a CRS pyproj knows or is not projected.
    """
    if override:
        try:
            crs = pyproj.CRS.from_user_input(override)
        except pyproj.exceptions.CRSError as exc:
            raise MappingError(f"maps.projection: {override!r} is not a CRS pyproj understands ({exc})") from None
        if not crs.is_projected:
            raise MappingError(f"maps.projection: {override!r} is not a projected CRS (units must be metres)")
        return crs
    crs = map_projection(country, ref_lon, bounds)
    code = (country or "").upper()
    name = COUNTRY_CRS_NAMES.get(code) or (
        f"Albers Equal Area centred on the data (WGS 84, lon_0 {ref_lon:.2f})")
    return pyproj.CRS.from_json_dict({**crs.to_json_dict(), "name": name})
