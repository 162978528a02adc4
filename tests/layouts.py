"""Small tables in each real published layout, written by the project (never copies of the shared files).

Each builder writes one file (or folder) into a given directory and returns its path. The numbers are
made up but consistent: a reported total equals the sum of its parts unless a test says otherwise.
Used by ``tests/ingest/test_formats.py``, the property tests and ``tests/data/make_malformed.py``.
"""

from __future__ import annotations

import csv
from pathlib import Path

# Region rows of a small annex-like table: (label, {year: value}); the national and district rows are sums.
SUBJECTS = {"Белгородская область": 100.0, "Брянская область": 50.0, "г. Москва": 900.0,
            "Республика Карелия": 40.0, "Ненецкий автономный округ": 5.0,
            "Архангельская область без автономного округа": 60.0}
CENTRAL = ("Белгородская область", "Брянская область", "г. Москва")
NORTHWEST = ("Республика Карелия", "Ненецкий автономный округ", "Архангельская область без автономного округа")


def _v(name: str, k: int) -> float:
    """Value of a subject in the k-th year column (grows 5 % a year)."""
    return round(SUBJECTS[name] * (1 + 0.05 * k), 3)


def _sum(names, k):
    return round(sum(_v(n, k) for n in names), 6)


def annex_rows(years=(2020, 2021), *, title="2.3. СРЕДНЕГОДОВАЯ ЧИСЛЕННОСТЬ ЗАНЯТЫХ1)",
               unit="(тысяч человек)", year_marker="2)") -> list[list]:
    """Rows of one «Регионы России» annex sheet: titles, year header with a marker, RF, districts with
    odd spacing, subjects, the Arkhangelsk block with «в том числе:», footnotes below a ____ line."""
    hdr = [None] + [f"{y}{year_marker}" if i == len(years) - 1 and year_marker else y for i, y in enumerate(years)]
    rows = [[None], ["Социально-экономические показатели по субъектам Российской Федерации"], ["2. ТРУД"],
            [title], [unit], hdr]
    everything = CENTRAL + NORTHWEST
    rows.append(["Российская Федерация"] + [_sum(everything, k) for k in range(len(years))])
    rows.append(["Центральный\nфедеральный округ"] + [_sum(CENTRAL, k) for k in range(len(years))])
    for n in CENTRAL:
        rows.append([n] + [_v(n, k) for k in range(len(years))])
    rows.append(["Северо-Западный          федеральный округ"] + [_sum(NORTHWEST, k) for k in range(len(years))])
    rows.append(["Республика Карелия"] + [_v("Республика Карелия", k) for k in range(len(years))])
    ark = ("Ненецкий автономный округ", "Архангельская область без автономного округа")
    rows.append(["Архангельская область"] + [_sum(ark, k) for k in range(len(years))])
    rows.append(["в том числе:"])
    for n in ark:
        rows.append([n] + [_v(n, k) for k in range(len(years))])
    rows += [[None], ["____________"], ["1) Без субъектов малого предпринимательства."],
             ["2) Данные уточнены."]]
    return rows


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(list(r))
    wb.save(path)
    return path


def annex_workbook(folder: Path, name: str = "annex.xlsx", **kw) -> Path:
    """An annex workbook with a contents sheet and table 2.3."""
    return write_xlsx(Path(folder) / name, {"Раздел 2": [["2. ТРУД"], ["2.3. Среднегодовая численность занятых"]],
                                            "2.3.": annex_rows(**kw)})


def shipments_annex_workbook(folder: Path, name: str = "annex12.xlsx") -> Path:
    """Table 12.2.4 (manufacturing shipments, OKVED2) and 12.2.3 (the same in OKVED 2007)."""
    ok2 = annex_rows((2017, 2018), title="12.2.4.  «Обрабатывающие производства» в соответствии с ОКВЭД21)",
                     unit="(в фактически действовавших ценах; миллионов рублей)", year_marker="")
    ok2.insert(3, ["12.2. ОБЪЕМ ОТГРУЖЕННЫХ ТОВАРОВ СОБСТВЕННОГО ПРОИЗВОДСТВА, ВЫПОЛНЕННЫХ РАБОТ И УСЛУГ"])
    ok1 = annex_rows((2015, 2016), title="12.2.3.  «Обрабатывающие производства» в соответствии с ОКВЭД (2005-2016 гг.)1)",
                     unit="(в фактически действовавших ценах; миллионов рублей)", year_marker="")
    ok1.insert(3, ["12.2. ОБЪЕМ ОТГРУЖЕННЫХ ТОВАРОВ СОБСТВЕННОГО ПРОИЗВОДСТВА, ВЫПОЛНЕННЫХ РАБОТ И УСЛУГ"])
    return write_xlsx(Path(folder) / name, {"12.2.3.": ok1, "12.2.4.": ok2})


