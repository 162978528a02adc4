"""Implausible inputs refused by the run: totals that contradict their declared-exact parts, and activity
codes of a classification the registry does not hold (synthetic tidy files)."""

from __future__ import annotations

import pytest

import layouts as L
from mapping.config import InputFile, RunConfig, SpecialisationSection, GeodataSection
from mapping.errors import MappingError
from mapping.pipeline import load_inputs

HEAD = L.tidy_rows()[0]


def _row(region, act, value, level="section", cls="OKVED2"):
    return ["2021", region, act, cls, level, "employment", value, "thousand persons", "", "synthetic"]


def _file(tmp_path, total="35"):
    return L.write_csv(tmp_path / "emp.csv", [HEAD, _row("RU-BEL", "C", "1.5"), _row("RU-BEL", "F", "2"),
                                              _row("RU-BEL", "TOTAL", total, level="total"),
                                              _row("RU-BRY", "C", "4"), _row("RU-BRY", "TOTAL", "3", level="total")])


def _config(path, exact=(), open_classes=None):
    return RunConfig(inputs=(InputFile(path=path),), specialisation=SpecialisationSection(exact_totals=exact),
                     geodata=GeodataSection(open_classifications=open_classes or {}))


def test_declared_exact_total_ten_times_its_parts_is_refused(tmp_path):
    with pytest.raises(MappingError) as err:
        load_inputs(_config(_file(tmp_path), exact=("employment",)))
    msg = str(err.value)
    assert "declared exact" in msg
    assert "emp.csv row 4: RU-BEL employment 2021 total 35, its section rows (from row 2) sum to 3.5" in msg
    assert "emp.csv row 6: RU-BRY employment 2021 total 3, its section rows (from row 5) sum to 4" in msg


def test_declared_exact_total_that_matches_passes(tmp_path):
    path = L.write_csv(tmp_path / "emp.csv", [HEAD, _row("RU-BEL", "C", "1.5"), _row("RU-BEL", "F", "2"),
                                              _row("RU-BEL", "TOTAL", "3.5", level="total")])
    load_inputs(_config(path, exact=("employment",)))


def test_parts_above_a_total_not_declared_exact_are_a_warning_in_the_ledger(tmp_path):
    inputs = load_inputs(_config(_file(tmp_path)))  # RU-BEL 35 >= 3.5 is fine; RU-BRY 4 > 3 is not
    notes = [n for led in inputs.ledgers for n in led.to_dict()["notes"] if n.startswith("warning")]
    assert notes == ["warning: RU-BRY employment 2021: the section rows sum to 4, above the region total 3 "
                     "(row 6); one of them is wrong"]


def test_unregistered_classification_is_refused(tmp_path):
    path = L.write_csv(tmp_path / "x.csv", [HEAD, _row("RU-BEL", "=HYPERLINK(1)", "1", cls="FOO")])
    with pytest.raises(MappingError, match=r"x.csv row 2: classification 'FOO' is not in the activity registry"):
        load_inputs(_config(path))


def test_open_classification_accepts_only_its_pattern(tmp_path):
    good = L.write_csv(tmp_path / "good.csv", [HEAD, _row("RU-BEL", "C10", "1", cls="NACE2"),
                                               _row("RU-BRY", "C11", "2", cls="NACE2")])
    tidy = load_inputs(_config(good, open_classes={"NACE2": r"[A-U]\d{0,2}"})).tidy
    assert sorted(tidy["activity_code"]) == ["C10", "C11"]
    bad = L.write_csv(tmp_path / "bad.csv", [HEAD, _row("RU-BEL", "C10", "1", cls="NACE2"),
                                             _row("RU-BRY", "=HYPERLINK(1)", "2", cls="NACE2")])
    with pytest.raises(MappingError, match=r"bad.csv row 3: '=HYPERLINK\(1\)'"):
        load_inputs(_config(bad, open_classes={"NACE2": r"[A-U]\d{0,2}"}))
