"""Tricky but valid files (synthetic, written here in the shapes real exports take): each is read with its
values checked, and a file that does not name its indicator asks for it in one line."""

from __future__ import annotations

import pytest

import layouts as L
from mapping.config import InputFile
from mapping.errors import MappingError
from mapping.ingest.read import detect_format, read_input

NBSP, NNBSP = "\u00a0", "\u202f"


def _values(tidy, *cols):
    return {tuple(r[:-1]): r[-1] for r in tidy[list(cols) + ["value"]].itertuples(index=False)}


def test_tidy_table_with_a_russian_header(tmp_path):
    path = L.write_csv(tmp_path / "занятость.csv", [
        ["Регион", "ОКВЭД2", "Год", "Значение", "Единица"],
        ["Белгородская область", "C", "2021", "12,5", "тыс. человек"],
        ["RU-BRY", "Обрабатывающие производства", "2021", "3,25", "тыс. человек"],
        ["г. Москва", "F", "2020", "1 234,5", "тыс. человек"]], delimiter=";")
    assert detect_format(path) == "tidy"
    read = read_input(InputFile(path=path, indicator="employment"))
    t = read.tidy
    assert _values(t, "region_code", "activity_code", "year") == {
        ("RU-BEL", "C", 2021): 12.5, ("RU-BRY", "C", 2021): 3.25, ("RU-MOW", "F", 2020): 1234.5}
    assert set(t["unit"]) == {"thousand persons"} and set(t["level"]) == {"section"}
    assert set(t["classification"]) == {"OKVED2"} and set(t["indicator"]) == {"employment"}
    assert any("'Регион' -> region_code" in n for n in read.ledger.notes)


def test_tidy_table_with_an_extra_free_text_column(tmp_path):
    head = L.tidy_rows()[0]
    path = L.write_csv(tmp_path / "with_comment.csv", [
        head + ["comment"],
        ["2021", "RU-BEL", "C", "OKVED2", "section", "employment", "1.5", "thousand persons", "", "t",
         'revised, see "note 3"; 2022'],
        ["2021", "RU-BRY", "C", "OKVED2", "section", "employment", "2", "thousand persons", "", "t", ""]])
    t = read_input(InputFile(path=path)).tidy
    assert _values(t, "region_code") == {("RU-BEL",): 1.5, ("RU-BRY",): 2.0}
    assert "comment" not in t.columns


def test_tidy_table_without_an_indicator_column_takes_the_option(tmp_path):
    path = L.write_csv(tmp_path / "emp.csv", [["year", "region_code", "activity_code", "value", "unit"],
                                             ["2021", "RU-BEL", "C", "1.5", "thousand persons"],
                                             ["2021", "RU-BRY", "10", "2", "thousand persons"]])
    assert detect_format(path) == "tidy"  # not mistaken for a wide table
    t = read_input(InputFile(path=path, indicator="employment")).tidy
    assert _values(t, "region_code", "activity_code", "level") == {("RU-BEL", "C", "section"): 1.5,
                                                                    ("RU-BRY", "10", "division"): 2.0}
    assert set(t["indicator"]) == {"employment"}


def test_a_file_that_names_no_indicator_asks_for_it_in_one_line(tmp_path):
    path = L.write_csv(tmp_path / "emp.csv", [["year", "region_code", "activity_code", "value", "unit"],
                                             ["2021", "RU-BEL", "C", "1.5", "thousand persons"]])
    with pytest.raises(MappingError) as err:
        read_input(InputFile(path=path))
    msg = str(err.value)
    assert "does not name its indicator; pass it for this input, e.g. --option indicator=" in msg
    assert "\n" not in msg and "year" not in msg.split(";")[0]  # never asks for years of a layout it lacks


@pytest.mark.parametrize("space", [NBSP, NNBSP, " "])
@pytest.mark.parametrize("delimiter", [";", ","])
def test_wide_table_with_no_break_space_thousands(tmp_path, space, delimiter):
    rows = [["Регион", "C", "ДОБЫЧА ПОЛЕЗНЫХ ИСКОПАЕМЫХ", "TOTAL"],
            ["Белгородская область", f"12{space}345,5", "3", f"20{space}000"],
            ["г. Москва", f"1{space}234{space}567", "…", f"2{space}400{space}000,25"]]
    path = L.write_csv(tmp_path / "wide.csv", rows, delimiter=delimiter)
    t = read_input(InputFile(path=path, years=(2021,), indicator="employment", unit="persons")).tidy
    v = _values(t, "region_code", "activity_code")
    assert v[("RU-BEL", "C")] == 12345.5 and v[("RU-BEL", "TOTAL")] == 20000.0
    assert v[("RU-MOW", "C")] == 1234567.0 and v[("RU-MOW", "TOTAL")] == 2400000.25


def test_emiss_export_without_a_unit_line(tmp_path):
    rows = L.emiss_org_rows()
    rows[0] = ["Количество организаций по данным государственной регистрации с 2017 г."]  # no "(единица, ...)"
    read = read_input(InputFile(path=L.write_csv(tmp_path / "orgs.csv", rows)))
    t = read.tidy
    assert set(t["unit"]) == {"count"} and set(t["indicator"]) == {"establishments"}
    v = _values(t, "region_code", "activity_code", "year")
    assert v[("RU-BEL", "C", 2021)] == 210.0 and v[("RU-MOW", "B", 2020)] == 20.0
    assert any("the file states none; count taken" in n for n in read.ledger.notes)


def _activity_sheet(num: int, activity: str, scale: float) -> list[list]:
    rows = L.annex_rows((2017, 2018), title=f"12.2.{num}.  «{activity}» в соответствии с ОКВЭД21)",
                        unit="(в фактически действовавших ценах; миллионов рублей)", year_marker="")
    rows.insert(3, ["12.2. ОБЪЕМ ОТГРУЖЕННЫХ ТОВАРОВ СОБСТВЕННОГО ПРОИЗВОДСТВА, ВЫПОЛНЕННЫХ РАБОТ И УСЛУГ"])
    return [[c * scale if isinstance(c, float) else c for c in r] for r in rows]


def test_annex_workbook_with_one_activity_per_sheet(tmp_path):
    path = L.write_xlsx(tmp_path / "annex12.xlsx", {
        "Содержание": [["12. Промышленное производство"]],
        "12.2.4.": _activity_sheet(4, "Добыча полезных ископаемых", 1.0),
        "12.2.5.": _activity_sheet(5, "Обрабатывающие производства", 10.0)})
    t = read_input(InputFile(path=path)).tidy
    assert set(t["indicator"]) == {"shipments"} and set(t["unit"]) == {"million RUB"}
    v = _values(t, "region_code", "activity_code", "year")
    bel = L.SUBJECTS["Белгородская область"]
    assert v[("RU-BEL", "B", 2017)] == pytest.approx(bel)
    assert v[("RU-BEL", "C", 2017)] == pytest.approx(10 * bel)
    assert v[("RU-BEL", "C", 2018)] == pytest.approx(10 * round(bel * 1.05, 3))