GVA_SECTIONS = ["A", "B", "C"]
# Shares (percent) per region: A, B, C (sum 100).
GVA_SHARES = {"Белгородская область": (15.5, 31.5, 53.0), "Брянская область": (20.0, 0.0, 80.0),
              "г. Москва": (0.1, 9.9, 90.0), "Республика Карелия": (5.0, 15.0, 80.0),
              "Ненецкий автономный округ": (0.5, 89.5, 10.0),
              "Архангельская область без автономного округа": (6.0, 14.0, 80.0)}


def gva_sheet(year: int, *, title_year: int | None = None, okved2007: bool = False) -> list[list]:
    title = (f"Отраслевая структура валовой добавленной стоимости субъектов Российской Федерации в "
             f"{title_year or year} г. (в текущих ценах; в процентах к итогу)")
    names = (["Сельское, лесное хозяйство", "Добыча полезных ископаемых", "Обрабатывающие производства"]
             if not okved2007 else ["Сельское хозяйство, охота", "Рыболовство, рыбоводство", "Добыча полезных ископаемых"])
    rows = [[None, "          К содержанию"], [None, title],
            [None, None, "Валовая добавленная стоимость в основных ценах", "в том числе"],
            [None, None, None] + [f"Раздел {s}" for s in ("A", "B", "С")],  # Cyrillic С as in the source
            ["name", None, None] + names,
            ["Российская Федерация", "Российская Федерация из суммы субъектов", 100, 4.5, 14.3, 81.2],
            ["#N/A", "Центральный федеральный округ", 100, 3.2, 1.4, 95.4]]
    for label, shares in GVA_SHARES.items():
        shift = 0.1 * (year % 10) if not okved2007 else 0.0  # each year differs a little
        rows.append([label, " " + label, 100, round(shares[0] + shift, 3), shares[1], round(shares[2] - shift, 3)])
    rows += [[None], [None, "1) С 2016 г. - по международной методологии."]]
    return rows


def gva_workbook(folder: Path, name: str = "VRP_OKVED2_s2016.xlsx", *, copies: bool = True) -> Path:
    """Sheets 2015 (OKVED 2007), 2021, 2022 and, like the real file, 2023 = a copy of 2022."""
    sheets = {"2015": gva_sheet(2015, okved2007=True), "2021": gva_sheet(2021), "2022": gva_sheet(2022)}
    if copies:
        sheets["2023"] = gva_sheet(2023, title_year=2022)
    return write_xlsx(Path(folder) / name, sheets)


GRP = {"Белгородская область": (1000.0, 1200.0, 1300.0), "Брянская область": (400.0, 450.0, 470.0),
       "Город Москва столица Российской Федерации город федерального значения": (20000.0, 24000.0, 25000.0),
       "Республика Карелия": (300.0, 320.0, 330.0),
       "Ненецкий автономный округ (Архангельская область)": (250.0, 260.0, 300.0),
       "Архангельская область (кроме Ненецкого автономного округа)": (500.0, 540.0, 600.0)}


def vrp_workbook(folder: Path, name: str = "VRP.xlsx") -> Path:
    """GRP by subject (million rubles) in EMISS-style labels; district rows labelled #N/A."""
    years = [2015, 2021, 2022]
    total = [["OKATO"] + years, ["#N/A", 1.0, 2.0, 3.0]]
    for label, v in GRP.items():
        total.append([label] + list(v))
    per_capita = [["OKATO"] + years] + [[label, 1.0, 2.0, 3.0] for label in GRP]
    return write_xlsx(Path(folder) / name, {"Per Capita": per_capita, "Total": total})


