"""Reading every supported layout from small fixtures written by the project (``tests/layouts.py``)."""

from __future__ import annotations

import math
from pathlib import Path

import layouts as L
import pandas as pd
import pytest

from mapping.config import REPO_ROOT, GeodataSection, InputFile, RunConfig
from mapping.errors import MappingError
from mapping.ingest.layouts.finish import region_vintage
from mapping.ingest.layouts.text import decode_text, sniff_delimiter
from mapping.ingest.read import (
    detect_format,
    harmonise_units,
    parse_options,
    read_input,
)
from mapping.ingest.values import parse_number, parse_unit, parse_value
from mapping.ledger import format_ledger
from mapping.pipeline import load_inputs

G = REPO_ROOT / "geodata"
US = GeodataSection(country="US", regions=G / "us_regions.csv", region_labels=G / "us_region_labels.csv",
                    activities=G / "naics2007.csv", boundaries=G / "us_states.gpkg", supported_clusters=None)


def value(tidy: pd.DataFrame, region: str, year: int, activity: str = "TOTAL") -> float:
    row = tidy.loc[(tidy["region_code"] == region) & (tidy["year"] == year) & (tidy["activity_code"] == activity)]
    assert len(row) == 1, row
    return float(row["value"].iloc[0])


# --------------------------------------------------------------------------- values and units

@pytest.mark.parametrize("raw, expected, flag", [
    ("1 234,5", 1234.5, ""), ("1\u00a0234,5", 1234.5, ""), ("1\u202f234,5", 1234.5, ""), ("-", 0.0, "absent"),
    ("–", 0.0, "absent"), ("…", math.nan, "suppressed"), ("...", math.nan, "suppressed"),
    ("…1)", math.nan, "suppressed"), ("x", math.nan, "suppressed"), ("Х", math.nan, "suppressed"),
    ("н/д", math.nan, "suppressed"), ("", math.nan, "empty"), (None, math.nan, "empty"), (12, 12.0, ""),
    ("12,5 2)", 12.5, ""), ("abc", math.nan, "unparsed"), ("1.234,5", 1234.5, "")])
def test_parse_value_markers_and_numbers(raw, expected, flag):
    cell = parse_value(raw, decimal=",")
    assert cell.flag == flag
    assert (math.isnan(cell.value) and math.isnan(expected)) or cell.value == expected


def test_footnote_suffix_recorded_and_times_marker_only_for_percent():
    assert parse_value("105,3 2)", decimal=",").footnote == "2)"
    assert parse_value("в 2,5 р.", decimal=",", unit_base="percent").value == 250.0
    assert parse_value("в 2,5 р.", decimal=",").flag == "unparsed"
    assert parse_number("1,234.5") == 1234.5 and parse_number("12,5") is None


@pytest.mark.parametrize("text, name, factor", [
    ("тысяч человек", "thousand persons", 1e3), ("миллионов рублей", "million RUB", 1e6),
    ("млрд руб.", "billion RUB", 1e9), ("миллионов долларов США", "million USD", 1e6), ("в процентах", "percent", 1),
    ("единица", "count", 1), ("thousand USD", "thousand USD", 1e3), ("persons", "persons", 1)])
def test_parse_unit(text, name, factor):
    u = parse_unit(text)
    assert (u.name, u.factor) == (name, factor)


def test_parse_unit_unknown_is_none():
    assert parse_unit("условных единиц топлива") is not None  # "единиц" = count
    assert parse_unit("баллов") is None


# --------------------------------------------------------------------------- text detection

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_tidy_any_encoding_and_delimiter(tmp_path, encoding, delimiter):
    p = L.write_csv(tmp_path / "t.csv", L.tidy_rows(), encoding=encoding, delimiter=delimiter)
    text, enc = decode_text(p)
    assert sniff_delimiter(text) == delimiter
    got = read_input(InputFile(path=p))
    t = got.tidy
    assert value(t, "RU-BRY", 2021, "C") != value(t, "RU-BRY", 2021, "C")  # "…" -> NaN, suppressed
    assert value(t, "RU-BEL", 2021, "C") == 1234.5  # "1 234,5" (decimal comma, space thousands)
    assert value(t, "RU-MOW", 2021, "TOTAL") == 5000.0  # NBSP thousands separator
    assert value(t, "RU-MOW", 2021, "C") == 0.0  # "-" absent; activity given by its name
    assert set(t.loc[t["region_code"] == "RU-MOW", "flag"]) == {"absent", ""}
    assert got.ledger.cells_suppressed == 1


