"""Every real file under ``../shared/data/`` read through :func:`mapping.ingest.read.read_input`, with known values.

Known values come from the project's independently built default table (``data/ru_rosstat_2021.csv``,
whose cells ``tests/ingest/test_default_data.py`` re-reads from the originals) and from the CBP files
themselves. Skipped, with a message, when ``../shared`` is absent.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from mapping.config import REPO_ROOT, GeodataSection, InputFile
from mapping.errors import MappingError
from mapping.ingest.read import detect_format, read_input

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
RU = SHARED / "data" / "ru"
ANNEX = RU / "rosstat_regions_2022_annex"
CBP = SHARED / "data" / "us" / "cbp_state_naics_2000_2011_wilson428"
G = REPO_ROOT / "geodata"
US = GeodataSection(country="US", regions=G / "us_regions.csv", region_labels=G / "us_region_labels.csv",
                    activities=G / "naics2007.csv", boundaries=G / "us_states.gpkg", supported_clusters=None)

#: Read every annex sheet and every CBP file (slow); the default suite reads a sample.
FULL = os.environ.get("CLUSTERMAP_FULL_REAL") == "1"
pytestmark = pytest.mark.skipif(not (SHARED / "data").is_dir(),
                                reason=f"../shared not found at {SHARED}: tests on the original files skipped")


@pytest.fixture(scope="module")
def default_2021() -> pd.DataFrame:
    """The default input table's 2021 rows: independently built figures for 2021 (the table holds 2016-2022)."""
    t = pd.read_csv(REPO_ROOT / "data" / "ru_rosstat_2021.csv", dtype={"activity_code": str})
    return t.loc[t["year"] == 2021].reset_index(drop=True)


def _v(t: pd.DataFrame, region: str, year: int, activity: str = "TOTAL") -> float:
    r = t.loc[(t["region_code"] == region) & (t["year"] == year) & (t["activity_code"] == activity), "value"]
    assert len(r) == 1, (region, year, activity, len(r))
    return float(r.iloc[0])


def _expect(default: pd.DataFrame, indicator: str, region: str, activity: str = "TOTAL") -> float:
    r = default.loc[(default["indicator"] == indicator) & (default["region_code"] == region)
                    & (default["activity_code"] == activity), "value"]
    return float(r.iloc[0])


def _subjects(t: pd.DataFrame, year: int) -> int:
    from mapping.ingest.registry import load_region_registry

    kind = load_region_registry().set_index("region_code")["kind"]
    codes = set(t.loc[t["year"] == year, "region_code"])
    return sum(kind.get(c) == "subject" for c in codes)


@pytest.mark.parametrize("file, sheet, indicator, unit", [
    ("Раздел 2 - Труд.xlsx", "2.3.", "employment", "thousand persons"),
    ("Раздел 11 - Предприятия и организации.xlsx", "11.2.", "revenue", "billion RUB"),
    ("Раздел 18 - Наука и инновации.xlsx", "18.5.", "rd_expenditure", "million RUB"),
    ("Раздел 8 - Валовой региональный продукт.xlsx", "8.1.", "gva", "million RUB"),
])
def test_annex_totals_match_known_values(default_2021, file, sheet, indicator, unit):
    got = read_input(InputFile(path=ANNEX / file, sheet=sheet, indicator=indicator))
    t = got.tidy
    assert set(t["unit"]) == {unit}
    assert _subjects(t, 2021 if indicator != "gva" else 2020) == 85
    assert any(n.startswith("region set: 85 subjects") for n in got.ledger.notes)
    if indicator != "gva":  # the annex's GRP ends in 2020; the default table takes GRP from VRP.xlsx
        for region in ("RU-TA", "RU-MOW", "RU-NEN", "RU-ARK-X"):
            assert _v(t, region, 2021) == pytest.approx(_expect(default_2021, indicator, region), rel=1e-9)
    # The national row is a check: the sum of the 82 top-level subjects equals it within rounding.
    c = got.checks.loc[got.checks["check"] == "country"]
    complete = c.loc[c["parts_without_value"] == 0]
    assert complete.empty or complete["rel_difference"].abs().max() < 0.01
    partial = c.loc[c["parts_without_value"] > 0]  # suppressed subjects: the sum is a lower bound
    assert (partial["sum_of_parts"] <= partial["reported"] * 1.001).all() and not c.empty


