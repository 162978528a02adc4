"""Tests of the committed default input ``data/ru_rosstat_2021.csv`` and its build script.

The table holds every OKVED2 year of its sources (PROVENANCE.md: GVA structure sheets 2016-2022,
shipments tables 2017-2021, organisations by section 2019-2022, yearbook totals to 2021).

The cross-checks re-read the original cells with openpyxl / csv directly (not through
``mapping.ingest.layouts``), so a reader bug cannot hide behind itself.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from mapping.ingest.registry import load_region_registry
from mapping.ingest.tidy import read_tidy
from mapping.schema import FLAGS, TIDY_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "ru_rosstat_2021.csv"
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
RU = SHARED / "data" / "ru"
KEY = ["year", "region_code", "activity_code", "classification", "level", "indicator"]
NESTED = {"RU-NEN", "RU-KHM", "RU-YAN"}
REMAINDERS = {"RU-ARK-X", "RU-TYU-X"}
#: Years per indicator, as PROVENANCE.md describes the sources (not read from the build script).
YEARS = {"gva": set(range(2016, 2023)), "shipments": set(range(2017, 2022)),
         "establishments": set(range(2019, 2023)), "employment": set(range(2016, 2022)),
         "revenue": set(range(2016, 2022)), "exports": set(range(2016, 2022)),
         "rd_expenditure": set(range(2016, 2022))}


def _need_shared() -> None:
    if not RU.is_dir():
        pytest.skip(f"real Rosstat files not available: {RU} is absent")


@pytest.fixture(scope="module")
def tidy() -> pd.DataFrame:
    return pd.read_csv(DATA, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def kinds() -> dict[str, str]:
    reg = load_region_registry()
    return dict(zip(reg["region_code"], reg["kind"]))


def _load_script():
    spec = importlib.util.spec_from_file_location("build_default_data", ROOT / "scripts" / "build_default_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- schema and coverage

def test_schema_and_validation(tidy):
    assert list(tidy.columns) == TIDY_COLUMNS
    frame, ledger = read_tidy(DATA)  # the pipeline's own boundary check
    assert ledger.rows_read == len(tidy)
    assert set(tidy["flag"]) <= set(FLAGS)
    assert set(tidy["classification"]) == {"OKVED2"}
    years = tidy.groupby("indicator")["year"].unique().map(lambda y: {int(v) for v in y}).to_dict()
    assert years == YEARS
    assert set(tidy.loc[tidy["level"].eq("total"), "activity_code"]) == {"TOTAL"}
    units = tidy.groupby("indicator")["unit"].unique().map(list).to_dict()
    assert units == {"employment": ["thousand persons"], "establishments": ["count"], "exports": ["million USD"],
                     "gva": ["million RUB"], "rd_expenditure": ["million RUB"], "revenue": ["billion RUB"],
                     "shipments": ["million RUB"]}


def test_no_duplicate_keys(tidy):
    assert not tidy.duplicated(KEY).any()


def test_no_country_or_district_rows(tidy, kinds):
    assert set(tidy["region_code"].map(kinds)) == {"subject", "remainder"}


@pytest.mark.parametrize(
    ("indicator", "level", "n_subjects", "sections"),
    [("gva", "section", 85, list("ABCDEFGHIJKLMNOPQRST")),
     # The EMISS org-count export has no rows for Crimea and Sevastopol: 83 subjects.
     ("establishments", "section", 83, list("ABCDEFGHIJKLMNOPQRSTU")),
     ("shipments", "section", 85, list("BCDE")),
     ("gva", "total", 85, ["TOTAL"]), ("employment", "total", 85, ["TOTAL"])],
    ids=["gva", "establishments", "shipments", "gva-total", "employment"],
)
def test_coverage(tidy, kinds, indicator, level, n_subjects, sections):
    every = tidy.loc[tidy["indicator"].eq(indicator) & tidy["level"].eq(level)]
    assert {int(y) for y in every["year"]} == YEARS[indicator]
    for _, part in every.groupby("year"):  # the same coverage in every year
        regions = set(part["region_code"])
        assert sum(kinds[r] == "subject" for r in regions) == n_subjects
        assert NESTED <= regions and REMAINDERS <= regions
        assert sorted(part["activity_code"].unique()) == sections
        assert len(part) == len(regions) * len(sections)  # one row per region x activity
    if indicator == "establishments":
        assert not {"RU-X-CR", "RU-X-SEV"} & regions


def test_suppressed_rows_kept_without_value(tidy):
    supp = tidy.loc[tidy["flag"].eq("suppressed")]
    assert len(supp) > 0 and supp["value"].eq("").all()
    rd = tidy.loc[tidy["indicator"].eq("rd_expenditure")]
    assert set(rd.loc[rd["flag"].eq("suppressed"), "region_code"]) == {"RU-YEV", "RU-CHU"}
    sh = tidy.loc[tidy["indicator"].eq("shipments") & tidy["flag"].eq("suppressed")]
    by_year = sh.groupby("year")["region_code"].apply(set).to_dict()
    assert by_year["2021"] == by_year["2020"] == {"RU-KL", "RU-MAG", "RU-X-SEV", "RU-YEV"}
    assert by_year["2017"] == {"RU-KL", "RU-X-SEV"} and set(sh["activity_code"]) == {"B", "E"}


def test_derived_flags(tidy):
    gva = tidy.loc[tidy["indicator"].eq("gva")]
    assert set(gva.loc[gva["level"].eq("section"), "flag"]) == {"derived"}
    assert set(tidy.loc[tidy["indicator"].eq("exports"), "flag"]) == {"derived"}


# --------------------------------------------------------------------------- independent re-reading

def _xlsx_cell(path: Path, sheet: str, label_col: int, label: str, header_row: int, header: object) -> float:
    """Value at the row whose label (stripped) is ``label`` and the column headed ``header``."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(wb[sheet].iter_rows(values_only=True))
    wb.close()
    col = list(rows[header_row - 1]).index(header)
    hits = [r for r in rows if len(r) > label_col and isinstance(r[label_col], str) and r[label_col].strip() == label]
    assert len(hits) == 1, f"{path.name}!{sheet}: {len(hits)} rows labelled {label!r}"
    return float(hits[0][col])


