"""The default refresh (``clustermap run``), split into Prefect start-up and stages, cold and cached.

Runs the real command twice in fresh processes on a temporary output root: first with an empty cache
(cold), then unchanged (cached). Stage figures come from ``<output_root>/cache/refresh-log.jsonl``
(every stage's wall time, as the flow measured it); Prefect start-up (``prefect_startup``: from the
command's start to the flow's first line, i.e. imports and the ephemeral API) is reported separately,
as is the whole command's wall time (which also includes Prefect's shutdown).
Target: the cached refresh's stage time under 20% of the cold one's. ``--busy`` runs the same with a
CPU-bound process on every core (a saturated machine) and prints the wall-time split (start-up,
stages, writing) of both runs.

Run: ``.venv/bin/python benchmarks/bench_refresh.py [--repeat N] [--busy]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: The checkout's command, run by this interpreter (the project's .venv when started as documented).
CLI = [sys.executable, "-m", "flows.cli"]
WRITING = ("write_outputs", "publish", "artifacts")


def _run(out: Path) -> dict:
    """One ``clustermap run`` of the default configuration into ``out`` (Prefect's home: ``out/.prefect``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    subprocess.run([*CLI, "run", "--output-root", str(out)], check=True, capture_output=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t
    rec = json.loads((out / "cache" / "refresh-log.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    st = rec["stage_seconds"]
    return {"wall": wall, "startup": st.get("prefect_startup", float("nan")),
            "stages": sum(v for k, v in st.items() if k != "prefect_startup" and not k.startswith("startup_")),
            "detail": st,
            "reused": [k for k, v in rec["reused"].items() if v],
            "writing": sum(v for k, v in st.items() if k in WRITING)}


def _split(run: dict) -> str:
    """Wall time as start-up (command start to the flow's first line, incl. checks and Prefect's API),
    stages (plan to divergence), writing (write, publish, artifacts) and the rest (Prefect's shutdown)."""
    startup, writing = run["startup"], run["writing"]
    stages = run["stages"] - writing
    parts = ", ".join(f"{k.removeprefix('startup_')} {v:.1f} s" for k, v in run["detail"].items()
                      if k.startswith("startup_"))
    return (f"start-up {startup:.1f} s ({parts}), stages {stages:.1f} s, writing {writing:.1f} s, "
            f"rest {run['wall'] - startup - stages - writing:.1f} s = {run['wall']:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2, help="cold/cached pairs (best of)")
    ap.add_argument("--busy", action="store_true", help="a CPU-bound process on every core during the runs")
    args = ap.parse_args()
    print(machine())
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)] \
        if args.busy else []
    cold_runs, warm_runs = [], []
    try:
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="clustermap-bench-") as d:
                out = Path(d) / "out"
                cold_runs.append(_run(out))
                warm_runs.append(_run(out))
    finally:
        for h in hogs:
            h.kill()
    cold = min(cold_runs, key=lambda r: r["stages"])
    warm = min(warm_runs, key=lambda r: r["stages"])
    order = ["plan", "load_inputs", "location_quotients", "activity_groups", "geography", "candidate_clusters",
             "divergence", "write_outputs", "publish", "artifacts"]
    stages = [k for k in order if k in cold["detail"]] + sorted(
        k for k in set(cold["detail"]) - set(order) - {"prefect_startup"} if not k.startswith("startup_"))
    rows = [(k, f"{cold['detail'][k]:.3f}", f"{warm['detail'].get(k, float('nan')):.3f}",
             "reused" if k in warm["reused"] else "") for k in stages]
    rows += [("= stages (all but Prefect start-up)", f"{cold['stages']:.3f}", f"{warm['stages']:.3f}",
              f"{warm['stages'] / cold['stages']:.1%} of cold"),
             ("Prefect start-up (reported separately)", f"{cold['startup']:.3f}", f"{warm['startup']:.3f}", ""),
             ("whole command, wall (incl. shutdown)", f"{cold['wall']:.3f}", f"{warm['wall']:.3f}", "")]
    print(f"default refresh (config/default.toml), best of {args.repeat} cold/cached pairs, each a fresh process"
          + (f", {len(hogs)} CPU-bound processes running" if hogs else ""))
    print(table(rows, ("stage", "cold s", "cached s", "")))
    if set(warm["reused"]) != {k for k in cold["detail"] if k in ("load_inputs", "location_quotients",
                                                                   "activity_groups", "geography",
                                                                   "candidate_clusters", "divergence",
                                                                   "write_outputs")}:
        print("\nwarning: the second run did not reuse every stage (were mapping/ or the data edited between "
              "the runs?); rerun the benchmark")
    print(f"\ncold:   {_split(cold)}\ncached: {_split(warm)}")
    ratio = warm["stages"] / cold["stages"]
    print(f"\ntarget: cached stage time < 20% of cold: {ratio:.1%} -> {'met' if ratio < 0.2 else 'NOT met'}")


if __name__ == "__main__":
    main()
