"""``map.html``: a folium/Leaflet web map of the run that works offline.

* Leaflet 1.9.4's JavaScript and CSS come from the PyPI package ``django-js-lib-leaflet``
  (Leaflet's unmodified BSD-2 files; the package has no dependencies and ``django`` is never
  imported) and are inlined into the page, with the CSS images as data URIs. folium's default
  CDN links (Leaflet, jQuery, Bootstrap, Font Awesome) are removed: nothing is fetched.
* No base map is needed: a grey layer of every analysis unit gives the context; an optional tile
  layer can be configured (``[maps] tiles``), and only then does the page use the network.
* Geometry is unwrapped at the antimeridian (Chukotka whole) and simplified (~0.02 degrees).
* Every text taken from the data is HTML-escaped in Python before it reaches the page; popups
  and tooltips are pre-rendered HTML properties, written as the numbers of their pieces (tags, names),
  each piece once in the page (``CM_TEXT``), and joined back before Leaflet binds them
  (:mod:`mapping.outputs.webpopups`).
* The features' GeoJSON is written as text in bulk and embedded through folium's own templates
  (:mod:`mapping.outputs.webjson`): the page is the one folium writes from per-feature dicts.

Overlays (each feature a Leaflet path with a class naming its layer, used by the browser test):
``cm-candidates`` (one overlay per co-location group, so candidates of different groups sharing
a region are never blended; hidden at start), ``cm-supported`` (supported clusters, outlined in their
status colour) and ``cm-divergence`` (one opaque feature per region, coloured by its ``status_mix``;
the popup counts the region's pairs per status and lists them, the first :data:`POPUP_PAIRS`).
The legend lists only the categories on the map.
"""

from __future__ import annotations

import base64
import html
import json
import re
import warnings
from importlib import resources
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from mapping.geo.cartography import reference_longitude, simplify_for_web, unwrap_antimeridian
from mapping.errors import MappingError
from mapping.outputs.statusmix import CONTRACT_STATUSES, MIX_COLOURS, mix_colour, mix_label
from mapping.outputs.styles import NO_GROUP_COLOUR, OUTLINE_COLOUR, STATUS_COLOURS, STATUS_LABELS, group_colours
from mapping.outputs.webjson import Overlay, Text, feature_collection, geometry_json, json_string
from mapping.outputs.webpopups import POPUP_PAIRS, candidate_popups, divergence_popups, encode, supported_popups
from mapping.outputs.webpopups import e as _e

__all__ = ["build_webmap", "write_webmap", "leaflet_assets", "BOUNDARY_ATTRIBUTION", "LAYER_CLASSES", "POPUP_PAIRS"]

#: Attribution the boundary licence asks maps to carry (geodata/BOUNDARIES.md).
BOUNDARY_ATTRIBUTION = "Boundaries: DCW-GMT 2.1.1, © The GMT Team, LGPL-3+"
#: CSS class of each overlay's paths.
LAYER_CLASSES = {"background": "cm-background", "candidate_clusters": "cm-candidates",
                 "supported_clusters": "cm-supported", "divergence": "cm-divergence"}
_LEAFLET_PACKAGE = "js_lib_leaflet"


def leaflet_assets() -> tuple[str, str]:
    """Leaflet's JavaScript and CSS (images inlined as data URIs) from the installed package.

    Returns
    -------
    (js, css) : tuple of str

    Raises
    ------
    MappingError
        If the package ``django-js-lib-leaflet`` is not installed.
    """
    try:
        root = resources.files(_LEAFLET_PACKAGE) / "static" / "js_lib_leaflet"
        js = (root / "leaflet.js").read_text(encoding="utf-8")
        css = (root / "leaflet.css").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise MappingError(f"Leaflet files not found ({exc}); install the package 'django-js-lib-leaflet' "
                           "(a dependency in pyproject.toml)") from None

    def inline(m: re.Match) -> str:
        data = (root / "images" / m.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(data).decode()})"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", inline, css)
    # The source map is not shipped beside the page: drop the reference so developer tools don't look for it.
    js = re.sub(r"\n?//# sourceMappingURL=\S+\s*$", "\n", js)
    # A literal "</script" would end the inline block early; Leaflet has none, but be safe.
    return js.replace("</script", "<\\/script"), css


