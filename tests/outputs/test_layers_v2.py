"""Contract version 2 layers: one divergence feature per region, no overlapping fills, one schema in
GeoJSON and GeoPackage, a projected GeoPackage whose extent is the country, legends of what occurs."""

from __future__ import annotations

import csv
import json
import re
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

import geopandas as gpd
import pyogrio
import pyproj
import pytest
import shapely
from _default_run import default_run

from mapping.outputs.styles import FILLED_LAYERS, SEAMLESS_OUTLINE

LAYERS = ("candidate_clusters", "supported_clusters", "divergence")
STATUSES5 = ("aligned", "supported_not_specialised", "specialised_not_supported", "not_testable", "no_data")
OGR2OGR = shutil.which("ogr2ogr")
needs_ogr2ogr = pytest.mark.skipif(not OGR2OGR, reason="GDAL command-line tools (Debian gdal-bin) not installed: "
                                                       "run `make debs` or apt-get install gdal-bin")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return default_run(tmp_path_factory).run_dir


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


# --- one feature per region, counts from the pairs ------------------------------------------------------------

def test_divergence_has_one_feature_per_region_with_counts_of_its_pairs(run_dir):
    with open(run_dir / "divergence_pairs.csv", encoding="utf-8", newline="") as f:
        pairs = list(csv.DictReader(f))
    counts: dict[str, Counter] = defaultdict(Counter)
    for p in pairs:
        if p["has_geometry"] == "True":
            counts[p["region_code"]][p["status"]] += 1
    feats = _features(run_dir / "divergence.geojson")
    codes = [f["properties"]["region_code"] for f in feats]
    assert len(codes) == len(set(codes)) == len(counts), "one feature per region that has a pair"
    for f in feats:
        p, c = f["properties"], counts[f["properties"]["region_code"]]
        assert f["id"] == f"{p['region_code']}:{p['year']}"
        assert {s: p[f"n_{s}"] for s in STATUSES5} == {s: c.get(s, 0) for s in STATUSES5}, p["region_code"]
        assert p["n_pairs"] == sum(c.values())
        assert p["status_mix"] == "+".join(sorted(c)), p["region_code"]


def test_manifest_says_contract_version_2(run_dir):
    m = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert m["contract_version"] == 2
    assert {"divergence_pairs.csv", "divergence.geojson"} <= {o["file"] for o in m["outputs"]}


def test_geopackage_pairs_table_joins_the_divergence_layer(run_dir):
    gpkg = run_dir / "clusters.gpkg"
    with sqlite3.connect(gpkg) as con:
        kinds = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall())
        n = con.execute("SELECT count(*) FROM divergence_pairs").fetchone()[0]
        unmatched = con.execute(
            "SELECT count(*) FROM divergence_pairs p WHERE p.has_geometry = 1 AND NOT EXISTS "
            "(SELECT 1 FROM divergence d WHERE d.region_code = p.region_code)").fetchone()[0]
    assert kinds["divergence_pairs"] == "attributes" and kinds["divergence"] == "features"
    with open(run_dir / "divergence_pairs.csv", encoding="utf-8", newline="") as f:
        assert n == sum(1 for _ in csv.DictReader(f))
    assert unmatched == 0


# --- overlap of filled layers -----------------------------------------------------------------------------------

def _is_filled(qml: str) -> bool:
    """Whether any category's symbol paints a solid, non-transparent fill."""
    root = ET.fromstring(qml.split("\n", 1)[1])
    for layer in root.iter("layer"):
        if layer.get("class") != "SimpleFill":
            continue
        props = {p.get("k"): p.get("v") for p in layer.findall("prop")}
        if props.get("style", "solid") != "no" and int(props.get("color", "0,0,0,0").split(",")[3]) > 0:
            return True
    return False


def overlap_ratio(gdf: gpd.GeoDataFrame) -> float:
    """Sum of the features' areas / area of their union (1.0 when nothing overlaps); planar, in the layer's CRS."""
    geoms = gdf.geometry.to_numpy()
    union = shapely.union_all(geoms)
    return float(shapely.area(geoms).sum() / union.area) if union.area else 1.0


def test_filled_layers_do_not_overlap(run_dir):
    ratios = {}
    for name in LAYERS:
        qml = (run_dir / f"{name}.qml").read_text(encoding="utf-8")
        layer = gpd.read_file(run_dir / "clusters.gpkg", layer=name)  # equal-area: planar areas are true areas
        assert layer.is_valid.all(), f"{name}: invalid geometries in the GeoPackage"
        ratios[name] = (overlap_ratio(layer), _is_filled(qml))
    print("overlap ratio (sum of areas / area of union), filled:", ratios)
    assert {n for n, (_, filled) in ratios.items() if filled} == set(FILLED_LAYERS)
    for name, (ratio, filled) in ratios.items():
        if filled:
            assert ratio <= 1.01, f"{name}: filled features overlap ({ratio:.3f})"
    # The check can fail: the candidate layer (hatched, not filled) does overlap in this run.
    assert ratios["candidate_clusters"][0] > 1.01


