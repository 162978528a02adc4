"""Tests for mapping.readers: small fixtures in each Rosstat layout, plus checks on the real files."""

from __future__ import annotations

import math
from pathlib import Path

import openpyxl
import pytest

from mapping.errors import MappingError
from mapping.ingest.layouts.annex import read_rosstat_annex
from mapping.ingest.layouts.cells import RAW_COLUMNS, parse_cell
from mapping.ingest.layouts.emiss import read_emiss_csv
from mapping.ingest.layouts.gva import read_gva_structure, read_vrp_total

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
RU = SHARED / "data" / "ru"
ANNEX = RU / "rosstat_regions_2022_annex"


def _need_shared() -> None:
    if not RU.is_dir():
        pytest.skip(f"real Rosstat files not available: {RU} is absent")


def _write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


# --------------------------------------------------------------------------- parse_cell

@pytest.mark.parametrize(
    ("cell", "value", "flag"),
    [(761.5, 761.5, ""), (2021, 2021.0, ""), ("…", math.nan, "suppressed"), ("…3)", math.nan, "suppressed"),
     ("... 1)", math.nan, "suppressed"), ("...", math.nan, "suppressed"), ("-", 0.0, "absent"),
     ("–", 0.0, "absent"), (None, math.nan, "empty"), ("  ", math.nan, "empty"), ("1\xa0234,5", 1234.5, ""),
     ("в 2,5 р.", math.nan, "unparsed")],
    ids=["float", "int", "ellipsis", "ellipsis-marker", "dots-marker", "dots", "dash", "en-dash", "none",
         "blank", "nbsp-comma", "text"],
)
def test_parse_cell(cell, value, flag):
    got_value, got_flag, raw = parse_cell(cell)
    assert got_flag == flag
    assert (math.isnan(got_value) and math.isnan(value)) or got_value == value
    assert raw == ("" if cell is None else str(cell))


# --------------------------------------------------------------------------- annex layout

ANNEX_ROWS = [
    [],
    ["Социально-экономические показатели по субъектам Российской Федерации"],
    [" 2. ТРУД"],
    ["ЗАНЯТОСТЬ И БЕЗРАБОТИЦА"],
    ["2.3. СРЕДНЕГОДОВАЯ ЧИСЛЕННОСТЬ ЗАНЯТЫХ1);2)"],
    ["(тысяч человек)"],
    [None, 2019, "20202)", 2021],
    ["Российская Федерация", 100.0, 90.0, 95.5],
    ["Центральный\nфедеральный округ", 40.0, 35.0, 38.0],
    ["Белгородская область", 10.0, "…3)", 12.25],
    [None],
    ["Архангельская область", 7.0, 7.0, 7.5],
    ["в том числе: "],
    ["Ненецкий автономный округ", "-", 1.0, 1.5],
    ["Архангельская область       без автономного округа", 7.0, 6.0, None],
    ["________"],
    ["1) Расчет на основе сведений из различных источников."],
    ["2) Данные уточнены."],
]


@pytest.fixture()
def annex_file(tmp_path):
    return _write_xlsx(tmp_path / "Раздел 2 - Труд.xlsx", {"Раздел 2": [["содержание"]], "2.3.": ANNEX_ROWS})


def test_annex_reads_every_data_row(annex_file):
    df, meta = read_rosstat_annex(annex_file, "2.3.")
    assert list(df.columns) == RAW_COLUMNS
    assert df["source_row"].nunique() == 6  # RF, district, 2 subjects, 2 parts
    assert len(df) == 6 * 3
    assert meta["table"] == "2.3"
    assert meta["title"] == "СРЕДНЕГОДОВАЯ ЧИСЛЕННОСТЬ ЗАНЯТЫХ"
    assert meta["title_markers"] == "1);2)"
    assert meta["unit"] == "тысяч человек"
    assert meta["years"] == [2019, 2020, 2021]
    assert meta["year_markers"] == {2020: "2)"}
    assert meta["header_row"] == 7 and meta["first_data_row"] == 8 and meta["footnote_row"] == 16
    assert meta["skipped"] == {"blank": 2, "title/header": 6, "в том числе:": 1, "footnote": 3}
    assert len(meta["footnotes"]) == 2


