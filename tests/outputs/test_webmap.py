"""map.html: offline Leaflet, escaped names, and a real render in headless Chromium (Debian ``chromium``)."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
from _default_run import default_run

from mapping.config import MapsSection
from mapping.errors import MappingError
from mapping.outputs.webmap import LAYER_CLASSES, leaflet_assets, write_webmap

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
EVIL = '<img src=x onerror="window.__xss=1">"</script><script>window.__xss=2</script>&amp;'


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return default_run(tmp_path_factory)


def _read(run_dir: Path, name: str, id_col: str) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(run_dir / f"{name}.geojson")
    assert "id" in gdf.columns
    return gdf if id_col in gdf.columns else gdf.assign(**{id_col: gdf["id"]})


@pytest.fixture(scope="module")
def layers(run):
    return (_read(run.run_dir, "candidate_clusters", "candidate_id"), _read(run.run_dir, "supported_clusters", "cluster_id"),
            _read(run.run_dir, "divergence", "divergence_id"))


def expected_counts(run, layers) -> dict[str, int]:
    """Features each overlay must draw, derived from the published GeoJSON (not from the web map code)."""
    cand, sup, div = layers
    out = {LAYER_CLASSES["candidate_clusters"]: len(cand), LAYER_CLASSES["supported_clusters"]: len(sup),
           LAYER_CLASSES["background"]: len(run.geography.units)}
    # Contract version 2: one divergence feature per region.
    out[LAYER_CLASSES["divergence"]] = div["region_code"].nunique()
    assert len(div) == div["region_code"].nunique()
    return out


# --- the page itself --------------------------------------------------------------------------------------------

def test_map_html_references_nothing_external(run):
    page = (run.run_dir / "map.html").read_text(encoding="utf-8")
    assert "Leaflet 1.9.4" in page, "Leaflet should be inlined"
    assert not re.findall(r"<(?:script|link)[^>]+(?:src|href)=", page), "no script/stylesheet may be loaded"
    for cdn in ("cdn.jsdelivr.net", "code.jquery.com", "cdnjs.cloudflare.com", "netdna.bootstrapcdn.com", "unpkg.com"):
        assert cdn not in page
    assert "url(images/" not in page, "Leaflet's CSS images must be inlined"
    assert "L.tileLayer(" not in page, "no base-map tiles by default"
    assert "sourceMappingURL" not in page
    assert (run.run_dir / "map.html").stat().st_size < 5_000_000


def test_leaflet_assets_come_from_the_registry_package():
    js, css = leaflet_assets()
    assert js.startswith("/* @preserve\n * Leaflet 1.9.4")
    assert "data:image/png;base64," in css and "url(images/" not in css


def test_webmap_counts_match_the_layers(run, layers, tmp_path):
    counts = write_webmap(tmp_path / "map.html", *layers, background=run.geography.units)
    assert counts == expected_counts(run, layers)


def test_each_region_shape_is_in_the_page_once(run, layers, tmp_path):
    """Candidates refer to their regions' shapes (CM_REGIONS) instead of repeating them."""
    import json

    cand = layers[0]
    write_webmap(tmp_path / "map.html", *layers, background=run.geography.units)
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    m = re.search(r"var CM_REGIONS = (\{.*?\});", page)
    assert m, "the page holds the regions' shapes once"
    shapes = json.loads(m.group(1))
    assert set(shapes) == set(run.geography.units["region_code"])
    refs = re.findall(r'"_regions": "([^"]*)"', page)
    assert len(refs) == len(cand)  # every candidate feature refers to its regions, none carries coordinates
    assert sorted(refs) == sorted(cand["region_codes"])
    assert len(re.findall(r'"geometry": null', page)) == len(cand)
    # The browser test (test_map_renders_in_chromium) checks that Leaflet draws every candidate from them.


def _evil_layers(layers):
    cand, sup, div = (g.head(3).copy() for g in layers)
    cand["region_names"] = EVIL + ";" + EVIL
    cand["group_label"] = EVIL
    sup["name_ru"] = sup["name_en"] = EVIL
    div["region_name"] = div["region_name_en"] = EVIL
    return cand, sup, div


def _page_popups(page: str) -> list[str]:
    """Every popup and tooltip of a written page, joined back from its pieces (CM_TEXT) as the page does."""
    import json

    texts = json.loads(re.search(r"var CM_TEXT = (\[.*?\]);\n\(function", page, re.S).group(1))
    out = []
    for data in re.findall(r"_add\((\{\"features\".*?\})\);\n", page):
        for f in json.loads(data)["features"]:
            out += ["".join(texts[k] for k in v) if isinstance(v, list) else v
                    for k, v in f["properties"].items() if k in ("popup", "tooltip")]
    return out