# --- same schema in GeoJSON and GeoPackage ----------------------------------------------------------------------

def _schema(path: Path, layer: str | None = None) -> dict[str, str]:
    info = pyogrio.read_info(path, layer=layer)
    return dict(zip(info["fields"], info["dtypes"]))


@pytest.mark.parametrize("name", LAYERS)
def test_geojson_and_geopackage_have_the_same_fields_and_types(run_dir, name):
    gj, gp = _schema(run_dir / f"{name}.geojson"), _schema(run_dir / "clusters.gpkg", name)
    assert list(gj)[0] == "id" and list(gp)[0] == "id"
    assert gj == gp
    df = pyogrio.read_dataframe(run_dir / f"{name}.geojson", read_geometry=False)
    assert not [c for c in df.columns if df[c].isna().all()], "an all-null field cannot carry its type in GeoJSON"


def _ogr_fields(path: Path, layer: str | None = None) -> dict[str, str]:
    args = [layer] if layer else ["-al"]
    out = subprocess.run(["ogrinfo", "-ro", "-so", str(path), *args], capture_output=True, text=True, check=True)
    fields = dict(re.findall(r"^(\S+): (\w+(?:\(\w+\))?) \(", out.stdout, flags=re.M))
    fields.pop("Geometry", None)  # "Geometry: Unknown (any)" is the layer's geometry type, not a field
    return fields


@needs_ogr2ogr
@pytest.mark.parametrize("name", LAYERS)
def test_round_trip_keeps_ids_and_types_with_ogr2ogr_and_pyogrio(run_dir, tmp_path, name):
    src = run_dir / f"{name}.geojson"
    before = _ogr_fields(src)
    assert before == _ogr_fields(run_dir / "clusters.gpkg", name), "GDAL sees the same types in both formats"
    # ogr2ogr: GeoJSON -> GPKG -> GeoJSON
    gpkg, back = tmp_path / "rt.gpkg", tmp_path / "back.geojson"
    subprocess.run(["ogr2ogr", "-f", "GPKG", str(gpkg), str(src)], check=True, capture_output=True)
    subprocess.run(["ogr2ogr", "-f", "GeoJSON", "-lco", "RFC7946=YES", "-lco", "ID_FIELD=id", str(back), str(gpkg)],
                   check=True, capture_output=True)
    assert [f["id"] for f in _features(back)] == [f["id"] for f in _features(src)]
    assert _ogr_fields(back) == before
    # pyogrio: the same round trip
    df = pyogrio.read_dataframe(src)
    pyogrio.write_dataframe(df, tmp_path / "p.gpkg", driver="GPKG")
    again = pyogrio.read_dataframe(tmp_path / "p.gpkg")
    pyogrio.write_dataframe(again, tmp_path / "p.geojson", driver="GeoJSON",
                            layer_options={"RFC7946": "YES", "ID_FIELD": "id"})
    assert [f["id"] for f in _features(tmp_path / "p.geojson")] == [f["id"] for f in _features(src)]
    assert _schema(tmp_path / "p.geojson") == _schema(src)


# --- extent and seams -------------------------------------------------------------------------------------------

@needs_ogr2ogr
def test_geopackage_extent_reported_by_gdal_is_russia_in_an_equal_area_crs(run_dir):
    out = subprocess.run(["ogrinfo", "-ro", "-so", str(run_dir / "clusters.gpkg"), "divergence"],
                         capture_output=True, text=True, check=True).stdout
    minx, miny, maxx, maxy = map(float, re.search(r"Extent: \(([-\d.]+), ([-\d.]+)\) - \(([-\d.]+), ([-\d.]+)\)",
                                                  out).groups())
    assert 'METHOD["Albers Equal Area"' in out and "Russia" in out
    # Russia spans ~8,000 km west-east in a conic projection centred on it; a world-wide layer would be 40,000.
    assert 6.5e6 < maxx - minx < 9.5e6 and 3e6 < maxy - miny < 6e6
    crs = pyproj.CRS.from_wkt(pyogrio.read_info(run_dir / "clusters.gpkg", layer="divergence")["crs"])
    to = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    for lon, lat in ((37.62, 55.75), (-172.0, 65.0), (20.5, 54.7)):  # Moscow, Chukotka east of 180, Kaliningrad
        x, y = to.transform(lon, lat)
        assert minx <= x <= maxx and miny <= y <= maxy, (lon, lat)
    # GeoJSON stays longitude/latitude (RFC 7946).
    assert pyproj.CRS.from_user_input(pyogrio.read_info(run_dir / "divergence.geojson")["crs"]).to_epsg() == 4326