def test_annex_keeps_labels_and_flags(annex_file):
    df, _ = read_rosstat_annex(annex_file, "2.3.")
    labels = list(dict.fromkeys(df["region_label"]))
    assert labels[1] == "Центральный\nфедеральный округ"  # not stripped or collapsed
    assert labels[-1] == "Архангельская область       без автономного округа"
    cell = df.set_index(["source_row", "year"])
    assert cell.loc[(10, 2020), "flag"] == "suppressed" and cell.loc[(10, 2020), "raw"] == "…3)"
    assert math.isnan(cell.loc[(10, 2020), "value"])
    assert cell.loc[(10, 2021), "value"] == 12.25 and cell.loc[(10, 2021), "source_col"] == "D"
    assert cell.loc[(14, 2019), "flag"] == "absent" and cell.loc[(14, 2019), "value"] == 0.0
    assert cell.loc[(15, 2021), "flag"] == "empty"
    assert set(df["activity_label"]) == {""}
    assert set(df["source_sheet"]) == {"2.3."} and set(df["source_file"]) == {"Раздел 2 - Труд.xlsx"}


def test_annex_without_footnote_line_stops_at_numbered_footnote(tmp_path):
    rows = ANNEX_ROWS[:15] + [["1) Данные не публикуются."]]
    path = _write_xlsx(tmp_path / "a.xlsx", {"8.1.": rows})
    df, meta = read_rosstat_annex(path, "8.1.")
    assert df["source_row"].nunique() == 6 and meta["footnote_row"] == 16


def test_annex_missing_sheet_lists_sheets(annex_file):
    with pytest.raises(MappingError, match=r"no sheet '2\.3'.*did you mean '2\.3\.'.*'Раздел 2'"):
        read_rosstat_annex(annex_file, "2.3")


def test_annex_html_saved_as_xlsx(tmp_path):
    path = tmp_path / "Раздел 2 - Труд.xlsx"
    path.write_text("<!DOCTYPE html><html><body>Too many requests</body></html>", encoding="utf-8")
    with pytest.raises(MappingError, match=r"Раздел 2 - Труд\.xlsx: not a valid \.xlsx workbook.*HTML"):
        read_rosstat_annex(path, "2.3.")


def test_annex_no_year_header(tmp_path):
    path = _write_xlsx(tmp_path / "a.xlsx", {"2.3.": [["2.3. ЗАНЯТЫЕ"], ["Российская Федерация", "много"]]})
    with pytest.raises(MappingError, match=r"a\.xlsx, sheet '2\.3\.': no year header found"):
        read_rosstat_annex(path, "2.3.")


def test_annex_year_header_typo_names_cell(tmp_path):
    rows = [r[:] for r in ANNEX_ROWS]
    rows[6] = [None, 2019, 20009, 2021]
    path = _write_xlsx(tmp_path / "a.xlsx", {"12.10.": rows})
    with pytest.raises(MappingError, match=r"sheet '12\.10\.', row 7: .*column C = 20009"):
        read_rosstat_annex(path, "12.10.")


def test_annex_no_russia_row(tmp_path):
    rows = ANNEX_ROWS[:7] + [["Белгородская область", 1, 2, 3]]
    path = _write_xlsx(tmp_path / "a.xlsx", {"2.3.": rows})
    with pytest.raises(MappingError, match="no 'Российская Федерация' row"):
        read_rosstat_annex(path, "2.3.")


def test_annex_value_without_label(tmp_path):
    rows = ANNEX_ROWS[:9] + [[None, 1.0, 2.0, 3.0]]
    path = _write_xlsx(tmp_path / "a.xlsx", {"2.3.": rows})
    with pytest.raises(MappingError, match=r"row 10, column B: value 1 in a row without a label"):
        read_rosstat_annex(path, "2.3.")


def test_annex_russia_label_with_latin_lookalike(tmp_path):
    rows = [r[:] for r in ANNEX_ROWS]
    rows[7] = ["Российская Федеpация", 1, 2, 3]  # Latin "p", as in sheet 11.1.
    path = _write_xlsx(tmp_path / "a.xlsx", {"11.1.": rows})
    df, meta = read_rosstat_annex(path, "11.1.")
    assert meta["first_data_row"] == 8 and df["region_label"].iloc[0] == "Российская Федеpация"


# --------------------------------------------------------------------------- GVA structure layout

