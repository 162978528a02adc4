"""GIS deliverables of a real run: GDAL reads everything, round trips, RFC 7946 rules, styles, stable ids."""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from _default_run import default_config, default_run
from shapely.geometry import shape

from mapping import pipeline
from mapping.geo.cartography import (
    COUNTRY_PROJECTIONS,
    map_projection,
    reference_longitude,
    unwrap_antimeridian,
)
from mapping.outputs.styles import (
    GROUP_PALETTE,
    SIMPLESTYLE_KEYS,
    STATUS_COLOURS,
    group_colours,
    qml_style,
)
from mapping.outputs.statusmix import MIX_COLOURS

LAYERS = {"candidate_clusters": "id", "supported_clusters": "id", "divergence": "id"}
GDAL = shutil.which("ogrinfo") and shutil.which("ogr2ogr")
needs_gdal = pytest.mark.skipif(not GDAL, reason="GDAL command-line tools (Debian gdal-bin) not installed: "
                                                  "run `make debs` or apt-get install gdal-bin")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return default_run(tmp_path_factory)


@pytest.fixture(scope="module")
def run_dir(run) -> Path:
    return run.run_dir


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def test_run_folder_has_every_deliverable(run_dir):
    for name in LAYERS:
        assert (run_dir / f"{name}.geojson").is_file()
        assert (run_dir / f"{name}.qml").is_file(), f"{name}.qml sidecar missing"
    for f in ("clusters.gpkg", "map.html", "divergence.png", "candidate_clusters.png", "report.md", "report.html"):
        assert (run_dir / f).is_file(), f
    listed = {o["file"] for o in json.loads((run_dir / "manifest.json").read_text())["outputs"]}
    assert {"map.html", "report.html", "divergence.png", "divergence.qml"} <= listed


# --- GDAL command-line clients -------------------------------------------------------------------------------

def _ogrinfo(path: Path, *layers: str) -> subprocess.CompletedProcess:
    args = ["ogrinfo", "-ro", "-so", *([] if layers else ["-al"]), str(path), *layers]
    return subprocess.run(args, capture_output=True, text=True, check=False)


@needs_gdal
@pytest.mark.parametrize("name", list(LAYERS), ids=list(LAYERS))
def test_ogrinfo_reads_geojson(run_dir, name):
    p = _ogrinfo(run_dir / f"{name}.geojson")
    assert p.returncode == 0, p.stderr
    assert "ERROR" not in p.stderr
    n = len(_features(run_dir / f"{name}.geojson"))
    assert f"Feature Count: {n}" in p.stdout


@needs_gdal
def test_ogrinfo_reads_geopackage_without_warnings(run_dir):
    p = _ogrinfo(run_dir / "clusters.gpkg", *LAYERS, "layer_styles")
    assert p.returncode == 0, p.stderr
    # Debian's GDAL 3.6 warns on GeoPackage 1.4 files; the run writes 1.2.
    assert "Warning" not in p.stderr and "ERROR" not in p.stderr, p.stderr
    for name in LAYERS:
        assert f"Layer name: {name}" in p.stdout
    assert p.stdout.count("Feature Count:") == len(LAYERS) + 1


def test_geopackage_columns_are_typed(run_dir):
    info = pyogrio.read_info(run_dir / "clusters.gpkg", layer="divergence")
    types = dict(zip(info["fields"], info["dtypes"]))
    assert types["year"].startswith("int") and types["n_aligned"].startswith("int")
    assert types["lq_max"] == "float64"
    assert types["status_mix"] == "object" and types["fill"] == "object"
    pairs = dict(zip(*[pyogrio.read_info(run_dir / "clusters.gpkg", layer="divergence_pairs")[k]
                       for k in ("fields", "dtypes")]))
    assert pairs["specialised"] == "bool" and pairs["has_geometry"] == "bool" and pairs["status"] == "object"
    cand = dict(zip(*[pyogrio.read_info(run_dir / "clusters.gpkg", layer="candidate_clusters")[k]
                      for k in ("fields", "dtypes")]))
    assert cand["n_regions"].startswith("int") and cand["cross_regional"] == "bool" and cand["max_lq"] == "float64"