def test_chukotka_is_one_shape_in_the_geopackage_and_split_in_the_geojson(run_dir):
    gp = gpd.read_file(run_dir / "clusters.gpkg", layer="divergence").set_index("region_code")
    gj = gpd.read_file(run_dir / "divergence.geojson").set_index("region_code")
    chu_gj = gj.loc["RU-CHU"].geometry
    assert chu_gj.bounds[0] == -180 and chu_gj.bounds[2] == 180
    # In the equal-area layer, no part of Chukotka ends on the meridian: the mainland is one polygon.
    chu_gp = gp.loc["RU-CHU"].geometry
    merid = pyproj.Transformer.from_crs(4326, gp.crs, always_xy=True)
    line = shapely.LineString([merid.transform(180, lat) for lat in (60, 62, 64, 66, 68, 70, 72)])
    assert not any(p.boundary.buffer(1.0).contains(line) for p in shapely.get_parts(chu_gp))
    assert len(shapely.get_parts(chu_gp)) < len(shapely.get_parts(chu_gj))


def test_default_outline_leaves_out_the_edges_on_the_180th_meridian(run_dir):
    """The styles outline through SEAMLESS_OUTLINE; emulate it on the GeoJSON's Chukotka with shapely."""
    qml = (run_dir / "divergence.qml").read_text(encoding="utf-8")
    root = ET.fromstring(qml.split("\n", 1)[1])
    fills = [lay for lay in root.iter("layer") if lay.get("class") == "SimpleFill"]
    assert fills and all({p.get("k"): p.get("v") for p in f.findall("prop")}["outline_style"] == "no" for f in fills)
    gens = [lay for lay in root.iter("layer") if lay.get("class") == "GeometryGenerator"]
    assert gens and all({p.get("k"): p.get("v") for p in g.findall("prop")}["geometryModifier"] == SEAMLESS_OUTLINE
                        for g in gens)
    chu = gpd.read_file(run_dir / "divergence.geojson").set_index("region_code").loc["RU-CHU"].geometry
    cut = shapely.buffer(shapely.MultiLineString([[(180, -90), (180, 90)], [(-180, -90), (-180, 90)]]), 1e-6)
    drawn = shapely.difference(chu.boundary, cut)
    on_meridian = shapely.intersection(chu.boundary, cut).length
    assert on_meridian > 1 and drawn.intersection(cut).length == 0  # the cut edge exists and is not drawn
    assert drawn.length == pytest.approx(chu.boundary.length - on_meridian, rel=1e-6)


# --- legends ------------------------------------------------------------------------------------------------------

def _legend(qml: str) -> list[tuple[str, str]]:
    root = ET.fromstring(qml.split("\n", 1)[1])
    return [(c.get("value"), c.get("label")) for c in root.find("renderer-v2").find("categories")]


@pytest.mark.parametrize("name,col", [("divergence", "status_mix"), ("supported_clusters", "status"),
                                      ("candidate_clusters", "group_id")])
def test_legends_list_only_the_categories_that_occur(run_dir, name, col):
    legend = _legend((run_dir / f"{name}.qml").read_text(encoding="utf-8"))
    present = {f["properties"][col] for f in _features(run_dir / f"{name}.geojson")}
    assert {v for v, _ in legend} == present
    assert all(v and label and label.lower() != "other" for v, label in legend)


def test_candidate_legend_names_activities_not_letters(run_dir):
    with open(Path(__file__).resolve().parents[2] / "geodata" / "activities.csv", encoding="utf-8") as f:
        names = {r["code"]: r["name_en"] for r in csv.DictReader(f) if r["classification"] == "OKVED2"}
    for gid, label in _legend((run_dir / "candidate_clusters.qml").read_text(encoding="utf-8")):
        words = re.sub(r"\(\w+\)|G\d+:|\+\d+ more|·|…", " ", label).split()
        assert words, f"{gid}: {label!r} names no activity"
        first = label.split(": ", 1)[1].split(" · ")[0]
        code = re.search(r"\((\w+)\)$", first).group(1)
        assert names[code].startswith(first.rsplit(" (", 1)[0].rstrip("…")), label


# --- QGIS itself (optional: Debian python3-qgis) ----------------------------------------------------------------