def _gva_sheet(year_in_title: int) -> list[list]:
    return [
        [None, "          К содержанию"],
        [None, f"Отраслевая структура валовой добавленной стоимости субъектов Российской Федерации в "
               f"{year_in_title} г.1) \n(в текущих ценах; в процентах к итогу)"],
        [None, None, "Валовая добавленная стоимость в основных ценах", "в том числе"],
        [None, None, None, "Раздел A", "Раздел О"],
        ["name", None, None, "Сельское хозяйство", "Государственное управление"],
        ["Российская Федерация", "Российская Федерация из суммы субъектов Российской Федерации", 100, 4.5, 95.5],
        ["=INDEX('2009'!A:A,MATCH(B7,'2009'!B:B,0))", "Центральный федеральный округ", 100, 3.2, 96.8],
        ["=INDEX('2009'!A:A,MATCH(B8,'2009'!B:B,0))", " г.Москва", 100, 0.1, 99.9],
        [None, None],
        ["=INDEX('2009'!A:A,MATCH(B10,'2009'!B:B,0))", "    в т.ч. Ненецкий автономный округ", 100, 0, 100],
        [None, "1) Данные динамического ряда, начиная с 2016 года, содержат изменения."],
    ]


@pytest.fixture()
def gva_file(tmp_path):
    return _write_xlsx(tmp_path / "VRP_OKVED2_s2016.xlsx",
                       {"2015": _gva_sheet(2015), "2021": _gva_sheet(2021), "2023": _gva_sheet(2022)})


def test_gva_structure_reads_sections_from_column_b(gva_file):
    df, meta = read_gva_structure(gva_file, 2021)
    assert list(df.columns) == RAW_COLUMNS
    assert meta["classification"] == "OKVED2" and meta["title_year"] == 2021
    assert meta["unit"] == "в текущих ценах; в процентах к итогу"
    assert list(dict.fromkeys(df["activity_label"])) == ["Валовая добавленная стоимость в основных ценах",
                                                        "Раздел A", "Раздел О"]
    assert meta["activity_names"]["Раздел О"] == "Государственное управление"
    assert df["source_row"].nunique() == 4
    moscow = df.set_index(["region_label", "activity_label"]).loc[(" г.Москва", "Раздел О")]
    assert moscow["value"] == 99.9 and moscow["source_col"] == "E" and moscow["source_row"] == 8
    assert "=INDEX" not in " ".join(df["region_label"])  # column A ignored
    assert meta["skipped"]["footnote"] == 1 and meta["skipped"]["blank"] == 1


def test_gva_structure_okved2007_before_2016(gva_file):
    _, meta = read_gva_structure(gva_file, 2015)
    assert meta["classification"] == "OKVED2007"


def test_gva_structure_copied_sheet_raises(gva_file):
    with pytest.raises(MappingError, match=r"VRP_OKVED2_s2016\.xlsx, sheet '2023', row 2: the title says 2022"):
        read_gva_structure(gva_file, 2023)


def test_gva_structure_missing_year(gva_file):
    with pytest.raises(MappingError, match=r"no sheet '2030'.*'2015'; '2021'; '2023'"):
        read_gva_structure(gva_file, 2030)


# --------------------------------------------------------------------------- VRP.xlsx layout

def test_vrp_total_flags_unlabelled_district_rows(tmp_path):
    path = _write_xlsx(tmp_path / "VRP.xlsx", {"Per Capita": [["OKATO", 2020]], "Total": [
        ["OKATO", 2020, 2021],
        ["Белгородская область", 997330.9, 1359965.6],
        ["Республика Крым", None, 614282.9],
        ["#N/A", 10577620.1, 16682107],
        [None, None, None],
    ]})
    df = read_vrp_total(path)
    assert list(df.columns) == RAW_COLUMNS and len(df) == 6
    assert df.loc[df["region_label"].eq("#N/A"), "flag"].eq("aggregate_unlabelled").all()
    assert df.loc[df["region_label"].eq("Республика Крым") & df["year"].eq(2020), "flag"].item() == "empty"
    meta = df.attrs["meta"]
    assert meta["aggregate_unlabelled_rows"] == 1 and meta["skipped"] == {"title/header": 1, "blank": 1}
    assert df.loc[df["region_label"].eq("Белгородская область") & df["year"].eq(2021), "source_col"].item() == "C"


# --------------------------------------------------------------------------- EMISS CSV layouts

