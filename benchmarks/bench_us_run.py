"""The US run (``config/us_cbp.toml``: real CBP 2011, 51 states x ~1,000 6-digit NAICS industries), whole command.

Runs ``clustermap run --config config/us_cbp.toml`` in a fresh process on a temporary output root with an
empty cache, then prints the command's wall time, its split (Prefect start-up, each stage, writing) as the
flow measured it (``manifest.json`` ``stage_seconds``), and the run folder's size per file and in total (bytes of
distinct files: ``divergence.csv`` is a hard link to ``divergence_pairs.csv``; the total counting it twice
is printed too). Targets: wall time <= 90 s and folder <= 60 MB on the 2-CPU machine.
Baseline measured in the same run: the default Russian refresh (``clustermap run``, 85 regions x 21
sections), so the ratio shows what the US scale costs over the same fixed start-up.

Needs ``../shared/data/us`` (the CBP files). Run: ``.venv/bin/python benchmarks/bench_us_run.py``.
"""

from __future__ import annotations

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
CLI = [sys.executable, "-m", "flows.cli"]


def _run(config: Path | None, out: Path) -> tuple[float, Path]:
    """One cold ``clustermap run``; returns the wall time and the published folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONPATH=str(ROOT))
    cmd = [*CLI, "run", "--output-root", str(out)] + (["--config", str(config)] if config else [])
    t = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t
    if res.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    latest = next(p for p in out.rglob("latest") if (p / "manifest.json").is_file())
    return wall, latest.resolve()


def _sizes(folder: Path) -> tuple[list[tuple[str, int]], int, int]:
    files = sorted(((p.name, p.stat().st_size, p.stat().st_ino) for p in folder.iterdir() if p.is_file()),
                   key=lambda x: -x[1])
    distinct = {ino: size for _, size, ino in files}
    return [(n, s) for n, s, _ in files], sum(distinct.values()), sum(s for _, s, _ in files)


def main() -> None:
    us_config = ROOT / "config" / "us_cbp.toml"
    if not (ROOT.parent / "shared" / "data" / "us").is_dir():
        sys.exit("../shared/data/us not found: the US run reads the CBP files from there")
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        base_wall, _ = _run(None, Path(tmp) / "ru")
        wall, folder = _run(us_config, Path(tmp) / "us")
        timings = json.loads((folder / "manifest.json").read_text())["stage_seconds"]
        files, distinct, counted = _sizes(folder)
    rows = [(k, f"{v:.1f}") for k, v in timings.items() if isinstance(v, (int, float))]
    print(table(rows, ("US run: step (manifest stage_seconds)", "seconds")))
    print(table([(n, f"{s / 1e6:.2f}") for n, s in files], ("file", "MB")))
    print(f"US run: {wall:.1f} s wall (target <= 90 s); run folder {distinct / 1e6:.1f} MB of distinct files "
          f"(target <= 60 MB; {counted / 1e6:.1f} MB counting the linked divergence.csv twice)")
    print(f"baseline, default Russian refresh in the same session: {base_wall:.1f} s wall; "
          f"US / baseline = {wall / base_wall:.2f}x")


if __name__ == "__main__":
    main()