def test_annex_shipments_sections_match_known_values(default_2021):
    f = ANNEX / "Раздел 12 - Промышленное производство.xlsx"
    for sheet, code in (("12.2.2.", "B"), ("12.2.4.", "C"), ("12.2.6.", "D"), ("12.2.7.", "E")):
        t = read_input(InputFile(path=f, sheet=sheet)).tidy
        assert set(zip(t["indicator"], t["classification"], t["activity_code"])) == {("shipments", "OKVED2", code)}
        assert _v(t, "RU-TA", 2021, code) == pytest.approx(_expect(default_2021, "shipments", "RU-TA", code))
    old = read_input(InputFile(path=f, sheet="12.2.3.")).tidy  # OKVED 2007 manufacturing = section D
    assert set(zip(old["classification"], old["activity_code"])) == {("OKVED2007", "D")}
    assert max(old["year"]) == 2016


def test_annex_exports(default_2021):
    f = ANNEX / "Раздел 21 - Внешняя торговля.xlsx"
    far = read_input(InputFile(path=f, sheet="21.1.1.")).tidy
    cis = read_input(InputFile(path=f, sheet="21.2.1.")).tidy
    assert set(far["unit"]) == {"million USD"} and set(far["indicator"]) == {"exports"}
    total = _v(far, "RU-TA", 2021) + _v(cis, "RU-TA", 2021)
    assert total == pytest.approx(_expect(default_2021, "exports", "RU-TA"))


def _numbered_sheets(path: Path) -> list[str]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return [s for s in wb.sheetnames if s[:1].isdigit()]
    finally:
        wb.close()


@pytest.mark.slow
@pytest.mark.parametrize("file", sorted(p.name for p in ANNEX.glob("*.xlsx")) if ANNEX.is_dir() else [])
def test_every_annex_sheet_reads_or_stops_clearly(file):
    """Every table of every annex workbook gives tidy rows or a MappingError, never another exception."""
    path = ANNEX / file
    sheets = _numbered_sheets(path)
    if not sheets:  # the table of contents
        with pytest.raises(MappingError, match="no known layout"):
            detect_format(path)
        return
    assert detect_format(path) == "annex"
    if not FULL:  # every 4th sheet keeps the suite fast; CLUSTERMAP_FULL_REAL=1 reads them all
        sheets = sheets[::4]
    read = 0
    for sheet in sheets:
        try:
            got = read_input(InputFile(path=path, sheet=sheet, indicator="x_any", unparsed="error"))
        except MappingError as exc:
            assert path.name in str(exc)
            continue
        read += 1
        assert got.ledger.rows_read == len(got.tidy) + sum(got.ledger.dropped.values())
    assert read >= len(sheets) // 2


def test_gva_structure(default_2021):
    f = RU / "gva_structure_region_okved" / "VRP_OKVED2_s2016.xlsx"
    got = read_input(InputFile(path=f, years=(2021,)))
    t = got.tidy
    assert _subjects(t, 2021) == 85
    for code in ("B", "C", "K"):
        assert _v(t, "RU-TA", 2021, code) == pytest.approx(_expect(default_2021, "gva", "RU-TA", code), rel=1e-5)
    assert _v(t, "RU-MOW", 2021) == pytest.approx(_expect(default_2021, "gva", "RU-MOW"))


