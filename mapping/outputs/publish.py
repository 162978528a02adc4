"""Run folders, GeoJSON/GeoPackage writing, the manifest and atomic publication of ``latest``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj

from mapping.hashing import sha256_file
from mapping.outputs.csvtext import frame_csv

__all__ = ["new_run_id", "link_or_copy", "write_geojson", "write_geopackage", "write_layer_styles", "write_qml", "write_csv",
           "write_manifest", "publish_latest", "software_versions"]

_PACKAGES = ("clustermap", "pandas", "numpy", "geopandas", "shapely", "pyogrio", "scikit-learn", "prefect",
             "pydantic")


def new_run_id(content_key: str, *, now: dt.datetime | None = None) -> str:
    """``<UTC timestamp>-<8 hex of the content hash>``: sortable and unique per content and time."""
    now = now or dt.datetime.now(dt.timezone.utc)
    digest = hashlib.sha256(content_key.encode()).hexdigest()[:8]
    return f"{now:%Y%m%dT%H%M%SZ}-{digest}"


def _flatten(df: pd.DataFrame) -> pd.DataFrame:
    """Make properties flat and consistently typed: lists joined by ';', text NaN -> ''.

    Integers that fit are written as 32-bit integers, which is what GDAL reads back from GeoJSON,
    so a layer has the same field types in GeoJSON and GeoPackage.
    """
    out = df.copy()
    for c in out.columns:
        if c == "geometry":
            continue
        col = out[c]
        if pd.api.types.is_integer_dtype(col) and not pd.api.types.is_bool_dtype(col):
            if len(col) == 0 or (col.min() >= -2**31 and col.max() < 2**31):
                out[c] = col.astype("int32")
            continue
        if col.dtype == object:
            out[c] = col.map(lambda v: ";".join(map(str, v)) if isinstance(v, (list, tuple, set))
                             else ("" if v is None or (isinstance(v, float) and np.isnan(v)) else v))
            if out[c].map(lambda v: isinstance(v, bool)).all():
                out[c] = out[c].astype(bool)
            else:
                out[c] = out[c].astype(str)
    return out


#: Hand the frame to GDAL as one Arrow table (GDAL >= 3.8) rather than feature by feature from Python:
#: the same file (GeoJSON byte for byte, GeoPackage field for field), written about twice as fast.
_USE_ARROW = pyogrio.__gdal_version__ >= (3, 8, 0)


def _write_frame(df: pd.DataFrame, path: Path, **kwargs) -> None:
    pyogrio.write_dataframe(df, path, use_arrow=_USE_ARROW, **kwargs)


class _IdentifiedCRS(pyproj.CRS):
    """A CRS that remembers its EPSG code (or that it has none).

    pyogrio asks each layer's CRS for its EPSG code before writing it; for the run's custom
    equal-area projection PROJ searches its whole database every time (a tenth of a second or more).
    """

    def __init__(self, crs: pyproj.CRS):
        super().__init__(crs.srs)  # from the same definition, so the same WKT is written to the file
        self._epsg = crs.to_epsg()

    def to_epsg(self, min_confidence: int = 70) -> int | None:
        return self._epsg if min_confidence == 70 else super().to_epsg(min_confidence)


def _identified(crs: pyproj.CRS | None, seen: dict) -> pyproj.CRS | None:
    """``crs`` as an :class:`_IdentifiedCRS`, looked up once per distinct CRS in ``seen``."""
    if crs is None:
        return None
    key = crs.to_wkt()
    if key not in seen:
        seen[key] = _IdentifiedCRS(crs)
    return seen[key]


def write_geojson(gdf: gpd.GeoDataFrame, path: Path, *, id_column: str) -> int:
    """Write an RFC 7946 GeoJSON layer with string feature ids.

    ``gdf`` must already be in RFC 7946 form (EPSG:4326, split at 180 degrees, CCW exteriors,
    6 decimals; see :func:`mapping.geo.boundaries.to_rfc7946`). Properties are flattened.

    Returns
    -------
    int
        Number of features written.
    """
    out = _flatten(gdf)
    out[id_column] = out[id_column].astype(str)
    _write_frame(out, path, driver="GeoJSON",
                 layer_options={"RFC7946": "YES", "ID_FIELD": id_column, "ID_TYPE": "String",
                                "COORDINATE_PRECISION": "6", "WRITE_BBOX": "NO"})
    return len(out)


#: GeoPackage version written: 1.2 opens without warnings in older GDAL/QGIS/ArcGIS (GDAL < 3.7 warns on 1.4).
GPKG_VERSION = "1.2"


def write_geopackage(layers: dict[str, gpd.GeoDataFrame], path: Path, *, styles: dict[str, str] | None = None,
                     description: str | None = None, styled_at: dt.datetime | None = None,
                     tables: dict[str, pd.DataFrame] | None = None) -> None:
    """Write several layers into one GeoPackage (in the layers' CRS), with optional embedded QGIS styles.

    Parameters
    ----------
    layers : dict of str to GeoDataFrame
        Layer name -> layer; properties are flattened and keep their types (text, integer,
        real, boolean).
    path : Path
        The ``.gpkg`` file (created).
    styles : dict of str to str, optional
        Layer name -> QML document, written to the ``layer_styles`` table as each layer's
        default style (see :func:`write_layer_styles`).
    description : str, optional
        Layer description (e.g. the boundary attribution), stored in ``gpkg_contents``.
    styled_at : datetime, optional
        ``update_time`` of the styles (default: now, UTC).
    tables : dict of str to DataFrame, optional
        Non-spatial attribute tables (e.g. ``divergence_pairs``), registered as ``attributes``.
    """
    layer_options = {"DESCRIPTION": description} if description else {}
    crs_seen: dict = {}
    for i, (name, gdf) in enumerate(layers.items()):
        if gdf.crs is not None:
            gdf = gdf.set_crs(_identified(gdf.crs, crs_seen), allow_override=True)
        _write_frame(_flatten(gdf), path, layer=name, driver="GPKG", layer_options=layer_options,
                     dataset_options={"VERSION": GPKG_VERSION} if i == 0 else None)
    for name, df in (tables or {}).items():
        _write_frame(_flatten(pd.DataFrame(df)), path, layer=name, driver="GPKG",
                     dataset_options=None if layers else {"VERSION": GPKG_VERSION})
    if styles:
        write_layer_styles(path, styles, when=styled_at)


def write_layer_styles(path: Path, styles: dict[str, str], *, when: dt.datetime | None = None,
                       geometry_column: str = "geom") -> None:
    """Embed QGIS styles in a GeoPackage's ``layer_styles`` table, each marked as the layer's default.

    The table has the columns and the ``id`` key QGIS itself creates ("Save as Default" in
    the layer properties), so QGIS applies the style when the layer is added; it is registered
    in ``gpkg_contents`` as an attribute table, keeping the GeoPackage valid.

    Parameters
    ----------
    path : Path
        An existing GeoPackage holding the styled layers.
    styles : dict of str to str
        Layer name -> QML document.
    when : datetime, optional
        ``update_time`` (default: now, UTC).
    geometry_column : str, default "geom"
        The layers' geometry column (pyogrio's default name).
    """
    when = when or dt.datetime.now(dt.timezone.utc)
    names = list(styles)
    table = pd.DataFrame({
        "f_table_catalog": "", "f_table_schema": "", "f_table_name": names,
        "f_geometry_column": geometry_column, "styleName": names,
        "styleQML": [styles[n] for n in names], "styleSLD": "", "useAsDefault": True,
        "description": [f"clustermap default style of {n}" for n in names], "owner": "", "ui": "",
        "update_time": pd.Timestamp(when).tz_convert("UTC") if pd.Timestamp(when).tzinfo else pd.Timestamp(when),
    })
    pyogrio.write_dataframe(table, path, layer="layer_styles", driver="GPKG", layer_options={"FID": "id"})


def write_qml(path: Path, qml: str) -> Path:
    """Write a QGIS sidecar style (``<layer>.qml`` beside ``<layer>.geojson``, loaded by QGIS on open)."""
    path.write_text(qml, encoding="utf-8")
    return path


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def neutralise_cell(v):
    """A text cell a spreadsheet would run as a formula, prefixed with ``'`` (OWASP CSV injection).

    Text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is neutralised unless it is a
    plain number (``-1.5``); other values are returned unchanged.

    Examples
    --------
    >>> print(neutralise_cell("=HYPERLINK(1)"), neutralise_cell("-1.5"), neutralise_cell("B-E"))
    '=HYPERLINK(1) -1.5 B-E
    """
    if isinstance(v, str) and v.startswith(_FORMULA_START) and not _NUMBER.match(v):
        return "'" + v
    return v


def _csv_text(v: str) -> str:
    """A text cell as written: neutralised, and a bare CR made a newline (readers would end the row there)."""
    return neutralise_cell(v).replace("\r\n", "\n").replace("\r", "\n")


#: Every text :func:`_csv_text` changes matches this (RE2): a formula start or a carriage return.
_CSV_TEXT_CHANGES = r"^[=+\-@\t\r]|\r"


def write_csv(df: pd.DataFrame, path: Path) -> int:
    """Write a CSV (UTF-8, comma, ``.`` decimal, empty for missing); returns rows written.

    Text that a spreadsheet would read as a formula is neutralised (:func:`neutralise_cell`).
    The bytes are those of ``DataFrame.to_csv(index=False, float_format="%.10g")``; they are made
    vectorised by :func:`mapping.outputs.csvtext.frame_csv` (a large run's LQ table has millions of
    rows), and by pandas itself for the frames that function leaves to it."""
    digest = hashlib.sha256()
    written = frame_csv(df, path, transform=_csv_text, transform_labels=neutralise_cell, hasher=digest,
                        transform_changes=_CSV_TEXT_CHANGES)
    if written is not None:
        _remember_sha256(Path(path), digest.hexdigest())  # the manifest's digest, without reading the file again
        return written
    text = [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c])]
    if text:
        df = df.copy()
        for c in text:  # a bare CR would end the row in readers (pandas quotes only fields holding "\n")
            df[c] = df[c].map(lambda v: _csv_text(v) if isinstance(v, str) else v)
        df.columns = [neutralise_cell(c) if isinstance(c, str) else c for c in df.columns]
    df.to_csv(path, index=False, encoding="utf-8", float_format="%.10g")
    return len(df)


def software_versions() -> dict[str, str]:
    """Versions of Python and the main packages, for the manifest."""
    out = {"python": platform.python_version()}
    for p in _PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    out["gdal"] = pyogrio.__gdal_version_string__
    return out


#: Digests of files this process wrote, by (path, size, modification time, inode): a large run's LQ table
#: is most of a gigabyte, hashed as it is written rather than read back for the manifest.
_WRITTEN_SHA256: dict[tuple, str] = {}


def _file_key(path: Path) -> tuple:
    # The file itself (device and inode), not its name: a hard link (divergence.csv) shares the digest.
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _remember_sha256(path: Path, digest: str) -> None:
    if len(_WRITTEN_SHA256) > 256:  # a long-lived process (the flow server) keeps only recent files
        _WRITTEN_SHA256.clear()
    _WRITTEN_SHA256[_file_key(path)] = digest


def output_sha256(path: Path) -> str:
    """SHA-256 of an output file: remembered from writing it when unchanged since, else read."""
    return _WRITTEN_SHA256.get(_file_key(path)) or sha256_file(path)


def write_manifest(run_dir: Path, manifest: dict, counts: dict[str, int]) -> Path:
    """Add every output file's sha256 and row/feature count, then write ``manifest.json``."""
    paths = [p for p in sorted(run_dir.iterdir()) if p.name != "manifest.json" and not p.is_dir()]
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:  # hashlib releases the GIL
        digests = list(pool.map(output_sha256, paths))
    files = [{"file": p.name, "sha256": d, "bytes": p.stat().st_size, "count": counts.get(p.name)}
             for p, d in zip(paths, digests)]
    manifest = dict(manifest, outputs=files)
    path = run_dir / "manifest.json"
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return path


def publish_latest(run_dir: Path, output_root: Path) -> Path:
    """Point ``<output_root>/latest`` at ``run_dir`` atomically.

    ``latest`` is a relative symbolic link replaced with :func:`os.replace`, which is atomic on
    POSIX: a reader sees the old run or the new one, never a mix, and a failed run never gets here.
    A ``latest`` left as a real directory by other tools is moved aside first.
    """
    latest = output_root / "latest"
    tmp = output_root / f".latest-{run_dir.name}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(run_dir, output_root))
    if latest.exists() and not latest.is_symlink():
        shutil.move(str(latest), str(output_root / f"latest-replaced-{run_dir.name}"))
    os.replace(tmp, latest)
    return latest


def link_or_copy(src: Path, dst: Path) -> Path:
    """Make ``dst`` the same file as ``src``: a hard link (stored once), or a copy where links fail."""
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not supported
        shutil.copy2(src, dst)
    return Path(dst)
