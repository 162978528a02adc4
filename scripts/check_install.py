"""Install the project the ordinary way and use it from an unrelated folder.

Builds the wheel (``pip wheel``), installs it into a fresh virtual environment (dependencies from the
configured package index), then, from an empty folder outside the repository and without this
checkout on ``PYTHONPATH``: ``clustermap --version``, ``clustermap check --input <example>`` and
``clustermap run`` (the default refresh), which must publish ``./outputs/latest``. Prints the wheel's
size and the time of each step; exits non-zero on the first failure.

Usage: ``python scripts/check_install.py [--keep DIR]`` (default: a temporary folder, removed after).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "own_data" / "establishments_2021.csv"


def _step(name: str, cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 1800) -> str:
    t = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    print(f"{name}: {time.perf_counter() - t:.1f} s (exit {res.returncode})", flush=True)
    if res.returncode != 0:
        sys.exit(f"{name} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res.stdout


def main(work: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")
           and not k.startswith("PREFECT_")}
    dist, venv, elsewhere = work / "dist", work / "venv", work / "elsewhere"
    elsewhere.mkdir(parents=True)
    _step("build wheel", [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
          cwd=work, env=env)
    (wheel,) = dist.glob("clustermap-*.whl")
    print(f"wheel: {wheel.name}, {wheel.stat().st_size / 1e6:.2f} MB", flush=True)
    _step("create venv", [sys.executable, "-m", "venv", str(venv)], cwd=work, env=env)
    bin_ = venv / "bin"
    _step("pip install wheel", [str(bin_ / "python"), "-m", "pip", "install", "-q", str(wheel)], cwd=work, env=env)
    version = _step("clustermap --version", [str(bin_ / "clustermap"), "--version"], cwd=elsewhere, env=env)
    if "0." not in version and "1." not in version:
        sys.exit(f"unexpected version output: {version!r}")
    out = _step("clustermap check --input", [str(bin_ / "clustermap"), "check", "--input", str(EXAMPLE)],
                cwd=elsewhere, env=env)
    if "establishments" not in out:
        sys.exit(f"check printed no ledger for the example: {out[-2000:]}")
    _step("clustermap run", [str(bin_ / "clustermap"), "run"], cwd=elsewhere, env=env)
    manifest = json.loads((elsewhere / "outputs" / "latest" / "manifest.json").read_text(encoding="utf-8"))
    installed = subprocess.run([str(bin_ / "python"), "-c", "import mapping; print(mapping.__file__)"],
                               cwd=elsewhere, env=env, capture_output=True, text=True).stdout.strip()
    if str(ROOT) in installed:
        sys.exit(f"the run used the checkout ({installed}), not the installed package")
    print(f"published {elsewhere / 'outputs' / 'latest'} -> {manifest['run_id']}; package at {installed}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="work in this (new) folder and keep it")
    args = ap.parse_args()
    if args.keep:
        main(args.keep.resolve())
    else:
        tmp = Path(tempfile.mkdtemp(prefix="clustermap-install-"))
        try:
            main(tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