#: Run before any layer is added. A feature's ``popup`` and ``tooltip`` that are lists of numbers are
#: joined from ``CM_TEXT``, the page's HTML pieces written once (:func:`mapping.outputs.webpopups.encode`): thousands of popups
#: repeat the same names and table markup. A feature with a null geometry and a ``_regions`` property gets
#: the MultiPolygon of those regions' shapes from ``CM_REGIONS`` (written once in the page), so a region
#: shared by many candidates is not repeated in every one (the US map: 8.6 -> 2.9 MB with this alone).
_EXPAND_JS = """
(function () {
  function text(t) {
    return Array.isArray(t) ? t.map(function (i) { return CM_TEXT[i]; }).join("") : t;
  }
  function expand(f) {
    if (!f || f.type !== "Feature") return f;
    var p = f.properties;
    if (p && p.popup !== undefined) p.popup = text(p.popup);
    if (p && p.tooltip !== undefined) p.tooltip = text(p.tooltip);
    if (f.geometry || !p || !p._regions) return f;
    var polys = [];
    p._regions.split(";").forEach(function (c) {
      var g = CM_REGIONS[c];
      if (!g) return;
      polys = polys.concat(g.type === "Polygon" ? [g.coordinates] : g.coordinates);
    });
    f.geometry = {type: "MultiPolygon", coordinates: polys};
    return f;
  }
  var addData = L.GeoJSON.prototype.addData;
  L.GeoJSON.prototype.addData = function (data) {
    if (data && data.type === "FeatureCollection" && data.features) data.features.forEach(expand);
    else expand(data);
    return addData.call(this, data);
  };
})();
"""

class _Legend(MacroElement):
    """A Leaflet control with pre-escaped legend HTML, plus the boundary attribution."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "cm-legend");
                div.innerHTML = {{ this.html | tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
            {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.attribution | tojson }});
        })();
        {% endmacro %}
    """)

    def __init__(self, legend_html: str, attribution: str):
        super().__init__()
        self._name = "Legend"
        self.html = legend_html
        self.attribution = attribution


_CSS = """
.cm-legend { background: rgba(255,255,255,0.92); padding: 6px 10px; font: 12px/1.35 sans-serif;
  border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,0.3); max-width: 330px; }
.cm-legend h4 { margin: 0 0 4px; font-size: 13px; }
.cm-legend .cm-sec { margin-top: 5px; font-weight: bold; }
.cm-swatch { display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: middle;
  border: 1px solid #333; }
.cm-outline { display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: middle;
  border: 2px dashed #333; }
.cm-popup { font: 12px/1.3 sans-serif; max-height: 340px; overflow-y: auto; }
.cm-popup h4 { margin: 0 0 2px; font-size: 13px; }
.cm-popup p { margin: 0 0 4px; color: #444; }
.cm-popup table { border-collapse: collapse; }
.cm-popup th, .cm-popup td { text-align: left; vertical-align: top; padding: 2px 4px; border-bottom: 1px solid #ddd; }
.leaflet-container { background: #f4f6f8; }
"""


def _values(s: pd.Series) -> list:
    """The column's values as Python objects (iterating an Arrow-backed column is slow)."""
    return s.to_numpy(dtype=object).tolist()


def _group_names(candidates: gpd.GeoDataFrame) -> dict:
    """Group id -> its name (``group_name``, else ``group_label``) of the last candidate of the group."""
    return dict(zip(_values(candidates["group_id"]),
                    _values(candidates["group_name"] if "group_name" in candidates.columns else candidates["group_label"])))


