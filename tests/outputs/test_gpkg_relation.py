"""The join divergence -> divergence_pairs in a real run's clusters.gpkg, as GDAL and QGIS see it.

GDAL reads the OGC Related Tables Extension; QGIS 3.22 reads the project stored in the GeoPackage.
Expected values come from the run's other files (``divergence.geojson``, ``divergence_pairs.csv``,
the ``.qml`` sidecars), not from the GeoPackage writer.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from _default_run import default_run

from mapping.outputs.statusmix import MIX_COLOURS

SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return default_run(tmp_path_factory).run_dir


def _feature_regions(run_dir: Path) -> list[str]:
    doc = json.loads((run_dir / "divergence.geojson").read_text(encoding="utf-8"))
    return [f["properties"]["region_code"] for f in doc["features"]]


def _pairs_csv(run_dir: Path) -> list[dict]:
    with open(run_dir / "divergence_pairs.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _system_python_has(module: str) -> bool:
    return Path(SYSTEM_PYTHON).is_file() and subprocess.run(
        [SYSTEM_PYTHON, "-c", f"import {module}"], capture_output=True).returncode == 0


# --- the tables themselves (no GIS software needed) -----------------------------------------------------------

def test_mapping_rows_are_the_region_code_join(run_dir):
    regions = set(_feature_regions(run_dir))
    pairs = _pairs_csv(run_dir)
    expected = {(p["region_code"], p["divergence_id"]) for p in pairs if p["region_code"] in regions}
    with sqlite3.connect(run_dir / "clusters.gpkg") as con:
        rel = con.execute("SELECT base_table_name, base_primary_column, related_table_name, related_primary_column, "
                          "relation_name, mapping_table_name FROM gpkgext_relations").fetchall()
        got = con.execute("SELECT d.region_code, p.divergence_id FROM divergence_pairs_mapping m "
                          "JOIN divergence d ON d.fid = m.base_id JOIN divergence_pairs p ON p.fid = m.related_id"
                          ).fetchall()
        n_rows = con.execute("SELECT count(*) FROM divergence_pairs_mapping").fetchone()[0]
        ext = con.execute("SELECT table_name, scope FROM gpkg_extensions WHERE extension_name = 'gpkg_related_tables'"
                          ).fetchall()
        listed = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents"))
    assert rel == [("divergence", "fid", "divergence_pairs", "fid", "attributes", "divergence_pairs_mapping")]
    assert set(got) == expected and len(got) == n_rows == len(expected), "one mapping row per joinable pair"
    assert sorted(ext) == [("divergence_pairs_mapping", "read-write"), ("gpkgext_relations", "read-write")]
    assert listed["divergence_pairs_mapping"] == listed["layer_styles"] == "attributes"


def _stored_project(path: Path) -> ET.Element:
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT name, metadata, content FROM qgis_projects").fetchall()
    assert [r[0] for r in rows] == ["clusters"]
    assert set(json.loads(rows[0][1])) == {"last_modified_time", "last_modified_user"}
    with zipfile.ZipFile(io.BytesIO(bytes.fromhex(rows[0][2]))) as z:  # QGIS stores the .qgz as hex text
        (name,) = z.namelist()
        assert name.endswith(".qgs")
        return ET.fromstring(z.read(name))


def test_stored_project_holds_the_layers_styles_and_relation(run_dir):
    root = _stored_project(run_dir / "clusters.gpkg")
    layers = {ml.findtext("id"): ml for ml in root.iter("maplayer")}
    by_name = {ml.findtext("layername"): lid for lid, ml in layers.items()}
    assert set(by_name) == {"candidate_clusters", "supported_clusters", "divergence", "divergence_pairs"}
    for name, lid in by_name.items():
        assert layers[lid].findtext("datasource") == f"./clusters.gpkg|layername={name}", "relative to the file"
    (rel,) = root.find("relations")
    assert rel.get("referencingLayer") == by_name["divergence_pairs"]
    assert rel.get("referencedLayer") == by_name["divergence"]
    assert [(f.get("referencingField"), f.get("referencedField")) for f in rel] == [("region_code", "region_code")]
    for name in ("candidate_clusters", "supported_clusters", "divergence"):
        sidecar = ET.fromstring((run_dir / f"{name}.qml").read_text(encoding="utf-8")).find("renderer-v2")
        stored = layers[by_name[name]].find("renderer-v2")
        assert ET.tostring(stored) == ET.tostring(sidecar), f"{name}: project style differs from {name}.qml"
    with sqlite3.connect(run_dir / "clusters.gpkg") as con:
        (wkt,) = con.execute("SELECT s.definition FROM gpkg_geometry_columns g JOIN gpkg_spatial_ref_sys s "
                             "ON s.srs_id = g.srs_id WHERE g.table_name = 'divergence'").fetchone()
    assert root.findtext("projectCrs/spatialrefsys/wkt") == wkt


# --- GDAL ---------------------------------------------------------------------------------------------------------

# The GDAL Python bindings (Debian python3-gdal, beside gdal-bin and python3-qgis) on the same libgdal as
# ogrinfo: GDAL 3.6's ogrinfo has no -json and its text output does not list relationships (3.7 does).
_GDAL_RELATIONSHIPS = r"""
import json, sys
from osgeo import gdal
gdal.UseExceptions()
ds = gdal.OpenEx(sys.argv[1], gdal.OF_VECTOR | gdal.OF_READONLY)
card = {gdal.GRC_ONE_TO_ONE: "OneToOne", gdal.GRC_ONE_TO_MANY: "OneToMany", gdal.GRC_MANY_TO_ONE: "ManyToOne",
        gdal.GRC_MANY_TO_MANY: "ManyToMany"}