def test_tidy_parquet(tmp_path):
    df = pd.DataFrame([{"year": 2021, "region_code": "RU-BEL", "activity_code": "C", "classification": "OKVED2",
                        "level": "section", "indicator": "gva", "value": 5.0, "unit": "million RUB", "flag": "",
                        "source": "x"}])
    df.to_parquet(tmp_path / "t.parquet")
    got = read_input(InputFile(path=tmp_path / "t.parquet"))
    assert detect_format(tmp_path / "t.parquet") == "tidy"
    assert got.tidy["value"].tolist() == [5.0]


# --------------------------------------------------------------------------- Rosstat annex

def test_annex_sheet(tmp_path):
    p = L.annex_workbook(tmp_path)
    assert detect_format(p) == "annex"
    got = read_input(InputFile(path=p, sheet="2.3."))
    t, led = got.tidy, got.ledger
    assert set(t["indicator"]) == {"employment"} and set(t["unit"]) == {"thousand persons"}
    assert value(t, "RU-BEL", 2021) == 105.0  # year header "20212)": marker stripped
    assert value(t, "RU", 2020) == 1155.0  # national row kept for the check, dropped later by select_units
    assert {"RU", "RU-FD-CEN", "RU-FD-NW", "RU-ARK", "RU-NEN", "RU-ARK-X"} <= set(t["region_code"])
    assert led.layout_rows["в том числе:"] == 1 and led.layout_rows["footnote"] == 3
    assert any("20212)" in n for n in led.notes) and any("1) Без субъектов" in n for n in led.notes)
    checks = got.checks.set_index(["check", "aggregate", "year"])
    assert checks.loc[("country", "RU", 2020), "difference"] == pytest.approx(0)
    assert checks.loc[("nested parent", "RU-ARK", 2021), "reported"] == pytest.approx(68.25)
    src = t.loc[(t["region_code"] == "RU-BEL") & (t["year"] == 2021), "source"].iloc[0]
    assert src == "annex.xlsx!2.3.!C9"
    assert led.rows_read == len(t) + sum(led.dropped.values())


def test_annex_activity_and_classification_from_title(tmp_path):
    p = L.shipments_annex_workbook(tmp_path)
    new = read_input(InputFile(path=p, sheet="12.2.4.")).tidy
    old = read_input(InputFile(path=p, sheet="12.2.3.")).tidy
    assert set(zip(new["indicator"], new["classification"], new["activity_code"], new["level"])) == \
        {("shipments", "OKVED2", "C", "section")}
    # OKVED 2007 manufacturing is section D.
    assert set(zip(old["classification"], old["activity_code"])) == {("OKVED2007", "D")}
    assert set(new["unit"]) == {"million RUB"}


def test_annex_unit_converted_to_configured_unit(tmp_path):
    p = L.annex_workbook(tmp_path)
    got = read_input(InputFile(path=p, sheet="2.3.", unit="persons"))
    assert value(got.tidy, "RU-BEL", 2020) == 100000.0
    assert set(got.tidy["unit"]) == {"persons"}
    assert any("converted to persons" in n for n in got.ledger.notes)


# --------------------------------------------------------------------------- GVA structure and GRP

def test_gva_structure_default_years_refuses_copy(tmp_path):
    p = L.gva_workbook(tmp_path)
    L.vrp_workbook(tmp_path)
    assert detect_format(p) == "gva_structure"
    got = read_input(InputFile(path=p))
    t = got.tidy
    assert sorted(set(t["year"])) == [2021, 2022]  # 2015 is OKVED 2007; 2023 is a copy of 2022
    assert any("sheet 2023 refused" in n for n in got.ledger.notes)
    # Derived level = share x GRP / 100: Belgorod A 2021 = (15.5 + 0.1) % of 1200.
    assert value(t, "RU-BEL", 2021, "A") == pytest.approx(15.6 * 1200 / 100)
    assert value(t, "RU-BEL", 2021, "TOTAL") == pytest.approx(1200.0)
    assert set(t.loc[t["level"] == "section", "flag"]) == {"derived"}
    assert "VRP_OKVED2_s2016.xlsx!2021!D8 * VRP.xlsx!Total!C3 / 100" in set(t["source"])
    assert got.ledger.dropped  # the national and district rows have no GRP