def _legend_html(title: str, candidates: gpd.GeoDataFrame, supported: gpd.GeoDataFrame,
                 divergence: gpd.GeoDataFrame, tiles: bool) -> str:
    """Legend entries only for what the map shows: the status mixes, statuses and groups present."""
    out = [f"<h4>{_e(title)}</h4>"]
    mixes = divergence["status_mix"].value_counts() if "status_mix" in divergence.columns else pd.Series(dtype=int)
    if len(mixes):
        out.append("<div class='cm-sec'>Divergence: statuses of each region's pairs</div>")
        out += [f"<div><span class='cm-swatch' style='background:{c}'></span>{_e(mix_label(m))} ({mixes[m]})</div>"
                for m, c in MIX_COLOURS.items() if m in mixes.index]
    statuses = [s for s in CONTRACT_STATUSES if s in set(supported.get("status", []))]
    if statuses:
        out.append("<div class='cm-sec'>Supported clusters (dashed outline)</div>")
        out += [f"<div><span class='cm-outline' style='border-color:{STATUS_COLOURS[s]}'></span>"
                f"{_e(STATUS_LABELS[s][0])} <i>({_e(STATUS_LABELS[s][1])})</i></div>" for s in statuses]
    names = _group_names(candidates)
    colours = group_colours(_values(candidates["group_id"]))
    if colours:
        out.append("<div class='cm-sec'>Candidate clusters, one overlay per co-location group</div>")
        out += [f"<div><span class='cm-swatch' style='background:{c}'></span>{_e(g)}: {_e(names.get(g, g))}</div>"
                for g, c in colours.items()]
    out.append("<div style='margin-top:5px;color:#555'>Click a region for details. Grey: analysed units."
               + ("" if tiles else " No base map: works offline.") + "</div>")
    return "".join(out)



class _Pieces:
    """The page's popup pieces (``CM_TEXT``): ``decode`` joins a feature's numbers back into its HTML."""

    def __init__(self, texts: list[str]):
        self.texts = texts

    def decode(self, numbers) -> str:
        return "".join(self.texts[k] for k in numbers) if isinstance(numbers, list) else numbers


class _Layer:
    """One overlay's features: ids, geometry text, fill and stroke, popups and tooltips (marked, then numbered)."""

    def __init__(self, ids, geoms: list[str], fill, stroke, popups, tips, regions=None):
        self.ids = [str(i) for i in (_values(ids) if isinstance(ids, pd.Series) else ids)]
        self.geoms, self.fill, self.stroke = geoms, list(fill), stroke
        self.popups, self.tips = popups, tips
        self.regions = regions
        self.bounds = None  # (minx, miny, maxx, maxy) of what the layer draws

    def take(self, rows) -> "_Layer":
        rows = list(rows)
        out = _Layer([self.ids[i] for i in rows], [self.geoms[i] for i in rows], [self.fill[i] for i in rows],
                     self.stroke, [self.popups[i] for i in rows], [self.tips[i] for i in rows],
                     None if self.regions is None else [self.regions[i] for i in rows])
        return out

    def __len__(self) -> int:
        return len(self.ids)

    def data(self, numbers: dict) -> str:
        """The FeatureCollection's text; ``numbers`` maps each marked text's id() to its numbers' JSON."""
        props = {"fill": [json_string(f) for f in self.fill], "stroke": [json_string(self.stroke)] * len(self),
                 "popup": [numbers[id(t)] for t in self.popups], "tooltip": [numbers[id(t)] for t in self.tips]}
        if self.regions is not None:
            props["_regions"] = [json_string(r) if r else None for r in self.regions]
        return feature_collection(self.ids, self.geoms, props)


def _bounds(geoms) -> np.ndarray:
    """(minx, miny, maxx, maxy) of the geometries, NaN where there are none (GeoSeries.total_bounds)."""
    return shapely.total_bounds(geoms) if len(geoms) else np.full(4, np.nan)


