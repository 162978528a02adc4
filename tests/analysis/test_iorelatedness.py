"""Input-output relatedness: derivation from a hand-made supply-use table, code mapping, coverage on the real tables."""

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mapping.analysis.iorelatedness import bea_naics_prefix, flows_from_supply_use, io_links, map_io_codes
from mapping.ingest.registry import load_activity_registry
from mapping.ingest.tables import read_io_concordance, read_io_table

ROOT = Path(__file__).resolve().parents[2]
GEO = ROOT / "geodata"


def test_flows_from_a_hand_made_supply_use_table():
    # Activity a makes 8 of product p1 and b makes 2 of p1 and 5 of p2 (supply V, products x activities).
    v = pd.DataFrame({"a": [8.0, 0.0], "b": [2.0, 5.0]}, index=["p1", "p2"])
    # a uses 1 of p1 and 3 of p2; b uses 4 of p1 (use U).
    u = pd.DataFrame({"a": [1.0, 3.0], "b": [4.0, 0.0]}, index=["p1", "p2"])
    f = flows_from_supply_use(v, u)
    # p1 comes 80 % from a, 20 % from b; p2 all from b. a -> a: 0.8 * 1; b -> a: 0.2 * 1 + 3; a -> b: 0.8 * 4; b -> b: 0.2 * 4.
    assert f.loc["a", "a"] == pytest.approx(0.8) and f.loc["b", "a"] == pytest.approx(3.2)
    assert f.loc["a", "b"] == pytest.approx(3.2) and f.loc["b", "b"] == pytest.approx(0.8)
    assert f.to_numpy().sum() == pytest.approx(u.to_numpy().sum())  # every use is supplied by someone


def test_links_are_the_largest_of_four_shares_and_unseparable_pairs_have_no_evidence():
    flows = pd.DataFrame({"from_code": ["X", "X", "Y", "Z"], "to_code": ["Y", "Z", "Z", "X"],
                          "value": [10.0, 30.0, 5.0, 2.0]})
    conc = pd.DataFrame({"io_code": ["X", "Y", "Z", "Z"], "activity_code": ["101", "102", "103", "104"]})
    codes = ["1011", "1012", "102", "103", "104", "999"]
    mapping, unmapped = map_io_codes(codes, conc)
    assert mapping["1011"] == ("X",) and mapping["1012"] == ("X",)  # finer codes climb to their prefix
    assert unmapped == ["999"]
    m = io_links(codes, flows, mapping)
    # X sells 40 (10 to Y, 30 to Z) and buys 2; Y buys 10, sells 5; Z buys 35, sells 2.
    # X-Y: max(10/10 of Y's inputs, 10/40 of X's sales) = 1; X-Z: max(30/35, 30/40, 2/2 of Z's sales, 2/2 of X's inputs) = 1;
    # Y-Z: max(5/35, 5/5) = 1 -- and with one flow halved the shares are visible:
    assert m.loc["1011", "102"] == pytest.approx(1.0)
    assert np.isnan(m.loc["1011", "1012"])  # both in X: the table cannot separate them
    assert np.isnan(m.loc["103", "104"])     # Z merges 103 and 104
    assert np.isnan(m.loc["999", "102"]) and m.loc["999", "999"] == 1.0
    flows2 = flows.assign(value=[10.0, 30.0, 5.0, 0.0])
    m2 = io_links(codes, flows2, mapping)
    assert m2.loc["1011", "103"] == pytest.approx(30 / 35)  # X's share of Z's inputs beats 30/40 of X's sales


def test_a_section_collects_the_industries_below_it():
    acts = pd.DataFrame({"code": ["C", "10", "11", "12", "20", "A", "01"],
                         "parent_code": ["", "C", "C", "C", "C", "", "A"]})
    conc = pd.DataFrame({"io_code": ["C10-12", "C10-12", "C10-12", "C20", "A01"],
                         "activity_code": ["10", "11", "12", "20", "01"]})
    mapping, unmapped = map_io_codes(["C", "A", "U"], conc, acts)
    assert mapping == {"C": ("C10-12", "C20"), "A": ("A01",)} and unmapped == ["U"]


