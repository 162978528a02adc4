"""A second, synthetic country from its own files: examples/new_country/ run end to end by its own config.

SYNTHETIC DATA (examples/new_country/make_example.py): two countries XA and XB in the southern
hemisphere around 140-160 E (another projection zone than Russia or the US), NUTS-like codes, NACE
divisions, persons employed, pooled into one multi-country reference; boundaries in GeoJSON whose id
column is ``nuts_id``; credits and vocabulary in ``.meta.toml`` sidecars. Expected values are computed
here from the example's own files with json/csv, not taken from the pipeline.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import subprocess
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import pyproj
import pytest
from typer.testing import CliRunner

from mapping import pipeline
from mapping.config import load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "new_country"
CONFIG = EXAMPLE / "config.toml"
ATTRIBUTION = "Boundaries: synthetic example (Nordmark/Südland), CC0"
#: Words that belong to the Russian (or US) runs and must not appear in another country's report.
FOREIGN = ["federal district", "Federal District", "Russia", "Russian", "Chukotka", "Rosstat", "OKVED", "DCW",
           "LGPL", "Census region", "Albers equal-area projection centred on Russia"]


def _bounds_of_example() -> tuple[float, float, float, float]:
    """Bounding box of every boundary feature of the example, read with json."""
    xs, ys = [], []
    for feat in json.loads((EXAMPLE / "boundaries.geojson").read_text(encoding="utf-8"))["features"]:
        for poly in feat["geometry"]["coordinates"]:
            for ring in poly:
                xs += [p[0] for p in ring]
                ys += [p[1] for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def _employment() -> dict[tuple[str, str], float | None]:
    with (EXAMPLE / "employment.csv").open(encoding="utf-8") as f:
        return {(r["region_code"], r["activity_code"]): (float(r["value"]) if r["value"] else None)
                for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def run(prefect_harness, tmp_path_factory):
    """The refresh flow on examples/new_country/config.toml; the static maps' footer is recorded."""
    from flows.refresh import refresh
    from mapping.outputs import deliverables

    out = tmp_path_factory.mktemp("new_country")
    cfg = load_config(CONFIG)
    cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update={"output_root": out})})
    notes = []
    original = deliverables.write_static_maps

    def recording(*args, **kwargs):
        notes.append(kwargs.get("note", ""))
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(deliverables, "write_static_maps", recording)
        run_dir = Path(refresh(cfg))
    return {"cfg": cfg, "out": out, "dir": run_dir, "notes": notes,
            "report": (run_dir / "report.md").read_text(encoding="utf-8")}


def test_outputs_pass_the_contract(run, shared):
    tool = shared / "tools" / "check_contract.py"
    if not tool.is_file():
        pytest.skip(f"{tool} not found")
    res = subprocess.run([sys.executable, str(tool), str(run["dir"])], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:]
    assert (run["out"] / "latest").resolve() == run["dir"].resolve()


def test_attribution_comes_from_the_boundaries_metadata(run):
    report = run["report"]
    assert "synthetic example (Nordmark/Südland), CC0" in report
    assert "CC0-1.0" in report and "Eurostat, NACE Rev. 2" in report  # registry and data credits
    page = (run["dir"] / "map.html").read_text(encoding="utf-8")
    assert json.dumps(ATTRIBUTION)[1:-1] in page or ATTRIBUTION in page
    assert "DCW" not in page
    assert run["notes"] and all(n.startswith(ATTRIBUTION) for n in run["notes"])
    with sqlite3.connect(run["dir"] / "clusters.gpkg") as con:
        desc = dict(con.execute("select table_name, description from gpkg_contents where data_type = 'features'"))
    assert desc and all(d == ATTRIBUTION for d in desc.values())
    manifest = json.loads((run["dir"] / "manifest.json").read_text(encoding="utf-8"))
    roles = {c["role"]: c for c in manifest["credits"]}
    assert roles["boundaries"]["attribution"] == ATTRIBUTION and roles["data"]["licence"] == "CC0-1.0"


def test_report_speaks_the_runs_own_vocabulary(run):
    report = run["report"]
    for word in FOREIGN:
        assert word not in report, word
    assert not re.search("[\u0400-\u04ff]", report), "Cyrillic text in a report about XA and XB"
    assert "### By NUTS-1 region" in report and "names in German and English" in report
    # German first (the source language), English second.
    assert "Automobilcluster Oberland-Seegau (Upland-Lake automotive cluster)" in report
    header = next(ln for ln in report.splitlines() if ln.startswith("Run `"))
    assert "employment: LQ ≥ 2" in header and "XA, XB pooled" in header and "NACE2 divisions" in header