def _tidy_value(tidy: pd.DataFrame, indicator: str, level: str, region: str, activity: str, year: int = 2021) -> float:
    row = tidy.loc[tidy["indicator"].eq(indicator) & tidy["level"].eq(level) & tidy["region_code"].eq(region)
                   & tidy["activity_code"].eq(activity) & tidy["year"].eq(str(year))]
    assert len(row) == 1
    return float(row["value"].item())


# (region_code, label in VRP_OKVED2_s2016.xlsx column B, label in VRP.xlsx column A, label in the EMISS CSV)
REGIONS = [
    ("RU-MOW", "г.Москва", "Город Москва столица Российской Федерации город федерального значения",
     "Город Москва столица Российской Федерации город федерального значения"),
    ("RU-TA", "Республика Татарстан", "Республика Татарстан (Татарстан)", "Республика Татарстан (Татарстан)"),
    ("RU-NEN", "в т.ч. Ненецкий автономный округ", "Ненецкий автономный округ (Архангельская область)",
     "Ненецкий автономный округ (Архангельская область)"),
]
SECTIONS = [("C", "Раздел C", "ОБРАБАТЫВАЮЩИЕ ПРОИЗВОДСТВА"),
            ("G", "Раздел G", "ТОРГОВЛЯ ОПТОВАЯ И РОЗНИЧНАЯ; РЕМОНТ АВТОТРАНСПОРТНЫХ СРЕДСТВ И МОТОЦИКЛОВ")]


@pytest.mark.parametrize("year", [2016, 2021, 2022])
@pytest.mark.parametrize("region", REGIONS, ids=[r[0] for r in REGIONS])
@pytest.mark.parametrize("section", SECTIONS, ids=[s[0] for s in SECTIONS])
def test_gva_recomputed_from_original_cells(tidy, region, section, year):
    _need_shared()
    code, share_label, grp_label, _ = region
    share = _xlsx_cell(RU / "gva_structure_region_okved" / "VRP_OKVED2_s2016.xlsx", str(year), 1, share_label, 4,
                       section[1])
    grp = _xlsx_cell(RU / "gva_structure_region_okved" / "VRP.xlsx", "Total", 0, grp_label, 1, year)
    assert _tidy_value(tidy, "gva", "section", code, section[0], year) == pytest.approx(share * grp / 100, rel=1e-5)
    assert _tidy_value(tidy, "gva", "total", code, "TOTAL", year) == pytest.approx(grp, rel=1e-11)