def test_gva_structure_okved2007_year(tmp_path):
    p = L.gva_workbook(tmp_path)
    L.vrp_workbook(tmp_path)
    t = read_input(InputFile(path=p, years=(2015,))).tidy
    assert set(t["classification"]) == {"OKVED2007"}
    assert set(t["activity_code"]) == {"A", "B", "C", "TOTAL"}


def test_gva_structure_without_grp_gives_shares(tmp_path):
    p = L.gva_workbook(tmp_path)
    got = read_input(InputFile(path=p, years=(2021,)))
    assert set(got.tidy["unit"]) == {"percent"} and set(got.tidy["indicator"]) == {"gva_share"}


def test_grp_workbook(tmp_path):
    p = L.vrp_workbook(tmp_path)
    assert detect_format(p) == "grp"
    got = read_input(InputFile(path=p))
    assert value(got.tidy, "RU-MOW", 2022) == 25000.0
    assert got.ledger.dropped == {"federal-district row labelled #N/A (no name to check it against)": 3}
    check = got.checks.set_index(["aggregate", "year"]).loc[("RU-ARK", 2022)] if "RU-ARK" in set(
        got.tidy["region_code"]) else None
    assert check is None  # only the parts (EMISS-style labels) are in this workbook


# --------------------------------------------------------------------------- EMISS

def test_emiss_org_count(tmp_path):
    p = L.write_csv(tmp_path / "org.csv", L.emiss_org_rows())
    assert detect_format(p) == "emiss"
    got = read_input(InputFile(path=p))
    t = got.tidy
    assert set(t["level"]) == {"section", "total"} and set(t["unit"]) == {"count"}
    assert set(t["indicator"]) == {"establishments"}
    assert value(t, "RU-MOW", 2021, "C") == 420.0
    assert {"RU-MOW", "RU-NEN", "RU-ARK-X", "RU-BEL"} == set(t["region_code"])
    assert got.ledger.dropped["activity level division not selected (level = 'section')"] == 8
    assert got.ledger.dropped["activity below division level, or only in aggregate rows and not in the activity "
                               "registry"] == 8
    div = read_input(InputFile(path=p, level="division")).tidy
    assert set(div.loc[div["level"] == "division", "activity_code"]) == {"10"}


def test_emiss_shipments_cp1251_semicolon_equals_utf8(tmp_path):
    a = L.write_csv(tmp_path / "a.csv", L.emiss_shipments_rows())
    b = L.write_csv(tmp_path / "b.csv", L.emiss_shipments_rows(), encoding="cp1251", delimiter=";")
    ra = read_input(InputFile(path=a, indicator="shipments", unit="thousand RUB"))
    rb = read_input(InputFile(path=b, indicator="shipments", unit="thousand RUB"))
    cols = ["year", "region_code", "activity_code", "value"]
    pd.testing.assert_frame_equal(ra.tidy[cols], rb.tidy[cols])
    assert "B-E" not in set(ra.tidy["activity_code"])
    agg = ra.checks.loc[ra.checks["check"] == "activity aggregate"]
    assert len(agg) == 8 and agg["difference"].abs().max() == pytest.approx(0)


# --------------------------------------------------------------------------- County Business Patterns

def test_cbp_folder(tmp_path):
    d = L.cbp_folder(tmp_path)
    assert detect_format(d) == "cbp"
    got = read_input(InputFile(path=d), US)
    t = got.tidy
    assert sorted(set(t["year"])) == [2010, 2011]  # 2005 is NAICS 2002: not mixed in
    assert set(t["classification"]) == {"NAICS2007"}
    rng = t.loc[t["flag"] == "range"].set_index(["region_code", "activity_code"])
    assert rng.loc[("US-CA", "31-33"), ["value_low", "value_high"]].tolist() == [100.0, 249.0]  # C
    assert rng.loc[("US-CA", "336411"), "value_low"] == 100000.0  # M: open above
    assert math.isnan(rng.loc[("US-CA", "336411"), "value_high"])
    supp = t.loc[t["flag"] == "suppressed"]
    assert supp[["region_code", "activity_code"]].values.tolist() == [["US-AL", "336411"]]  # emp_nf = S
    assert value(t, "US-AL", 2011, "31-33") == 300.0
    assert got.ledger.cells_suppressed == 3
    assert set(t["level"]) == {"total", "naics2", "naics6"}


