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


def _headline(report: str, heading: str = "### In brief") -> str:
    start = report.index(heading)
    return report[start:report.index("\n### ", start + 1)]


def test_headline_counts_verdicts_in_english_and_russian(run, report):
    sup = pd.read_csv(run.run_dir / "supported_clusters.csv")
    head = _headline(report)
    testable = sup["status"].isin(["aligned", "supported_not_specialised"])
    robust_aligned = sup.loc[(sup["status"] == "aligned") & sup["robust"]]
    dependent = sup.loc[~sup["robust"] & sup["verdicts_by_rule"].str.contains("=aligned")]
    assert f"Of **{len(sup)}** supported clusters, the data could test **{testable.sum()}**" in head
    assert f"({testable.sum()} at the section level)" in head  # the default data are by section
    assert f"**Aligned under every rule: {len(robust_aligned)}**" in head
    assert f"**Aligned only under some rules: {len(dependent)}**" in head
    never = ((sup["status"] == "supported_not_specialised") & sup["robust"]).sum()
    assert f"**Not aligned under any rule: {never}**" in head
    n_nt = sup["status"].isin(["not_testable", "no_data"]).sum()
    assert f"**Could not be tested: {n_nt}**" in head
    for name in robust_aligned["name_en"]:
        assert name in head, "robustly aligned clusters are named"
    for name in dependent["name_en"]:
        assert name in head, "rule-dependent clusters are named"
    assert "European Cluster Observatory stars" in head and "US Cluster Mapping percentile rule" in head
    ru = _headline(report, "### Коротко")
    assert f"Из **{len(sup)}** поддерживаемых кластеров данные позволили проверить **{testable.sum()}**" in ru
    assert f"**Подтверждены специализацией по всем правилам: {len(robust_aligned)}**" in ru
    assert f"**Подтверждены только по некоторым правилам: {len(dependent)}**" in ru


def test_headline_has_no_jargon_and_no_python_structures(report):
    head = report[report.index("## Headline"):report.index("### Strongest")]
    for word in ("ARI", "silhouette", "HH", "HL", "Moran"):
        assert not re.search(rf"\b{word}\b", head), word
    assert not re.search(r"\{'|\['|\bnan\b|\bNone\b|\bTrue\b|\bFalse\b", report)
    methods = report[report.index("## Methods"):report.index("## Data sources")]
    assert "### Glossary" in methods and "silhouette" in methods and "ARI" in methods


def test_untapped_ranked_by_signal(run, report, divergence):
    top = _table_after(report, "### Strongest traded untapped")
    un = divergence.loc[divergence["status"] == "specialised_not_supported"]
    traded = un.loc[un["trade_class"] == "traded"]
    assert f"**{len(un)}** region × activity pairs" in report or f"Untapped specialisations: {len(un)}**" in report
    assert len(top) == min(10, len(traded))
    codes = set(zip(traded["region_name_en"], traded["activity_code"]))
    assert all((r, c) in codes for r, c in zip(top["region (en)"], top["code"])), "only traded activities"
    assert not top["indicator"].str.contains("within industry").iloc[0], "a within-industry LQ is never alone on top"
    # Among rows with the same signals the economy-wide LQ decreases.
    for _, g in top.groupby("signals", sort=False):
        lqs = g["LQ"].astype(float)
        assert list(lqs) == sorted(lqs, reverse=True)
    local = _table_after(report, "### Local untapped")
    assert set(local["code"]) <= set(un.loc[un["trade_class"] == "local", "activity_code"])


def test_untapped_ranked_by_size(run, report, divergence):
    big = _table_after(report, "### Largest traded untapped")
    shares = big["share of national"].str.rstrip("%").astype(float)
    assert list(shares) == sorted(shares, reverse=True)


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
    top = _table_after(report, "### Strongest traded untapped")
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


def test_empty_support_registry_says_so_and_the_contract_still_holds(run, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from mapping import pipeline

    src = pd.read_csv(run.config.geodata.supported_clusters, dtype=str, nrows=0)
    empty = tmp_path / "no_supported_clusters.csv"
    src.to_csv(empty, index=False)  # the registry's columns, no clusters
    cfg = run.config.model_copy(update={
        "geodata": run.config.geodata.model_copy(update={"supported_clusters": empty}),
        "run": run.config.run.model_copy(update={"output_root": tmp_path / "out"})})
    div = pipeline.compare_supported(run.analysis, run.inputs, cfg)
    assert div[1].empty and set(div[0]["status"]) == {"specialised_not_supported"}
    run_dir = pipeline.write_run(cfg, run.inputs, run.analysis, run.matrix, run.groups, run.geography,
                                 run.candidates, div)
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    head = report[report.index("## Headline"):report.index("### Strongest")]
    assert "**The support registry of this run is empty** (no_supported_clusters.csv)" in head
    assert "**Реестр поддерживаемых кластеров пуст**" in head
    assert "Could not be tested" not in head
    tool = Path(__file__).resolve().parents[2].parent / "shared" / "tools" / "check_contract.py"
    if not tool.is_file():
        pytest.skip(f"{tool} not found (../shared absent)")
    p = subprocess.run([sys.executable, str(tool), str(run_dir)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-2000:]
    assert "supported_clusters.geojson: no features" in p.stdout


def test_rows_used_are_counted_by_file_of_origin(run, report):
    got = _table_after(report, "Where the rows used come from")
    src = [str(s).split("!")[0] for s in run.inputs.tidy["source"]]  # counted here row by row
    want = {k: src.count(k) for k in set(src)}
    assert dict(zip(got["source (file of origin)"], got["rows used"].astype(int))) == want
