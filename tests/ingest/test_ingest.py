"""Tidy input validation: each user error gets a specific message naming file, row, column, value."""

import pandas as pd
import pytest

from mapping.errors import MappingError
from mapping.ingest.tidy import read_tidy, select_units
from mapping.ledger import FileLedger

HEADER = "year,region_code,activity_code,classification,level,indicator,value,unit,flag,source\n"
GOOD = HEADER + "2021,RU-TA,C,OKVED2,section,employment,10,persons,,test\n2021,RU-TA,J,OKVED2,section,employment,5,persons,,test\n"


def _write(tmp_path, text, name="in.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_reads_good_file_and_counts_rows(tmp_path):
    df, ledger = read_tidy(_write(tmp_path, GOOD))
    assert len(df) == 2 and ledger.rows_read == 2 and df["source_row"].tolist() == [2, 3]
    assert df["value"].dtype == float


@pytest.mark.parametrize("text,match", [
    ("", "the file is empty"),
    (HEADER, "no data rows"),
    ("year,region_code\n2021,RU-TA\n", r"missing column\(s\) \['activity_code'"),
    (HEADER + "2021,RU-TA,C,OKVED2,section,employment,-4,persons,,t\n", r"row 2, column 'value': expected >= 0, got -4"),
    (HEADER + "2021,RU-TA,C,OKVED2,section,employment,abc,persons,,t\n", r"row 2, column 'value'.*'abc'"),
    (HEADER + "2021,RU-TA,C,OKVED2,section,employment,4,persons,zzz,t\n", r"row 2, column 'flag'.*'zzz'"),
    (HEADER + "2021,RU-TA,C,OKVED2,sector,employment,4,persons,,t\n", r"row 2, column 'level'.*'sector'"),
    (HEADER + "20x1,RU-TA,C,OKVED2,section,employment,4,persons,,t\n", r"row 2, column 'year'"),
    (GOOD + "2021,RU-TA,C,OKVED2,section,employment,7,persons,,test\n", r"duplicate .*row 2: RU-TA x C x employment x 2021"),
    (GOOD + "2021,RU-BA,C,OKVED2,section,employment,7,thousand persons,,test\n", r"unit conflict: indicator 'employment'"),
    (HEADER + "2021,RU-TA,C,OKVED2,section,employment,4,persons,suppressed,t\n", r"flag 'suppressed' or 'range' with a value"),
], ids=["empty", "header-only", "missing-column", "negative", "not-a-number", "bad-flag", "bad-level",
        "bad-year", "duplicate", "unit-conflict", "suppressed-with-value"])
def test_errors(tmp_path, text, match):
    p = _write(tmp_path, text)
    with pytest.raises(MappingError, match=match) as err:
        read_tidy(p)
    assert str(p) in str(err.value)


def test_not_utf8(tmp_path):
    p = tmp_path / "cp.csv"
    p.write_bytes(GOOD.replace("test", "тест").encode("cp1251"))
    with pytest.raises(MappingError, match="not UTF-8"):
        read_tidy(p)


def test_size_limit_refused_before_reading(tmp_path):
    with pytest.raises(MappingError, match="over the configured limit"):
        read_tidy(_write(tmp_path, GOOD), max_bytes=10)


REGISTRY = pd.DataFrame({
    "region_code": ["RU", "RU-FD-NW", "RU-ARK", "RU-NEN", "RU-ARK-X", "RU-TA"],
    "kind": ["country", "federal_district", "subject", "subject", "remainder", "subject"],
    "parent_code": ["", "", "", "RU-ARK", "RU-ARK", ""]})


def _frame(codes):
    return pd.DataFrame({"year": 2021, "indicator": "gva", "level": "section", "activity_code": "C",
                         "region_code": codes, "file": "f.csv", "source_row": range(2, 2 + len(codes))})


@pytest.mark.parametrize("nested,kept,reason", [
    ("parts", {"RU-NEN", "RU-ARK-X", "RU-TA"}, "parent unit replaced by its parts"),
    ("parents", {"RU-ARK", "RU-TA"}, "part of a parent unit kept whole"),
], ids=["parts", "parents"])
def test_select_units_never_double_counts_and_accounts_rows(nested, kept, reason):
    f = _frame(["RU", "RU-FD-NW", "RU-ARK", "RU-NEN", "RU-ARK-X", "RU-TA"])
    ledger = FileLedger(file="f.csv", sha256="", rows_read=6)
    out = select_units(f, REGISTRY, {"f.csv": ledger}, nested=nested)
    assert set(out["region_code"]) == kept
    ledger.check()
    assert ledger.dropped["aggregate unit (country or federal district): used only as a check"] == 2
    assert any(reason in k for k in ledger.dropped)


def test_parent_kept_when_parts_are_absent():
    f = _frame(["RU-ARK", "RU-TA"])
    ledger = FileLedger(file="f.csv", sha256="", rows_read=2)
    out = select_units(f, REGISTRY, {"f.csv": ledger}, nested="parts")
    assert set(out["region_code"]) == {"RU-ARK", "RU-TA"}


def test_unknown_region_lists_closest():
    f = _frame(["RU-TAT"])
    with pytest.raises(MappingError, match=r"'RU-TAT' \(f.csv row 2; closest: RU-TA"):
        select_units(f, REGISTRY, {"f.csv": FileLedger("f.csv", "", 1)})


def _tidy_frame(**changes):
    import numpy as np

    df = pd.DataFrame({"year": [2021, 2022, 2022], "region_code": ["RU-MOW", "RU-SPE", "RU-SPE"],
                       "activity_code": ["C", "C", "K"], "classification": ["OKVED2"] * 3,
                       "level": ["section"] * 3, "indicator": ["employment"] * 3, "value": [1.0, np.nan, 0.0],
                       "unit": ["persons"] * 3, "flag": ["", "suppressed", ""], "source": ["s", "s", ""],
                       "source_row": [2, 3, 4]})
    for col, value in changes.items():
        df[col] = value
    for col in ("region_code", "activity_code", "classification", "level", "indicator", "unit", "flag", "source"):
        df[col] = df[col].astype(str)
    return df


@pytest.mark.parametrize("changes, passes", [
    ({}, True),
    ({"value_low": [0.5, 0.0, float("nan")]}, True),
    ({"year": [1899, 2022, 2022]}, False),
    ({"region_code": ["", "RU-SPE", "RU-SPE"]}, False),
    ({"classification": ["okved2"] * 3}, False),
    ({"indicator": ["Employment"] * 3}, False),
    ({"level": ["sections"] * 3}, False),
    ({"flag": ["", "hidden", ""]}, False),
    ({"value": [1.0, -2.0, 0.0]}, False),
    ({"value_high": [-1.0, 0.0, 1.0]}, False),
    ({"year": ["2021", "2022", "2022"]}, False),  # needs coercion: left to pandera
])
def test_schema_fast_path_agrees_with_pandera(changes, passes):
    """The distinct-value check accepts exactly the frames pandera accepts unchanged (else pandera runs)."""
    import pandera.pandas as pa

    from mapping.ingest.tidy import _passes_schema
    from mapping.schema import TIDY_SCHEMA

    df = _tidy_frame(**changes)
    optional = [c for c in ("value_low", "value_high") if c in df.columns]
    assert _passes_schema(df, optional) is passes
    if passes:
        pd.testing.assert_frame_equal(TIDY_SCHEMA.validate(df, lazy=True), df)
    elif not changes.get("year") or isinstance(changes["year"][0], int):
        with pytest.raises(pa.errors.SchemaErrors):
            TIDY_SCHEMA.validate(df, lazy=True)