def _close(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    return a == b


@needs_gdal
@pytest.mark.parametrize("name", list(LAYERS), ids=list(LAYERS))
def test_round_trip_geojson_gpkg_geojson(run_dir, tmp_path, name):
    src = run_dir / f"{name}.geojson"
    gpkg, back = tmp_path / "rt.gpkg", tmp_path / "back.geojson"
    subprocess.run(["ogr2ogr", "-f", "GPKG", str(gpkg), str(src)], check=True, capture_output=True)
    subprocess.run(["ogr2ogr", "-f", "GeoJSON", "-lco", "RFC7946=YES", "-lco", "ID_FIELD=id",
                    "-lco", "COORDINATE_PRECISION=6", str(back), str(gpkg)], check=True, capture_output=True)
    a, b = _features(src), _features(back)
    assert [f["id"] for f in a] == [f["id"] for f in b]
    for fa, fb in zip(a, b):
        assert set(fa["properties"]) == set(fb["properties"]), fa["id"]
        bad = [k for k, v in fa["properties"].items() if not _close(v, fb["properties"][k])]
        assert not bad, f"{fa['id']}: fields changed in the round trip: {bad}"
        # GDAL may promote a Polygon to a one-part MultiPolygon (the GeoPackage layer is MultiPolygon).
        ga, gb = shape(fa["geometry"]), shape(fb["geometry"])
        assert len(shapely.get_parts(ga)) == len(shapely.get_parts(gb)), fa["id"]
        assert np.allclose(shapely.get_coordinates(ga), shapely.get_coordinates(gb), rtol=0, atol=1e-6), fa["id"]


# --- RFC 7946 and the contract's property rules -------------------------------------------------------------

def _ring_area(ring) -> float:
    x, y = np.asarray(ring, dtype=float)[:, 0], np.asarray(ring, dtype=float)[:, 1]
    return float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) / 2)


def _decimals(v: float) -> int:
    s = repr(float(v))
    return 0 if "e" in s or "." not in s else len(s.split(".")[1].rstrip("0"))