def test_names_from_data_are_escaped(layers, tmp_path):
    from mapping.outputs.webmap import build_webmap

    m, _ = build_webmap(*_evil_layers(layers))
    write_webmap(tmp_path / "map.html", *_evil_layers(layers))
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    # Popups and tooltips are the numbers of their pieces (written once in the page): joined back here.
    html_bits = _page_popups(page)
    assert len(html_bits) == 2 * sum(len(g) for g in _evil_layers(layers))
    html_bits += [child.html for child in m._children.values() if hasattr(child, "html")]  # the legend
    joined = "\n".join(html_bits)
    assert "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" in joined  # the text is there ...
    assert "<img" not in joined and "<script" not in joined  # ... but never as markup
    assert "&amp;amp;" in joined  # an entity in the data stays literal text
    assert "<script>window.__xss" not in page and page.count("<script") == page.count("</script>")


def test_tiles_are_optional_and_need_an_attribution(layers, tmp_path):
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    write_webmap(tmp_path / "tiles.html", *(g.head(2) for g in layers), tiles=url, tiles_attribution="© Example")
    page = (tmp_path / "tiles.html").read_text(encoding="utf-8")
    assert url in page and "Example" in page
    with pytest.raises(MappingError, match="tiles_attribution"):
        write_webmap(tmp_path / "bad.html", *(g.head(2) for g in layers), tiles=url)
    assert MapsSection().tiles is None and MapsSection().simplify_deg == 0.02


# --- headless Chromium ------------------------------------------------------------------------------------------

class _Browser:
    """A page in headless Debian Chromium that records console errors, page errors and network requests."""

    def __init__(self, pw):
        self.browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        ctx = self.browser.new_context(viewport={"width": 1400, "height": 900})
        self.requests: list[str] = []
        # Anything but the page's own file is refused (and recorded): the map must work offline.
        ctx.route(re.compile(r"^(https?|wss?|ftp):"), lambda route: (self.requests.append(route.request.url),
                                                                    route.abort()))
        self.page = ctx.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def open(self, path: Path) -> None:
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_selector("path.leaflet-interactive")

    def counts(self) -> dict[str, int]:
        return self.page.evaluate("""() => {
            const out = {};
            document.querySelectorAll('.leaflet-overlay-pane path').forEach(p => {
                for (const c of p.classList) if (c.startsWith('cm-')) out[c] = (out[c] || 0) + 1;
            });
            return out;
        }""")

    def popup_of(self, feature_id: str) -> str:
        return self.page.evaluate("""(fid) => {
            const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
            let found = null;
            window[key].eachLayer(l => { if (!found && l.feature && l.feature.id === fid) found = l; });
            if (!found) return "no feature " + fid;
            // folium binds popups on the overlay; a click on the feature propagates to it.
            found.fire('click', {latlng: found.getBounds().getCenter()}, true);
            const el = document.querySelector('.leaflet-popup-content');
            return el ? el.innerText : null;
        }""", feature_id)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (`make debs` or apt-get install chromium) "
                    "to run the browser test of map.html")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = _Browser(pw)
        yield b
        b.browser.close()


def test_map_renders_in_chromium(run, layers, browser, tmp_path):
    browser.open(run.run_dir / "map.html")
    # A status no pair has draws no path (not_testable / no_data on the default data).
    expected = {k: v for k, v in expected_counts(run, layers).items() if v}
    candidates = expected.pop(LAYER_CLASSES["candidate_clusters"])
    assert browser.counts() == expected, "candidates start hidden; every other overlay drawn in full"

    # Switch the candidate overlays (one per co-location group) on through the layer control, as a user would.
    labels = browser.page.locator(".leaflet-control-layers label", has_text="Candidates ")
    for i in range(labels.count()):
        labels.nth(i).click()
    assert browser.counts()[LAYER_CLASSES["candidate_clusters"]] == candidates

    # A divergence popup shows the region (ru, en), its pairs' activities, LQ per indicator, certainty and
    # supported-cluster names (from divergence_pairs.csv, read here independently of the web map code).
    import pandas as pd

    div = layers[2]
    pairs = pd.read_csv(run.run_dir / "divergence_pairs.csv", dtype=str, keep_default_na=False)
    row = div.loc[div["n_aligned"] > 0].iloc[0] if (div["n_aligned"] > 0).any() else div.iloc[0]
    text = browser.popup_of(row["divergence_id"])
    assert text is not None
    mine = pairs.loc[pairs["region_code"] == row["region_code"]]
    for part in (row["region_name"], row["region_name_en"], mine["activity_name_en"].iloc[0], "LQ by indicator",
                 "certainty"):
        assert part in text, part
    for name in {n for ns in mine["supported_cluster_names"] for n in ns.split(";") if n}:
        assert name in text

    browser.page.wait_for_timeout(400)  # let the popup finish fading in
    shot = tmp_path / "map.png"
    browser.page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    assert browser.errors == [], browser.errors
    assert browser.requests == [], f"the page tried to reach the network: {browser.requests[:5]}"


def test_escaped_names_stay_text_in_chromium(layers, browser, tmp_path):
    cand, sup, div = _evil_layers(layers)
    write_webmap(tmp_path / "evil.html", cand, sup, div)
    browser.open(tmp_path / "evil.html")
    text = browser.popup_of(div.iloc[0]["divergence_id"])
    assert EVIL.replace("&amp;", "&amp;") in text  # shown literally, entity and all
    assert browser.page.evaluate("() => window.__xss === undefined")
    assert browser.dialogs == [] and browser.errors == [], browser.errors
