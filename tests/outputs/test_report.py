"""report.md and report.html of a real run: headline first, rankings, districts, names, maps, sources."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from _default_run import default_run

from mapping.outputs.report import display_name, untapped_specialisations
from mapping.outputs.reporthtml import render_report_html


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return default_run(tmp_path_factory)


@pytest.fixture(scope="module")
def report(run) -> str:
    return (run.run_dir / "report.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def divergence(run) -> pd.DataFrame:
    return pd.read_csv(run.run_dir / "divergence.csv", keep_default_na=False, na_values=[""])


def _table_after(text: str, heading: str) -> pd.DataFrame:
    """The first Markdown table after ``heading``, as text cells."""
    lines = text[text.index(heading):].splitlines()[1:]
    rows = []
    for ln in lines:
        if ln.startswith("|"):
            rows.append([c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", ln.strip())[1:-1]])
        elif rows:
            break
    return pd.DataFrame(rows[2:], columns=rows[0])


def _sections(text: str) -> list[str]:
    return [ln[3:].strip() for ln in text.splitlines() if ln.startswith("## ")]


def test_report_leads_with_the_headline(report):
    sections = _sections(report)
    assert sections[0] == "Headline"
    order = ["Headline", "Maps", "Supported clusters", "Data sources", "Row ledger"]
    assert [s for s in sections if s in order] == order


def test_headline_counts_supported_clusters_by_status(run, report):
    sup = pd.read_csv(run.run_dir / "supported_clusters.csv")
    n = sup["status"].value_counts()
    head = report[report.index("## Headline"):report.index("### ")]
    assert f"Of **{len(sup)}** supported clusters" in head
    assert f"**{n.get('aligned', 0)} are `aligned`**" in head
    assert f"**{n.get('supported_not_specialised', 0)} are `supported_not_specialised`**" in head
    for name in sup.loc[sup["status"] == "aligned", "name_ru"]:
        assert name in head, "aligned clusters are named"


def test_untapped_ranked_by_lq(report, divergence):
    top = _table_after(report, "### Strongest untapped")
    un = divergence.loc[divergence["status"] == "specialised_not_supported"]
    assert f"**{len(un)} untapped specialisations**" in report
    lqs = top["LQ"].astype(float)
    assert list(lqs) == sorted(lqs, reverse=True)
    assert lqs.iloc[0] == pytest.approx(un["lq_max"].max(), abs=0.005)
    assert len(top) == min(10, len(un))


def test_untapped_ranked_by_size(run, report):
    big = _table_after(report, "### Largest untapped")
    shares = big["share of national"].str.rstrip("%").astype(float)
    assert list(shares) == sorted(shares, reverse=True)
    un = untapped_specialisations(pd.read_csv(run.run_dir / "divergence.csv"), run.analysis.lq, run.analysis.year)
    assert shares.iloc[0] == pytest.approx(100 * un["share_of_national"].max(), abs=0.05)


def test_headline_per_federal_district(run, report, divergence):
    fd = _table_after(report, "### By federal district")
    un = divergence.loc[divergence["status"] == "specialised_not_supported"]
    assert fd["untapped pairs"].astype(int).sum() == len(un)
    regions = run.inputs.regions
    names = regions.loc[regions["kind"] == "federal_district"].set_index("region_code")
    for code in un["federal_district"].unique():
        assert f"{names.at[code, 'name_ru']} / {names.at[code, 'name_en']}" in set(fd["federal district"])
    # Every supported cluster is counted in at least one district.
    sup = pd.read_csv(run.run_dir / "supported_clusters.csv")
    assert fd["aligned"].astype(int).sum() + fd["supported_not_specialised"].astype(int).sum() >= len(sup)


def test_names_in_russian_and_english(report, divergence):
    top = _table_after(report, "### Strongest untapped")
    row = top.iloc[0]
    src = divergence.loc[(divergence["region_name_en"] == row["region (en)"])
                         & (divergence["activity_code"] == row["code"])].iloc[0]
    assert row["region"] == src["region_name"] and re.search("[а-яА-Я]", row["region"])
    assert row["activity (en)"] == src["activity_name_en"]
    assert row["activity"] == display_name(src["activity_name"]) and re.search("[а-я]", row["activity"])


def test_maps_sources_and_ledger(run, report):
    for png in ("divergence.png", "candidate_clusters.png"):
        assert f"]({png})" in report
        assert (run.run_dir / png).stat().st_size > 50_000
    sources = report[report.index("## Data sources"):report.index("## Row ledger")]
    assert "DCW-GMT 2.1.1" in sources and "ru_rosstat_2021.csv" in sources and "Leaflet 1.9.4" in sources
    ledger = _table_after(report, "## Row ledger")
    assert ledger["file"].tolist() == ["ru_rosstat_2021.csv"]


def test_report_html_is_self_contained(run):
    page = (run.run_dir / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<h2>Headline</h2>" in page and "<table>" in page
    assert page.count('src="data:image/png;base64,') == 2
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)
    assert "<script" not in page


def test_report_html_never_passes_markup_through():
    page = render_report_html('# T\n\n| a |\n|---|\n| <script>alert(1)</script> & <b>x</b> |\n\n<img src=x onerror=1>\n')
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_untapped_specialisations_joins_size():
    div = pd.DataFrame({"region_code": ["A", "B", "C"], "activity_code": ["x", "x", "y"],
                        "status": ["specialised_not_supported", "specialised_not_supported", "aligned"],
                        "lq_max": [2.5, 4.0, 3.0], "lq_indicator": ["gva", "shipments", "gva"]})
    lq = pd.DataFrame({"year": 2021, "region_code": ["A", "A", "B"], "activity_code": "x",
                       "indicator": ["gva", "shipments", "shipments"], "value": [10.0, 99.0, 5.0],
                       "unit": "u", "share_of_national": [0.1, 0.9, 0.05]})
    out = untapped_specialisations(div, lq, 2021)
    assert out["region_code"].tolist() == ["B", "A"]
    assert out["share_of_national"].tolist() == [0.05, 0.1]  # the share of the indicator that gave the LQ


def test_display_name():
    assert display_name("ОБРАБАТЫВАЮЩИЕ ПРОИЗВОДСТВА") == "Обрабатывающие производства"
    assert display_name("Республика Татарстан") == "Республика Татарстан"
    assert display_name("") == ""
