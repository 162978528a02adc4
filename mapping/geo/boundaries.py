"""Region boundaries: load the bundled GeoPackages, find neighbours, convert to RFC 7946 form.

The bundled files (``geodata/ru_regions.gpkg``, ``geodata/us_states.gpkg``, built by
``scripts/build_boundaries.py``) are in EPSG:4326 (longitude/latitude, degrees) and store
geometries UNSPLIT at the antimeridian: Chukotka runs continuously to longitude ~190.34 and
Alaska's western Aleutians go below -180. Adjacency is computed on the unsplit shapes;
:func:`to_rfc7946` splits them at 180 degrees for GeoJSON output.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from mapping.errors import MappingError, format_items

__all__ = ["load_boundaries", "find_neighbours", "split_antimeridian", "rfc7946_geometries", "to_rfc7946"]

REQUIRED_COLUMNS = ("region_code", "geometry")
EPSG = 4326
NEIGHBOUR_TOLERANCE_DEG = 0.01
RFC7946_PRECISION = 6
_POLYGONAL = ("Polygon", "MultiPolygon")


def _check_crs(gdf: gpd.GeoDataFrame, where: str) -> None:
    if gdf.crs is None or gdf.crs.to_epsg() != EPSG:
        raise MappingError(f"{where}: CRS must be EPSG:{EPSG} (longitude/latitude, degrees), got "
                           f"{gdf.crs.to_string() if gdf.crs is not None else 'none'}; reproject with to_crs(4326)")


def _check_codes(gdf: gpd.GeoDataFrame, where: str) -> None:
    if "region_code" not in gdf.columns:
        raise MappingError(f"{where}: column 'region_code' is missing; columns are {list(gdf.columns)}")
    codes = gdf["region_code"]
    missing = codes.isna() | (codes.astype(str).str.strip() == "")
    dup = codes[codes.duplicated(keep=False) & ~missing]
    problems = [f"row {i}: empty region_code" for i in codes.index[missing]]
    problems += [f"region_code {c!r} appears {n} times" for c, n in dup.value_counts().sort_index().items()]
    if problems:
        raise MappingError(f"{where}, column 'region_code': {format_items(problems)}")


def _id_text(v):
    if v is None or isinstance(v, str) or pd.isna(v):
        return v
    return str(int(v)) if isinstance(v, float) and v == int(v) else str(v)


def load_boundaries(path: str | Path, *, layer: str | None = None, id_column: str = "region_code") -> gpd.GeoDataFrame:
    """Read a boundary file and check it before any use.

    The file must hold an id column (``region_code`` unless ``id_column`` names another, e.g.
    ``NUTS_ID``) with unique, non-empty codes and polygonal, valid, non-empty geometries in
    EPSG:4326 (longitude/latitude, degrees). GeoPackage, GeoJSON and any other format pyogrio
    reads are accepted. Geometries are returned as stored (unsplit at the antimeridian for the
    bundled files).

    Parameters
    ----------
    path : str or Path
        GeoPackage, GeoJSON (or any file pyogrio reads), e.g. ``geodata/ru_regions.gpkg``.
    layer : str, optional
        Layer to read; default the file's first layer (``regions`` in the bundled files).
    id_column : str, default "region_code"
        Column holding the ids that the region registry's ``boundary_codes`` refer to
        (``[geodata] boundary_id_column``); returned as ``region_code`` (strings).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per region with the file's columns (``region_code`` -- the id column --,
        ``name_en``, ..., ``geometry``), CRS EPSG:4326, default RangeIndex.

    Raises
    ------
    MappingError
        If the file is missing or unreadable, a required column is missing, the CRS is not
        EPSG:4326, codes are empty or repeated, or a geometry is missing, empty, invalid or not
        polygonal. The message names the file and at most five offending rows.

    Examples
    --------
    >>> gdf = load_boundaries("geodata/ru_regions.gpkg")  # doctest: +SKIP
    >>> len(gdf)  # doctest: +SKIP
    83
    """
    path = Path(path)
    if not path.is_file():
        raise MappingError(f"{path}: boundary file not found")
    try:
        gdf = gpd.read_file(path, layer=layer)
    except Exception as exc:  # pyogrio raises its own DataSourceError/DataLayerError
        raise MappingError(f"{path}: cannot read boundaries ({exc})") from exc
    if id_column not in gdf.columns:
        raise MappingError(f"{path}: missing column(s) [{id_column!r}] (the boundary id column, "
                           f"[geodata] boundary_id_column); columns are {list(gdf.columns)}")
    if id_column != "region_code":  # the configured id column becomes region_code for the pipeline
        gdf = gdf.drop(columns=[c for c in ("region_code",) if c in gdf.columns]).rename(columns={id_column: "region_code"})
    gdf["region_code"] = gdf["region_code"].map(_id_text)  # numeric ids (FIPS 6, 6.0) as text "6"
    _check_crs(gdf, str(path))
    _check_codes(gdf, f"{path} (id column {id_column!r})" if id_column != "region_code" else str(path))
    problems = []
    for code, geom in zip(gdf["region_code"], gdf.geometry):
        if geom is None or geom.is_empty:
            problems.append(f"region_code={code}: empty geometry")
        elif geom.geom_type not in _POLYGONAL:
            problems.append(f"region_code={code}: {geom.geom_type}, expected Polygon or MultiPolygon")
        elif not geom.is_valid:
            problems.append(f"region_code={code}: invalid geometry ({shapely.is_valid_reason(geom)})")
    if problems:
        raise MappingError(f"{path}, column 'geometry': {format_items(problems)}")
    return gdf


def find_neighbours(gdf: gpd.GeoDataFrame, *, tolerance_deg: float = NEIGHBOUR_TOLERANCE_DEG) -> pd.DataFrame:
    """List pairs of regions whose shapes touch or come within ``tolerance_deg`` of each other.

    Use the UNSPLIT geometries (so Chukotka's parts on both sides of 180 degrees are one
    shape). The tolerance absorbs the small mismatches between separately quantised regions;
    regions meeting at a single point count as neighbours (queen contiguity).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Columns ``region_code`` (unique) and ``geometry``, CRS EPSG:4326.
    tolerance_deg : float, default 0.01
        Largest gap, in degrees of longitude/latitude (planar distance in EPSG:4326; 0.01 deg is
        ~1.1 km north-south), at which two regions still count as neighbours. Must be >= 0.

    Returns
    -------
    pandas.DataFrame
        Columns ``region_code``, ``neighbour_code`` (str); each pair appears in both directions,
        no self pairs, sorted by both columns, RangeIndex. Empty (same columns) if no pairs.

    Raises
    ------
    MappingError
        If ``tolerance_deg`` is negative, the CRS is not EPSG:4326 or codes are missing/repeated.

    Examples
    --------
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame({"region_code": ["A", "B", "C"]},
    ...                      geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(5, 5, 6, 6)], crs=4326)
    >>> find_neighbours(g).values.tolist()
    [['A', 'B'], ['B', 'A']]
    """
    if not tolerance_deg >= 0:
        raise MappingError(f"find_neighbours: tolerance_deg must be >= 0 degrees, got {tolerance_deg!r}")
    _check_crs(gdf, "find_neighbours")
    _check_codes(gdf, "find_neighbours")
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    codes = gdf["region_code"].astype(str).to_numpy()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance_deg)
    keep = left != right
    out = pd.DataFrame({"region_code": codes[left[keep]], "neighbour_code": codes[right[keep]]})
    out = out.drop_duplicates().sort_values(["region_code", "neighbour_code"], kind="stable")
    return out.reset_index(drop=True)


def _shift(geom: BaseGeometry, dx: float) -> BaseGeometry:
    return shapely.transform(geom, lambda c: c + np.array([dx, 0.0]))


def _polygons(geom: BaseGeometry) -> list[shapely.Polygon]:
    return [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]


def split_antimeridian(geom: BaseGeometry) -> BaseGeometry:
    """Split a (multi)polygon at the 180th meridian so that all longitudes are within [-180, 180].

    The part east of 180 is shifted by -360 degrees, the part west of -180 by +360, so Chukotka
    (stored to longitude ~190.34) becomes a part at 157.8..180 and a part at -180..-169.7. Both
    parts touch the meridian exactly at +/-180, and no edge spans more than 180 degrees.
    Geometries already within [-180, 180] are returned unchanged.

    Parameters
    ----------
    geom : shapely Polygon or MultiPolygon
        In EPSG:4326 (longitude/latitude, degrees), unsplit (continuous across 180 degrees).

    Returns
    -------
    shapely geometry
        The input if no longitude lies outside [-180, 180]; otherwise a valid MultiPolygon.

    Raises
    ------
    MappingError
        If ``geom`` is not polygonal or spans more than 360 degrees of longitude.

    Examples
    --------
    >>> from shapely import box
    >>> parts = split_antimeridian(box(170, 0, 190, 10))
    >>> sorted(p.bounds for p in parts.geoms)
    [(-180.0, 0.0, -170.0, 10.0), (170.0, 0.0, 180.0, 10.0)]
    """
    if geom is None or geom.is_empty:
        return geom
    if geom.geom_type not in _POLYGONAL:
        raise MappingError(f"split_antimeridian: expected Polygon or MultiPolygon, got {geom.geom_type}")
    minx, _, maxx, _ = geom.bounds
    if minx >= -180 and maxx <= 180:
        return geom
    if maxx - minx > 360:
        raise MappingError(f"split_antimeridian: geometry spans {maxx - minx:.2f} degrees of longitude (> 360)")
    parts: list[shapely.Polygon] = []
    # Windows of 360 degrees each; a window's content is moved into [-180, 180].
    for shift in (0.0, -360.0, 360.0):
        window = shapely.box(-180 - shift, -90, 180 - shift, 90)
        piece = shapely.intersection(geom, window)
        if not piece.is_empty:
            parts += _polygons(_shift(piece, shift) if shift else piece)
    out = shapely.MultiPolygon(parts)
    if not out.is_valid:  # parts from different windows are disjoint, but guard anyway
        out = shapely.MultiPolygon(_polygons(shapely.make_valid(out)))
    return out


def _rfc7946_geometry(geom: BaseGeometry, precision: int, code: str) -> shapely.MultiPolygon:
    split = split_antimeridian(geom)
    grid = 10.0 ** -precision
    # Rounding (np.round gives each grid value its shortest decimal representation) is enough for
    # almost every shape and is fast; where it breaks validity, set_precision snaps to the grid with a
    # topology-preserving noder (valid output, but seconds on a country-sized union).
    snapped = shapely.transform(split, lambda c: np.round(c, precision))
    if not snapped.is_valid:
        snapped = shapely.set_precision(split, grid)
        snapped = shapely.transform(snapped, lambda c: np.round(c, precision))
        if not snapped.is_valid:
            snapped = shapely.set_precision(shapely.make_valid(snapped), grid)
    polys = _polygons(snapped)
    if not polys:
        raise MappingError(f"to_rfc7946: region {code}: geometry became empty at {precision} decimals")
    return shapely.orient_polygons(shapely.MultiPolygon(polys), exterior_cw=False)


def rfc7946_geometries(geoms, *, precision: int = RFC7946_PRECISION, codes=None) -> np.ndarray:
    """Convert an array of unsplit polygonal geometries to RFC 7946 form, in one vectorised pass.

    The same result, geometry for geometry, as converting each alone (split at 180 degrees, snapped
    to ``precision`` decimals, repaired where snapping broke validity, rings oriented; see
    :func:`to_rfc7946`), but the rounding, validity check, part extraction and orientation run once
    over the whole array: a run has thousands of distinct candidate shapes, most of which need
    nothing beyond rounding. Only shapes crossing 180 degrees are split one by one, and only shapes
    that rounding made invalid take the slow snapping path.

    Parameters
    ----------
    geoms : array-like of shapely geometries
        Non-empty Polygons/MultiPolygons in EPSG:4326 (longitude/latitude, degrees), unsplit. The
        CRS is not checked here (:func:`to_rfc7946` checks it).
    precision : int, default 6
        Decimal places kept in longitude/latitude.
    codes : sequence of str, optional
        A name per geometry for error messages (default ``row <i>``).

    Returns
    -------
    numpy.ndarray
        Object array of valid MultiPolygons, one per input, all longitudes within [-180, 180].

    Raises
    ------
    MappingError
        If a geometry is not polygonal (when it needs splitting) or becomes empty after rounding.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.empty(len(geoms), dtype=object)
    if not len(geoms):
        return out
    codes = [f"row {i}" for i in range(len(geoms))] if codes is None else list(codes)
    bounds = shapely.bounds(geoms)
    split = geoms.copy()
    for i in np.flatnonzero((bounds[:, 0] < -180) | (bounds[:, 2] > 180)):
        split[i] = split_antimeridian(geoms[i])
    # As in _rfc7946_geometry: rounding first; the shapes it makes invalid take the per-shape path.
    snapped = shapely.transform(split, lambda c: np.round(c, precision))
    valid = shapely.is_valid(snapped)
    for i in np.flatnonzero(~valid):
        out[i] = _rfc7946_geometry(geoms[i], precision, codes[i])
    fast = np.flatnonzero(valid)
    if not len(fast):
        return out
    parts, owner = shapely.get_parts(snapped[fast], return_index=True)
    keep = (shapely.get_type_id(parts) == shapely.GeometryType.POLYGON) & ~shapely.is_empty(parts)
    empty = np.bincount(owner[keep], minlength=len(fast)) == 0
    if empty.any():
        code = codes[fast[np.flatnonzero(empty)[0]]]
        raise MappingError(f"to_rfc7946: region {code}: geometry became empty at {precision} decimals")
    multi = shapely.multipolygons(parts[keep], indices=owner[keep])
    out[fast] = shapely.orient_polygons(multi, exterior_cw=False)
    return out


