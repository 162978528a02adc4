"""Time to the error of a bad input or configuration (``clustermap run``), against Python's own start.

Each case runs the real command in a fresh process; the error must come before Prefect starts. The
baselines, measured in the same run: the interpreter alone (``python -c pass``) and the command's
``--help`` (its imports). Target: the error printed once, within 3 s.

Run: ``.venv/bin/python benchmarks/bench_fail_fast.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "flows.cli"]
HEADER = "year,region_code,activity_code,classification,level,indicator,value,unit,flag,source\n"


def _time(cmd: list[str], cwd: Path, repeat: int) -> tuple[float, str, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PYTHONPATH"] = str(ROOT)
    times, res = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        times.append(time.perf_counter() - t)
    return statistics.median(times), res.stdout + res.stderr, res.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per case (median)")
    args = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="clustermap-failfast-") as d:
        tmp = Path(d)
        (tmp / "unknown_region.csv").write_text(HEADER + "2021,RU-NOPE,C,OKVED2,section,employment,5,"
                                                "thousand persons,,bench\n", encoding="utf-8")
        (tmp / "negative.csv").write_text(HEADER + "2021,RU-MOW,C,OKVED2,section,employment,-5,"
                                          "thousand persons,,bench\n", encoding="utf-8")
        (tmp / "bad.toml").write_text("[run\n", encoding="utf-8")
        (tmp / "bad_value.toml").write_text((ROOT / "config" / "default.toml").read_text(encoding="utf-8")
                                            .replace("threshold = 2.0", "threshold = -1"), encoding="utf-8")
        out = ["--output-root", str(tmp / "out")]
        cases = [
            ("python -c pass (baseline)", [sys.executable, "-c", "pass"], 0),
            ("clustermap --help (baseline: imports)", [*CLI, "--help"], 0),
            ("run --input: unknown region", [*CLI, "run", "--input", str(tmp / "unknown_region.csv"), *out], 2),
            ("run --input: negative value", [*CLI, "run", "--input", str(tmp / "negative.csv"), *out], 2),
            ("run --config: not TOML", [*CLI, "run", "--config", str(tmp / "bad.toml"), *out], 2),
            ("run --config: invalid value", [*CLI, "run", "--config", str(tmp / "bad_value.toml"), *out], 2),
        ]
        rows, worst = [], 0.0
        for name, cmd, expect in cases:
            secs, text, code = _time(cmd, tmp, args.repeat)
            errors = text.count("error:")
            ok = code == expect and (expect == 0 or (errors == 1 and "Prefect" not in text))
            rows.append((name, f"{secs:.2f}", str(code), str(errors), "ok" if ok else "UNEXPECTED"))
            if expect:
                worst = max(worst, secs)
        print(f"median of {args.repeat} fresh processes per case")
        print(table(rows, ("case", "s", "exit", "'error:' lines", "")))
        started = (tmp / "out" / ".prefect").exists()
        print(f"\nPrefect started for a bad input: {'YES' if started else 'no'}")
        print(f"target: each error once, within 3 s: slowest {worst:.2f} s -> {'met' if worst <= 3 else 'NOT met'}")


if __name__ == "__main__":
    main()