def write_csv(path: Path, rows: list[list], *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return path


def emiss_org_rows() -> list[list]:
    """The org-count export: title, blank, years after three empty cells, 'на 1 октября', indented rows."""
    rows = [["Количество организаций по данным государственной регистрации с 2017 г. (единица, Всего)"], [],
            ["", "", "", "2020", "2021"], ["", "", "", "на 1 октября", "на 1 октября"]]
    regions = ["        Белгородская область", "        Город Москва столица Российской Федерации город федерального значения",
               "        Ненецкий автономный округ (Архангельская область)",
               "        Архангельская область (кроме Ненецкого автономного округа)"]
    acts = [("ДОБЫЧА ПОЛЕЗНЫХ ИСКОПАЕМЫХ", 10, 11), ("ОБРАБАТЫВАЮЩИЕ ПРОИЗВОДСТВА", 200, 210),
            ("    Производство пищевых продуктов", 20, 21), ("            Производство хлеба", 5, 6),
            ("Всего по обследуемым видам экономической деятельности", 1000, 1100)]
    for k, r in enumerate(regions):
        for a, v1, v2 in acts:
            rows.append(["ВСЕГО (по всем формам собственности)", r, a, str(v1 * (k + 1)), str(v2 * (k + 1))])
    return rows


def emiss_shipments_rows() -> list[list]:
    """The shipments export: header region,production_field,years; RF and a district; B, C, B-E."""
    rows = [["region", "production_field", "2019", "2020"]]
    data = {"Российская Федерация": 7, "    Северо-Западный федеральный округ": 7,
            "        Республика Карелия": 3, "        Ненецкий автономный округ (Архангельская область)": 4}
    for region, k in data.items():
        rows.append([region, "ДОБЫЧА ПОЛЕЗНЫХ ИСКОПАЕМЫХ", f"{100.5 * k}", f"{110.25 * k}"])
        rows.append([region, "ОБРАБАТЫВАЮЩИЕ ПРОИЗВОДСТВА", f"{200 * k}", f"{210 * k}"])
        rows.append([region, "Промышленное производство (промышленность)", f"{300.5 * k}", f"{320.25 * k}"])
    return rows


def cbp_folder(folder: Path, name: str = "fips") -> Path:
    """County Business Patterns state files: all sectors, manufacturing (31----) and one 6-digit code."""
    d = Path(folder) / name
    d.mkdir(parents=True, exist_ok=True)
    head = ["ap", "ap_nf", "emp", "emp_nf", "empflag", "est", "fipstate", "year"]
    files = {
        "------": [[5000, "G", 1000, "G", "", 90, 1, 2011], [9000, "G", 2000, "G", "", 120, 6, 2011],
                   [4000, "G", 800, "G", "", 70, 1, 2010], [7000, "-", 1500, "-", "", 100, 6, 2005]],
        "31----": [[1000, "G", 300, "G", "", 10, 1, 2011], [0, "D", 0, "D", "C", 12, 6, 2011],
                   [900, "G", 250, "G", "", 9, 1, 2010]],
        "336411": [[0, "D", 0, "D", "M", 3, 6, 2011], [0, "D", 0, "S", "", 1, 1, 2011]],
    }
    for code, rows in files.items():
        write_csv(d / f"{code}.csv", [head] + rows)
    return d


def customs_rows() -> list[list]:
    return [["region", "tn_ved", "year", "export_usd"],
            ["Республика Карелия", "2709 00 900 1", "2021", "1 234 567,5"],
            ["Республика Карелия", "2710", "2021", "500000"],
            ["Республика Карелия", "8703 23", "2021", "12000,25"],
            ["Республика Карелия", "9701", "2021", "100"],
            ["г. Москва", "3004", "2021", "…"],
            ["г. Москва", "2711", "2021", "-"]]


def tidy_rows() -> list[list]:
    return [["year", "region_code", "activity_code", "classification", "level", "indicator", "value", "unit",
             "flag", "source"],
            ["2021", "RU-BEL", "C", "OKVED2", "section", "employment", "1 234,5", "thousand persons", "", "t"],
            ["2021", "Брянская область", "C", "OKVED2", "section", "employment", "…", "thousand persons", "", "t"],
            ["2021", "RU-MOW", "ОБРАБАТЫВАЮЩИЕ ПРОИЗВОДСТВА", "OKVED2", "section", "employment", "-",
             "thousand persons", "", "t"],
            ["2021", "RU-MOW", "TOTAL", "OKVED2", "total", "employment", "5\u00a0000,0", "thousand persons", "", "t"]]


def wide_rows() -> list[list]:
    return [["Регион", "C", "ДОБЫЧА ПОЛЕЗНЫХ ИСКОПАЕМЫХ", "TOTAL"],
            ["Белгородская область", "12,5", "3", "20"],
            ["г. Москва", "100", "…", "400,25"],
            ["Российская Федерация", "112,5", "3", "420,25"]]