def rfc7946_problems(path: Path) -> list[str]:
    """Every way ``path`` breaks the contract's GeoJSON rules (empty list when it complies)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    out = []
    if doc.get("type") != "FeatureCollection" or "crs" in doc:
        out.append("not a FeatureCollection without crs")
    keys0, ids = None, set()
    for ft in doc["features"]:
        fid = ft.get("id")
        if not isinstance(fid, str) or not fid or fid in ids:
            out.append(f"bad or duplicate id {fid!r}")
        ids.add(fid)
        props = ft["properties"]
        keys0 = keys0 or set(props)
        if set(props) != keys0:
            out.append(f"{fid}: keys differ")
        out += [f"{fid}: {k} not scalar" for k, v in props.items() if isinstance(v, (dict, list))]
        geom = ft["geometry"]
        polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        if not shape(geom).is_valid or shape(geom).is_empty:
            out.append(f"{fid}: invalid or empty geometry")
        for poly in polys:
            for i, ring in enumerate(poly):
                a = _ring_area(ring)
                if (i == 0 and a <= 0) or (i > 0 and a >= 0):
                    out.append(f"{fid}: ring {i} wound the wrong way")
                xy = np.asarray(ring, dtype=float)
                if np.any(np.abs(np.diff(xy[:, 0])) > 180):
                    out.append(f"{fid}: an edge spans more than 180 degrees")
                if np.any(np.abs(xy[:, 0]) > 180) or np.any(np.abs(xy[:, 1]) > 90):
                    out.append(f"{fid}: coordinate out of range")
                if max(_decimals(v) for v in xy[:40].ravel()) > 6:
                    out.append(f"{fid}: more than 6 decimals")
    return out


@pytest.mark.parametrize("name", list(LAYERS), ids=list(LAYERS))
def test_geojson_follows_rfc7946_rules(run_dir, name):
    problems = rfc7946_problems(run_dir / f"{name}.geojson")
    assert not problems, problems[:5]


def test_rfc7946_checker_catches_breaches(tmp_path):
    """The checker above fails on a clockwise ring, an antimeridian jump, 7 decimals and a nested property."""
    ring = [[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]  # clockwise
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "a", "properties": {"x": [1]}, "geometry": {"type": "Polygon", "coordinates": [ring]}},
        {"type": "Feature", "id": "b", "properties": {"y": 1}, "geometry": {"type": "Polygon", "coordinates": [
            [[179.1234567, 0], [-179, 0], [-179, 1], [179, 1], [179.1234567, 0]]]}}]}
    p = tmp_path / "bad.geojson"
    p.write_text(json.dumps(doc))
    text = " ".join(rfc7946_problems(p))
    for what in ("wound the wrong way", "more than 180", "6 decimals", "not scalar", "keys differ"):
        assert what in text


def test_shared_contract_checker_passes(run_dir):
    tool = Path(__file__).resolve().parents[2].parent / "shared" / "tools" / "check_contract.py"
    if not tool.is_file():
        pytest.skip(f"{tool} not found (../shared absent)")
    import sys
    p = subprocess.run([sys.executable, str(tool), str(run_dir)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-2000:]


# --- simplestyle-spec --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(LAYERS), ids=list(LAYERS))
def test_simplestyle_properties_on_every_feature(run_dir, name):
    feats = _features(run_dir / f"{name}.geojson")
    colours = group_colours({f["properties"].get("group_id", "") for f in feats})
    for f in feats:
        p = f["properties"]
        assert set(SIMPLESTYLE_KEYS) <= set(p), f["id"]
        assert p["title"] and isinstance(p["description"], str)
        assert all(isinstance(p[k], str) and len(p[k]) == 7 and p[k].startswith("#") for k in ("fill", "stroke"))
        assert 0 <= p["fill-opacity"] <= 1 and p["stroke-width"] > 0
        if name == "candidate_clusters":
            assert p["fill"] == colours[p["group_id"]]
        elif name == "divergence":
            assert p["fill"] == MIX_COLOURS[p["status_mix"]]
        else:
            assert p["fill"] == STATUS_COLOURS[p["status"]]


# --- QGIS styles ------------------------------------------------------------------------------------------

def _categories(qml: str) -> tuple[str, dict[str, str]]:
    root = ET.fromstring(qml.split("\n", 1)[1])  # skip the DOCTYPE line
    rend = root.find("renderer-v2")
    assert rend is not None and rend.get("type") == "categorizedSymbol"
    syms = {s.get("name"): s for s in rend.find("symbols")}
    out = {}
    for c in rend.find("categories"):
        # The category's colour: the first colour of its symbol layers (fill, hatch or outline line).
        props = [p for layer in syms[c.get("symbol")].iter("layer") for p in layer.findall("prop")
                 if p.get("k") in ("color", "line_color")]
        rgb = props[0].get("v")
        out[c.get("value")] = "#" + "".join(f"{int(v):02X}" for v in rgb.split(",")[:3])
    return rend.get("attr"), out


def _gpkg_styles(path: Path) -> dict[str, tuple]:
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT f_table_name, f_geometry_column, styleQML, useAsDefault FROM layer_styles").fetchall()
        contents = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall())
        geom_cols = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
    assert contents.get("layer_styles") == "attributes"
    return {r[0]: (r[1], r[2], r[3], geom_cols.get(r[0])) for r in rows}


def test_geopackage_embeds_default_styles(run_dir):
    styles = _gpkg_styles(run_dir / "clusters.gpkg")
    assert set(styles) == set(LAYERS)
    for name, (geom_col, qml, default, real_geom_col) in styles.items():
        assert default == 1 and geom_col == real_geom_col
        assert qml == (run_dir / f"{name}.qml").read_text(encoding="utf-8"), f"{name}: sidecar and embedded differ"


@pytest.mark.parametrize("name", ["divergence", "supported_clusters"])
def test_status_layers_styled_one_colour_per_category_present(run_dir, name):
    attr, cats = _categories((run_dir / f"{name}.qml").read_text(encoding="utf-8"))
    feats = _features(run_dir / f"{name}.geojson")
    col, palette = ("status_mix", MIX_COLOURS) if name == "divergence" else ("status", STATUS_COLOURS)
    assert attr == col
    present = {f["properties"][col] for f in feats}
    assert cats == {v: palette[v].upper() for v in present}, "one category per value present, no catch-all"
    assert len(set(cats.values())) == len(cats)


def test_candidates_styled_by_group(run_dir):
    attr, cats = _categories((run_dir / "candidate_clusters.qml").read_text(encoding="utf-8"))
    assert attr == "group_id"
    groups = {f["properties"]["group_id"] for f in _features(run_dir / "candidate_clusters.geojson")}
    assert groups <= set(cats)
    assert {cats[g] for g in groups} == {c.upper() for c in group_colours(groups).values()}


def test_qml_escapes_labels():
    import pandas as pd

    qml = qml_style(pd.DataFrame({"group_id": ["G01"], "group_label": ['G01: "A" & <B>']}), "candidate_clusters")
    _, cats = _categories(qml)
    assert "G01" in cats and '"A" & <B>' not in qml


# --- colour-blind safety ------------------------------------------------------------------------------------

# Machado, Oliveira & Fernandes (2009) simulation matrices, severity 1, applied to linear RGB.
_CVD = {"protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
        "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
        "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]}


def _lab(hex_colour: str, m) -> np.ndarray:
    c = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    lin = np.clip(np.asarray(m) @ lin, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ lin
    f = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(f > 0.008856, np.cbrt(f), 7.787 * f + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _min_delta_e(colours, m) -> float:
    return min(float(np.linalg.norm(_lab(a, m) - _lab(b, m))) for a, b in itertools.combinations(colours, 2))


@pytest.mark.parametrize("vision", ["normal", *_CVD], ids=["normal", *_CVD])
def test_status_colours_distinguishable_in_colour_blind_vision(vision):
    m = np.eye(3) if vision == "normal" else _CVD[vision]
    findings = ("aligned", "supported_not_specialised", "specialised_not_supported")
    assert _min_delta_e([STATUS_COLOURS[s] for s in findings], m) > 30
    # The two "no verdict" greys stay apart from the findings and from each other.
    assert _min_delta_e(list(STATUS_COLOURS.values()), m) > 20


@pytest.mark.parametrize("vision", list(_CVD), ids=list(_CVD))
def test_group_colours_distinguishable_in_colour_blind_vision(vision):
    assert _min_delta_e(GROUP_PALETTE, _CVD[vision]) > 12


def test_group_colours_stable_whichever_groups_have_candidates():
    assert group_colours(["G03"])["G03"] == group_colours(["G01", "G02", "G03"])["G03"] == GROUP_PALETTE[2]
    assert group_colours(["G10"])["G10"] == GROUP_PALETTE[0]


# --- antimeridian and projection -----------------------------------------------------------------------------

def test_unwrap_joins_chukotka(run_dir):
    d = gpd.read_file(run_dir / "divergence.geojson")
    chu = d.loc[d["region_code"] == "RU-CHU"].iloc[:1]
    assert chu.total_bounds[0] == -180 and chu.total_bounds[2] == 180, "Chukotka should be split in the GeoJSON"
    ref = reference_longitude(d)
    assert 80 < ref < 120
    whole = unwrap_antimeridian(chu, ref).geometry.iloc[0]
    assert any(p.bounds[0] < 180 < p.bounds[2] for p in shapely.get_parts(whole)), "mainland not joined at 180"
    assert whole.bounds[2] == pytest.approx(190.34, abs=0.01)
    assert whole.area == pytest.approx(chu.geometry.iloc[0].area, rel=1e-9)
    assert len(shapely.get_parts(whole)) < len(shapely.get_parts(chu.geometry.iloc[0]))


def _aea(crs) -> dict[str, float]:
    op = crs.coordinate_operation
    assert op.method_name == "Albers Equal Area"
    return {p.name: p.value for p in op.params}


def test_projection_is_equal_area_conic_centred_on_russia():
    ru = _aea(map_projection("RU", 10.0, (19, 41, 190, 82)))
    assert ru["Longitude of false origin"] == 100
    assert (ru["Latitude of 1st standard parallel"], ru["Latitude of 2nd standard parallel"]) == (52, 64)
    assert "RU" in COUNTRY_PROJECTIONS
    other = _aea(map_projection("XX", 20.0, (10, 40, 30, 60)))
    assert other["Longitude of false origin"] == 20
    assert 40 < other["Latitude of 1st standard parallel"] < other["Latitude of 2nd standard parallel"] < 60


# --- stable ids -----------------------------------------------------------------------------------------------

def test_feature_ids_stable_between_two_runs(run, tmp_path):
    """A second, independent computation on the same data writes the same ids and the same features.

    The second run recomputes every stage and writes the layers through the pipeline's own table
    writer (``_write_tables``, what ``write_run`` calls), without the maps, to stay fast.
    """
    cfg = default_config(tmp_path)
    inputs = pipeline.load_inputs(cfg)
    analysis = pipeline.compute_location_quotients(inputs, cfg)
    matrix, groups = pipeline.compute_activity_groups(analysis, cfg)
    geography = pipeline.load_geography(inputs, cfg)
    candidates = pipeline.detect_candidates(analysis, groups, geography)
    divergence = pipeline.compare_supported(analysis, inputs, cfg)
    pipeline._write_tables(tmp_path, inputs, analysis, matrix, groups, geography, candidates, divergence, config=cfg)
    for name in LAYERS:
        first, second = _features(run.run_dir / f"{name}.geojson"), _features(tmp_path / f"{name}.geojson")
        assert len(first) > 0
        assert [f["id"] for f in first] == [f["id"] for f in second], name
        assert first == second, f"{name}: same ids but different features"


# --- QGIS itself (optional: Debian python3-qgis) ----------------------------------------------------------------

_QGIS_SCRIPT = r"""
import json, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from qgis.core import QgsApplication, QgsVectorLayer
app = QgsApplication([], False); app.initQgis()
out = {}
for name in sys.argv[2:]:
    for src in (f"{sys.argv[1]}/clusters.gpkg|layername={name}", f"{sys.argv[1]}/{name}.geojson"):
        lyr = QgsVectorLayer(src, name, "ogr")
        msg, ok = lyr.loadDefaultStyle()  # what QGIS does when the layer is added
        r = lyr.renderer()
        out[src] = {"valid": lyr.isValid(), "ok": ok, "type": r.type(), "n": lyr.featureCount(),
                    "attr": r.classAttribute() if r.type() == "categorizedSymbol" else None,
                    "cats": {c.value(): c.symbol().color().name() for c in r.categories()}
                    if r.type() == "categorizedSymbol" else {}}
