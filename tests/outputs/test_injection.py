"""Data never becomes markup or formulas: names and units from inputs and registries are escaped in the
Markdown and HTML reports (no external href/src can appear), and CSV cells a spreadsheet would run as
formulas are neutralised (OWASP CSV injection)."""

from __future__ import annotations

import csv
import re

import pandas as pd
import pytest

from mapping.outputs.publish import write_csv
from mapping.outputs.report import _md_table, md_text
from mapping.outputs.reporthtml import render_report_html

HOSTILE = ["[click](https://evil.example/x)", "![pixel](https://evil.example/p.png)", "<https://evil.example>",
           "<img src=https://evil.example/i.png>", "`code` | cell", "<script>alert(1)</script>"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_unit_in_a_report_table_stays_text(text):
    md = _md_table(pd.DataFrame({"indicator": ["gva"], "unit": [text], "rows": [3]}))
    page = render_report_html("# Report\n\n" + md)
    assert not re.search(r"<a\b|<img\b|<script\b", page), page
    assert "evil.example" not in " ".join(re.findall(r'(?:href|src)="([^"]*)"', page))
    # The table keeps its three columns (a "|" in the data does not open a cell).
    assert re.search(r"<tr>\s*<td>gva</td>\s*<td>[^<]*</td>\s*<td>3</td>\s*</tr>", page), page


def test_md_text_escapes_link_and_image_openers():
    assert md_text("![x](http://e/i.png)") == "!\\[x\\](http://e/i.png)"
    assert md_text("a\nb") == "a b"


def test_report_html_never_references_external_resources():
    md = ("# R\n\n[site](https://evil.example) ![img](http://evil.example/a.png) "
          "[js](javascript:alert(1)) ![up](../secret.png) ![ok](map_lq.png)\n")
    page = render_report_html(md)
    refs = re.findall(r'(?:href|src)="([^"]*)"', page)
    assert refs == ["map_lq.png"], refs


@pytest.mark.parametrize("value, expected", [
    ('=HYPERLINK("https://evil.example","x")', '\'=HYPERLINK("https://evil.example","x")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\n=1"),
    ("-1.5", "-1.5"), ("+3", "+3"), ("B-E", "B-E"), ("Белгородская область", "Белгородская область"),
])
def test_csv_cells_are_neutralised(tmp_path, value, expected):
    path = tmp_path / "t.csv"
    write_csv(pd.DataFrame({"activity_code": [value], "lq": [1.25]}), path)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[1] == [expected, "1.25"]
