"""Tests of mapping.registry: registries, label normalisation and resolution, nested units."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from mapping.errors import MappingError
from mapping.ingest.registry import (
    expand_to_units,
    leaf_units,
    load_activity_registry,
    load_region_registry,
    normalise_label,
    resolve_activity_labels,
    resolve_region_labels,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
DCW_STATES = Path("/usr/share/gmt-dcw/dcw-states.txt")


@pytest.fixture(scope="module")
def regions() -> pd.DataFrame:
    return load_region_registry()


@pytest.fixture(scope="module")
def collector():
    """The label extractors of scripts/collect_region_labels.py (scripts/ is not a package)."""
    if not (SHARED / "data" / "ru").is_dir():
        pytest.skip(f"shared data not found at {SHARED / 'data' / 'ru'}")
    spec = importlib.util.spec_from_file_location("collect_region_labels",
                                                  REPO / "scripts" / "collect_region_labels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Центральный         федеральный округ", "центральный федеральный округ"),
        ("Центральный\nфедеральный округ", "центральный федеральный округ"),
        ("\u00a0 Тюменская\tобласть  ", "тюменская область"),
        ("Российская Федерация1)", "российская федерация"),
        ("Сибирский  федеральный округ2)3)", "сибирский федеральный округ"),
        ("Республика Саха (Якутия)", "республика саха (якутия)"),
        ("Орёл", "орел"),
        ("Республика Северная Осетия – Алания", "республика северная осетия-алания"),
        ("Кемеровская область — Кузбасс", "кемеровская область-кузбасс"),
    ],
    ids=["spaces", "line-break", "nbsp-tab", "footnote", "two-footnotes", "parentheses", "yo", "en-dash",
         "em-dash"],
)
def test_normalise_label(raw, expected):
    assert normalise_label(raw) == expected


def test_region_counts(regions):
    subjects = regions.loc[regions["kind"] == "subject"]
    new = subjects["note"].str.contains("added to Rosstat tables after 2022")
    assert len(subjects) == 89
    assert (~new).sum() == 85
    assert set(subjects.loc[new, "region_code"]) == {"RU-X-DPR", "RU-X-LPR", "RU-X-ZAP", "RU-X-KHE"}
    assert (regions["kind"] == "federal_district").sum() == 8
    assert set(regions.loc[regions["kind"] == "remainder", "region_code"]) == {"RU-ARK-X", "RU-TYU-X"}
    assert regions.loc[regions["kind"] == "country", "region_code"].tolist() == ["RU"]


def test_every_subject_has_a_district(regions):
    units = regions.loc[regions["kind"].isin(["subject", "remainder"])]
    assert units["federal_district"].str.startswith("RU-FD-").all()


def test_iso_codes_match_dcw(regions):
    if not DCW_STATES.is_file():
        pytest.skip(f"{DCW_STATES} not found (apt-get install gmt-dcw)")
    dcw = {"RU-" + line.split()[1] for line in DCW_STATES.read_text().splitlines() if line.startswith("RU ")}
    iso = set(regions.loc[regions["kind"] == "subject", "iso_3166_2"]) - {""}
    assert len(dcw) == 83
    assert iso == dcw
    with_boundary = regions.loc[regions["kind"] == "subject"]
    assert set(with_boundary.loc[with_boundary["has_boundary"], "region_code"]) == dcw


def test_boundary_codes_refer_to_dcw_features(regions):
    features = set(regions.loc[regions["kind"] == "subject", "iso_3166_2"]) - {""}
    used = {c for codes in regions["boundary_codes"] for c in codes.split(";") if c}
    assert used <= features
    table = regions.set_index("region_code")
    assert table.at["RU-ARK", "boundary_codes"] == "RU-ARK;RU-NEN"
    assert table.at["RU-TYU-X", "boundary_codes"] == "RU-TYU"


def test_all_shared_region_labels_resolve(collector, regions):
    found = list(collector.iter_region_labels(SHARED))
    assert len(found) > 10_000
    codes = resolve_region_labels([f[2] for f in found], source="shared sources")
    # Every unit except the 2022 additions is met in the sources.
    assert set(codes.values()) == set(regions["region_code"]) - {"RU-X-DPR", "RU-X-LPR", "RU-X-ZAP", "RU-X-KHE"}
    examples = {
        "Город Москва столица Российской Федерации город федерального значения": "RU-MOW",
        "Ненецкий автономный округ (Архангельская область)": "RU-NEN",
        "Архангельская область (кроме Ненецкого автономного округа)": "RU-ARK-X",
        "    Южный федеральный округ (с 29.07.2016)": "RU-FD-SOU",
        "    в т.ч. Ненецкий автономный округ": "RU-NEN",
        "Российская Федерация из суммы субъектов Российской Федерации": "RU",
        "Бpянская область": "RU-BRY",  # Latin "p" in the annex sheet 12.9.
    }
    assert resolve_region_labels(list(examples)) == examples


def test_annex_extraction_skips_non_units(collector):
    path = SHARED / "data" / "ru" / "rosstat_regions_2022_annex" / "Раздел 2 - Труд.xlsx"
    labels = [normalise_label(lab) for _, lab in collector.annex_labels(path)]
    assert "российская федерация" in labels
    assert not [lab for lab in labels if lab.startswith(("в том числе", "на федеральном", "1)", "¾", "_"))]


def test_all_shared_activity_labels_resolve(collector):
    found = list(collector.iter_activity_labels(SHARED))
    for cls in ("OKVED2", "OKVED2007"):
        wanted = [a for a in found if a[0] == cls and a[4] is not None]
        got = resolve_activity_labels([a[3] for a in wanted], classification=cls, source="shared sources")
        wrong = [(a[2], a[3], got[a[3]], a[4]) for a in wanted if a[4] != "*" and got[a[3]] != a[4]]
        assert not wrong
    # Group-level rows (indented deeper) are outside the registry: they must fail, not match loosely.
    for label in [a[3] for a in found if a[4] is None]:
        with pytest.raises(MappingError):
            resolve_activity_labels([label], classification="OKVED2")


def test_unknown_region_label_lists_closest_names():
    with pytest.raises(MappingError, match="Белгородская область") as info:
        resolve_region_labels(["Белгородская обл", "Атлантида"], source="input.csv")
    message = str(info.value)
    assert "input.csv" in message and "'Атлантида'" in message and "2 unknown" in message


def test_unknown_labels_at_most_five_listed():
    with pytest.raises(MappingError, match="and 2 more"):
        resolve_region_labels([f"Неизвестная область {i}" for i in range(7)])


@pytest.mark.parametrize(
    ("label", "classification", "code"),
    [
        ("Раздел О", "OKVED2", "O"),  # Cyrillic О
        ("Раздел С", "OKVED2", "C"),  # Cyrillic С
        ("Раздел C", "OKVED2", "C"),
        ("C", "OKVED2", "C"),
        ("21", "OKVED2", "21"),
        ("ОБРАБАТЫВАЮЩИЕ ПРОИЗВОДСТВА", "OKVED2", "C"),
        ("Обрабатывающие производства", "OKVED2007", "D"),
        ("Раздел О", "OKVED2007", "O"),
        ("Транспорт и связь", "OKVED2007", "I"),
    ],
    ids=["cyr-O", "cyr-C", "lat-C", "code", "division", "okved2-name", "okved2007-name", "okved2007-O",
         "okved2007-I"],
)
def test_resolve_activity(label, classification, code):
    assert resolve_activity_labels([label], classification=classification) == {label: code}


def test_section_and_division_with_one_name():
    assert resolve_activity_labels(["Образование"], classification="OKVED2") == {"Образование": "P"}
    assert resolve_activity_labels(["Образование"], classification="OKVED2", level="division") == {"Образование": "85"}


def test_unknown_classification():
    with pytest.raises(MappingError, match="OKVED2007"):
        resolve_activity_labels(["C"], classification="NACE")


def test_activity_registry_contents():
    acts = load_activity_registry()
    okved2 = acts.loc[acts["classification"] == "OKVED2"]
    sections = okved2.loc[okved2["level"] == "section", "code"]
    divisions = okved2.loc[okved2["level"] == "division"]
    assert list(sections) == list("ABCDEFGHIJKLMNOPQRSTU")
    assert len(divisions) == 88 and divisions["code"].str.fullmatch(r"\d{2}").all()
    assert set(divisions["parent_code"]) == set(sections)
    old = acts.loc[(acts["classification"] == "OKVED2007") & (acts["level"] == "section"), "code"]
    assert list(old) == list("ABCDEFGHIJKLMNOPQ")


@pytest.mark.parametrize("nested", ["parts", "parents"])
def test_leaf_units_do_not_overlap(regions, nested):
    units = leaf_units(regions, nested=nested)
    parent = dict(zip(regions["region_code"], regions["parent_code"]))
    assert not [u for u in units if parent[u] in units]
    kinds = set(regions.set_index("region_code").loc[units, "kind"])
    assert kinds <= {"subject", "remainder"}
    if nested == "parts":
        assert {"RU-NEN", "RU-ARK-X", "RU-KHM", "RU-YAN", "RU-TYU-X"} <= set(units)
        assert not {"RU-ARK", "RU-TYU"} & set(units)
    else:
        assert {"RU-ARK", "RU-TYU"} <= set(units)
        assert not {"RU-NEN", "RU-ARK-X", "RU-KHM", "RU-YAN", "RU-TYU-X"} & set(units)


def test_leaf_units_incomplete_parts(regions):
    with pytest.raises(MappingError, match="RU-ARK-X"):
        leaf_units(regions, ["RU-ARK", "RU-NEN", "RU-BEL"], nested="parts")
    assert leaf_units(regions, ["RU-ARK", "RU-NEN", "RU-BEL", "RU-FD-NW"], nested="parents") == ["RU-BEL", "RU-ARK"]


def test_expand_to_units(regions):
    assert expand_to_units("RU-ARK", regions, nested="parts") == ["RU-ARK-X", "RU-NEN"]
    assert expand_to_units("RU-NEN", regions, nested="parents") == ["RU-ARK"]
    assert expand_to_units("RU-TYU-X", regions, nested="parents") == ["RU-TYU"]
    assert expand_to_units("RU-TA", regions, nested="parts") == ["RU-TA"]
    ural = expand_to_units("RU-FD-URA", regions, nested="parts")
    assert ural == sorted(["RU-KGN", "RU-SVE", "RU-KHM", "RU-YAN", "RU-TYU-X", "RU-CHE"])
    assert len(expand_to_units("RU", regions, nested="parents")) == 86  # 89 subjects less 3 okrugs
    with pytest.raises(MappingError, match="nested"):
        expand_to_units("RU-TA", regions, nested="children")


def test_registry_errors_name_the_file(tmp_path):
    bad = tmp_path / "regions.csv"
    bad.write_text("region_code,kind\nRU,country\n", encoding="utf-8")
    with pytest.raises(MappingError, match="regions.csv: missing column"):
        load_region_registry(bad)
    reg = load_region_registry()
    dup = tmp_path / "dup.csv"
    pd.concat([reg, reg.head(1)]).to_csv(dup, index=False)
    with pytest.raises(MappingError, match="dup.csv: duplicate region_code"):
        load_region_registry(dup)