out = {}
for name in ds.GetRelationshipNames() or []:
    r = ds.GetRelationship(name)
    out[name] = {"cardinality": card[r.GetCardinality()], "left_table_name": r.GetLeftTableName(),
                 "right_table_name": r.GetRightTableName(), "mapping_table_name": r.GetMappingTableName(),
                 "left_table_fields": r.GetLeftTableFields(), "right_table_fields": r.GetRightTableFields(),
                 "left_mapping_table_fields": r.GetLeftMappingTableFields(),
                 "right_mapping_table_fields": r.GetRightMappingTableFields(),
                 "related_table_type": r.GetRelatedTableType()}
print(json.dumps({"gdal": gdal.__version__, "relationships": out}))
"""


def _gdal_relationships(path: Path) -> dict:
    """Relationships as GDAL reports them: ``ogrinfo -json`` (GDAL >= 3.7) or the GDAL Python bindings."""
    if shutil.which("ogrinfo"):
        p = subprocess.run(["ogrinfo", "-json", "-ro", "-so", str(path)], capture_output=True, text=True)
        if p.returncode == 0 and '"relationships"' in p.stdout:
            return json.loads(p.stdout)["relationships"]
    if _system_python_has("osgeo.gdal"):
        p = subprocess.run([SYSTEM_PYTHON, "-c", _GDAL_RELATIONSHIPS, str(path)], capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0, p.stderr[-2000:]
        return json.loads(p.stdout)["relationships"]
    pytest.skip("neither ogrinfo -json (GDAL >= 3.7) nor the GDAL Python bindings (Debian python3-gdal) found: "
                "run `make debs` or apt-get install gdal-bin")


def test_gdal_reports_the_relationship(run_dir):
    rels = _gdal_relationships(run_dir / "clusters.gpkg")
    assert len(rels) == 1, rels
    (r,) = rels.values()
    assert (r["left_table_name"], r["right_table_name"]) == ("divergence", "divergence_pairs")
    assert r["mapping_table_name"] == "divergence_pairs_mapping"
    assert r["cardinality"].replace("_", "").lower() == "manytomany"
    assert (r["left_table_fields"], r["right_table_fields"]) == (["fid"], ["fid"])
    assert (r["left_mapping_table_fields"], r["right_mapping_table_fields"]) == (["base_id"], ["related_id"])
    assert r["related_table_type"] == "attributes"


def test_geopackage_passes_gdals_validator(run_dir):
    """GDAL's validate_gpkg: every requirement, including PRAGMA foreign_key_check and the extension's tables."""
    if not _system_python_has("osgeo_utils.samples.validate_gpkg"):
        pytest.skip("GDAL's validate_gpkg (Debian python3-gdal) not found: run `make debs`")
    p = subprocess.run([SYSTEM_PYTHON, "-m", "osgeo_utils.samples.validate_gpkg", str(run_dir / "clusters.gpkg")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and not p.stdout.strip() and "Exception" not in p.stderr, p.stdout + p.stderr[-2000:]


# --- QGIS ------------------------------------------------------------------------------------------------------

_QGIS_PROJECT = r"""
import json, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from qgis.core import QgsApplication, QgsProject
from qgis.gui import QgsMapCanvas
app = QgsApplication([], True); app.initQgis()
canvas = QgsMapCanvas()  # reads the project's view, as the QGIS window does
project = QgsProject.instance()
ok = project.read(f"geopackage:{sys.argv[1]}?projectName=clusters")
box = lambda e: [e.xMinimum(), e.yMinimum(), e.xMaximum(), e.yMaximum()]
out = {"ok": ok, "crs_valid": project.crs().isValid(), "layers": {}, "canvas": box(canvas.extent()),
       "order": [n.name() for n in project.layerTreeRoot().findLayers()]}