def test_multi_country_reference_pools_both_countries(run):
    emp = _employment()
    lq = list(csv.DictReader((run["dir"] / "location_quotients.csv").open(encoding="utf-8")))
    # Division 29 has no suppressed cell: national = sum over the 10 regions of both countries.
    nat29 = sum(v for (r, a), v in emp.items() if a == "29")
    rows = [r for r in lq if r["activity_code"] == "29"]
    assert len(rows) == 10 and {r["region_code"][:2] for r in rows} == {"XA", "XB"}
    assert all(abs(float(r["national_value"]) - nat29) < 1e-6 for r in rows)
    tot = defaultdict(float)
    for (r, a), v in emp.items():
        tot[r] += v or 0.0
    # XA11's LQ in 29 by hand (its region total has no suppressed cell).
    row = next(r for r in rows if r["region_code"] == "XA11")
    known = {r: v for r, v in tot.items()}
    nat_total = float(row["national_total"])
    expected = (emp[("XA11", "29")] / known["XA11"]) / (nat29 / nat_total)
    assert float(row["lq"]) == pytest.approx(expected, rel=1e-9)
    # The published total of the pooled area pins the suppressed cell of XB13 in division 21.
    sup = next(r for r in lq if r["region_code"] == "XB13" and r["activity_code"] == "21")
    with (EXAMPLE / "known_totals.csv").open(encoding="utf-8") as f:
        total21 = next(float(r["value"]) for r in csv.DictReader(f) if r["activity_code"] == "21")
    others = sum(v for (r, a), v in emp.items() if a == "21" and v is not None)
    assert float(sup["value_low"]) <= total21 - others <= float(sup["value_high"])
    assert float(sup["value_high"]) - float(sup["value_low"]) <= 2e-4 * total21 + 1e-6


def test_reference_by_country_uses_each_regions_own_country():
    cfg = load_config(CONFIG)
    cfg = cfg.model_copy(update={"specialisation": cfg.specialisation.model_copy(update={"reference": "country"})})
    inputs = pipeline.load_inputs(cfg)
    lq = pipeline.compute_location_quotients(inputs, cfg).lq
    emp = _employment()
    for region, ctry in (("XA11", "XA"), ("XB12", "XB")):
        nat = sum(v for (r, a), v in emp.items() if a == "29" and r.startswith(ctry))
        row = lq.loc[(lq["region_code"] == region) & (lq["activity_code"] == "29")].iloc[0]
        assert row["national_value"] == pytest.approx(nat)