print(json.dumps(out), flush=True)
os._exit(0)  # QgsApplication.exitQgis() may crash at interpreter exit on headless machines
"""


def _has_qgis() -> bool:
    py = shutil.which("python3", path="/usr/bin")
    return bool(py) and subprocess.run([py, "-c", "import qgis.core"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _has_qgis(), reason="QGIS Python bindings (Debian python3-qgis) not installed: "
                                            "apt-get install python3-qgis to check the styles in QGIS itself")
def test_qgis_applies_the_default_styles(run_dir):
    p = subprocess.run(["/usr/bin/python3", "-c", _QGIS_SCRIPT, str(run_dir), *LAYERS], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    result = json.loads(p.stdout.strip().splitlines()[-1])
    for src, r in result.items():
        name = src.split("layername=")[-1].split("/")[-1].removesuffix(".geojson")
        assert r["valid"] and r["ok"] and r["type"] == "categorizedSymbol", src
        assert r["n"] == len(_features(run_dir / f"{name}.geojson"))
        if name == "candidate_clusters":
            assert r["attr"] == "group_id"
        elif name == "divergence":
            assert r["attr"] == "status_mix"
            present = {f["properties"]["status_mix"] for f in _features(run_dir / f"{name}.geojson")}
            assert r["cats"] == {m: MIX_COLOURS[m].lower() for m in present}
        else:
            assert r["attr"] == "status"
