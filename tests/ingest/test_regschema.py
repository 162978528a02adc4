"""The country-neutral region registry schema (mapping/ingest/regschema.py) and label conflicts naming files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mapping.errors import MappingError
from mapping.ingest.registry import (
    expand_to_units,
    leaf_units,
    load_activity_registry,
    load_region_labels,
    load_region_registry,
    resolve_region_labels,
)

ROOT = Path(__file__).resolve().parents[2]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def two_countries(tmp_path) -> Path:
    """A minimal neutral registry of two countries (synthetic): no kind for the regions, no boundary columns."""
    return _write(tmp_path / "regs.csv", "region_code,name,name_en,group\n"
                  "AA,Aland,Aland,\nBB,Beland,Beland,\n"
                  "AA1,Nord,North,AA\nAA2,Sued,South,AA\nBB1,Mitte,Centre,BB\n")


def test_neutral_columns_fill_the_internal_ones(two_countries):
    reg = load_region_registry(two_countries).set_index("region_code")
    # Codes named in `group` become groups, the rest regions ("subject" inside).
    assert reg.loc[["AA", "BB"], "kind"].tolist() == ["federal_district", "federal_district"]
    assert reg.loc[["AA1", "AA2", "BB1"], "kind"].tolist() == ["subject"] * 3
    assert reg.at["AA1", "name_ru"] == "Nord" and reg.at["AA1", "federal_district"] == "AA"
    assert reg.at["AA1", "boundary_codes"] == "AA1" and bool(reg.at["AA1", "has_boundary"])
    assert not bool(reg.at["AA", "has_boundary"])
    assert reg.attrs["path"] == str(two_countries)


def test_country_comes_from_the_column_or_the_country_row(tmp_path):
    p = _write(tmp_path / "r.csv", "region_code,name,group,kind,country\n"
               "XA,Xa,,country,\nXB,Xb,,country,\nXA1,Xa one,XA,group,\n"
               "XA11,Xa one one,XA1,region,\nXB11,Xb one one,XB,region,\nXZ9,Elsewhere,,region,XB\n")
    reg = load_region_registry(p).set_index("region_code")
    assert reg.at["XA11", "country"] == "XA"  # region -> group XA1 -> country XA
    assert reg.at["XB11", "country"] == "XB" and reg.at["XZ9", "country"] == "XB"
    assert reg.at["XA11", "name_en"] == "Xa one one"  # English name defaults to the name
    # The country row covers its own regions only.
    assert expand_to_units("XA", load_region_registry(p), nested="parts") == ["XA11"]
    assert leaf_units(load_region_registry(p), nested="parts") == ["XA11", "XB11", "XZ9"]


def test_bundled_registries_have_their_country():
    assert set(load_region_registry()["country"]) == {"RU"}
    assert set(load_region_registry(ROOT / "geodata" / "us_regions.csv")["country"]) == {"US"}


def test_both_names_of_a_column_or_a_bad_country_are_refused(tmp_path):
    p = _write(tmp_path / "r.csv", "region_code,name,name_ru\nA1,x,y\n")
    with pytest.raises(MappingError, match=r"r\.csv: use one name per column.*name/name_ru"):
        load_region_registry(p)
    q = _write(tmp_path / "q.csv", "region_code,name,country\nA1,x,Aland\n")
    with pytest.raises(MappingError, match=r"q\.csv, column 'country'.*A1"):
        load_region_registry(q)


def test_label_conflict_names_the_files_in_use(tmp_path, two_countries):
    labels = _write(tmp_path / "my_labels.csv", "region_code,label,source\nAA1,mitte,typo\n")
    with pytest.raises(MappingError) as err:
        resolve_region_labels(["Nord"], registry=load_region_registry(two_countries),
                              labels_table=load_region_labels(labels))
    msg = str(err.value)
    assert "my_labels.csv row 2" in msg and "regs.csv row 6 column name" in msg
    assert "geodata/region_labels.csv" not in msg


def test_name_equal_to_another_code_is_explained(tmp_path):
    p = _write(tmp_path / "r.csv", "region_code,name\nA1,B1\nB1,Bee\n")
    labels = _write(tmp_path / "l.csv", "region_code,label,source\n")
    with pytest.raises(MappingError, match=r"'B1' -> B1 \(.*r\.csv row 3 column region_code\) and A1 \(.*r\.csv row 2 column name\)"):
        resolve_region_labels(["Bee"], registry=load_region_registry(p), labels_table=load_region_labels(labels))


def test_a_name_shared_along_one_chain_means_the_finest_unit(tmp_path):
    p = _write(tmp_path / "r.csv", "region_code,name,group,kind\nLU,Luxembourg,,country\n"
               "LU0,Luxembourg,LU,group\nLU00,Luxembourg,LU0,region\nBE1,Bruxelles,,region\n")
    labels = _write(tmp_path / "l.csv", "region_code,label,source\n")
    got = resolve_region_labels(["Luxembourg", "LU0"], registry=load_region_registry(p),
                                labels_table=load_region_labels(labels))
    assert got == {"Luxembourg": "LU00", "LU0": "LU0"}


def test_activity_registry_accepts_name(tmp_path):
    p = _write(tmp_path / "a.csv", "classification,code,level,parent_code,name\nNACE2,C,section,,Manufacturing\n"
               "NACE2,29,division,C,Motor vehicles\n")
    acts = load_activity_registry(p)
    assert acts["name_ru"].tolist() == ["Manufacturing", "Motor vehicles"] == acts["name_en"].tolist()
    assert isinstance(pd.DataFrame(acts), pd.DataFrame)


def test_unknown_label_names_the_label_file_in_use(tmp_path, two_countries):
    labels = _write(tmp_path / "my_labels.csv", "region_code,label,source\n")
    with pytest.raises(MappingError, match=r"add the variant to .*my_labels\.csv"):
        resolve_region_labels(["Nowhere"], registry=load_region_registry(two_countries),
                              labels_table=load_region_labels(labels), source="data.csv")