def test_cbp_levels_and_indicator(tmp_path):
    d = L.cbp_folder(tmp_path)
    got = read_input(InputFile(path=d, levels=("naics2",), indicator="establishments", years=(2011,)), US)
    assert set(got.tidy["activity_code"]) == {"31-33"} and set(got.tidy["unit"]) == {"count"}
    assert value(got.tidy, "US-CA", 2011, "31-33") == 12.0
    assert any("2 of other NAICS levels not opened" in n for n in got.ledger.notes)


# --------------------------------------------------------------------------- customs and wide

def test_customs_concordance_and_unmapped_share(tmp_path):
    p = L.write_csv(tmp_path / "c.csv", L.customs_rows(), delimiter=";")
    assert detect_format(p) == "customs"
    got = read_input(InputFile(path=p, unit="USD"))
    t = got.tidy
    assert value(t, "RU-KR", 2021, "06") == 1234567.5  # 2709 crude oil -> 06
    assert value(t, "RU-KR", 2021, "19") == 500000.0  # 2710 petroleum products -> 19 (heading beats chapter)
    assert value(t, "RU-KR", 2021, "29") == 12000.25
    assert got.ledger.dropped == {"HS code not in the concordance (counted in the unmapped export share)": 1}
    assert any("unmapped share of export value 0.0% (100 of" in n for n in got.ledger.notes)
    sec = read_input(InputFile(path=p, unit="USD", level="section")).tidy
    assert value(sec, "RU-KR", 2021, "B") == 1234567.5 and value(sec, "RU-KR", 2021, "C") == 512000.25


def test_wide_regions_by_activities(tmp_path):
    p = L.write_csv(tmp_path / "w.csv", L.wide_rows(), encoding="cp1251", delimiter=";")
    assert detect_format(p) == "wide"
    got = read_input(InputFile(path=p, years=(2021,), indicator="employment", unit="тыс. чел."))
    t = got.tidy
    assert value(t, "RU-BEL", 2021, "C") == 12.5 and value(t, "RU-BEL", 2021, "B") == 3.0
    assert value(t, "RU-MOW", 2021, "TOTAL") == 400.25
    assert set(t["unit"]) == {"thousand persons"}


# --------------------------------------------------------------------------- pipeline, ledger, CLI

def test_load_inputs_ledger_balances_and_aggregates_only_checked(tmp_path):
    inputs = (InputFile(path=L.annex_workbook(tmp_path), sheet="2.3."),
              InputFile(path=L.write_csv(tmp_path / "org.csv", L.emiss_org_rows())))
    got = load_inputs(RunConfig(inputs=inputs))
    for led in got.ledgers:
        assert led.rows_read == led.rows_used + sum(led.dropped.values())
    assert not {"RU", "RU-FD-CEN", "RU-ARK"} & set(got.tidy["region_code"])  # aggregates and parents dropped
    annex = got.ledgers[0].to_dict()
    assert annex["rows_dropped"]["aggregate unit (country or federal district): used only as a check"] == 6
    assert annex["file"].endswith("annex.xlsx [sheet 2.3.]")
    assert format_ledger(annex)[0].startswith(annex["file"])


def test_harmonise_units_converts_scale():
    a = pd.DataFrame({"indicator": ["gva"], "unit": ["million RUB"], "value": [1.0], "file": ["a"]})
    b = pd.DataFrame({"indicator": ["gva"], "unit": ["thousand RUB"], "value": [2000.0], "file": ["b"]})
    notes = harmonise_units([a, b])
    assert b["value"].tolist() == [2.0] and b["unit"].tolist() == ["million RUB"] and notes


def test_region_vintage_names_the_set():
    from mapping.ingest.registry import load_region_registry

    r = load_region_registry()
    subj = r.loc[r["kind"] == "subject", "region_code"]
    assert region_vintage(subj, r).startswith("89 subjects")
    no22 = subj[~subj.isin(["RU-X-DPR", "RU-X-LPR", "RU-X-ZAP", "RU-X-KHE"])]
    assert region_vintage(no22, r).startswith("85 subjects")
    assert region_vintage(no22[~no22.isin(["RU-X-CR", "RU-X-SEV"])], r).startswith("83 subjects")


def test_parse_options():
    assert parse_options(["sheet=2.3.", "years=2020,2021", "columns.value=emp", "levels=naics2,total"]) == {
        "sheet": "2.3.", "years": (2020, 2021), "columns": {"value": "emp"}, "levels": ("naics2", "total")}
    with pytest.raises(MappingError, match="expected KEY=VALUE"):
        parse_options(["sheet"])