@pytest.mark.parametrize("year", [2019, 2021, 2022])
@pytest.mark.parametrize("region", REGIONS, ids=[r[0] for r in REGIONS])
@pytest.mark.parametrize("section", SECTIONS, ids=[s[0] for s in SECTIONS])
def test_establishments_reread_from_csv(tidy, region, section, year):
    _need_shared()
    with open(RU / "emiss_org_count_region_okved2" / "rosstat-org-stats.csv", encoding="utf-8", newline="") as fh:
        lines = list(csv.reader(fh))
    col = lines[2].index(str(year))
    hits = [r for r in lines if len(r) > col and r[1].strip() == region[3] and r[2] == section[2]]
    assert len(hits) == 1
    assert _tidy_value(tidy, "establishments", "section", region[0], section[0], year) == float(hits[0][col])


@pytest.mark.parametrize(
    ("indicator", "file", "sheet", "label", "region_code", "activity"),
    [("employment", "Раздел 2 - Труд.xlsx", "2.3.", "г. Москва", "RU-MOW", "TOTAL"),
     ("revenue", "Раздел 11 - Предприятия и организации.xlsx", "11.2.", "Республика Татарстан", "RU-TA", "TOTAL"),
     ("shipments", "Раздел 12 - Промышленное производство.xlsx", "12.2.4.", "Ненецкий автономный округ", "RU-NEN",
      "C")],
    ids=["employment", "revenue", "shipments"],
)
@pytest.mark.parametrize("year", [2017, 2021])
def test_annex_values_reread(tidy, indicator, file, sheet, label, region_code, activity, year):
    _need_shared()
    path = RU / "rosstat_regions_2022_annex" / file
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(wb[sheet].iter_rows(values_only=True))
    wb.close()
    header = next(r for r in rows if 2021 in r)
    value = next(r for r in rows if isinstance(r[0], str) and r[0].strip() == label)[header.index(year)]
    level = "total" if activity == "TOTAL" else "section"
    assert _tidy_value(tidy, indicator, level, region_code, activity, year) == pytest.approx(float(value), rel=1e-11)


def test_national_shipments_rows_reread():
    """``data/ru_rosstat_2021_national.csv``: the «Российская Федерация» row of each 12.2.x OKVED2 table."""
    _need_shared()
    nat = pd.read_csv(ROOT / "data" / "ru_rosstat_2021_national.csv")
    assert sorted(set(nat["year"])) == sorted(YEARS["shipments"]) and sorted(set(nat["activity_code"])) == list("BCDE")
    path = RU / "rosstat_regions_2022_annex" / "Раздел 12 - Промышленное производство.xlsx"
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    for sheet, code in (("12.2.2.", "B"), ("12.2.4.", "C"), ("12.2.6.", "D"), ("12.2.7.", "E")):
        rows = list(wb[sheet].iter_rows(values_only=True))
        header = [int(str(h)[:4]) if h is not None and str(h)[:4].isdigit() else None for h in rows[6]]
        rf = next(r for r in rows if isinstance(r[0], str) and r[0].strip() == "Российская Федерация")
        for year in sorted(YEARS["shipments"]):
            got = nat.loc[nat["year"].eq(year) & nat["activity_code"].eq(code), "value"].item()
            assert got == pytest.approx(float(rf[header.index(year)]), rel=1e-11), (sheet, year)
    wb.close()


# --------------------------------------------------------------------------- the build script

def test_build_refuses_on_checksum_mismatch(tmp_path, capsys):
    script = _load_script()
    base = tmp_path / "data" / "ru"
    for rel in script.EXPECTED_SHA256:
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_bytes(b"not the original")
    prov = "\n".join(f"| `{rel}` | {sha} |" for rel, sha in script.EXPECTED_SHA256.items())
    (base / "PROVENANCE.md").write_text(prov, encoding="utf-8")
    with pytest.raises(SystemExit,
                       match=r"(?s)refusing to build.*Раздел 2 - Труд.xlsx: sha256 [0-9a-f]{64}, expected 79e21a7f"):
        script.verify_sources(tmp_path)


def test_expected_sums_match_provenance():
    _need_shared()
    script = _load_script()
    script.verify_sources(SHARED)  # raises SystemExit on any difference


@pytest.mark.slow
def test_rebuild_is_byte_identical(tmp_path):
    _need_shared()
    script = _load_script()
    out = tmp_path / "ru_rosstat_2021.csv"
    script.build(SHARED, out)
    assert out.read_bytes() == DATA.read_bytes()
