"""Hostile and broken inputs: each case stops with the project's own error naming the file and where, in
little time and memory, and never publishes garbage. Every file is generated here (synthetic)."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import layouts as L
from mapping.config import InputFile
from mapping.errors import MappingError
from mapping.ingest import limits
from mapping.ingest.read import read_input

TIDY_HEAD = L.tidy_rows()[0]


def _tidy(tmp_path, rows, name="t.csv") -> Path:
    return L.write_csv(tmp_path / name, [TIDY_HEAD] + rows)


def _row(value="1.5", region="RU-BEL", act="C"):
    return ["2021", region, act, "OKVED2", "section", "employment", value, "thousand persons", "", "synthetic"]


def _refused(path, match, **options):
    with pytest.raises(MappingError) as err:
        read_input(InputFile(path=path, **options))
    assert re.search(match, str(err.value)), str(err.value)
    assert Path(path).name in str(err.value)
    return str(err.value)


def _rewrite_sheet(src: Path, dst: Path, fn) -> Path:
    """Copy a workbook, passing each worksheet's XML through ``fn`` (bytes -> bytes)."""
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zo:
        for info in zi.infolist():
            data = zi.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = fn(data)
            zo.writestr(info.filename, data)
    return dst


@pytest.fixture
def annex(tmp_path):
    return L.annex_workbook(tmp_path)


# --------------------------------------------------------------------------- text tables

def test_field_over_the_csv_limit_in_the_first_lines(tmp_path):
    path = _tidy(tmp_path, [_row()[:9] + ["x" * 200_000]])
    _refused(path, r"line 2: not a readable CSV: field larger than field limit")


def test_a_million_columns(tmp_path):
    path = tmp_path / "wide_cols.csv"
    with open(path, "w") as f:  # streamed: 1e6 columns, two lines
        f.write(",".join(f"c{i}" for i in range(1_000_000)) + "\n")
        f.write(",".join("1" for _ in range(1_000_000)) + "\n")
    _refused(path, r"line 1: 1000000 fields, over the limit of 16384 columns")


def test_text_table_over_the_memory_budget_is_refused_before_loading(tmp_path, monkeypatch):
    path = _tidy(tmp_path, [_row()] * 2000)
    monkeypatch.setattr(limits, "available_memory", lambda: 100_000)
    msg = _refused(path, r"needs about \d+ MB of memory \(16 x its size\)")
    assert "refused before loading" in msg