_QGIS_RENDER = r"""
import json, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from collections import Counter
from qgis.core import (QgsApplication, QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsMapRendererSequentialJob,
                       QgsMapSettings, QgsPointXY, QgsProject, QgsRectangle, QgsVectorLayer)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor
app = QgsApplication([], False); app.initQgis()
run = sys.argv[1]
gpkg = QgsVectorLayer(f"{run}/clusters.gpkg|layername=divergence", "divergence", "ogr")
geojson = QgsVectorLayer(f"{run}/divergence.geojson", "divergence", "ogr")
out = {}
for name, lyr in (("gpkg", gpkg), ("geojson", geojson)):
    msg, ok = lyr.loadDefaultStyle()
    cats = lyr.renderer().categories()
    out[name] = {"valid": lyr.isValid(), "ok": ok, "crs": lyr.crs().authid() or lyr.crs().description(),
                 "extent": [lyr.extent().xMinimum(), lyr.extent().yMinimum(), lyr.extent().xMaximum(),
                            lyr.extent().yMaximum()],
                 "legend": sorted({c.symbol().color().name() for c in cats})}

def render(lyr, crs, extent, size=(700, 420)):
    ms = QgsMapSettings()
    ms.setLayers([lyr]); ms.setDestinationCrs(crs); ms.setExtent(extent)
    ms.setOutputSize(QSize(*size)); ms.setBackgroundColor(QColor(255, 255, 255))
    ms.setFlag(QgsMapSettings.Antialiasing, False)
    job = QgsMapRendererSequentialJob(ms); job.start(); job.waitForFinished()
    return ms, job.renderedImage()

# The whole GeoPackage layer ("zoom to layer"): which colours are on the map.
ms, img = render(gpkg, gpkg.crs(), gpkg.extent())
out["pixels"] = dict(Counter(img.pixelColor(x, y).name() for y in range(img.height()) for x in range(img.width())))
# The GeoJSON drawn in the GeoPackage's CRS, zoomed to Chukotka: the pixels on the 180th meridian.
to_map = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), gpkg.crs(), QgsProject.instance())
box = to_map.transformBoundingBox(QgsRectangle(170, 62, -170 + 360, 71))
ms, img = render(geojson, gpkg.crs(), box)
seam = []
for lat in (64.5, 65.5, 66.5, 67.5, 68.5):
    p = ms.mapToPixel().transform(to_map.transform(QgsPointXY(180, lat)))
    seam.append(img.pixelColor(int(p.x()), int(p.y())).name())
out["seam"] = seam
print(json.dumps(out), flush=True)
os._exit(0)
"""


def _has_qgis() -> bool:
    py = shutil.which("python3", path="/usr/bin")
    return bool(py) and subprocess.run([py, "-c", "import qgis.core"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _has_qgis(), reason="QGIS Python bindings (Debian python3-qgis) not installed: "
                                            "apt-get install python3-qgis (or `make debs` as root) to render "
                                            "the layers in QGIS itself")
def test_qgis_renders_only_legend_colours_and_no_seam(run_dir):
    p = subprocess.run(["/usr/bin/python3", "-c", _QGIS_RENDER, str(run_dir)], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    r = json.loads(p.stdout.strip().splitlines()[-1])
    from mapping.outputs.statusmix import MIX_COLOURS
    from mapping.outputs.styles import OUTLINE_COLOUR

    present = {f["properties"]["status_mix"] for f in _features(run_dir / "divergence.geojson")}
    legend = {MIX_COLOURS[m].lower() for m in present}
    for name in ("gpkg", "geojson"):
        assert r[name]["valid"] and r[name]["ok"], name
        assert set(r[name]["legend"]) == legend, name
    # "Zoom to layer" on the GeoPackage: Russia (~8,000 km across), not the world.
    x0, y0, x1, y1 = r["gpkg"]["extent"]
    assert 6.5e6 < x1 - x0 < 9.5e6, r["gpkg"]
    # Every rendered pixel is a legend colour, the outline colour or the white background.
    allowed = legend | {OUTLINE_COLOUR.lower(), "#ffffff"}
    total = sum(r["pixels"].values())
    stray = {c: n for c, n in r["pixels"].items() if c not in allowed}
    assert sum(stray.values()) <= 0.001 * total, sorted(stray.items(), key=lambda kv: -kv[1])[:10]
    assert sum(n for c, n in r["pixels"].items() if c in legend) > 0.2 * total
    # No seam: across Chukotka, the pixels on the 180th meridian have Chukotka's fill, not the outline.
    chu = next(f["properties"]["fill"].lower() for f in _features(run_dir / "divergence.geojson")
               if f["properties"]["region_code"] == "RU-CHU")
    assert r["seam"].count(chu) >= 4, r["seam"]