def _candidate_layer(candidates: gpd.GeoDataFrame, shapes: gpd.GeoSeries | None, prep,
                     supported_names: dict[str, str]) -> _Layer:
    """Candidates drawn from their regions' prepared shapes (each region simplified once), not their unions.

    A candidate's union can span most of a country and candidates repeat regions: simplifying every
    union is most of a large run's web-map time. Leaflet draws a MultiPolygon of the regions the same,
    with the internal borders visible. ``_regions`` names the regions whose shapes the page holds once
    (:data:`_EXPAND_JS`); such a feature's geometry is null. Without ``region_codes`` (or shapes) the
    candidates' own geometry is drawn.
    """
    popups, tips = candidate_popups(candidates, supported_names)
    group_ids = _values(candidates["group_id"])
    colours = group_colours(group_ids)
    fill = [colours.get(g, NO_GROUP_COLOUR) for g in group_ids]
    if shapes is None or "region_codes" not in candidates.columns:
        own = prep(candidates).geometry.to_numpy()
        layer = _Layer(candidates["candidate_id"].astype(str), geometry_json(own), fill, OUTLINE_COLOUR, popups,
                       tips, regions=[""] * len(candidates))
        layer.bounds = _bounds(own)
        return layer
    n_parts: dict = {}
    for c, k in zip(shapes.index, shapely.get_num_geometries(shapes.to_numpy()).tolist()):
        n_parts[c] = n_parts.get(c, 0) + max(k, 0)
    cache: dict = {}
    refs, drawn = [], []
    for codes in _values(candidates["region_codes"]):
        if codes not in cache:
            have = [c for c in str(codes).split(";") if c in n_parts]
            cache[codes] = (";".join(have), any(n_parts[c] for c in have))
        ref, parts = cache[codes]
        refs.append(ref)
        drawn.append(parts)
    raw = candidates.geometry.to_numpy()
    own = np.array([g if not d else None for g, d in zip(raw, drawn)], dtype=object)  # no region has a shape
    geoms = ["null" if r else None for r in refs]
    if not all(refs):
        texts = geometry_json(own[[not r for r in refs]])
        it = iter(texts)
        geoms = [g if g is not None else next(it) for g in geoms]
    used = {c for r in refs for c in r.split(";") if c}
    region_geoms = shapes[shapes.index.isin(used)].to_numpy()
    layer = _Layer(candidates["candidate_id"].astype(str), geoms, fill, OUTLINE_COLOUR, popups, tips, regions=refs)
    layer.bounds = _bounds(np.concatenate([region_geoms, own]).astype(object))
    return layer


def _overlay(m: folium.Map, layer: _Layer, numbers: dict, name: str, css_class: str, *, show: bool,
             fill_opacity: float, weight: float, fill: bool = True, dash: str | None = None) -> None:
    style = {"fillOpacity": fill_opacity, "weight": weight, "opacity": 1.0, "fill": fill}
    if dash:
        style["dashArray"] = dash
    styles: dict = {}
    per_feature = [styles.setdefault((f, layer.stroke), dict(style, fillColor=f, color=layer.stroke)) if f == f
                   else dict(style, fillColor=f, color=layer.stroke) for f in layer.fill]
    # An empty overlay stays in the layer control ("0 regions"); folium's popups need a feature to bind to.
    details = {} if not len(layer) else {
        "popup": {"fields": ["popup"], "labels": False, "localize": False, "max_width": 520},
        "tooltip": {"fields": ["tooltip"], "labels": False, "localize": False, "sticky": True}}
    data = layer.data(numbers)
    kwargs = dict(name=html.escape(name), show=show, className=css_class, highlight={"weight": weight + 2}, **details)
    if len(set(layer.ids)) == len(layer.ids):
        Overlay(data, layer.ids, per_feature, **kwargs).add_to(m)
    else:  # folium then identifies the features another way: let it do everything
        folium.GeoJson(json.loads(data), name=kwargs["name"], show=show, className=css_class,
                       style_function=lambda f: dict(style, fillColor=f["properties"]["fill"],
                                                     color=f["properties"]["stroke"]),
                       highlight_function=lambda f: {"weight": weight + 2},
                       **({} if not details else {"popup": folium.GeoJsonPopup(**details["popup"]),
                                                  "tooltip": folium.GeoJsonTooltip(**details["tooltip"])})).add_to(m)


