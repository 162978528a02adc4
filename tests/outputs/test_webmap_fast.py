"""map.html written in bulk is the page folium writes from one dict per feature (``_webmap_reference``)."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.geometry
from _default_run import default_run
from _webmap_reference import write_webmap as reference_webmap
from shapely.geometry import MultiPolygon, Point, Polygon, box

from mapping.outputs.webjson import geometry_json
from mapping.outputs.webmap import write_webmap
from mapping.outputs.webpopups import PIECE, SEP, encode, mark

_FOLIUM_ID = re.compile(r"_[0-9a-f]{32}")
EVIL = '<img src=x onerror="window.__xss=1">"</script><script>window.__xss=2</script>&amp;'


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return default_run(tmp_path_factory)


@pytest.fixture(scope="module")
def layers(run):
    d = run.run_dir
    cand, sup, div = (gpd.read_file(d / f"{n}.geojson") for n in ("candidate_clusters", "supported_clusters",
                                                                     "divergence"))
    pairs = pd.read_csv(d / "divergence_pairs.csv", dtype={"activity_code": str})
    return cand, sup, div, pairs


def _same_page(tmp_path, *args, **kwargs):
    write_webmap(tmp_path / "new.html", *args, **kwargs)
    reference_webmap(tmp_path / "old.html", *args, **kwargs)
    new, old = ((tmp_path / f"{n}.html").read_text(encoding="utf-8") for n in ("new", "old"))
    new, old = _FOLIUM_ID.sub("_<id>", new), _FOLIUM_ID.sub("_<id>", old)
    if new != old:
        i = next((i for i, (a, b) in enumerate(zip(new, old)) if a != b), min(len(new), len(old)))
        pytest.fail(f"pages differ at {i}: new {new[i - 200:i + 200]!r}\nold {old[i - 200:i + 200]!r}")
    return new


def test_default_run_page_is_the_reference_page(run, layers, tmp_path):
    cand, sup, div, pairs = layers
    page = _same_page(tmp_path, cand, sup, div, background=run.geography.units, pairs=pairs, title="Cluster map")
    assert page.count("cm-candidates") > 1


def test_long_popups_missing_values_and_evil_names_give_the_reference_page(run, layers, tmp_path):
    cand, sup, div, pairs = (g.copy() for g in layers)
    # More than POPUP_PAIRS pairs in a region, missing LQs, names that are markup, empty names.
    pairs = pd.concat([pairs] * 45, ignore_index=True)
    pairs.loc[pairs.index % 7 == 0, "lq_max"] = np.nan
    pairs.loc[pairs.index % 5 == 0, "activity_name_en"] = ""
    pairs.loc[pairs.index % 3 == 0, "lq_high"] = pairs["lq_high"] + 1
    pairs.loc[1, "activity_name"] = EVIL
    cand.loc[cand.index[:3], "region_names"] = EVIL + ";" + EVIL
    cand.loc[cand.index[1], "group_label"] = EVIL
    cand.loc[cand.index[2], "supported_cluster_ids"] = ""
    sup["name_ru"] = EVIL
    div.loc[div.index[0], "region_name"] = EVIL
    div.loc[div.index[1], "region_name_en"] = ""
    page = _same_page(tmp_path, cand, sup, div, background=run.geography.units, pairs=pairs)
    assert "more pairs in divergence_pairs.csv" in page


def test_jinja_syntax_in_names_stays_text(layers, tmp_path):
    """The reference page went through Jinja: "{{ x }}" in a name vanished and "{%" broke the map."""
    cand, sup, div, _ = (g.copy() for g in layers)
    div.loc[div.index[0], "region_name"] = "{{ x }} {% if %}"
    write_webmap(tmp_path / "map.html", cand, sup, div)
    assert "{{ x }} {% if %}" in (tmp_path / "map.html").read_text(encoding="utf-8")


def test_without_background_or_pairs_and_with_an_empty_layer(layers, tmp_path):
    cand, sup, div, _ = layers
    _same_page(tmp_path, cand.head(0), sup, div)
    _same_page(tmp_path, cand, sup.head(0), div.head(3), tiles="https://t.example.org/{z}/{x}/{y}.png",
               tiles_attribution="© Example")


def test_repeated_ids_fall_back_to_folium(layers, tmp_path):
    cand, sup, div, pairs = layers
    sup = pd.concat([sup, sup]).pipe(gpd.GeoDataFrame, crs=sup.crs)  # folium then numbers the features itself
    _same_page(tmp_path, cand, sup, div, pairs=pairs)


def test_geometry_json_is_json_dumps_of_the_mapping():
    ring = [(0, 0), (0, 3.3), (3.1, 3.3), (3.1, 0), (0, 0)]
    hole = [(1, 1), (1, 2), (2, 2), (2, 1), (1, 1)]
    geoms = [box(10.123456789, 40.2, 10.4, -0.0), Polygon(ring, [hole]),
             MultiPolygon([Polygon(ring, [hole]), box(5, 5, 6, 6)]), None, Polygon(),
             Polygon([(0, 0, 1), (0, 1, 2), (1, 1, 3), (0, 0, 1)]), Point(1.5, 2), box(170, 60, 190.25, 70)]
    for g, fast, compact in zip(geoms, geometry_json(geoms), geometry_json(geoms, compact=True)):
        if g is None:
            assert fast == compact == "null"
            continue
        assert fast == json.dumps(shapely.geometry.mapping(g), sort_keys=True)
        assert compact == json.dumps(shapely.geometry.mapping(g), separators=(",", ":"), ensure_ascii=False)


def test_encode_cuts_pieces_as_the_regular_expression_and_keeps_each_once():
    html_texts = ["<div class='cm-popup'><h4>A &lt;b&gt;</h4><p>x</p></div>", "plain", "",
                  "<br><br>x<i>y</i>", "<td></td><td>z</td>", "<div class='cm-popup'><h4>B</h4><p>x</p></div>"]
    # Marked by hand (as the popup builders do: adjacent runs of tags and empty text between them) ...
    by_hand = f"{SEP}<td>{SEP}{SEP}</td><td>{SEP}z{SEP}</td>{SEP}"
    marked = [mark(t) for t in html_texts] + [by_hand]
    numbers, pieces = encode(marked)
    numbers = [json.loads(n) for n in numbers]
    assert len(pieces) == len(set(pieces))
    for text, nums in zip(html_texts + ["<td></td><td>z</td>"], numbers):
        if not text:
            assert nums == ""
            continue
        assert [pieces[k] for k in nums] == PIECE.findall(text)  # ... the pieces the expression cuts
    assert numbers[-1] == numbers[4]
    (whole,), pieces = encode([mark("a < b, no tag")])  # a "<" opening no tag: the text whole
    assert [pieces[k] for k in json.loads(whole)] == ["a < b, no tag"]
    assert set(numbers[0]) & set(numbers[5])  # the markup the two popups share is written once