def to_rfc7946(gdf: gpd.GeoDataFrame, *, precision: int = RFC7946_PRECISION) -> gpd.GeoDataFrame:
    """Convert unsplit boundaries to the form GeoJSON (RFC 7946) requires.

    Each geometry is split at 180 degrees (:func:`split_antimeridian`), its coordinates are
    snapped to ``precision`` decimals (re-checked for validity and repaired after snapping),
    and its rings are oriented: exteriors counter-clockwise, holes clockwise (the same as
    ``shapely.geometry.polygon.orient(polygon, sign=1.0)``). Nothing is dropped.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Polygonal geometries in EPSG:4326 (longitude/latitude, degrees), unsplit. Rows with a
        missing geometry are not allowed.
    precision : int, default 6
        Decimal places kept in longitude/latitude (6 decimals ~ 0.1 m).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with the same index and columns; geometries are valid MultiPolygons with all
        longitudes within [-180, 180], CRS EPSG:4326.

    Raises
    ------
    MappingError
        If the CRS is not EPSG:4326, ``precision`` is not a non-negative integer, a geometry is
        missing or not polygonal, or a geometry becomes empty after rounding.

    Examples
    --------
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame({"region_code": ["X"]}, geometry=[box(170, 0, 190.1234567, 10)], crs=4326)
    >>> out = to_rfc7946(g)
    >>> len(out.geometry.iloc[0].geoms)
    2
    """
    if isinstance(precision, bool) or not isinstance(precision, int) or precision < 0:
        raise MappingError(f"to_rfc7946: precision must be a non-negative integer, got {precision!r}")
    _check_crs(gdf, "to_rfc7946")
    codes = gdf["region_code"].astype(str) if "region_code" in gdf.columns else pd.Series(
        [f"row {i}" for i in gdf.index], index=gdf.index)
    bad = [f"{c}: {'missing' if g is None else g.geom_type}" for c, g in zip(codes, gdf.geometry)
           if g is None or g.geom_type not in _POLYGONAL or g.is_empty]
    if bad:
        raise MappingError(f"to_rfc7946: expected non-empty Polygon/MultiPolygon geometries; {format_items(bad)}")
    out = gdf.copy()
    out[out.geometry.name] = gpd.GeoSeries(rfc7946_geometries(gdf.geometry.to_numpy(), precision=precision,
                                                              codes=codes.tolist()), index=gdf.index, crs=gdf.crs)
    return out