ORG_CSV = (
    '"Количество организаций по данным государственной регистрации с 2017 г. (единица, Всего)",,,,,\n'
    ",,,,,\n"
    ",,,2020,2021,2022\n"
    ",,,на 1 октября,на 1 октября,на 1 октября\n"
    '"ВСЕГО (по всем формам собственности)",        Белгородская область,'
    '"СЕЛЬСКОЕ, ЛЕСНОЕ ХОЗЯЙСТВО, ОХОТА, РЫБОЛОВСТВО И РЫБОВОДСТВО",991,965,923\n'
    '"ВСЕГО (по всем формам собственности)",        Белгородская область,            Лесозаготовки,,5,6\n'
    '"ВСЕГО (по всем формам собственности)",            Ненецкий автономный округ (Архангельская область),'
    "ОБРАБАТЫВАЮЩИЕ ПРОИЗВОДСТВА,…,-,3\n"
)

SHIP_CSV = (
    "region,production_field,2019,2020\n"
    "Российская Федерация,ДОБЫЧА ПОЛЕЗНЫХ ИСКОПАЕМЫХ,18324126764.6,14498899587.47\n"
    "Российская Федерация,    Добыча угля,1392653943.1,1100662073.7\n"
    "    Центральный федеральный округ,ОБРАБАТЫВАЮЩИЕ ПРОИЗВОДСТВА,1.5,2.5\n"
)


def test_emiss_org_count_layout(tmp_path):
    path = tmp_path / "rosstat-org-stats.csv"
    path.write_text(ORG_CSV, encoding="utf-8")
    df, meta = read_emiss_csv(path)
    assert list(df.columns) == RAW_COLUMNS + ["region_depth", "activity_depth", "breakdown_label"]
    assert meta["years"] == [2020, 2021, 2022] and meta["period_note"] == "на 1 октября"
    assert meta["unit"] == "единица, Всего" and meta["header_row"] == 3
    assert meta["skipped"] == {"title/header": 3, "blank": 1}
    assert df["source_row"].nunique() == 3 and len(df) == 9
    logging_row = df.loc[df["activity_label"].eq("Лесозаготовки")]
    assert logging_row["activity_depth"].eq(3).all() and logging_row["region_depth"].eq(2).all()
    assert logging_row["region_label"].eq("Белгородская область").all()
    assert logging_row.loc[logging_row["year"].eq(2020), "flag"].item() == "empty"
    nen = df.loc[df["region_label"].str.startswith("Ненецкий")].set_index("year")
    assert nen["region_depth"].eq(3).all()
    assert nen.loc[2020, "flag"] == "suppressed" and nen.loc[2021, "flag"] == "absent"
    assert nen.loc[2022, "value"] == 3.0 and nen.loc[2022, "source_col"] == "6" and nen.loc[2022, "source_row"] == 7
    assert set(df["breakdown_label"]) == {"ВСЕГО (по всем формам собственности)"}
    assert set(df["source_sheet"]) == {""}


def test_emiss_shipments_layout(tmp_path):
    path = tmp_path / "regional_production_2017_2020.csv"
    path.write_text(SHIP_CSV, encoding="utf-8")
    df, meta = read_emiss_csv(path)
    assert meta["years"] == [2019, 2020] and meta["header_row"] == 1 and meta["skipped"] == {"title/header": 1}
    assert df["source_row"].nunique() == 3
    coal = df.loc[df["activity_label"].eq("Добыча угля")]
    assert coal["activity_depth"].eq(1).all() and coal["region_depth"].eq(0).all()
    cfd = df.loc[df["region_label"].eq("Центральный федеральный округ")]
    assert cfd["region_depth"].eq(1).all() and set(df["breakdown_label"]) == {""}