def test_boundaries_with_their_own_id_column_draw_every_region(run):
    feats = json.loads((EXAMPLE / "boundaries.geojson").read_text(encoding="utf-8"))["features"]
    assert all("region_code" not in f["properties"] and f["properties"]["nuts_id"] for f in feats)
    div = json.loads((run["dir"] / "divergence.geojson").read_text(encoding="utf-8"))
    codes = {f["properties"]["region_code"] for f in div["features"]}
    assert codes and codes <= {f["properties"]["nuts_id"] for f in feats}
    manifest = json.loads((run["dir"] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["regions_without_geometry"] == []


def test_map_extent_stays_within_the_regions(run):
    minx, miny, maxx, maxy = _bounds_of_example()
    for name in ("divergence", "candidate_clusters", "supported_clusters"):
        layer = json.loads((run["dir"] / f"{name}.geojson").read_text(encoding="utf-8"))
        pts = [p for f in layer["features"] for poly in f["geometry"]["coordinates"] for ring in poly for p in ring]
        assert pts, name
        assert minx - 1e-6 <= min(p[0] for p in pts) and max(p[0] for p in pts) <= maxx + 1e-6, name
        assert miny - 1e-6 <= min(p[1] for p in pts) and max(p[1] for p in pts) <= maxy + 1e-6, name
    import geopandas as gpd
    import pyogrio

    regions = gpd.read_file(EXAMPLE / "boundaries.geojson")
    for layer in ("divergence", "candidate_clusters"):
        info = pyogrio.read_info(run["dir"] / "clusters.gpkg", layer=layer)
        x0, y0, x1, y1 = info["total_bounds"]
        # The GeoPackage may be stored projected: compare with the regions projected the same way.
        rx0, ry0, rx1, ry1 = regions.to_crs(info["crs"]).total_bounds
        tol = 1e-6 * max(abs(rx1 - rx0), abs(ry1 - ry0), 1.0)
        assert rx0 - tol <= x0 and x1 <= rx1 + tol and ry0 - tol <= y0 and y1 <= ry1 + tol, layer


def test_static_map_extent_and_projection_follow_the_data():
    """The static maps' frame (whatever mapping.outputs.staticmaps builds) lies on the example's regions."""
    import geopandas as gpd

    from mapping.outputs import staticmaps

    frame_cls = getattr(staticmaps, "_Frame", None)
    if frame_cls is None or not hasattr(frame_cls, "__init__"):
        pytest.skip("mapping.outputs.staticmaps has no _Frame to inspect")
    regions = gpd.read_file(EXAMPLE / "boundaries.geojson")
    try:
        frame = frame_cls([regions], regions, "XA")
    except TypeError:
        pytest.skip("mapping.outputs.staticmaps._Frame has another signature")
    extent = getattr(frame, "extent", None)
    if extent is None:
        pytest.skip("the static-map frame has no extent")
    lon0, lat0, lon1, lat1 = pyproj.Transformer.from_crs(frame.crs, 4326, always_xy=True).transform_bounds(*extent)
    minx, miny, maxx, maxy = _bounds_of_example()
    pad = 0.05 * max(maxx - minx, maxy - miny)
    assert minx - pad <= lon0 and lon1 <= maxx + pad and miny - pad <= lat0 and lat1 <= maxy + pad
    # Centred on the data (140-159 E, 41-30 S), not on Russia (100 E) or the US (96 W).
    with warnings.catch_warnings():  # to_dict goes through a PROJ string; the centre is all that is read
        warnings.simplefilter("ignore", UserWarning)
        centre = pyproj.CRS.from_user_input(frame.crs).to_dict()
    assert minx <= centre.get("lon_0", minx) <= maxx


def test_check_validates_the_example_and_names_the_files(tmp_path):
    from flows.cli import app

    res = CliRunner().invoke(app, ["check", "--config", str(CONFIG)])
    assert res.exit_code == 0, res.output
    assert "boundaries: 10 features" in res.output and "id column 'nuts_id'" in res.output
    # The same config with the default id column: check fails, naming the GeoJSON and the column.
    text = CONFIG.read_text(encoding="utf-8").replace('boundary_id_column = "nuts_id"', "")
    text = re.sub(r'^(\s*(?:path|regions|region_labels|activities|boundaries|supported_clusters) = ")([^"]+)"',
                  lambda m: f'{m.group(1)}{(EXAMPLE / m.group(2)).as_posix()}"', text, flags=re.M)
    text = text.replace('"known_totals.csv"', f'"{(EXAMPLE / "known_totals.csv").as_posix()}"')
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    res = CliRunner().invoke(app, ["check", "--config", str(bad)])
    assert res.exit_code == 2
    assert "boundaries.geojson" in res.output and "region_code" in res.output


def test_country_rows_are_checked_against_their_own_regions(tmp_path):
    """A wide table with each country's total: the check sums that country's regions only."""
    from flows.cli import app

    emp = _employment()
    regions = sorted({r for r, _ in emp})
    lines = ["region,29,26"] + [f"{r},{emp[(r, '29')]:.0f},{emp[(r, '26')]:.0f}" for r in regions]
    for ctry in ("XA", "XB"):
        tot = [sum(v for (r, a), v in emp.items() if a == d and r.startswith(ctry)) for d in ("29", "26")]
        lines.append(f"{ctry},{tot[0]:.0f},{tot[1]:.0f}")
    wide = tmp_path / "wide.csv"
    wide.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["check", "--config", str(CONFIG), "--input", str(wide), "--format", "wide",
                                   "--option", "years=2022", "--option", "indicator=employment", "--option",
                                   "unit=persons", "--option", "classification=NACE2", "--option", "level=division"])
    assert res.exit_code == 0, res.output
    check = next(ln for ln in res.output.splitlines() if "check country" in ln)
    assert "4 compared" in check and "largest difference 0.000%" in check