def test_gva_structure_copies_refused(default_2021):
    f = RU / "gva_structure_region_okved" / "VRP_OKVED2_s2016.xlsx"
    for year in (2023, 2024):
        with pytest.raises(MappingError, match=f"sheet '{year}', row 2: the title says 2022"):
            read_input(InputFile(path=f, years=(year,)))
    with pytest.raises(MappingError, match="mix classifications"):
        read_input(InputFile(path=f, years=(2015, 2016)))
    old = read_input(InputFile(path=f, years=(2015,))).tidy
    assert set(old["classification"]) == {"OKVED2007"} and "P" in set(old["activity_code"])


def test_grp_workbook(default_2021):
    f = RU / "gva_structure_region_okved" / "VRP.xlsx"
    got = read_input(InputFile(path=f))
    for region in ("RU-TA", "RU-MOW", "RU-NEN", "RU-ARK-X"):
        assert _v(got.tidy, region, 2021) == pytest.approx(_expect(default_2021, "gva", region))
    assert sum(got.ledger.dropped.values()) > 0  # the #N/A district rows


def test_emiss_org_count(default_2021):
    got = read_input(InputFile(path=RU / "emiss_org_count_region_okved2" / "rosstat-org-stats.csv"))
    t = got.tidy
    assert _subjects(t, 2021) == 83  # the export has no Crimea and Sevastopol
    assert any(n.startswith("region set: 83 subjects") for n in got.ledger.notes)
    for code in ("B", "C", "TOTAL"):
        assert _v(t, "RU-TA", 2021, code) == _expect(default_2021, "establishments", "RU-TA", code)
    assert sorted(set(t.loc[t["level"] == "section", "year"])) == [2019, 2020, 2021, 2022]


def test_emiss_shipments():
    f = RU / "emiss_shipments_region_okved2" / "regional_production_2017_2020.csv"
    got = read_input(InputFile(path=f, indicator="shipments", unit="thousand RUB"))
    t = got.tidy
    assert _v(t, "RU", 2017, "B") == pytest.approx(13916164842.7)
    assert set(t["level"]) == {"section"}
    checks = got.checks
    assert (checks["check"] == "activity aggregate").any()  # B-E vs B + C + D + E per region
    assert set(t["unit"]) == {"thousand RUB"}  # the export states no unit: the configuration declares it


def test_supported_clusters_csv_is_not_a_data_table():
    f = RU / "supported_clusters" / "pilot_innovative_clusters_2012.csv"
    with pytest.raises(MappingError):
        read_input(InputFile(path=f))


def test_cbp_sectors_2011():
    got = read_input(InputFile(path=CBP / "fips", levels=("naics2", "total"), years=(2011,)), US)
    t = got.tidy
    assert len(set(t["region_code"])) == 51
    assert _v(t, "US-CA", 2011) == 12698427.0
    assert set(t["classification"]) == {"NAICS2007"}
    assert got.ledger.rows_read == len(t) + sum(got.ledger.dropped.values())


def test_cbp_six_digit_ranges():
    got = read_input(InputFile(path=CBP / "fips" / "211111.csv", years=(2011,)), US)
    t = got.tidy
    assert _v(t, "US-TX", 2011, "211111") == 43875.0
    rng = t.loc[t["flag"] == "range"]
    assert not rng.empty and rng["value"].isna().all() and (rng["value_low"] <= rng["value_high"]).all()


@pytest.mark.slow
@pytest.mark.skipif(not FULL, reason="reads all 1,537 CBP files (~8 s); set CLUSTERMAP_FULL_REAL=1")
def test_cbp_every_file():
    """All 1,537 files; by default the NAICS 2007 years (2008-2011) are read and the rest dropped with a reason."""
    got = read_input(InputFile(path=CBP / "fips"), US)
    led = got.ledger
    assert led.rows_read == 811632
    assert led.rows_read == len(got.tidy) + sum(led.dropped.values())
    assert sorted(set(got.tidy["year"])) == [2008, 2009, 2010, 2011]
    assert not math.isnan(got.tidy["value"].max())
