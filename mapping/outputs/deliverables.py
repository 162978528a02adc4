"""The GIS and reading deliverables of a run folder, beyond the contract's tables and GeoJSON.

``write_run`` (:mod:`mapping.pipeline`) calls these after the layers are written:

* :func:`write_styles` -- a QML sidecar beside each GeoJSON and the same styles embedded in
  ``clusters.gpkg`` (``layer_styles``, default), and the QGIS project stored there with them and the
  relation divergence -> divergence_pairs (:func:`mapping.outputs.gpkg.write_gpkg_project`);
* :func:`write_maps` -- ``map.html`` (offline Leaflet) and the static PNG maps;
* :func:`mapping.outputs.reporthtml.write_report_html` -- ``report.html`` from ``report.md``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from mapping.outputs.gpkg import write_gpkg_project
from mapping.outputs.publish import write_layer_styles, write_qml
from mapping.outputs.staticmaps import write_static_maps
from mapping.outputs.styles import qml_style
from mapping.geo.credits import boundary_attribution
from mapping.outputs.webmap import BOUNDARY_ATTRIBUTION, write_webmap

__all__ = ["write_styles", "write_maps", "write_deliverables", "GIS_LAYERS"]

#: Layer name (file stem and GeoPackage layer) -> attribute of :class:`mapping.outputs.layers.Built`.
GIS_LAYERS = {"candidate_clusters": "candidates_layer", "supported_clusters": "supported_layer",
              "divergence": "divergence_layer"}


def write_styles(run_dir: Path, built) -> dict[str, Path]:
    """Write ``<layer>.qml`` beside each ``<layer>.geojson`` and embed the styles in ``clusters.gpkg``.

    The GeoPackage gets them twice: as each layer's default style (``layer_styles``) and inside its
    stored QGIS project (:func:`mapping.outputs.gpkg.write_gpkg_project`), which adds the relation.

    Parameters
    ----------
    run_dir : Path
        The run folder, already holding the GeoJSON files and ``clusters.gpkg``.
    built : mapping.outputs.layers.Built
        The run's layers.

    Returns
    -------
    dict
        Layer name -> QML file written.
    """
    run_dir = Path(run_dir)
    styles = {name: qml_style(getattr(built, attr), name) for name, attr in GIS_LAYERS.items()}
    out = {name: write_qml(run_dir / f"{name}.qml", qml) for name, qml in styles.items()}
    write_layer_styles(run_dir / "clusters.gpkg", styles)
    write_gpkg_project(run_dir / "clusters.gpkg", styles)
    return out


def write_maps(run_dir: Path, built, *, background: gpd.GeoDataFrame | None, country: str | None, year: int,
               without_geometry: list[str] | None = None, tiles: str | None = None,
               tiles_attribution: str | None = None, simplify_deg: float = 0.02,
               attribution: str = BOUNDARY_ATTRIBUTION, projection: str | None = None,
               insets: list | None = None) -> dict[str, object]:
    """Write ``map.html`` and the static PNG maps into ``run_dir``.

    Parameters
    ----------
    run_dir : Path
        The run folder.
    built : mapping.outputs.layers.Built
        The run's layers (EPSG:4326, RFC 7946 form).
    background : geopandas.GeoDataFrame or None
        Every analysis unit's geometry (EPSG:4326), drawn in grey for context.
    country : str or None
        ISO 3166-1 alpha-2 code (``config.geodata.country``): selects the static maps' projection.
    year : int
        The analysis year (titles).
    without_geometry : list of str, optional
        Units not drawn, named in the static maps' footer.
    tiles, tiles_attribution : str, optional
        An optional web-map tile layer (``[maps]`` in the config); none by default (offline).
    simplify_deg : float, default 0.02
        Web-map simplification tolerance in degrees.
    attribution : str
        The boundaries' credit line (the run's metadata: :func:`mapping.geo.credits.boundary_attribution`),
        shown in the web map's attribution control and the static maps' footer.
    projection, insets : optional
        ``[maps] projection`` and ``[maps] insets`` (see :mod:`mapping.outputs.staticmaps`).

    Returns
    -------
    dict
        ``{"map.html": {overlay class: feature count}, "divergence.png": Path, ...}``.
    """
    from mapping.outputs.progress import step

    run_dir = Path(run_dir)
    with step("map.html"):
        counts = write_webmap(run_dir / "map.html", built.candidates_layer, built.supported_layer,
                              built.divergence_layer, background=background, title=f"Cluster map {year}",
                              tiles=tiles, tiles_attribution=tiles_attribution, simplify_deg=simplify_deg,
                              attribution=attribution, pairs=built.divergence_pairs)
    note = attribution.rstrip(".") + "."
    if without_geometry:
        note += " Not drawn (no bundled boundary): " + ", ".join(without_geometry) + "."
    with step("static maps"):
        pngs = write_static_maps(run_dir, built.candidates_layer, built.divergence_layer, background=background,
                                 country=country, year=year, note=note, pairs=built.divergence_pairs,
                                 projection=projection, insets=insets)
    return {"map.html": counts, **{p.name: p for p in pngs.values()}}


def write_deliverables(run_dir: Path, built, geography, analysis, config) -> dict[str, None]:
    """Styles, ``map.html`` and the static maps of a run (what :func:`mapping.pipeline.write_run` calls).

    Parameters
    ----------
    run_dir : Path
        The run folder holding the GeoJSON files and ``clusters.gpkg``.
    built : mapping.outputs.layers.Built
    geography : mapping.pipeline.Geography
        ``units`` (unsplit, EPSG:4326) draw the grey context; ``without_geometry`` is footnoted.
    analysis : mapping.pipeline.Analysis
    config : mapping.config.RunConfig
        ``geodata.country`` picks the projection; ``maps`` the tiles and simplification.

    Returns
    -------
    dict
        File name -> None (the manifest's ``count`` of a non-tabular file).
    """
    from mapping.outputs.progress import step

    with step("QGIS styles"):
        styles = write_styles(run_dir, built)
    m = config.maps
    maps = write_maps(run_dir, built, background=geography.units, country=config.geodata.country,
                      year=analysis.year, without_geometry=geography.without_geometry, tiles=m.tiles,
                      tiles_attribution=m.tiles_attribution, simplify_deg=m.simplify_deg,
                      attribution=boundary_attribution(config),  # from the boundaries' metadata (geo/credits.py)
                      projection=getattr(m, "projection", None), insets=getattr(m, "insets", None))
    return {**{p.name: None for p in styles.values()}, **{name: None for name in maps}}
