"""Property tests: random and mutated tables fed to every reader.

The only acceptable outcomes are a valid result (tidy rows that pass the schema, a ledger where
read = kept + dropped) or the project's own :class:`MappingError`. Any other exception is a bug.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import layouts as L
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapping.config import REPO_ROOT, GeodataSection, InputFile
from mapping.errors import MappingError
from mapping.ingest.read import read_input
from mapping.schema import TIDY_COLUMNS

G = REPO_ROOT / "geodata"
US = GeodataSection(country="US", regions=G / "us_regions.csv", region_labels=G / "us_region_labels.csv",
                    activities=G / "naics2007.csv", boundaries=G / "us_states.gpkg", supported_clusters=None)
# FORMATS_MAX_EXAMPLES raises the number of examples for a longer hunt (the suite keeps 50).
SETTINGS = settings(max_examples=int(os.environ.get("FORMATS_MAX_EXAMPLES", "50")), deadline=None,
                    suppress_health_check=list(HealthCheck))

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=12)
CELL = st.one_of(
    st.none(), st.integers(-10**6, 10**9), st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["…", "...", "-", "x", "н/д", "1 234,5", "12,5 1)", "в 2,5 р.", "20212)", "", "  ",
                     "Российская Федерация", "abc", "Раздел C", "2021", "#N/A", "____", "в том числе:",
                     "Ненецкий автономный округ", "г. Москва", "C", "TOTAL", "-5", "1e400", "0,0"]),
    TEXT)
OPS = st.lists(st.tuples(st.sampled_from(["set", "drop_row", "dup_row", "drop_col", "swap"]),
                         st.integers(0, 40), st.integers(0, 10), CELL), max_size=6)


def mutate(rows: list[list], ops) -> list[list]:
    """Apply random edits to a table (set a cell, drop/duplicate/swap rows, drop a column)."""
    rows = [list(r) for r in rows]
    for op, i, j, v in ops:
        if not rows:
            break
        i %= len(rows)
        if op == "set":
            r = rows[i]
            if r:
                r[j % len(r)] = v
            else:
                r.append(v)
        elif op == "drop_row":
            rows.pop(i)
        elif op == "dup_row":
            rows.insert(i, list(rows[i]))
        elif op == "swap":
            k = (i + j) % len(rows)
            rows[i], rows[k] = rows[k], rows[i]
        elif op == "drop_col":
            for r in rows:
                if len(r) > 1:
                    r.pop(j % len(r))
    return rows


def as_text(rows: list[list]) -> list[list]:
    return [["" if c is None else str(c) for c in r] for r in rows]


def check(inp: InputFile, geodata: GeodataSection | None = None) -> None:
    """Read; accept a valid result or MappingError, nothing else."""
    try:
        got = read_input(inp, geodata)
    except MappingError as exc:
        assert str(exc).strip()
        return
    t = got.tidy
    assert list(t.columns[:len(TIDY_COLUMNS)]) == TIDY_COLUMNS
    assert (t["value"].dropna() >= 0).all()
    assert not t.duplicated(["year", "region_code", "activity_code", "classification", "level", "indicator"]).any()
    led = got.ledger
    assert led.rows_read == len(t) + sum(led.dropped.values())
    assert all(isinstance(v, float) and (math.isnan(v) or v >= 0) for v in t["value"])


def _dir():
    return tempfile.TemporaryDirectory()


@SETTINGS
@given(ops=OPS, enc=st.sampled_from(["utf-8", "utf-8-sig", "cp1251"]), delim=st.sampled_from([",", ";", "\t"]))
def test_tidy_csv(ops, enc, delim):
    with _dir() as d:
        rows = as_text(mutate(L.tidy_rows(), ops))
        try:
            p = L.write_csv(Path(d) / "t.csv", rows, encoding=enc, delimiter=delim)
        except UnicodeEncodeError:
            return  # the mutation holds characters cp1251 cannot store: not a file a user could have
        check(InputFile(path=p))


@SETTINGS
@given(rows=st.lists(st.lists(CELL, min_size=1, max_size=6), max_size=8))
def test_random_csv_any_format(rows):
    with _dir() as d:
        p = L.write_csv(Path(d) / "r.csv", as_text(rows))
        check(InputFile(path=p))
        check(InputFile(path=p, years=(2021,), indicator="employment", unit="persons", format="wide"))


@SETTINGS
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".xlsx", ".xls", ".parquet"]))
def test_random_bytes(data, suffix):
    with _dir() as d:
        p = Path(d) / f"b{suffix}"
        p.write_bytes(data)
        check(InputFile(path=p, sheet="2.3."))


@SETTINGS
@given(ops=OPS)
def test_annex_sheet(ops):
    with _dir() as d:
        p = L.write_xlsx(Path(d) / "a.xlsx", {"2.3.": mutate(L.annex_rows(), ops)})
        check(InputFile(path=p, sheet="2.3."))


@SETTINGS
@given(ops=OPS, ops2=OPS)
def test_gva_structure_and_grp(ops, ops2):
    with _dir() as d:
        p = L.write_xlsx(Path(d) / "VRP_OKVED2_s2016.xlsx", {"2021": mutate(L.gva_sheet(2021), ops),
                                                           "2022": L.gva_sheet(2022)})
        check(InputFile(path=p, format="gva_structure"))
        grp = [["OKATO", 2021, 2022]] + [[k, *v[1:]] for k, v in L.GRP.items()]
        L.write_xlsx(Path(d) / "VRP.xlsx", {"Total": mutate(grp, ops2)})
        check(InputFile(path=p, format="gva_structure", years=(2021,)))
        check(InputFile(path=Path(d) / "VRP.xlsx", format="grp"))


@SETTINGS
@given(ops=OPS, which=st.sampled_from(["org", "ship"]), enc=st.sampled_from(["utf-8", "cp1251"]))
def test_emiss(ops, which, enc):
    base = L.emiss_org_rows() if which == "org" else L.emiss_shipments_rows()
    with _dir() as d:
        try:
            p = L.write_csv(Path(d) / "e.csv", as_text(mutate(base, ops)), encoding=enc,
                            delimiter=";" if enc == "cp1251" else ",")
        except UnicodeEncodeError:
            return
        check(InputFile(path=p, format="emiss", indicator="shipments", unit="thousand RUB"))


@SETTINGS
@given(ops=OPS, indicator=st.sampled_from(["employment", "establishments", "payroll"]))
def test_cbp(ops, indicator):
    with _dir() as d:
        folder = L.cbp_folder(Path(d))
        f = folder / "31----.csv"
        rows = [r.split(",") for r in f.read_text(encoding="utf-8").splitlines()]
        L.write_csv(f, as_text(mutate(rows, ops)))
        check(InputFile(path=folder, indicator=indicator), US)


@SETTINGS
@given(ops=OPS, level=st.sampled_from(["division", "section"]))
def test_customs(ops, level):
    with _dir() as d:
        p = L.write_csv(Path(d) / "c.csv", as_text(mutate(L.customs_rows(), ops)), delimiter=";")
        check(InputFile(path=p, format="customs", unit="USD", level=level))


@SETTINGS
@given(ops=OPS)
def test_wide(ops):
    with _dir() as d:
        p = L.write_csv(Path(d) / "w.csv", as_text(mutate(L.wide_rows(), ops)), delimiter=";")
        check(InputFile(path=p, format="wide", years=(2021,), indicator="employment", unit="persons"))


@SETTINGS
@given(values=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none()), min_size=1, max_size=5))
def test_tidy_parquet(values):
    df = pd.DataFrame({"year": 2021, "region_code": "RU-BEL", "activity_code": [f"{c}" for c in "ABCDE"[:len(values)]],
                       "classification": "OKVED2", "level": "section", "indicator": "gva", "value": values,
                       "unit": "million RUB", "flag": "", "source": "x"})
    with _dir() as d:
        df.to_parquet(Path(d) / "t.parquet")
        check(InputFile(path=Path(d) / "t.parquet"))