for lyr in project.mapLayers().values():
    r = lyr.renderer()
    out["layers"][lyr.name()] = {
        "valid": lyr.isValid(), "n": lyr.featureCount(), "source": lyr.source(), "renderer": r.type() if r else None,
        "extent": box(lyr.extent()), "display": lyr.displayExpression(),
        "attr": r.classAttribute() if r and r.type() == "categorizedSymbol" else None,
        "cats": {c.value(): c.symbol().color().name() for c in r.categories()}
        if r and r.type() == "categorizedSymbol" else {}}
rels = list(project.relationManager().relations().values())
out["relations"] = [{"valid": r.isValid(), "referencing": r.referencingLayer().name(),
                     "referenced": r.referencedLayer().name(), "fields": r.fieldPairs()} for r in rels]
if rels:  # the pairs QGIS lists in each region's form
    d = rels[0].referencedLayer()
    out["related"] = {f["region_code"]: sum(1 for _ in rels[0].getRelatedFeatures(f)) for f in d.getFeatures()}
print(json.dumps(out), flush=True)
os._exit(0)  # QgsApplication.exitQgis() may crash at interpreter exit on headless machines
"""


def test_qgis_opens_the_stored_project_with_the_relation(run_dir, tmp_path):
    if not _system_python_has("qgis.core"):
        pytest.skip("QGIS Python bindings (Debian python3-qgis) not installed: apt-get install python3-qgis "
                    "to open the stored project in QGIS itself")
    # The GeoPackage alone, in another folder: the project's layers must follow it.
    copy = tmp_path / "elsewhere" / "clusters.gpkg"
    copy.parent.mkdir()
    shutil.copy(run_dir / "clusters.gpkg", copy)
    p = subprocess.run([SYSTEM_PYTHON, "-c", _QGIS_PROJECT, str(copy)], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["ok"] and out["crs_valid"]
    assert out["order"] == ["supported_clusters", "candidate_clusters", "divergence", "divergence_pairs"]
    pairs = _pairs_csv(run_dir)
    for name, lyr in out["layers"].items():
        assert lyr["valid"] and lyr["source"] == f"{copy}|layername={name}", lyr
        n = len(pairs) if name == "divergence_pairs" else len(json.loads(
            (run_dir / f"{name}.geojson").read_text(encoding="utf-8"))["features"])
        assert lyr["n"] == n, name
        assert (lyr["renderer"] == "categorizedSymbol") == (name != "divergence_pairs"), name
    present = {f["properties"]["status_mix"] for f in json.loads(
        (run_dir / "divergence.geojson").read_text(encoding="utf-8"))["features"]}
    div = out["layers"]["divergence"]
    assert div["attr"] == "status_mix" and div["cats"] == {m: MIX_COLOURS[m].lower() for m in present}
    (x0, y0, x1, y1), (a0, b0, a1, b1) = out["canvas"], div["extent"]
    m = 1.0  # metres: the canvas keeps the window's aspect ratio, and its numbers their rounding
    assert x0 <= a0 + m and y0 <= b0 + m and x1 >= a1 - m and y1 >= b1 - m, "the project opens on the whole country"
    assert out["layers"]["divergence_pairs"]["display"] == "concat(\"activity_code\", ': ', \"status\")"
    assert out["relations"] == [{"valid": True, "referencing": "divergence_pairs", "referenced": "divergence",
                                 "fields": {"region_code": "region_code"}}]
    per_region = Counter(p["region_code"] for p in pairs)
    assert out["related"] == {r: per_region[r] for r in _feature_regions(run_dir)}