def test_cli_check_prints_ledger(tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    p = L.annex_workbook(tmp_path)
    res = CliRunner().invoke(app, ["check", "--input", str(p), "--option", "sheet=2.3."])
    assert res.exit_code == 0, res.output
    assert "annex; one cell per value" in res.output and "check country" in res.output


def test_cli_check_error_is_one_paragraph(tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    p = L.annex_workbook(tmp_path)
    res = CliRunner().invoke(app, ["check", "--input", str(p), "--option", "sheet=9.9."])
    assert res.exit_code == 2
    out = res.output.strip()
    assert out.startswith("error: ") and "\n" not in out and "Traceback" not in out
    assert "wrong sheet '9.9.'" in out


def test_cli_run_bad_input_leaves_latest_untouched(tmp_path, prefect_harness):
    """A malformed input fails the run in one paragraph, without a traceback, and latest stays as it was."""
    from typer.testing import CliRunner

    from flows.cli import app

    root = tmp_path / "out"
    (root / "runs" / "old").mkdir(parents=True)
    (root / "latest").symlink_to(root / "runs" / "old")
    cfg = tmp_path / "c.toml"
    default = (REPO_ROOT / "config" / "default.toml").read_text(encoding="utf-8")
    cfg.write_text(default.replace('output_root = "../outputs"', f'output_root = "{root}"')
                   .replace('"../', f'"{REPO_ROOT}/'), encoding="utf-8")
    bad = Path(__file__).resolve().parents[1] / "data" / "malformed" / "tidy_unknown_region.csv"
    res = CliRunner().invoke(app, ["run", "--config", str(cfg), "--input", str(bad), "--output-root", str(root)])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert "error: " in res.output and "unknown region label(s): 'Татарстанская область'" in res.output
    assert (root / "latest").resolve() == (root / "runs" / "old").resolve()


def test_us_registries_match_the_boundaries():
    import pyogrio

    from mapping.ingest.registry import load_activity_registry, load_region_registry

    regions = load_region_registry(G / "us_regions.csv")
    subjects = regions.loc[regions["kind"] == "subject"]
    assert len(subjects) == 51 and set(regions["kind"]) == {"country", "federal_district", "subject"}
    gpkg = set(pyogrio.read_dataframe(G / "us_states.gpkg", columns=["region_code"], read_geometry=False)["region_code"])
    assert set(subjects["boundary_codes"]) == gpkg
    acts = load_activity_registry(G / "naics2007.csv")
    assert set(acts["classification"]) == {"NAICS2007"}
    assert {"TOTAL", "31-33", "44-45", "48-49", "336411"} <= set(acts["code"])
    assert acts.set_index("code").at["336411", "parent_code"] == "33641"


def test_tidy_parquet_complete_and_gappy_columns_read_as_the_same_csv(tmp_path):
    # Complete columns keep their Parquet dtype when read, columns with a gap become per-cell objects: both
    # must give what the same table read from CSV gives (codes stripped, years whole, suppressed cells empty).
    rows = [{"year": 2021, "region_code": " RU-BEL", "activity_code": "C ", "classification": "OKVED2",
             "level": "section", "indicator": "gva", "value": 5.0, "unit": "million RUB", "flag": "", "source": "x"},
            {"year": 2021, "region_code": "RU-BRY", "activity_code": "C", "classification": "OKVED2",
             "level": "section", "indicator": "gva", "value": None, "unit": "million RUB", "flag": "suppressed",
             "source": None}]
    pd.DataFrame(rows).to_parquet(tmp_path / "gappy.parquet")
    complete = pd.DataFrame(rows).fillna({"value": 7.0, "source": "y"}).assign(flag="")
    complete.to_parquet(tmp_path / "complete.parquet")
    complete.to_csv(tmp_path / "complete.csv", index=False)
    a = read_input(InputFile(path=tmp_path / "complete.parquet")).tidy
    b = read_input(InputFile(path=tmp_path / "complete.csv")).tidy
    cols = ["year", "region_code", "activity_code", "value", "flag", "source"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert a["region_code"].tolist() == ["RU-BEL", "RU-BRY"] and a["year"].tolist() == [2021, 2021]
    g = read_input(InputFile(path=tmp_path / "gappy.parquet")).tidy
    assert g["value"].isna().tolist() == [False, True] and g["flag"].tolist() == ["", "suppressed"]
    assert g["source"].tolist() == ["x", ""]
