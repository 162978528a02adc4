"""Unknown labels get helpful suggestions: regions matched by name, code, ISO code, label variant and
transliteration; unknown activities name the row and suggest codes of the same level (synthetic files)."""

from __future__ import annotations

import pytest

import layouts as L
from mapping.config import InputFile
from mapping.errors import MappingError
from mapping.ingest import registry as reg
from mapping.ingest.read import read_input
from mapping.ingest.suggest import activity_suggestions, region_suggestions, transliterate

HEAD = L.tidy_rows()[0]


def _row(region="RU-BEL", act="C", level="section"):
    return ["2021", region, act, "OKVED2", level, "employment", "1", "thousand persons", "", "synthetic"]


@pytest.mark.parametrize("label, first", [
    ("Kemerovskaya oblast", "RU-KEM"), ("Kemerovskaja oblast'", "RU-KEM"), ("RU-KEMM", "RU-KEM"),
    ("Kemerovo region", "RU-KEM"), ("Татарстанская область", "RU-TA"), ("Moskva", "RU-MOW"),
    ("Sankt-Peterburg", "RU-SPE"), ("Nizhegorodskaya obl.", "RU-NIZ"), ("Брянская обл", "RU-BRY"),
])
def test_closest_region_comes_first(label, first):
    out = region_suggestions(label, reg.load_region_registry(), reg.load_region_labels())
    assert out[0].endswith(f"({first})"), out


def test_transliteration_reads_both_spellings_alike():
    assert transliterate("Кемеровская область") == transliterate("Kemerovskaja oblast'") == "kemerovskaya oblast"


@pytest.mark.parametrize("label, level, expected", [("CC", None, "C"), ("1O", "division", "10"),
                                                    ("99x", "division", "99")])
def test_activity_suggestions_stay_at_the_level(label, level, expected):
    acts = reg.load_activity_registry()
    out = activity_suggestions(label, acts, "OKVED2", level)
    level_of = dict(zip(acts.loc[acts["classification"] == "OKVED2", "code"],
                        acts.loc[acts["classification"] == "OKVED2", "level"]))
    codes = [s.split(" ", 1)[0] for s in out]
    assert expected in codes
    assert {level_of[c] for c in codes} == {level or "section"}


def test_unknown_region_in_a_file_names_the_row_and_the_right_unit(tmp_path):
    path = L.write_csv(tmp_path / "emp.csv", [HEAD, _row(), _row(), _row("Kemerovskaya oblast")])
    with pytest.raises(MappingError) as err:
        read_input(InputFile(path=path))
    msg = str(err.value)
    assert "'Kemerovskaya oblast' (closest: 'Кемеровская область – Кузбасс (RU-KEM)'" in msg
    assert "first in row 4" in msg


def test_unknown_activity_names_the_row_and_codes_of_its_level(tmp_path):
    path = L.write_csv(tmp_path / "emp.csv", [HEAD, _row(act="10", level="division"), _row(act="1O", level="division")])
    with pytest.raises(MappingError) as err:
        read_input(InputFile(path=path))
    msg = str(err.value)
    assert "'1O' (closest: '" in msg and "'10 (Производство пищевых продуктов)'" in msg
    assert "'1O' first in row 3" in msg
    assert "'O (" not in msg  # a section is not offered for a division
