"""The refresh flow on the embedded default data, checked against the contract and the original files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

from mapping.config import load_config

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = ["location_quotients.csv", "activity_groups.csv", "candidate_clusters.geojson",
            "supported_clusters.geojson", "divergence.geojson", "clusters.gpkg", "report.md", "manifest.json"]
LAYERS = ["candidate_clusters", "supported_clusters", "divergence"]


@pytest.fixture(scope="module")
def default_run(prefect_harness, tmp_path_factory):
    """One real run of the Prefect flow on the default config, into a temporary output root."""
    from flows.refresh import refresh

    out = tmp_path_factory.mktemp("outputs")
    cfg = load_config(ROOT / "config" / "default.toml")
    cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update={"output_root": out})})
    run_dir = refresh(cfg)
    return out, Path(run_dir)


def test_run_publishes_every_contract_file_to_latest(default_run):
    out, run_dir = default_run
    latest = out / "latest"
    assert latest.resolve() == run_dir.resolve()
    assert run_dir.parent == out / "runs" and not list((out / "runs").glob(".*partial"))
    for f in REQUIRED:
        assert (latest / f).stat().st_size > 0, f
    manifest = json.loads((latest / "manifest.json").read_text())
    for inp in manifest["inputs"]:
        assert inp["rows_read"] == inp["rows_used"] + sum(inp["rows_dropped"].values())
        assert len(inp["sha256"]) == 64
    listed = {o["file"]: o for o in manifest["outputs"]}
    assert set(REQUIRED) - {"manifest.json"} <= set(listed)
    assert manifest["regions_without_geometry"] == ["RU-X-CR", "RU-X-SEV"]
    assert "prefect_startup" not in manifest["stage_seconds"] or manifest["stage_seconds"]["prefect_startup"] >= 0


@pytest.mark.parametrize("tool", ["check_contract.py", "check_lq_audit.py"])
def test_shared_contract_checkers_pass(default_run, shared, tool):
    out, _ = default_run
    res = subprocess.run([sys.executable, str(shared / "tools" / tool), str(out / "latest")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def _ring_area(ring):
    x, y = np.asarray(ring)[:, 0], np.asarray(ring)[:, 1]
    return float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) / 2)


@pytest.mark.parametrize("layer", LAYERS)
def test_geojson_read_back_with_gdal_and_rfc7946_rules(default_run, layer):
    out, _ = default_run
    path = out / "latest" / f"{layer}.geojson"
    raw = json.loads(path.read_text(encoding="utf-8"))
    gdf = pyogrio.read_dataframe(path)
    assert len(gdf) == len(raw["features"]) > 0
    assert gdf.crs.to_epsg() == 4326 and "crs" not in raw
    assert gdf.geometry.is_valid.all() and not gdf.geometry.is_empty.any()
    keys = {tuple(sorted(f["properties"])) for f in raw["features"]}
    assert len(keys) == 1
    ids = [f["id"] for f in raw["features"]]
    assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == len(ids)
    for f in raw["features"]:
        assert all(not isinstance(v, (dict, list)) for v in f["properties"].values())
        polys = f["geometry"]["coordinates"] if f["geometry"]["type"] == "MultiPolygon" else [f["geometry"]["coordinates"]]
        for poly in polys:
            assert _ring_area(poly[0]) > 0  # exterior counter-clockwise
            for ring in poly:
                xs = np.asarray(ring)[:, 0]
                assert np.all(np.abs(np.diff(xs)) <= 180) and np.all(np.abs(xs) <= 180)
                assert all(len(repr(float(v)).split(".")[1]) <= 6 for v in np.asarray(ring)[:20].ravel())


def test_chukotka_split_at_the_antimeridian(default_run):
    out, _ = default_run
    raw = json.loads((out / "latest" / "divergence.geojson").read_text(encoding="utf-8"))
    chu = [f for f in raw["features"] if f["properties"]["region_code"] == "RU-CHU"]
    assert chu, "Chukotka is specialised in mining and must appear in the divergence layer"
    xs = [p[0] for poly in chu[0]["geometry"]["coordinates"] for ring in poly for p in ring]
    assert min(xs) <= -179.9 and max(xs) >= 179.9


def test_gpkg_has_the_three_layers(default_run):
    out, _ = default_run
    names = {name for name, _ in pyogrio.list_layers(out / "latest" / "clusters.gpkg")}
    assert set(LAYERS) <= names
    for layer in LAYERS:
        n_gpkg = pyogrio.read_info(out / "latest" / "clusters.gpkg", layer=layer)["features"]
        n_json = pyogrio.read_info(out / "latest" / f"{layer}.geojson")["features"]
        assert n_gpkg == n_json


def _emiss_establishments_2021(path: Path) -> pd.DataFrame:
    """Independent reading of the EMISS org-count export: section rows (no indentation), 2021 column."""
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        lines = list(csv.reader(f))
    years = lines[2]
    col = years.index("2021")
    for line in lines[4:]:
        if len(line) <= col or not line[2] or line[2].startswith(" ") or not line[col].strip():
            continue
        rows.append({"region": line[1].strip(), "activity": line[2].strip(), "value": float(line[col])})
    df = pd.DataFrame(rows)
    # The two parents are replaced by their parts (the default nested_units = "parts").
    parents = df["region"].isin(["Архангельская область", "Тюменская область"])
    return df.loc[~parents & ~df["activity"].str.startswith("Всего")]


def test_establishment_lq_matches_an_independent_reading_of_the_original_file(default_run, shared):
    out, _ = default_run
    raw = _emiss_establishments_2021(shared / "data/ru/emiss_org_count_region_okved2/rosstat-org-stats.csv")
    moscow = raw["region"].str.contains("Москва")
    ict = raw["activity"] == "ДЕЯТЕЛЬНОСТЬ В ОБЛАСТИ ИНФОРМАЦИИ И СВЯЗИ"
    assert moscow.sum() == 21 and ict.sum() == raw["region"].nunique()
    expected = ((raw.loc[moscow & ict, "value"].sum() / raw.loc[moscow, "value"].sum())
                / (raw.loc[ict, "value"].sum() / raw["value"].sum()))
    lq = pd.read_csv(out / "latest" / "location_quotients.csv", dtype={"activity_code": str})
    got = lq.loc[(lq["indicator"] == "establishments") & (lq["region_code"] == "RU-MOW") & (lq["activity_code"] == "J")
                 & (lq["year"] == 2021)]
    assert len(got) == 1
    assert got["lq"].iloc[0] == pytest.approx(expected, rel=1e-9)
    assert got["value"].iloc[0] == raw.loc[moscow & ict, "value"].sum()


def test_gva_value_is_share_times_grp_from_the_original_workbooks(default_run, shared):
    import openpyxl

    base = shared / "data/ru/gva_structure_region_okved"
    ws = openpyxl.load_workbook(base / "VRP_OKVED2_s2016.xlsx", read_only=True, data_only=True)["2021"]
    header = [c for c in next(ws.iter_rows(min_row=4, max_row=4, values_only=True))]
    j_col = header.index("Раздел J")
    share = next(r[j_col] for r in ws.iter_rows(min_row=6, values_only=True) if r[1] and "Москва" in r[1])
    wb = openpyxl.load_workbook(base / "VRP.xlsx", read_only=True, data_only=True)
    labels = [r[0] for r in wb["Per Capita"].iter_rows(values_only=True)]
    totals = list(wb["Total"].iter_rows(values_only=True))
    year_col = list(totals[0]).index(2021)
    row = next(i for i, lab in enumerate(labels) if lab and "Москва" in str(lab) and "столица" in str(lab))
    grp = totals[row][year_col]
    lq = pd.read_csv(default_run[0] / "latest" / "location_quotients.csv", dtype={"activity_code": str})
    got = lq.loc[(lq["indicator"] == "gva") & (lq["region_code"] == "RU-MOW") & (lq["activity_code"] == "J")
                 & (lq["year"] == 2021), "value"]
    assert len(got) == 1 and got.iloc[0] == pytest.approx(share * grp / 100, rel=1e-5)


def test_divergence_csv_is_the_pairs_table_stored_once(default_run):
    out, _ = default_run
    latest = out / "latest"
    # The version-1 name of the pair table: the same file (a hard link), or a copy where links fail.
    assert (latest / "divergence.csv").read_bytes() == (latest / "divergence_pairs.csv").read_bytes()
    manifest = json.loads((latest / "manifest.json").read_text())
    sha = {f["file"]: f["sha256"] for f in manifest["outputs"]}
    assert sha["divergence.csv"] == sha["divergence_pairs.csv"]


def test_divergence_statuses_follow_the_lq_table(default_run):
    out, _ = default_run
    latest = out / "latest"
    lq = pd.read_csv(latest / "location_quotients.csv", dtype={"activity_code": str})
    # The map's year: the latest year both specialisation indicators have (shipments end in 2021).
    year = json.loads((latest / "manifest.json").read_text())["analysis"]["year"]
    assert year == 2021 and set(lq["year"]) == set(range(2016, 2023))
    spec = lq.loc[lq["indicator"].isin(["gva", "shipments"]) & (lq["level"] == "section") & (lq["year"] == year)]
    specialised = set(map(tuple, spec.loc[spec["specialised"], ["region_code", "activity_code"]].to_numpy()))
    div = pd.read_csv(latest / "divergence.csv", dtype={"activity_code": str}, keep_default_na=False)
    assert not div.duplicated(["region_code", "activity_code"]).any()  # exactly one status per pair
    for r in div.itertuples():
        is_spec = (r.region_code, r.activity_code) in specialised
        supported = r.supported_cluster_ids != ""
        expected = ("aligned" if supported and is_spec else "supported_not_specialised" if supported
                    else "specialised_not_supported")
        assert r.status == expected, r
    # Every specialised pair appears.
    assert specialised <= set(zip(div["region_code"], div["activity_code"]))
    sup = pd.read_csv(latest / "supported_clusters.csv", keep_default_na=False)
    assert len(sup) == 25 and set(sup["status"]) <= {"aligned", "supported_not_specialised"}
    st = sup.set_index("cluster_id")["status"]
    # Known cases: Kemerovo's coal (section B) is far above twice the national average;
    # the Saint Petersburg + Leningrad cluster is compared in both regions.
    assert st["PITC-04"] == "aligned"
    assert ("RU-KEM", "B") in specialised
    pitc20 = div.loc[div["supported_cluster_ids"].str.contains("PITC-20")]
    assert set(pitc20["region_code"]) == {"RU-SPE", "RU-LEN"}
    # The Arkhangelsk cluster is compared on both parts of the oblast (nested_units = parts).
    pitc02 = div.loc[div["supported_cluster_ids"].str.contains("PITC-02")]
    assert set(pitc02["region_code"]) == {"RU-ARK-X", "RU-NEN"}


def test_spb_and_leningrad_form_a_cross_regional_candidate(default_run):
    out, _ = default_run
    cand = pd.read_csv(out / "latest" / "candidate_clusters.csv", keep_default_na=False)
    # Neighbours merge when specialised in a shared activity of the same group (the candidate is then
    # contiguous and every region shares an activity with a neighbour in it). So Saint Petersburg's and
    # Leningrad Oblast's candidates of one group that hold a common activity must be one candidate.
    spb = cand.loc[cand["region_codes"].str.split(";").map(lambda c: "RU-SPE" in c)]
    len_ = cand.loc[cand["region_codes"].str.split(";").map(lambda c: "RU-LEN" in c)]
    for a in spb.itertuples():
        for b in len_.itertuples():
            if a.group_id == b.group_id and set(a.activity_codes.split(";")) & set(b.activity_codes.split(";")):
                assert a.candidate_id == b.candidate_id, (a.candidate_id, b.candidate_id)
    assert (cand["n_regions"] == cand["region_codes"].str.count(";") + 1).all()
