"""``clusters.gpkg``: the run's layers in a projected equal-area CRS, plus the per-pair attribute table.

The GeoJSON files are RFC 7946 (longitude/latitude, split at 180 degrees). The GeoPackage is for
GIS users, so it stores the same features, with the same ``id`` field and the same attribute names
and types, in the equal-area CRS of the run's country (:func:`mapping.geo.cartography.layer_crs`;
for Russia an Albers projection with central meridian 100 E). Its geometries are projected from the
UNSPLIT shapes: Chukotka is one polygon across 180 degrees, so there is no cut edge to draw and
"zoom to layer" shows the country instead of the world.

``divergence_pairs`` (one row per region x activity pair, the columns of ``divergence_pairs.csv``)
is a non-spatial table joinable on ``region_code`` to the ``divergence`` layer. The join is ready-made
twice, once for each kind of client (neither reads the other's form):

* **GDAL** (read since 3.6 through its relationship API, e.g. ``GetRelationshipNames()``; 3.6's
  ``ogrinfo`` does not print relationships): the OGC Related Tables Extension (:func:`relate_pairs`).
  ``gpkgext_relations`` declares ``divergence`` -> ``divergence_pairs`` through the attribute table
  ``divergence_pairs_mapping`` (``base_id`` = the region's ``fid``, ``related_id`` = the pair's ``fid``),
  which GDAL reports as a many-to-many relationship. It is not a
  SQLite ``FOREIGN KEY`` on ``region_code`` (which GDAL would report as one-to-many): the pairs of a
  region without a bundled boundary (e.g. RU-X-CR) have no ``divergence`` feature, and a key they break
  makes the file fail the GeoPackage's ``PRAGMA foreign_key_check`` requirement; here they simply have
  no mapping row.
* **QGIS** (3.22 discovers neither form of GeoPackage relation by itself): a QGIS project stored in the GeoPackage
  (:func:`write_gpkg_project`, table ``qgis_projects``, the form QGIS itself writes with "Project >
  Save To > GeoPackage"): the four layers with their default styles and the relation
  ``divergence_pairs.region_code`` -> ``divergence.region_code``, so a region's form lists its pairs.
  Open it from the Browser (the GeoPackage's project entry) or "Project > Open From > GeoPackage".
  Its layers point at ``./clusters.gpkg``: the file can move, alone or with its folder, but keeps its name.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
import uuid
import xml.etree.ElementTree as ET
import zipfile
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import pyproj
import shapely

from mapping.geo.cartography import layer_crs, reference_longitude, unwrap_antimeridian
from mapping.outputs.publish import write_geopackage

__all__ = ["choose_layer_crs", "write_clusters_gpkg", "relate_pairs", "write_gpkg_project", "GPKG_LAYERS",
           "PAIRS_TABLE", "PAIRS_MAPPING", "PAIRS_RELATION", "PROJECT_NAME"]

#: Layer name -> attribute of :class:`mapping.outputs.layers.Built`.
GPKG_LAYERS = {"candidate_clusters": "candidates_layer", "supported_clusters": "supported_layer",
               "divergence": "divergence_layer"}
#: The non-spatial per-pair table.
PAIRS_TABLE = "divergence_pairs"
#: Related Tables Extension mapping table: ``divergence`` fid (``base_id``) -> pair fid (``related_id``).
PAIRS_MAPPING = "divergence_pairs_mapping"
#: Name of the QGIS project stored in ``qgis_projects``, and the id of its relation.
PROJECT_NAME = "clusters"
PAIRS_RELATION = "divergence_pairs_region"

_RTE = ("gpkg_related_tables", "http://docs.opengeospatial.org/is/18-000/18-000.html", "read-write")
# Layer-tree order of the stored project, top first: outlines over hatching over opaque fills, then the table.
_PROJECT_LAYERS = ("supported_clusters", "candidate_clusters", "divergence", PAIRS_TABLE)
_QGIS_VERSION = "3.22.0-Białowieża"  # the oldest QGIS the project is tested with (Debian python3-qgis)


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

    The relationship divergence -> divergence_pairs is declared for GDAL (:func:`relate_pairs`); the QGIS
    project, which carries the styles, is added later by :func:`write_gpkg_project`.

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
    relate_pairs(Path(path))
    return {**{n: len(g) for n, g in layers.items()}, PAIRS_TABLE: len(pairs)}


def _primary_key(con: sqlite3.Connection, table: str) -> str:
    return next(r[1] for r in con.execute(f'PRAGMA table_info("{table}")') if r[5])


def relate_pairs(path: Path) -> int:
    """Declare ``divergence`` -> ``divergence_pairs`` in the OGC Related Tables Extension (what GDAL reads).

    Adds ``gpkgext_relations`` (one ``attributes`` relation), the mapping table :data:`PAIRS_MAPPING`
    filled from the ``region_code`` join, and their ``gpkg_extensions`` rows. The mapping table is an
    ordinary attribute table (``id`` key, registered in ``gpkg_contents``): GDAL 3.12 stops registering
    new tables in a file whose relationship names an unregistered mapping table.

    Parameters
    ----------
    path : Path
        A GeoPackage holding the ``divergence`` layer and the ``divergence_pairs`` table.

    Returns
    -------
    int
        Mapping rows written: the pairs whose region has a ``divergence`` feature.
    """
    with closing(sqlite3.connect(path)) as con, con:
        base_pk, pairs_pk = _primary_key(con, "divergence"), _primary_key(con, PAIRS_TABLE)
        # DDL of the extension's tables as in OGC 18-000 (the columns GDAL's validate_gpkg checks).
        con.execute("CREATE TABLE gpkgext_relations (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                    "base_table_name TEXT NOT NULL, base_primary_column TEXT NOT NULL DEFAULT 'id', "
                    "related_table_name TEXT NOT NULL, related_primary_column TEXT NOT NULL DEFAULT 'id', "
                    "relation_name TEXT NOT NULL, mapping_table_name TEXT NOT NULL UNIQUE)")
        con.execute(f'CREATE TABLE "{PAIRS_MAPPING}" (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
                    'base_id INTEGER NOT NULL, related_id INTEGER NOT NULL)')
        n = con.execute(f'INSERT INTO "{PAIRS_MAPPING}" (base_id, related_id) SELECT d."{base_pk}", p."{pairs_pk}" '
                        f'FROM "{PAIRS_TABLE}" p JOIN divergence d ON d.region_code = p.region_code '
                        f'ORDER BY p."{pairs_pk}"').rowcount
        con.execute("INSERT INTO gpkgext_relations (base_table_name, base_primary_column, related_table_name, "
                    "related_primary_column, relation_name, mapping_table_name) VALUES (?, ?, ?, ?, ?, ?)",
                    ("divergence", base_pk, PAIRS_TABLE, pairs_pk, "attributes", PAIRS_MAPPING))
        con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
                    "VALUES (?, 'attributes', ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                    (PAIRS_MAPPING, PAIRS_MAPPING, "divergence fid (base_id) -> divergence_pairs fid (related_id), "
                     "the region_code join (OGC Related Tables Extension)"))
        con.executemany("INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) "
                        "VALUES (?, NULL, ?, ?, ?)", [(t, *_RTE) for t in ("gpkgext_relations", PAIRS_MAPPING)])
    return n


def _srs(wkt: str) -> ET.Element:
    srs = ET.Element("spatialrefsys")
    ET.SubElement(srs, "wkt").text = wkt
    return srs


def _layer_id(name: str) -> str:
    # QGIS's own form (name_uuid), fixed per layer; QGIS 3.22 replaced a bare "divergence" id on reading.
    return f"{name}_{uuid.uuid5(uuid.NAMESPACE_URL, 'clustermap:' + name)}".replace("-", "_")


def _project_xml(gpkg: str, styles: dict[str, str], tables: dict[str, tuple], title: str) -> bytes:
    """The ``.qgs`` document: layers (relative to the GeoPackage), styles, relation, CRS and extent."""
    wkt = tables["divergence"][1]  # every layer is in the run's one CRS
    boxes = [t[2] for t in tables.values() if None not in t[2]] or [(-1e6, -1e6, 1e6, 1e6)]  # all layers empty
    box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    root = ET.Element("qgis", projectname=title, version=_QGIS_VERSION)
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title
    ET.SubElement(root, "projectCrs").append(_srs(wkt))
    # QGIS reads the project CRS only with this property set (as QGIS writes it); paths stay relative.
    props = ET.SubElement(root, "properties")
    ET.SubElement(ET.SubElement(props, "SpatialRefSys"), "ProjectionsEnabled", type="int").text = "1"
    ET.SubElement(ET.SubElement(props, "Paths"), "Absolute", type="bool").text = "false"
    tree, layers = ET.SubElement(root, "layer-tree-group"), ET.Element("projectlayers")
    ids = {name: _layer_id(name) for name in _PROJECT_LAYERS}
    for name in _PROJECT_LAYERS:
        source = f"./{gpkg}|layername={name}"
        ET.SubElement(tree, "layer-tree-layer", id=ids[name], name=name, source=source, providerKey="ogr",
                      checked="Qt::Checked", expanded="1")
        geometry = tables[name][0]
        kind = ({"geometry": "Polygon", "wkbType": "MultiPolygon" if geometry.startswith("MULTI") else "Polygon"}
                if geometry else {"geometry": "No geometry", "wkbType": "NoGeometry"})
        layer = ET.SubElement(layers, "maplayer", type="vector", **kind)
        for tag, text in (("id", ids[name]), ("datasource", source), ("layername", name)):
            ET.SubElement(layer, tag).text = text
        if geometry:
            ET.SubElement(layer, "srs").append(_srs(tables[name][1]))
        ET.SubElement(layer, "provider", encoding="UTF-8").text = "ogr"
        if name == PAIRS_TABLE:  # how a pair is listed in its region's form
            ET.SubElement(layer, "previewExpression").text = "concat(\"activity_code\", ': ', \"status\")"
        if name in styles:  # the QML's elements (renderer, map tip) are the layer's style in a project
            layer.extend(list(ET.fromstring(styles[name])))
    xmin, ymin, xmax, ymax = (repr(float(v)) for v in box)
    canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas")
    ET.SubElement(canvas, "units").text = "meters"
    extent = ET.SubElement(canvas, "extent")
    for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), (xmin, ymin, xmax, ymax)):
        ET.SubElement(extent, tag).text = v
    ET.SubElement(canvas, "rotation").text = "0"
    ET.SubElement(canvas, "destinationsrs").append(_srs(wkt))
    root.append(layers)
    relation = ET.SubElement(ET.SubElement(root, "relations"), "relation", id=PAIRS_RELATION,
                             name="Pairs of the region", referencingLayer=ids[PAIRS_TABLE],
                             referencedLayer=ids["divergence"], strength="Association")
    ET.SubElement(relation, "fieldRef", referencingField="region_code", referencedField="region_code")
    view = ET.SubElement(root, "ProjectViewSettings", UseProjectScales="0")
    ET.SubElement(view, "Scales")
    ET.SubElement(view, "DefaultViewExtent", xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax).append(_srs(wkt))
    return b"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="utf-8",
                                                                                         xml_declaration=False)


def write_gpkg_project(path: Path, styles: dict[str, str], *, title: str = "Cluster map",
                       when: dt.datetime | None = None) -> None:
    """Store a QGIS project in the GeoPackage: its layers, their styles and the relation to the pairs.

    Written without QGIS: the project is the XML QGIS reads (``.qgs``), zipped as a ``.qgz`` and
    stored hex-encoded in ``qgis_projects`` under :data:`PROJECT_NAME`, as QGIS's own GeoPackage
    project storage does. Layers point at ``./<file name>`` (QGIS resolves that against the
    GeoPackage's folder); the relation :data:`PAIRS_RELATION` joins ``divergence_pairs.region_code``
    to ``divergence.region_code`` (one region, many pairs).

    Parameters
    ----------
    path : Path
        ``clusters.gpkg`` holding the layers of :data:`GPKG_LAYERS` and :data:`PAIRS_TABLE`.
    styles : dict of str to str
        Layer name -> QML document (the same as in ``layer_styles``).
    title : str, default "Cluster map"
        The project's title.
    when : datetime, optional
        Last-modified time in the project's metadata (default: now, UTC).
    """
    path = Path(path)
    with closing(sqlite3.connect(path)) as con, con:
        rows = con.execute(
            "SELECT c.table_name, g.geometry_type_name, s.definition, c.min_x, c.min_y, c.max_x, c.max_y "
            "FROM gpkg_contents c LEFT JOIN gpkg_geometry_columns g ON g.table_name = c.table_name "
            "LEFT JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id").fetchall()
        tables = {r[0]: (r[1], r[2], r[3:]) for r in rows if r[0] in _PROJECT_LAYERS}
        missing = sorted(set(_PROJECT_LAYERS) - set(tables))
        if missing:
            raise ValueError(f"{path}: no {', '.join(missing)} for the QGIS project")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:  # fixed date: same project, same bytes
            z.writestr(zipfile.ZipInfo(f"{PROJECT_NAME}.qgs", date_time=(1980, 1, 1, 0, 0, 0)),
                       _project_xml(path.name, styles, tables, title), compress_type=zipfile.ZIP_DEFLATED)
        when = (when or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
        meta = {"last_modified_time": when.strftime("%Y-%m-%dT%H:%M:%S"), "last_modified_user": "clustermap"}
        # The table as QGIS creates it; QGIS reads ``content`` as the hex text of the .qgz.
        con.execute("CREATE TABLE IF NOT EXISTS qgis_projects(name TEXT PRIMARY KEY, metadata BLOB, content BLOB)")
        con.execute("INSERT OR REPLACE INTO qgis_projects (name, metadata, content) VALUES (?, ?, ?)",
                    (PROJECT_NAME, json.dumps(meta), buf.getvalue().hex()))
