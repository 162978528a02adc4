"""Property test: valid tidy, wide and EMISS CSVs, Parquet files and workbooks mutated at the byte and XML level (flipped,
inserted, deleted and truncated bytes, broken sheet XML, hostile cell values). Reading them may succeed
or raise the project's own MappingError; any other exception escaping the readers is a bug."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import layouts as L
from mapping.config import InputFile
from mapping.errors import MappingError
from mapping.ingest.read import read_input

SETTINGS = settings(max_examples=int(os.environ.get("MUTATION_MAX_EXAMPLES", "40")), deadline=None,
                    suppress_health_check=list(HealthCheck))
SEEDS = Path(tempfile.mkdtemp(prefix="mutation-seeds-"))
CSV_SEED = L.write_csv(SEEDS / "seed.csv", L.tidy_rows()).read_bytes()
TEXT_SEEDS = {"tidy": (CSV_SEED, {}),
              "wide": (L.write_csv(SEEDS / "wide.csv", L.wide_rows(), delimiter=";").read_bytes(),
                       {"years": (2021,), "indicator": "employment", "unit": "persons"}),
              "emiss": (L.write_csv(SEEDS / "emiss.csv", L.emiss_org_rows()).read_bytes(), {})}
WORKBOOK_SEED = L.annex_workbook(SEEDS).read_bytes()
HOSTILE = [b"inf", b"-inf", b"NaN", b"1e999", b"1e308", b"=SUM(A1)", b"\x00", b"\xff\xfe", b'"', b"\r", b"\n\n",
           b"x" * 140_000, b",", b";", b"\t", b"\xd0", b"<", b"&", b"]]>"]

EDITS = st.lists(st.tuples(st.sampled_from(["flip", "insert", "delete", "hostile"]), st.integers(0, 10**6),
                           st.integers(0, 255), st.sampled_from(HOSTILE)), min_size=1, max_size=5)


def _mutate(data: bytes, edits) -> bytes:
    b = bytearray(data)
    for op, pos, byte, hostile in edits:
        i = pos % (len(b) + 1)
        if op == "flip" and b:
            b[i % len(b)] = byte
        elif op == "insert":
            b[i:i] = bytes([byte])
        elif op == "delete":
            del b[i:i + 1 + byte % 8]
        else:
            b[i:i] = hostile
    return bytes(b)


def _read(path: Path, **options) -> None:
    try:
        read_input(InputFile(path=path, **options))
    except MappingError:
        pass


@SETTINGS
@given(EDITS, st.integers(0, 4000), st.sampled_from(sorted(TEXT_SEEDS)))
def test_mutated_text_tables(edits, cut, seed):
    data, options = TEXT_SEEDS[seed]
    data = _mutate(data, edits)
    data = data[:max(1, len(data) - cut)] if cut % 5 == 0 else data
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "t.csv"
        path.write_bytes(data)
        _read(path, **options)


@SETTINGS
@given(st.lists(st.one_of(st.floats(), st.integers(-2**63, 2**63 - 1), st.text(max_size=8), st.none()),
                min_size=4, max_size=4),
       st.sampled_from(["year", "value", "region_code", "activity_code", "flag", "level"]))
def test_mutated_tidy_parquet(values, column):
    rows = L.tidy_rows()
    df = pd.DataFrame(rows[1:], columns=rows[0])
    df["value"] = [1.5, None, 0.0, 5000.0]
    df["flag"] = ["", "suppressed", "absent", ""]
    df[column] = pd.Series(values, dtype=object)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "t.parquet"
        try:
            df.to_parquet(path)
        except Exception:  # pyarrow cannot store the mixed column: nothing to read
            return
        _read(path)


def _rewrite(data: bytes, fn) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zi, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zo:
        for info in zi.infolist():
            member = zi.read(info.filename)
            zo.writestr(info.filename, fn(info.filename, member))
    return out.getvalue()


@SETTINGS
@given(EDITS, st.sampled_from(["sheet", "shared", "workbook", "package"]))
def test_mutated_workbook(edits, target):
    if target == "package":  # bytes of the ZIP itself
        data = _mutate(WORKBOOK_SEED, edits)
    else:
        name = {"sheet": "xl/worksheets/sheet2.xml", "shared": "xl/sharedStrings.xml",
                "workbook": "xl/workbook.xml"}[target]
        data = _rewrite(WORKBOOK_SEED, lambda n, m: _mutate(m, edits) if n == name else m)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "annex.xlsx"
        path.write_bytes(data)
        _read(path, sheet="2.3.")
        _read(path)