@pytest.mark.slow
def test_large_text_table_under_a_memory_cap_exits_cleanly(tmp_path):
    """A real 40 MB CSV under ``ulimit -v`` (current size + 300 MB): refused, no MemoryError traceback."""
    path = tmp_path / "big.csv"
    line = ",".join(_row()) + "\n"
    with open(path, "w") as f:
        f.write(",".join(TIDY_HEAD) + "\n")
        for _ in range(40_000_000 // len(line)):
            f.write(line)
    code = f"""
import resource, re, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from mapping.config import InputFile
from mapping.errors import MappingError
from mapping.ingest.read import read_input
vm = int(re.search(r"VmSize:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + 300 * 1024**2, resource.RLIM_INFINITY))
try:
    read_input(InputFile(path={str(path)!r}))
except MappingError as exc:
    print("REFUSED", exc)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "REFUSED" in out.stdout and "of memory" in out.stdout, out.stdout + out.stderr
    assert "Traceback" not in out.stderr


def test_values_whose_sum_overflows(tmp_path):
    path = _tidy(tmp_path, [_row("1e308"), _row("1e308", region="RU-BRY")])
    _refused(path, r"implausible value\(s\).*row 2: 1e\+308; row 3: 1e\+308")


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "1e999", "Infinity"])
def test_non_finite_text_in_csv(tmp_path, text):
    _refused(_tidy(tmp_path, [_row(text)]), r"row 2, column 'value'")


def test_inf_in_parquet_is_refused_not_missing(tmp_path):
    df = pd.DataFrame([_row("1.5"), _row("2", region="RU-BRY")], columns=TIDY_HEAD)
    df["value"] = [1.5, float("inf")]
    df["year"] = 2021
    path = tmp_path / "inf.parquet"
    df.to_parquet(path)
    _refused(path, r"row 2, column 'value': inf \(not a finite number\)")


# --------------------------------------------------------------------------- workbooks

def test_damaged_sheet_xml(tmp_path, annex):
    path = _rewrite_sheet(annex, tmp_path / "damaged.xlsx", lambda b: b[: len(b) // 2])
    _refused(path, r"sheet '2.3.': the sheet's XML is damaged", sheet="2.3.")


def test_bad_numeric_cell(tmp_path, annex):
    path = _rewrite_sheet(annex, tmp_path / "badnum.xlsx",
                          lambda b: re.sub(rb'(<c r="B8"[^>]*>)<v>[^<]*</v>', rb"\1<v>12abc</v>", b))
    _refused(path, r"sheet '2.3.': numeric cell\(s\) that are not finite numbers: cell B8 = '12abc'", sheet="2.3.")


def test_inf_numeric_cell(tmp_path, annex):
    path = _rewrite_sheet(annex, tmp_path / "infnum.xlsx",
                          lambda b: re.sub(rb'(<c r="C9"[^>]*>)<v>[^<]*</v>', rb"\1<v>INF</v>", b))
    _refused(path, r"cell C9 = 'INF'", sheet="2.3.")


def test_inf_text_cell(tmp_path):
    rows = L.annex_rows()
    rows[8][1] = "inf"
    path = L.write_xlsx(tmp_path / "inftext.xlsx", {"2.3.": rows})
    _refused(path, r"cell B9: 'inf'", sheet="2.3.")


def test_formula_cell_without_cached_value_is_refused_not_suppressed(tmp_path):
    rows = L.annex_rows()
    rows[8][1] = "=B10*2"  # openpyxl stores the formula without a value
    path = L.write_xlsx(tmp_path / "formula.xlsx", {"2.3.": rows})
    _refused(path, r"formula cell\(s\) without a stored value: formula.xlsx sheet '2.3.', cell B9: =B10\*2",
             sheet="2.3.")
    # ... also when the user asked to read unparsed text as suppressed: the value exists, it is not stored.
    _refused(path, r"formula cell\(s\) without a stored value", sheet="2.3.", unparsed="suppressed")


def test_formula_cell_with_cached_value_is_read_as_that_value(tmp_path, annex):
    # B9 holds 100 (Белгородская область, first year): make it a formula that stores 100 as its value.
    path = _rewrite_sheet(annex, tmp_path / "cached.xlsx",
                          lambda b: re.sub(rb'(<c r="B9"[^>]*>)<v>', rb"\1<f>B10*2</f><v>", b))
    tidy = read_input(InputFile(path=path, sheet="2.3.")).tidy
    bel = tidy.loc[(tidy["region_code"] == "RU-BEL") & (tidy["year"] == 2020), "value"]
    assert bel.tolist() == [L.SUBJECTS["Белгородская область"]]


def _bomb(path: Path, unpacked: int) -> Path:
    """A workbook whose one sheet is ``unpacked`` bytes of XML padding (compresses about 1000:1), streamed."""
    src = L.annex_workbook(path.parent, name="seed.xlsx")
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zo:
        for info in zi.infolist():
            if info.filename == "xl/worksheets/sheet2.xml":
                head = zi.read(info.filename)
                cut = head.index(b"<sheetData>") + len(b"<sheetData>")
                with zo.open(info.filename, "w", force_zip64=True) as f:
                    f.write(head[:cut])
                    block = b'<row r="1000000"></row>' * 45_000  # ~1 MB, valid but empty rows
                    for _ in range(unpacked // len(block)):
                        f.write(block)
                    f.write(head[cut:])
            else:
                zo.writestr(info.filename, zi.read(info.filename))
    return path


def test_zip_bomb_is_refused_before_parsing(tmp_path):
    path = _bomb(tmp_path / "bomb.xlsx", 300 * 1024**2)
    assert path.stat().st_size < 5 * 1024**2
    _refused(path, r"the workbook unpacks to \d+ bytes, over the limit", sheet="2.3.")


def test_compression_ratio_of_a_bomb_is_refused(tmp_path, monkeypatch):
    path = _bomb(tmp_path / "ratio.xlsx", 20 * 1024**2)
    _refused(path, r"unpacks \d+ times its packed size", sheet="2.3.")


def test_too_many_cells_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_CELLS", 20)
    _refused(L.annex_workbook(tmp_path), r"sheet '2.3.': more than 20 cells; refused before parsing", sheet="2.3.")


# --------------------------------------------------------------------------- the command line

def _check(monkeypatch, exc: BaseException, *args):
    from typer.testing import CliRunner

    import mapping.pipeline
    from flows.cli import app

    def boom(*_a, **_k):
        raise exc

    monkeypatch.setattr(mapping.pipeline, "load_inputs", boom)
    return CliRunner().invoke(app, ["check", *args])


@pytest.mark.parametrize("exc, expected", [
    (OSError(28, "No space left on device", "outputs/runs/x/location_quotients.csv"),
     "outputs/runs/x/location_quotients.csv: No space left on device (ENOSPC)"),
    (PermissionError(13, "Permission denied", "outputs"), "outputs: Permission denied (EACCES)"),
    (MemoryError(), "out of memory"),
    (RuntimeError("GDAL: FeatureError: No space left on device"), "(ENOSPC)"),
])
def test_environment_errors_exit_2_in_one_paragraph(monkeypatch, exc, expected):
    result = _check(monkeypatch, exc)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1


def test_debug_keeps_the_traceback(monkeypatch):
    result = _check(monkeypatch, MemoryError(), "--debug")
    assert isinstance(result.exception, MemoryError)


def test_environment_errors_are_not_retried_but_network_errors_are():
    from flows.refresh import _transient

    class State:
        def __init__(self, exc):
            self.exc = exc

        def result(self):
            raise self.exc

    assert not _transient(None, None, State(OSError(28, "No space left on device")))
    assert not _transient(None, None, State(MappingError("bad input")))
    assert not _transient(None, None, State(MemoryError()))
    assert _transient(None, None, State(TimeoutError("read timed out")))
    assert _transient(None, None, State(ConnectionResetError()))


def test_output_root_that_is_a_file_is_an_environment_error(tmp_path):
    from mapping.errors import user_error
    from mapping.outputs.runlock import reserve_run_dir

    root = tmp_path / "outputs"
    root.write_text("not a folder")
    with pytest.raises(OSError) as err:
        reserve_run_dir(root, "key")
    msg = str(user_error(err.value))
    assert "(ENOTDIR)" in msg and str(root) in msg
