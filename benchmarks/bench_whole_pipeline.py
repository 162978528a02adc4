"""The whole pipeline, outputs included, on a SYNTHETIC country of 3,000 regions x 1,000 activities.

SYNTHETIC DATA, generated here with a fixed seed: 3,000 square regions (a 60 x 50 grid of 0.2-degree
cells at 10-22 E, 40-50 N) in 30 groups, 1,000 activities in 20 sections, employment drawn from a
national structure with planted regional specialisations. Nothing describes a real place.

Every stage of :mod:`mapping.pipeline` runs in this process (no Prefect, whose start-up is measured by
``bench_refresh.py``): read and validate the inputs, location quotients, co-location groups,
geography, candidates, divergence, and ``write_run`` (CSV, GeoJSON, GeoPackage, styles, web map,
static maps, report, manifest). Printed: wall time per stage and in total, and the run folder's size
per file and in total. Target: whole pipeline <= 60 s. Baseline measured in the same process after it:
plain pandas writing only the location-quotient table (``DataFrame.to_csv`` of the same 3 M rows, the
first thing an analyst's script would publish), so the ratio says what the whole pipeline costs over
that one step on whatever machine runs it.

Run: ``.venv/bin/python benchmarks/bench_whole_pipeline.py [--regions 3000] [--activities 1000]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

YEAR = 2023
CLASSIFICATION = "SYNTH"


def make_country(folder: Path, n_regions: int, n_activities: int, *, seed: int = 7) -> Path:
    """Write the synthetic country's files and config into ``folder``; returns the config path."""
    rng = np.random.default_rng(seed)
    ncol = int(np.ceil(np.sqrt(n_regions * 1.2)))
    codes = [f"XS{i:04d}" for i in range(n_regions)]
    groups = [f"XS-G{i // 100:02d}" for i in range(n_regions)]
    cells = [shapely.box(10 + 0.2 * (i % ncol), 40 + 0.2 * (i // ncol), 10 + 0.2 * (i % ncol + 1),
                         40 + 0.2 * (i // ncol + 1)) for i in range(n_regions)]
    gpd.GeoDataFrame({"region_code": codes, "name": codes}, geometry=cells, crs=4326).to_file(
        folder / "boundaries.gpkg", layer="regions", driver="GPKG")
    regions = pd.DataFrame(
        [["XS", "Synthland", "Synthland", "", "country", "XS"]]
        + [[g, f"Gruppe {g}", f"Group {g}", "XS", "group", "XS"] for g in sorted(set(groups))]
        + [[c, f"Region {c}", f"Region {c}", g, "region", "XS"] for c, g in zip(codes, groups)],
        columns=["region_code", "name", "name_en", "group", "kind", "country"])
    regions.to_csv(folder / "regions.csv", index=False)
    pd.DataFrame(columns=["region_code", "label", "source"]).to_csv(folder / "region_labels.csv", index=False)
    sections = [f"S{i:02d}" for i in range(20)]
    acts = [f"{i:04d}" for i in range(n_activities)]
    pd.DataFrame(
        [[CLASSIFICATION, "TOTAL", "total", "", "Total", "Total"]]
        + [[CLASSIFICATION, s, "section", "", f"Sektion {s}", f"Section {s}"] for s in sections]
        + [[CLASSIFICATION, a, "division", sections[i % 20], f"Tätigkeit {a}", f"Activity {a}"]
           for i, a in enumerate(acts)],
        columns=["classification", "code", "level", "parent_code", "name", "name_en"]).to_csv(
        folder / "activities.csv", index=False)
    # Employment: a national structure times a regional size, with planted specialisations.
    base = rng.dirichlet(np.full(n_activities, 0.8))
    size = rng.lognormal(11, 0.8, n_regions)
    mult = np.where(rng.random((n_regions, n_activities)) < 0.03, rng.uniform(2, 6, (n_regions, n_activities)), 1.0)
    emp = np.round(size[:, None] * base[None, :] * mult * rng.lognormal(0, 0.2, (n_regions, n_activities)))
    tidy = pd.DataFrame({"year": YEAR, "region_code": np.repeat(codes, n_activities),
                         "activity_code": np.tile(acts, n_regions), "classification": CLASSIFICATION,
                         "level": "division", "indicator": "employment", "value": emp.ravel(),
                         "unit": "persons", "flag": "", "source": "synthetic"})
    tidy.to_parquet(folder / "employment.parquet", index=False)
    # Ten supported clusters on planted specialisations.
    hot = np.argwhere(mult > 4)[:10]
    pd.DataFrame([[f"XS-C{k}", "programme", f"Cluster {k}", f"Cluster {k}", codes[r], CLASSIFICATION, "division",
                   acts[a], "synthetic"] for k, (r, a) in enumerate(hot)],
                 columns=["cluster_id", "programme", "name", "name_en", "region_codes", "classification",
                          "activity_level", "activity_codes", "source"]).to_csv(
        folder / "supported_clusters.csv", index=False)
    out = folder / "outputs"
    config = folder / "config.toml"
    config.write_text(f"""
[run]
name = "synthetic_bench"
output_root = "{out.as_posix()}"
seed = 42

[[inputs]]
path = "employment.parquet"
format = "tidy"

[geodata]
country = "XS"
regions = "regions.csv"
region_labels = "region_labels.csv"
activities = "activities.csv"
boundaries = "boundaries.gpkg"
supported_clusters = "supported_clusters.csv"
nested_units = "parts"
neighbour_tolerance_deg = 0.001

[specialisation]
indicators = ["employment"]
level = "division"
threshold = 2.0
rule = "threshold"
count_indicators = []

[relatedness]
indicator = "employment"
measure = "correlation"
method = "agglomerative"
n_groups = "auto"
min_groups = 10
max_groups = 40
stability_resamples = 5

[spatial]
enabled = true
permutations = 99
alpha = 0.05

[execution]
cache = false
""", encoding="utf-8")
    return config


def run_pipeline(config_path: Path) -> tuple[dict[str, float], Path, pd.DataFrame]:
    from mapping import pipeline
    from mapping.config import load_config

    cfg = load_config(config_path)
    times: dict[str, float] = {}

    def timed(name, fn, *args):
        t = time.perf_counter()
        value = fn(*args)
        times[name] = time.perf_counter() - t
        return value

    inputs = timed("load_inputs", pipeline.load_inputs, cfg)
    analysis = timed("location_quotients", pipeline.compute_location_quotients, inputs, cfg)
    matrix, groups = timed("activity_groups", pipeline.compute_activity_groups, analysis, cfg)
    geography = timed("geography", pipeline.load_geography, inputs, cfg)
    candidates = timed("candidates", pipeline.detect_candidates, analysis, groups, geography)
    divergence = timed("divergence", pipeline.compare_supported, analysis, inputs, cfg)
    run_dir = timed("write_run", pipeline.write_run, cfg, inputs, analysis, matrix, groups, geography, candidates,
                    divergence)
    return times, Path(run_dir), analysis.lq


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--regions", type=int, default=3000)
    ap.add_argument("--activities", type=int, default=1000)
    args = ap.parse_args()
    # The pipeline's own progress lines (one per writing step, with its seconds) under the stage table.
    logging.basicConfig(level=logging.WARNING, format="  %(message)s")
    logging.getLogger("mapping.progress").setLevel(logging.INFO)
    print(machine())
    print(f"SYNTHETIC country: {args.regions} regions x {args.activities} activities (generated, seed 7)")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        config = make_country(Path(tmp), args.regions, args.activities)
        print(f"generated the synthetic files in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        times, run_dir, lq = run_pipeline(config)
        wall = time.perf_counter() - t
        t = time.perf_counter()
        lq.to_csv(Path(tmp) / "baseline_lq.csv", index=False)
        baseline = time.perf_counter() - t
        files = sorted(((p.name, p.stat().st_size) for p in run_dir.iterdir() if p.is_file()), key=lambda x: -x[1])
        total = sum(b for _, b in files)
        print(table([(k, f"{v:.1f}") for k, v in times.items()], ("stage", "seconds")))
        print(table([(n, f"{b / 1e6:.2f}") for n, b in files], ("file", "MB")))
        print(f"whole pipeline: {wall:.1f} s (target <= 60 s; writing {times['write_run']:.1f} s of it); "
              f"run folder {total / 1e6:.1f} MB; load average {os.getloadavg()[0]:.1f} at the end")
        print(f"baseline, pandas to_csv of the {len(lq):,} location-quotient rows alone: {baseline:.1f} s; "
              f"whole pipeline / baseline = {wall / baseline:.2f}x")


if __name__ == "__main__":
    main()