def test_bea_prefixes():
    assert [bea_naics_prefix(c) for c in ["33641A", "336411", "221100", "230302", "531ORE", "S00203"]] == \
        ["33641", "336411", "2211", "23", "531", ""]


def test_us_table_covers_the_cbp_industries_and_keeps_the_use_total(shared):
    flows = read_io_table(GEO / "io_us_bea2007_naics.csv")
    conc = read_io_concordance(GEO / "io_us_bea2007_naics_codes.csv")
    acts = load_activity_registry(GEO / "naics2007.csv")
    naics6 = sorted(acts.loc[acts["level"] == "naics6", "code"])
    mapping, unmapped = map_io_codes(naics6, conc, acts)
    assert len(naics6) > 600 and len(unmapped) <= 5, unmapped
    assert mapping["336411"] == ("336411",) and mapping["336415"] == ("33641A",)  # 33641A: what 33641x codes leave
    assert mapping["452111"] == ("452000",) and mapping["442299"] == ("4A0000",)  # retail: BEA aggregate 4A0000
    # The flows conserve the Use table's intermediate use (industry columns) of every commodity some
    # industry makes; recomputed here with the csv module from the original files.
    num = lambda x: float(x) if x not in ("", "NA") else 0.0  # noqa: E731
    with open(shared / "data/us/io/BEA2007_389_Make_BeforeRedef_USEEIO.csv", newline="") as f:
        make = list(csv.reader(f))
    made = {c for j, c in enumerate(make[0]) if j and sum(num(r[j]) for r in make[1:] if not r[0].startswith("T0")) > 0}
    with open(shared / "data/us/io/BEA2007_389_Use_PRO_BeforeRedef_USEEIO.csv", newline="") as f:
        rows = list(csv.reader(f))
    industries = set(conc["io_code"])
    cols = [j for j, h in enumerate(rows[0]) if h in industries]
    total = sum(num(r[j]) for r in rows[1:] if r[0] in made and not r[0].startswith("T0") for j in cols)
    assert flows["value"].sum() == pytest.approx(total, rel=1e-4)  # BEA's few negative make entries count as 0


def test_ru_table_covers_every_okved2_division_but_extraterritorial(shared):
    conc = read_io_concordance(GEO / "io_ru_2019_okved2_codes.csv")
    acts = load_activity_registry(GEO / "activities.csv")
    # The full OKVED2 list (Rosstat open data, cp1251): every division and section.
    ok = pd.read_csv(shared / "data/ru/classification/Rosstat_OKVED2_opendata_20231201.csv", sep=";", header=None,
                     dtype=str, encoding="cp1251", keep_default_na=False)
    divisions = sorted({c for c in ok[1] if len(c) == 2 and c.isdigit()})
    sections = sorted(set(ok[0]) - {""})
    assert len(divisions) == 88 and len(sections) == 21
    mapping, unmapped = map_io_codes(divisions, conc, acts)
    assert unmapped == ["99"]  # extraterritorial organisations are not in Rosstat's table
    assert mapping["21"] == ("C21",) and mapping["10"] == mapping["12"] == ("C10-12",)
    smap, sun = map_io_codes(sections, conc, acts)
    assert sun == ["U"] and len(smap["C"]) == 19  # 10-12, 13-15, 16 ... 30, 31-32, 33
    # Total intermediate use of domestic products, as the table derived from the original workbook holds it.
    flows = read_io_table(GEO / "io_ru_2019_okved2.csv")
    raw = pd.read_excel(shared / "data/ru/io/rosstat_tri-2019_OKVED2.xlsx", sheet_name="М-отеч", header=None)
    assert flows["value"].sum() == pytest.approx(raw.iloc[4:65, 3:64].apply(pd.to_numeric).to_numpy().sum(), rel=1e-6)
