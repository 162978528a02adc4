"""Time and peak memory to refuse hostile inputs (zip bombs, a large text table under a memory cap),
against reading a valid annex workbook of the same shape (the baseline, measured in the same run).

Each case reads the file in a fresh process (``read_input``) and reports the wall time (s), the peak
resident memory (MB, ``ru_maxrss``) and the first words of the error. Targets: a zip bomb is refused
in seconds with under 500 MB of memory; a text table over the memory budget is refused before loading.

Run: ``.venv/bin/python benchmarks/bench_hostile_inputs.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import layouts as L  # noqa: E402

CHILD = """
import resource, sys, time
sys.path.insert(0, {root!r})
{limit}
from mapping.config import InputFile
from mapping.errors import MappingError
from mapping.ingest.read import read_input
t = time.perf_counter()
try:
    read_input(InputFile(path={path!r}, sheet={sheet!r}))
    out = "read"
except MappingError as exc:
    out = "refused: " + str(exc).split(": ", 1)[-1][:60]
print(round(time.perf_counter() - t, 2), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, out)
"""
CAP = """
import re
vm = int(re.search(r"VmSize:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + 500 * 1024**2, resource.RLIM_INFINITY))
"""


def bomb(path: Path, unpacked: int) -> Path:
    """An annex workbook whose sheet is padded with ``unpacked`` bytes of empty rows (streamed)."""
    seed = L.annex_workbook(path.parent, name="seed.xlsx")
    with zipfile.ZipFile(seed) as zi, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zo:
        for info in zi.infolist():
            data = zi.read(info.filename)
            if info.filename != "xl/worksheets/sheet2.xml":
                zo.writestr(info.filename, data)
                continue
            cut = data.index(b"<sheetData>") + len(b"<sheetData>")
            with zo.open(info.filename, "w", force_zip64=True) as f:
                f.write(data[:cut])
                block = b'<row r="1000000"></row>' * 45_000
                for _ in range(unpacked // len(block)):
                    f.write(block)
                f.write(data[cut:])
    return path


def run(path: Path, sheet: str | None, capped: bool = False) -> tuple[float, int, str]:
    code = CHILD.format(root=str(ROOT), path=str(path), sheet=sheet, limit=CAP if capped else "")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
    line = (res.stdout.strip().splitlines() or ["nan 0 " + res.stderr.strip()[-80:]])[-1]
    secs, mb, out = line.split(" ", 2)
    return float(secs), int(mb), out


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        valid = L.annex_workbook(d)
        rows.append(("valid annex workbook (baseline)", f"{valid.stat().st_size / 1e3:.0f} KB", *run(valid, "2.3.")))
        for unpacked in (300 * 1024**2, 1990 * 1024**2):
            t = time.perf_counter()
            p = bomb(d / f"bomb{unpacked >> 20}.xlsx", unpacked)
            made = time.perf_counter() - t
            rows.append((f"zip bomb, {unpacked >> 20} MB unpacked (built in {made:.0f} s)",
                         f"{p.stat().st_size / 1e6:.1f} MB", *run(p, "2.3.")))
        big = d / "big.csv"
        line = "2021,RU-BEL,C,OKVED2,section,employment,1.5,thousand persons,,synthetic\n"
        with open(big, "w") as f:
            f.write("year,region_code,activity_code,classification,level,indicator,value,unit,flag,source\n")
            for _ in range(150_000_000 // len(line)):
                f.write(line)
        rows.append(("150 MB tidy CSV, ulimit -v = current + 500 MB", f"{big.stat().st_size / 1e6:.0f} MB",
                     *run(big, None, capped=True)))
    print(machine())
    print(table(rows, ("case", "file", "seconds", "peak MB", "outcome")))


if __name__ == "__main__":
    main()
