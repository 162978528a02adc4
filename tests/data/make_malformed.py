#!/usr/bin/env python
"""Write the corpus of malformed inputs in ``tests/data/malformed/`` and its table of expected errors.

Each case is one file (or folder) a user could plausibly hand to ``clustermap``, the reading options
they would give, and the message the run must stop with (a fragment of the one-paragraph error;
the message also names the file, and where it applies the sheet, row/column and value).
``tests/ingest/test_malformed.py`` reads ``expected.csv`` and checks every case through
:func:`mapping.pipeline.load_inputs`, so pipeline-level errors (mixing classifications, duplicates
across files) are covered too.

Run ``.venv/bin/python tests/data/make_malformed.py`` to rebuild (the output is deterministic apart
from the xlsx timestamps).
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import layouts as L  # noqa: E402

OUT = HERE / "malformed"
TIDY_HEAD = ["year", "region_code", "activity_code", "classification", "level", "indicator", "value", "unit",
             "flag", "source"]


def tidy(*rows, head=TIDY_HEAD) -> list[list]:
    return [head] + [list(r) for r in rows]


def row(region="RU-BEL", act="C", value="1.5", unit="thousand persons", flag="", year="2021", cls="OKVED2",
        level="section", indicator="employment"):
    return [year, region, act, cls, level, indicator, value, unit, flag, "test"]


def build() -> list[dict]:
    """Write every case; return the rows of the expected-error table."""
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    cases: list[dict] = []

    def case(name: str, expected: str, **options) -> Path:
        cases.append({"file": name, "options": json.dumps(options, ensure_ascii=False), "expected": expected})
        return OUT / name

    def text(name: str, content: bytes | str, expected: str, **options) -> None:
        p = case(name, expected, **options)
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

    def table(name: str, rows: list[list], expected: str, *, encoding="utf-8", delimiter=",", **options) -> None:
        L.write_csv(case(name, expected, **options), rows, encoding=encoding, delimiter=delimiter)

    # ---- text files, any layout
    text("empty.csv", b"", "the file is empty (0 bytes)")
    text("blank_lines.csv", "\n\n  \n", "holds no data (only blank lines)")
    text("bad_encoding.csv", b"year,region_code\n2021,\x98\x99\x98 region\n", "bad encoding: neither UTF-8 nor Windows-1251")
    text("binary.csv", b"PK\x03\x04\x00\x00\x00binary", "binary content (NUL bytes)")
    text("html_page.csv", "<!DOCTYPE html><html><body>Not found</body></html>", "an HTML page, not a data table")
    text("too_large.csv", "year,region_code\n" + "2021,RU-BEL\n" * 50, "over the configured limit of 100 bytes",
         max_bytes=100)
    text("unknown_type.dat", "year;region\n", "unknown file type '.dat'")
    # ---- tidy long tables
    table("tidy_header_only.csv", tidy(), "no data rows (only a header)")
    table("tidy_missing_column.csv", [TIDY_HEAD[:7] + TIDY_HEAD[8:]] + [row()[:7] + row()[8:]],
          "the file does not state its unit; pass it for this input")
    table("tidy_missing_value.csv", [TIDY_HEAD[:6] + TIDY_HEAD[7:]] + [row()[:6] + row()[7:]],
          "missing column(s) ['value']")
    table("tidy_unknown_region.csv", tidy(row(), row(region="Татарстанская область")),
          "unknown region label(s): 'Татарстанская область' (closest:")
    table("tidy_duplicate.csv", tidy(row(), row(value="2")), "duplicate year x region x activity x indicator rows")
    table("tidy_negative.csv", tidy(row(value="-5")), "column 'value': expected >= 0, got -5.0")
    table("tidy_unit_conflict.csv", tidy(row(), row(region="RU-BRY", unit="persons")),
          "unit conflict: indicator 'employment' has units")
    table("tidy_bad_value.csv", tidy(row(value="12abc")), "row 2, column 'value': '12abc'")
    table("tidy_bad_year.csv", tidy(row(year="20x1")), "row 2, column 'year': not a year: '20x1'")
    table("tidy_bad_flag.csv", tidy(row(flag="secret")), "column 'flag'")
    table("tidy_ragged.csv", tidy(row(), row(region="RU-BRY") + ["extra"]), "line 3: 11 fields, the header has 10")
    table("tidy_empty_value.csv", tidy(row(value="")), "row 2, column 'value': empty without flag 'suppressed'")
    table("tidy_unknown_activity.csv", tidy(row(act="ZZ")), "unknown activity label(s): 'ZZ'")
    table("tidy_mixed_classification.csv", tidy(row(), row(region="RU-BRY", cls="OKVED2007", act="D")),
          "one run mixes classifications at the same level")
    table("tidy_suppressed_with_value.csv", tidy(row(flag="suppressed")), "flag 'suppressed' or 'range' with a value")
    table("tidy_semicolon_cp1251_unknown.csv", tidy(row(region="Бобруйская область")),
          "unknown region label(s): 'Бобруйская область'", encoding="cp1251", delimiter=";")
    # ---- wide tables
    table("wide_no_year.csv", L.wide_rows(), "states neither its year nor its indicator")
    table("wide_empty_header.csv", [["Регион", "C", ""], ["г. Москва", "1", "2"]],
          "header cell(s) without an activity name in column(s) 3", years=[2021], indicator="employment",
          unit="persons", format="wide")
    table("wide_no_unit.csv", L.wide_rows(), "the file states no unit; pass it for this input", years=[2021],
          indicator="employment")
    # ---- EMISS exports
    rows = L.emiss_org_rows()
    table("emiss_no_year_header.csv", [r for i, r in enumerate(rows) if i != 2], "no year header found in lines 1-30",
          format="emiss")
    rows2 = L.emiss_org_rows()
    rows2.append(["Государственная собственность"] + rows2[-1][1:])
    table("emiss_breakdowns.csv", rows2, "the export has 2 breakdowns")
    table("emiss_no_unit.csv", L.emiss_shipments_rows(), "the file states no unit; pass it for this input", indicator="shipments")
    table("emiss_no_indicator.csv", L.emiss_shipments_rows(), "the export names no indicator I know")
    # ---- customs
    table("customs_unmapped.csv", [["region", "hs_code", "year", "value"], ["г. Москва", "9701", "2021", "5"]],
          "no line maps to an activity through hs_okved2.csv", unit="USD")
    table("customs_bad_code.csv", [["region", "hs_code", "year", "value"], ["г. Москва", "27x", "2021", "5"]],
          "column 'hs_code': not an HS/TN VED code: '27x'", unit="USD")
    table("customs_no_value_column.csv", [["region", "hs_code", "year"], ["г. Москва", "27", "2021"]],
          "missing column for value", unit="USD")
    # ---- County Business Patterns (folders and files)
    d = L.cbp_folder(OUT, "cbp_bad_letter")
    (d / "336411.csv").write_text((d / "336411.csv").read_text().replace(",M,", ",Z,"), encoding="utf-8")
    cases.append({"file": "cbp_bad_letter", "options": json.dumps({"us": True}),
                  "expected": "column 'empflag': unknown size-class letter (expected A, B, C, E, F, G, H, I, J, K, L, M): line 2: 'Z'"})
    d = L.cbp_folder(OUT, "cbp_missing_column")
    (d / "31----.csv").write_text("ap,est,fipstate,year\n1,2,1,2011\n", encoding="utf-8")
    cases.append({"file": "cbp_missing_column", "options": json.dumps({"us": True}),
                  "expected": "missing column(s) ['emp', 'empflag', 'emp_nf']"})
    d = L.cbp_folder(OUT, "cbp_unknown_state")
    (d / "------.csv").write_text("ap,ap_nf,emp,emp_nf,empflag,est,fipstate,year\n1,G,5,G,,2,72,2011\n", encoding="utf-8")
    cases.append({"file": "cbp_unknown_state", "options": json.dumps({"us": True}),
                  "expected": "unknown region label(s): '72'"})
    d = L.cbp_folder(OUT, "cbp_bad_value")
    (d / "31----.csv").write_text("ap,ap_nf,emp,emp_nf,empflag,est,fipstate,year\n1,G,n/a,G,,2,1,2011\n",
                                  encoding="utf-8")
    cases.append({"file": "cbp_bad_value", "options": json.dumps({"us": True}),
                  "expected": "column 'emp': not a count or amount (a number >= 0 is expected): line 2: 'n/a'"})
    table("not_a_naics_code.csv", [["emp", "fipstate", "year"], ["1", "1", "2011"]],
          "a CBP file must be named by its NAICS code", format="cbp", us=True)
    # ---- workbooks
    good = L.annex_workbook(OUT, "_good.xlsx")
    data = good.read_bytes()
    good.unlink()
    text("truncated.xlsx", data[: len(data) // 2], "the workbook is truncated or damaged", sheet="2.3.")
    text("html_saved_as.xlsx", "<html><head><title>Росстат</title></head><body>…</body></html>",
         "HTML/XML page saved with a .xlsx name")
    text("html_saved_as.xls", "<!DOCTYPE html>\n<html></html>", "HTML/XML page saved with a .xls name")
    text("old_binary.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old binary Excel 97-2003 workbook (.xls)")
    p = case("zip_not_workbook.xlsx", "a ZIP file but not an Excel workbook")
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("readme.txt", "hello")
    L.write_xlsx(case("unknown_workbook.xlsx", "a workbook of no known layout"), {"Лист1": [["a", "b"]]})
    L.annex_workbook(OUT, "annex_wrong_sheet.xlsx")
    cases.append({"file": "annex_wrong_sheet.xlsx", "options": json.dumps({"sheet": "9.9."}),
                  "expected": "wrong sheet '9.9.': not in the workbook; set sheet to one of: 'Раздел 2'; '2.3.'"})
    L.annex_workbook(OUT, "annex_no_sheet.xlsx")
    cases.append({"file": "annex_no_sheet.xlsx", "options": "{}",
                  "expected": "holds one table per sheet and no sheet was named"})
    rows = L.annex_rows()
    rows[5] = [None, "год", "другой год"]
    L.write_xlsx(case("annex_no_year_header.xlsx", "no year header found in rows 1-30", sheet="2.3."), {"2.3.": rows})
    rows = L.annex_rows((2020, 2021, 2022))
    rows[5] = [None, 2020, 2021, 20009]
    L.write_xlsx(case("annex_bad_year.xlsx", "row 6: year header cell(s) that are not years: column D = 20009",
                      sheet="2.3."), {"2.3.": rows})
    rows = L.annex_rows()
    rows[8][0] = "Белгородскя обл."
    L.write_xlsx(case("annex_unknown_region.xlsx", "unknown region label(s): 'Белгородскя обл.' (closest:",
                      sheet="2.3."), {"2.3.": rows})
    rows = L.annex_rows()
    rows[9][1] = "см. прим."
    L.write_xlsx(case("annex_text_cell.xlsx", "sheet '2.3.', cell B10: 'см. прим.'", sheet="2.3."), {"2.3.": rows})
    rows = L.annex_rows()
    rows[9][2] = -3
    L.write_xlsx(case("annex_negative.xlsx", "negative value(s) where none is possible", sheet="2.3."), {"2.3.": rows})
    L.write_xlsx(case("annex_no_indicator.xlsx", "cannot tell the indicator from the title", sheet="2.5."),
                 {"2.5.": L.annex_rows(title="2.5. УРОВЕНЬ ЗАНЯТОСТИ НАСЕЛЕНИЯ", unit="(в процентах)")})
    L.annex_workbook(OUT, "annex_unit_conflict.xlsx")
    cases.append({"file": "annex_unit_conflict.xlsx", "options": json.dumps({"sheet": "2.3.", "unit": "million USD"}),
                  "expected": "unit conflict: 'thousand persons' cannot be converted to 'million USD'"})
    L.annex_workbook(OUT, "annex_missing_year.xlsx")
    cases.append({"file": "annex_missing_year.xlsx", "options": json.dumps({"sheet": "2.3.", "years": [1990]}),
                  "expected": "year(s) [1990] not in the file (it has 2020-2021)"})
    gv = OUT / "gva"
    gv.mkdir()
    L.gva_workbook(gv)
    L.vrp_workbook(gv)
    cases.append({"file": "gva/VRP_OKVED2_s2016.xlsx", "options": json.dumps({"years": [2023]}),
                  "expected": "sheet '2023', row 2: the title says 2022"})
    cases.append({"file": "gva/VRP_OKVED2_s2016.xlsx", "options": json.dumps({"years": [2015, 2021]}),
                  "expected": "the selected years mix classifications (OKVED2: 2021-2021; OKVED2007: 2015-2015)"})
    cases.append({"file": "gva/VRP_OKVED2_s2016.xlsx", "options": json.dumps({"years": [2030]}),
                  "expected": "wrong sheet: no sheet for year(s) [2030]"})
    dup = OUT / "gva_dup"
    dup.mkdir()
    L.write_xlsx(dup / "VRP_OKVED2_s2016.xlsx", {"2021": L.gva_sheet(2021),
                                                 "2022": L.gva_sheet(2021, title_year=2022)})
    cases.append({"file": "gva_dup/VRP_OKVED2_s2016.xlsx", "options": json.dumps({"years": [2021, 2022]}),
                  "expected": "sheet '2022': every value equals sheet '2021': a duplicated sheet, not 2022 data"})
    big = L.annex_workbook(OUT, "too_large_unpacked.xlsx")
    cases.append({"file": "too_large_unpacked.xlsx",
                  "options": json.dumps({"sheet": "2.3.", "max_bytes": big.stat().st_size + 10}),
                  "expected": "the workbook unpacks to"})
    with open(OUT / "expected.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["file", "options", "expected"], lineterminator="\n")
        w.writeheader()
        w.writerows(cases)
    return cases


if __name__ == "__main__":
    n = len(build())
    print(f"wrote {n} malformed cases to {OUT}")