def test_emiss_no_year_header(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("region,field,value\nA,B,1\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"x\.csv: no year header found"):
        read_emiss_csv(path)


def test_emiss_not_utf8(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("region,production_field,2019\nМосква,C,1\n".encode("cp1251"))
    with pytest.raises(MappingError, match="not UTF-8"):
        read_emiss_csv(path)


# --------------------------------------------------------------------------- real files

def _resolved_kinds(labels) -> dict[str, int]:
    from mapping.ingest.registry import load_region_registry, resolve_region_labels

    reg = load_region_registry()
    kind = dict(zip(reg["region_code"], reg["kind"]))
    codes = resolve_region_labels(labels, registry=reg, source="test")
    out: dict[str, int] = {}
    for code in set(codes.values()):
        out[kind[code]] = out.get(kind[code], 0) + 1
    return out


def test_real_annex_employment():
    _need_shared()
    df, meta = read_rosstat_annex(ANNEX / "Раздел 2 - Труд.xlsx", "2.3.")
    assert meta["unit"] == "тысяч человек" and meta["years"][-1] == 2021
    assert df["source_row"].nunique() == 96
    rf = df.loc[df["region_label"].eq("Российская Федерация") & df["year"].eq(2021)]
    assert rf["value"].item() == 70817.9 and rf["source_col"].item() == "W" and rf["source_row"].item() == 8
    assert meta["skipped"]["в том числе:"] == 2
    assert _resolved_kinds(df["region_label"].unique()) == {"country": 1, "federal_district": 8, "subject": 85,
                                                            "remainder": 2}


def test_real_annex_shipments_year_marker_and_suppression():
    _need_shared()
    df, meta = read_rosstat_annex(ANNEX / "Раздел 12 - Промышленное производство.xlsx", "12.2.2.")
    assert meta["year_markers"] == {2020: "2)"} and meta["title"].endswith("ОКВЭД2")
    cell = df.loc[df["region_label"].eq("Еврейская автономная область") & df["year"].eq(2021)]
    assert cell["flag"].item() == "suppressed" and cell["raw"].item() == "…3)"


def test_real_annex_header_typo_is_reported():
    _need_shared()
    with pytest.raises(MappingError, match="column K = 20009"):
        read_rosstat_annex(ANNEX / "Раздел 12 - Промышленное производство.xlsx", "12.10.")


def test_real_gva_structure_moscow_manufacturing():
    _need_shared()
    df, meta = read_gva_structure(RU / "gva_structure_region_okved" / "VRP_OKVED2_s2016.xlsx", 2021)
    assert meta["classification"] == "OKVED2"
    cell = df.loc[df["region_label"].eq(" г.Москва") & df["activity_label"].eq("Раздел C")]
    assert cell["value"].item() == pytest.approx(15.6) and cell["source_col"].item() == "F"
    assert df["source_row"].nunique() == 96
    assert "Раздел О" in set(df["activity_label"])  # Cyrillic О kept raw
    with pytest.raises(MappingError, match="sheet '2024'.*title says 2022"):
        read_gva_structure(RU / "gva_structure_region_okved" / "VRP_OKVED2_s2016.xlsx", 2024)


def test_real_vrp_total():
    _need_shared()
    df = read_vrp_total(RU / "gva_structure_region_okved" / "VRP.xlsx")
    assert df.attrs["meta"]["aggregate_unlabelled_rows"] == 7
    labelled = df.loc[df["flag"].ne("aggregate_unlabelled"), "region_label"].unique()
    assert _resolved_kinds(labelled) == {"subject": 85, "remainder": 2}


def test_real_emiss_org_count():
    _need_shared()
    df, meta = read_emiss_csv(RU / "emiss_org_count_region_okved2" / "rosstat-org-stats.csv")
    assert df["source_row"].nunique() == 3315 and meta["years"] == list(range(2017, 2023))
    assert df["region_label"].nunique() == 85
    top = df.loc[df["activity_depth"].eq(0), "activity_label"].unique()
    assert sum(1 for a in top if a == a.upper()) == 21
    # 83 subjects + the two "without the okrugs" remainders; no Crimea or Sevastopol in this export.
    assert _resolved_kinds(df["region_label"].unique()) == {"subject": 83, "remainder": 2}


def test_real_emiss_shipments_matches_annex():
    _need_shared()
    df, _ = read_emiss_csv(RU / "emiss_shipments_region_okved2" / "regional_production_2017_2020.csv")
    assert df["source_row"].nunique() == 604
    emiss = df.loc[df["region_label"].eq("Российская Федерация") & df["activity_label"].eq(
        "ДОБЫЧА ПОЛЕЗНЫХ ИСКОПАЕМЫХ") & df["year"].eq(2017), "value"].item()
    annex, _ = read_rosstat_annex(ANNEX / "Раздел 12 - Промышленное производство.xlsx", "12.2.2.")
    rf = annex.loc[annex["region_label"].eq("Российская Федерация") & annex["year"].eq(2017), "value"].item()
    assert emiss / 1000 == pytest.approx(rf, rel=1e-6)  # the EMISS file is in thousand rubles