def build_webmap(candidates: gpd.GeoDataFrame, supported: gpd.GeoDataFrame, divergence: gpd.GeoDataFrame, *,
                 background: gpd.GeoDataFrame | None = None, title: str = "Cluster map",
                 tiles: str | None = None, tiles_attribution: str | None = None,
                 attribution: str = BOUNDARY_ATTRIBUTION, simplify_deg: float = 0.02,
                 pairs: pd.DataFrame | None = None) -> tuple[folium.Map, dict]:
    """Build the folium map of a run's three layers.

    Parameters
    ----------
    candidates, supported, divergence : geopandas.GeoDataFrame
        The published layers (EPSG:4326, RFC 7946 form, as built by
        :func:`mapping.outputs.layers.build_layers`).
    background : geopandas.GeoDataFrame, optional
        Every analysis unit (EPSG:4326, split or unsplit), drawn in grey under the overlays.
    title : str
        Shown at the top of the legend (escaped).
    tiles : str, optional
        URL template of a tile layer (``https://.../{z}/{x}/{y}.png``); default none, offline.
    tiles_attribution : str, optional
        Required with ``tiles``.
    attribution : str
        Text added to the map's attribution control (the boundary licence).
    simplify_deg : float, default 0.02
        Simplification tolerance in degrees.
    pairs : DataFrame, optional
        The region x activity pairs (``divergence_pairs.csv``) listed in each region's popup.

    Returns
    -------
    (folium.Map, dict)
        The map, and the number of features of each overlay keyed by :data:`LAYER_CLASSES` value.

    Raises
    ------
    MappingError
        If ``tiles`` is given without ``tiles_attribution``.
    """
    if tiles and not tiles_attribution:
        raise MappingError("maps.tiles is set but maps.tiles_attribution is empty: tile providers require "
                           "an attribution")
    ref = reference_longitude(*(g for g in (divergence, candidates, supported) if len(g)))

    def prep(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        # Parts below a tolerance-sized square (islets under a pixel at a country's zoom) are left out.
        return simplify_for_web(unwrap_antimeridian(gdf, ref), tolerance_deg=simplify_deg,
                                min_part_area=simplify_deg ** 2 or None)

    units = shapes = None
    if background is not None and len(background):
        units = prep(background.to_crs(4326)[[c for c in ("region_code", "geometry") if c in background.columns]])
        if "region_code" in units.columns:
            shapes = units.set_index("region_code").geometry
    sup, div = prep(supported), prep(divergence)
    sup_names = dict(zip(supported["cluster_id"], supported["name_en"]))
    cand = _candidate_layer(candidates, shapes, prep, sup_names)
    div_layer = _Layer(div["id"].astype(str), geometry_json(div.geometry.to_numpy()),
                       div["status_mix"].map(mix_colour), OUTLINE_COLOUR, *divergence_popups(div, pairs))
    sup_layer = _Layer(sup["cluster_id"].astype(str), geometry_json(sup.geometry.to_numpy()),
                       sup["status"].map(STATUS_COLOURS), "#111111", *supported_popups(sup))
    div_layer.bounds = _bounds(div.geometry.to_numpy())
    sup_layer.bounds = _bounds(sup.geometry.to_numpy())

    # One overlay per group (no blending), in the groups' order; then the divergence and supported layers.
    group_of = dict(zip(cand.ids, _values(candidates["group_id"])))
    names = _group_names(candidates)
    ids = pd.Series(cand.ids, dtype=object)
    rows_of = ids.groupby(ids.map(group_of), sort=False).indices  # positions, in the layer's order
    groups = [(gid, cand.take(rows_of.get(gid, []))) for gid in sorted({group_of.get(i, "") for i in cand.ids})]
    order = [layer for _, layer in groups] + [div_layer, sup_layer]
    marked = [t for layer in order for pair in zip(layer.popups, layer.tips) for t in pair]
    numbers, texts = encode(marked)
    numbers = {id(t): n for t, n in zip(marked, numbers)}  # each marked string is its own object

    m = folium.Map(location=[60, ref], zoom_start=3, tiles=None, control_scale=True, prefer_canvas=False)
    # Offline: drop folium's CDN links (Leaflet, jQuery, Bootstrap, fonts) and inline Leaflet itself.
    m.default_js, m.default_css = [], []
    js, css = leaflet_assets()
    root = m.get_root()
    root.header.add_child(Text(f"<style>{css}</style>"), name="leaflet_css_inline")
    root.header.add_child(Element(f"<style>{_CSS}</style>"), name="clustermap_css")
    root.header.add_child(Text(f"<script>{js}</script>"), name="leaflet_js_inline")
    if tiles:
        folium.TileLayer(tiles=tiles, attr=html.escape(tiles_attribution or ""), name="Base map",
                         overlay=False, control=True).add_to(m)

    counts: dict[str, int] = {}
    m._cm_pieces = _Pieces(texts)  # the popups' text, for tests and readers of the map object
    if units is not None:
        bg_ids = [f"unit-{i}" for i in range(len(units))]
        bg_style = {"fillColor": "#d9d9d9", "color": "#9e9e9e", "weight": 0.6, "fillOpacity": 1.0}
        Overlay(feature_collection(bg_ids, geometry_json(units.geometry.to_numpy()), {}), bg_ids,
                [bg_style] * len(bg_ids), name="Analysed units", control=False, interactive=False,
                className=LAYER_CLASSES["background"]).add_to(m)
        counts[LAYER_CLASSES["background"]] = len(bg_ids)
    for gid, sub in groups:
        label = f"Candidates {gid}: {names.get(gid, '')}"
        label = label if len(label) <= 80 else label[:79] + "…"
        _overlay(m, sub, numbers, f"{label} ({len(sub)})", LAYER_CLASSES["candidate_clusters"], show=False,
                 fill_opacity=0.6, weight=1)
    _overlay(m, div_layer, numbers, f"Divergence by region ({len(div_layer)} regions)", LAYER_CLASSES["divergence"],
             show=True, fill_opacity=1.0, weight=0.6)
    _overlay(m, sup_layer, numbers, f"Supported clusters ({len(sup_layer)})", LAYER_CLASSES["supported_clusters"],
             show=True, fill_opacity=0.0, weight=2.5, fill=False, dash="6 4")
    # Each region's shape and each popup piece once; the features refer to them (_EXPAND_JS).
    regions = "{}"
    if shapes is not None:
        keep = [g is not None for g in shapes.to_numpy()]
        shape_text = dict(zip((str(c) for c in shapes.index[keep]), geometry_json(shapes.to_numpy()[keep], compact=True)))
        regions = "{" + ",".join(json.dumps(c, ensure_ascii=False) + ":" + t for c, t in shape_text.items()) + "}"
    script = (f"var CM_REGIONS = {regions};"
              f"var CM_TEXT = {json.dumps(texts, separators=(',', ':'), ensure_ascii=False)};")
    script = script.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")  # line ends to older JS
    root.header.add_child(Text("<script>" + script.replace("</", "<\\/") + _EXPAND_JS + "</script>"),
                          name="clustermap_regions")  # "<\/": the data never ends the script
    counts[LAYER_CLASSES["candidate_clusters"]] = len(cand)
    counts[LAYER_CLASSES["supported_clusters"]] = len(sup_layer)
    counts[LAYER_CLASSES["divergence"]] = len(div_layer)

    _Legend(_legend_html(title, candidates, supported, divergence, bool(tiles)), html.escape(attribution)).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    shown = [layer.bounds for layer in (cand, sup_layer, div_layer) if len(layer)]
    if shown:
        b = np.array(shown, dtype=float)
        with warnings.catch_warnings():  # as GeoSeries.total_bounds: all-NaN gives NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            minx, miny = np.nanmin(b[:, 0]), np.nanmin(b[:, 1])
            maxx, maxy = np.nanmax(b[:, 2]), np.nanmax(b[:, 3])
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m, counts


def write_webmap(path: Path, candidates: gpd.GeoDataFrame, supported: gpd.GeoDataFrame,
                 divergence: gpd.GeoDataFrame, **kwargs) -> dict:
    """Build the web map (see :func:`build_webmap`) and save it as one self-contained HTML file.

    Returns
    -------
    dict
        Number of features per overlay class.

    Raises
    ------
    MappingError
        If the saved page still references an external script or stylesheet.
    """
    m, counts = build_webmap(candidates, supported, divergence, **kwargs)
    page = m.get_root().render()
    external = re.findall(r"<(?:script|link)[^>]+(?:src|href)=[\"']?(?:https?:)?//[^\"'>]+", page)
    if external:
        raise MappingError(f"{path}: the web map still references external resources: {external[:5]}")
    Path(path).write_text(page, encoding="utf-8")
    return counts
