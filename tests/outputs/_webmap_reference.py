"""The web map as written before the bulk rewrite: one dict per feature, folium.GeoJson per overlay.

Kept as the reference ``test_webmap_fast.py`` compares the page of :mod:`mapping.outputs.webmap` with
(byte for byte, apart from folium's random element ids).
"""

# ruff: noqa
from __future__ import annotations

import base64
import html
import json
import re
from importlib import resources
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.geometry
from branca.element import Element, MacroElement
from jinja2 import Template

from mapping.geo.cartography import reference_longitude, simplify_for_web, unwrap_antimeridian
from mapping.errors import MappingError
from mapping.outputs.names import display_name
from mapping.outputs.statusmix import CONTRACT_STATUSES, MIX_COLOURS, mix_colour, mix_label
from mapping.outputs.styles import NO_GROUP_COLOUR, OUTLINE_COLOUR, STATUS_COLOURS, STATUS_LABELS, group_colours

__all__ = ["build_webmap", "write_webmap", "leaflet_assets", "BOUNDARY_ATTRIBUTION", "LAYER_CLASSES", "POPUP_PAIRS"]

#: Attribution the boundary licence asks maps to carry (geodata/BOUNDARIES.md).
BOUNDARY_ATTRIBUTION = "Boundaries: DCW-GMT 2.1.1, © The GMT Team, LGPL-3+"
#: CSS class of each overlay's paths.
LAYER_CLASSES = {"background": "cm-background", "candidate_clusters": "cm-candidates",
                 "supported_clusters": "cm-supported", "divergence": "cm-divergence"}
#: Pairs listed in a region's popup (the rest are counted and left to divergence_pairs.csv).
POPUP_PAIRS = 40
_LEAFLET_PACKAGE = "js_lib_leaflet"
#: Where a run states how certain a specialisation call is (mapping/analysis/uncertainty.py: certain / possible / no).
_CERTAINTY_COLUMNS = ("specialisation_call", "certainty")


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


def _e(v) -> str:
    """HTML-escaped text of a value ('' for missing)."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    return html.escape(str(v), quote=True)


def _lq(v) -> str:
    return "n/a" if v is None or pd.isna(v) else f"{float(v):.2f}"


def _list(values: str, sep: str = ";") -> list[str]:
    return [v for v in str(values).split(sep) if v]


def _certainty(row) -> str:
    """The row's certainty call (``certain`` / ``possible`` / ``no``) where the run has one."""
    get = row.get if hasattr(row, "get") else (lambda k: None)
    for c in _CERTAINTY_COLUMNS:
        v = get(c)
        if v is not None and not (isinstance(v, float) and pd.isna(v)) and str(v):
            lo, hi = get("lq_low"), get("lq_high")
            bounds = (f" (LQ bounds {_lq(lo)}–{_lq(hi)})" if lo is not None and hi is not None
                      and pd.notna(lo) and pd.notna(hi) and lo != hi else "")
            return _e(v) + bounds
    return "not assessed"


def _lq_by_indicator(text: str) -> str:
    return "<br>".join(_e(x.replace("=", ": ")) for x in _list(text)) or "n/a"


def _table(rows: list[tuple[str, str]]) -> str:
    return ("<table class='cm-kv'>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
            + "</table>")


def _pair_row(r: dict) -> str:
    return (f"<tr><td><span class='cm-swatch' style='background:{STATUS_COLOURS.get(r['status'], NO_GROUP_COLOUR)}'>"
            f"</span>{_e(r['status'])}</td><td><b>{_e(r['activity_code'])}</b> {_e(r['activity_name_en'])}<br>"
            f"<i>{_e(display_name(r['activity_name']))}</i></td><td>{_lq_by_indicator(r['lq_by_indicator'])}</td>"
            f"<td>{_certainty(r)}</td>"
            f"<td>{'<br>'.join(_e(n) for n in _list(r['supported_cluster_names'])) or '—'}</td></tr>")


def _divergence_features(div: gpd.GeoDataFrame, pairs: pd.DataFrame | None) -> gpd.GeoDataFrame:
    """One feature per region, coloured by its status mix; the popup counts and lists the region's pairs."""
    order = {s: i for i, s in enumerate(CONTRACT_STATUSES)}
    by_region: dict[str, list[dict]] = {}
    if pairs is not None and len(pairs):
        used = ["region_code", "status", "lq_max", "activity_code", "activity_name", "activity_name_en",
                "lq_by_indicator", "supported_cluster_names", *_CERTAINTY_COLUMNS, "lq_low", "lq_high"]
        recs = sorted(pairs[[c for c in used if c in pairs.columns]].to_dict("records"), key=lambda r: (
            r["region_code"], order.get(r["status"], 9), -(r["lq_max"] if pd.notna(r["lq_max"]) else 0)))
        for r in recs:
            by_region.setdefault(r["region_code"], []).append(r)
    popups, tips = [], []
    for r in div.drop(columns="geometry").to_dict("records"):
        code = r["region_code"]
        counts = [(s, int(r.get(f"n_{s}", 0) or 0)) for s in CONTRACT_STATUSES]
        head = (f"<h4>{_e(r['region_name'])}</h4><p>{_e(r['region_name_en'])} · {_e(code)} · "
                f"{_e(r.get('federal_district', ''))} · {_e(r['year'])}</p>"
                f"<p><span class='cm-swatch' style='background:{mix_colour(r['status_mix'])}'></span>"
                f"{_e(mix_label(r['status_mix']))}</p>")
        table = _table([(f"<span class='cm-swatch' style='background:{STATUS_COLOURS[s]}'></span>"
                         f"{_e(STATUS_LABELS[s][0])}", str(n)) for s, n in counts if n])
        rows = by_region.get(code, [])
        detail = ""
        if rows:
            detail = ("<table class='cm-pairs'><tr><th>status</th><th>activity</th><th>LQ by indicator</th>"
                      "<th>certainty</th><th>supported cluster</th></tr>"
                      + "".join(_pair_row(x) for x in rows[:POPUP_PAIRS]) + "</table>")
            if len(rows) > POPUP_PAIRS:
                detail += f"<p>… and {len(rows) - POPUP_PAIRS} more pairs in divergence_pairs.csv</p>"
        popups.append("<div class='cm-popup'>" + head + table + detail + "</div>")
        tips.append(f"{_e(r['region_name_en'])} ({_e(r['region_name'])}): {_e(mix_label(r['status_mix']))}, "
                    f"{_e(r['n_pairs'])} pairs")
    return gpd.GeoDataFrame({"id": div["id"].astype(str).to_numpy(), "popup": popups, "tooltip": tips,
                             "fill": div["status_mix"].map(mix_colour).to_numpy(), "stroke": OUTLINE_COLOUR},
                            geometry=div.geometry.to_numpy(), crs=div.crs)


def _regions_as_parts(cand: gpd.GeoDataFrame, shapes: gpd.GeoSeries | None, prep) -> gpd.GeoDataFrame:
    """Candidates drawn from their regions' prepared shapes (each region simplified once), not their unions.

    A candidate's union can span most of a country and candidates repeat regions: simplifying every
    union is most of a large run's web-map time. Leaflet draws a MultiPolygon of the regions the same,
    with the internal borders visible. Column ``_regions`` names the regions whose shapes the page
    holds once (:data:`_EXPAND_JS`). Falls back to the candidates' own geometry without ``region_codes``.
    """
    if shapes is None or "region_codes" not in cand.columns:
        return prep(cand).assign(_regions="")
    # Each region's parts once; the MultiPolygons of all candidates in one call (thousands of candidates).
    parts_of: dict = {}
    for c, g in zip(shapes.index, shapes.to_numpy()):
        parts_of.setdefault(c, []).append(shapely.get_parts(g))
    parts_of = {c: np.concatenate(v) for c, v in parts_of.items()}
    flat, owner, refs = [], [], []
    for k, codes in enumerate(cand["region_codes"]):
        have = [c for c in str(codes).split(";") if c in parts_of]
        for c in have:
            flat.append(parts_of[c])
            owner.append(np.full(len(parts_of[c]), k))
        refs.append(";".join(have))
    geoms = np.array(list(cand.geometry), dtype=object)  # the candidate's own geometry where no region has a shape
    if flat:
        shapely.multipolygons(np.concatenate(flat), indices=np.concatenate(owner), out=geoms)
    out = cand.copy()
    out["geometry"] = geoms
    out["_regions"] = refs
    return out.set_geometry("geometry")


#: Run before any layer is added. A feature's ``popup`` and ``tooltip`` that are lists of numbers are
#: joined from ``CM_TEXT``, the page's HTML pieces written once (:class:`_Pieces`): thousands of popups
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

#: Runs of tags, and the text between them: the pieces popups are cut into.
_PIECE = re.compile(r"(?:<[^>]*>)+|[^<]+")


class _Pieces:
    """The HTML pieces of every popup and tooltip of a page, each kept once (``CM_TEXT``).

    A feature carries the numbers of its pieces; the page joins them back (:data:`_EXPAND_JS`) into the
    same HTML, escaped in Python as before. A 3,000-region run's 56,600 candidate popups and 3,000
    divergence popups repeat names, codes and table markup: most of a page of 125 MB.
    """

    def __init__(self):
        self.number: dict[str, int] = {}
        self.texts: list[str] = []

    def encode(self, text):
        if not isinstance(text, str) or not text:
            return text
        pieces = _PIECE.findall(text)
        if "".join(pieces) != text:  # a "<" that opens no tag: kept whole
            pieces = [text]
        out = []
        for piece in pieces:
            k = self.number.get(piece)
            if k is None:
                k = self.number[piece] = len(self.texts)
                self.texts.append(piece)
            out.append(k)
        return out

    def decode(self, numbers) -> str:
        return "".join(self.texts[k] for k in numbers) if isinstance(numbers, list) else numbers




def _candidate_features(cand: gpd.GeoDataFrame, supported_names: dict[str, str]) -> gpd.GeoDataFrame:
    colours = group_colours(cand["group_id"])
    popups, tips = [], []
    used = ["candidate_id", "group_id", "group_name", "group_label", "region_names", "region_names_en",
            "activity_codes", "activity_names", "activity_names_en", "supported_cluster_ids", "max_lq", "indicators",
            "year", "n_regions", *_CERTAINTY_COLUMNS, "lq_low", "lq_high"]
    for r in cand[[c for c in used if c in cand.columns]].to_dict("records"):  # plain values, the columns used
        regions = "<br>".join(f"{_e(ru)} / {_e(en)}" for ru, en in
                              zip(_list(r["region_names"]), _list(r["region_names_en"])))
        acts = "<br>".join(f"<b>{_e(c)}</b> {_e(en)} / <i>{_e(display_name(ru))}</i>" for c, ru, en in
                           zip(_list(r["activity_codes"]), _list(r["activity_names"]), _list(r["activity_names_en"])))
        sups = "<br>".join(f"{_e(i)}: {_e(supported_names.get(i, ''))}" for i in _list(r["supported_cluster_ids"]))
        popups.append("<div class='cm-popup'>" + f"<h4>Candidate cluster {_e(r['candidate_id'])}</h4>" + _table([
            ("co-location group", _e(f"{r['group_id']}: {r.get('group_name', '') or r['group_label']}")),
            ("regions", regions), ("activities", acts),
            ("max LQ", _lq(r["max_lq"])), ("indicators", _e(r["indicators"].replace(";", ", "))),
            ("certainty", _certainty(r)), ("supported clusters", sups or "none"), ("year", _e(r["year"]))]) + "</div>")
        tips.append(f"{_e(r['candidate_id'])}: {_e(', '.join(_list(r['activity_names_en'])))} "
                    f"({_e(r['n_regions'])} region(s))")
    return gpd.GeoDataFrame({"id": cand["candidate_id"].astype(str).to_numpy(), "popup": popups, "tooltip": tips,
                             "fill": cand["group_id"].map(lambda g: colours.get(g, NO_GROUP_COLOUR)).to_numpy(),
                             "stroke": OUTLINE_COLOUR, "_regions": cand["_regions"].to_numpy()},
                            geometry=cand.geometry.to_numpy(), crs=cand.crs)


def _supported_features(sup: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    popups, tips = [], []
    for _, r in sup.iterrows():
        popups.append("<div class='cm-popup'>" + f"<h4>{_e(r['name_ru'])}</h4><p>{_e(r['name_en'])}</p>" + _table([
            ("cluster", _e(r["cluster_id"])), ("programme", _e(r["programme"])),
            ("regions", "<br>".join(_e(x) for x in _list(r["region_names"]))),
            ("cluster activities", _e(r["cluster_activity_codes"].replace(";", ", "))),
            ("compared as", _e(r["activity_codes"].replace(";", ", "))),
            ("status", f"<span class='cm-swatch' style='background:{STATUS_COLOURS[r['status']]}'></span>"
                       f"{_e(r['status'])}"),
            ("best LQ", f"{_lq(r['best_lq'])} {_e(r['best_lq_indicator'])}"),
            ("certainty", _certainty(r)),
            ("specialised pairs", _e(r["specialised_pairs"].replace(";", ", ")) or "none"),
            ("note", _e(r["granularity_note"]))]) + "</div>")
        tips.append(f"{_e(r['name_en'])}: {_e(r['status'])}")
    return gpd.GeoDataFrame({"id": sup["cluster_id"].astype(str).to_numpy(), "popup": popups, "tooltip": tips,
                             "fill": sup["status"].map(STATUS_COLOURS).to_numpy(), "stroke": "#111111"},
                            geometry=sup.geometry.to_numpy(), crs=sup.crs)


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
    names = dict(zip(candidates["group_id"], candidates.get("group_name", candidates["group_label"])))
    colours = group_colours(candidates["group_id"])
    if colours:
        out.append("<div class='cm-sec'>Candidate clusters, one overlay per co-location group</div>")
        out += [f"<div><span class='cm-swatch' style='background:{c}'></span>{_e(g)}: {_e(names.get(g, g))}</div>"
                for g, c in colours.items()]
    out.append("<div style='margin-top:5px;color:#555'>Click a region for details. Grey: analysed units."
               + ("" if tiles else " No base map: works offline.") + "</div>")
    return "".join(out)


def _geojson_dict(gdf: gpd.GeoDataFrame, pieces: _Pieces | None = None) -> dict:
    """A GeoJSON dict with string ids and only the web map's properties (popups and tooltips as the
    numbers of their pieces in ``pieces``, when given)."""
    feats = []
    for rec, geom in zip(gdf.drop(columns="geometry").to_dict("records"), gdf.geometry):
        fid = rec.pop("id")
        if not rec.get("_regions", True):
            rec.pop("_regions")
        if pieces is not None:
            for k in ("popup", "tooltip"):
                if k in rec:
                    rec[k] = pieces.encode(rec[k])
        # With ``_regions`` the page builds the geometry from CM_REGIONS (_EXPAND_JS).
        feats.append({"type": "Feature", "id": fid, "properties": rec,
                      "geometry": None if rec.get("_regions") else shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": feats}


def _add_layer(m: folium.Map, gdf: gpd.GeoDataFrame, name: str, css_class: str, *, show: bool, fill_opacity: float,
               weight: float, fill: bool = True, dash: str | None = None, pieces: _Pieces | None = None) -> None:
    style = {"fillOpacity": fill_opacity, "weight": weight, "opacity": 1.0, "fill": fill}
    if dash:
        style["dashArray"] = dash
    # An empty overlay stays in the layer control ("0 regions"); folium's popups need a feature to bind to.
    details = {} if gdf.empty else {
        "popup": folium.GeoJsonPopup(fields=["popup"], labels=False, localize=False, max_width=520),
        "tooltip": folium.GeoJsonTooltip(fields=["tooltip"], labels=False, localize=False, sticky=True)}
    layer = folium.GeoJson(
        _geojson_dict(gdf, pieces), name=html.escape(name), show=show, className=css_class,
        style_function=lambda f: dict(style, fillColor=f["properties"]["fill"], color=f["properties"]["stroke"]),
        highlight_function=lambda f: {"weight": weight + 2}, **details)
    layer.add_to(m)


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

    shapes = None
    if background is not None and "region_code" in background.columns and len(background):
        shapes = prep(background.to_crs(4326)[["region_code", "geometry"]]).set_index("region_code").geometry
    sup_names = dict(zip(supported["cluster_id"], supported["name_en"]))
    layers = {"candidate_clusters": _candidate_features(_regions_as_parts(candidates, shapes, prep), sup_names),
              "supported_clusters": _supported_features(prep(supported)),
              "divergence": _divergence_features(prep(divergence), pairs)}

    m = folium.Map(location=[60, ref], zoom_start=3, tiles=None, control_scale=True, prefer_canvas=False)
    # Offline: drop folium's CDN links (Leaflet, jQuery, Bootstrap, fonts) and inline Leaflet itself.
    m.default_js, m.default_css = [], []
    js, css = leaflet_assets()
    root = m.get_root()
    root.header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css_inline")
    root.header.add_child(Element(f"<style>{_CSS}</style>"), name="clustermap_css")
    root.header.add_child(Element(f"<script>{js}</script>"), name="leaflet_js_inline")
    if tiles:
        folium.TileLayer(tiles=tiles, attr=html.escape(tiles_attribution or ""), name="Base map",
                         overlay=False, control=True).add_to(m)

    counts: dict[str, int] = {}
    pieces = _Pieces()
    m._cm_pieces = pieces  # the popups' text, for tests and readers of the map object
    if background is not None and len(background):
        bg = prep(background.to_crs(4326))[["geometry"]].copy()
        bg["id"] = [f"unit-{i}" for i in range(len(bg))]
        folium.GeoJson(_geojson_dict(bg), name="Analysed units", control=False, interactive=False,
                       className=LAYER_CLASSES["background"],
                       style_function=lambda f: {"fillColor": "#d9d9d9", "color": "#9e9e9e", "weight": 0.6,
                                                 "fillOpacity": 1.0}).add_to(m)
        counts[LAYER_CLASSES["background"]] = len(bg)
    cand = layers["candidate_clusters"]
    group_of = dict(zip(candidates["candidate_id"].astype(str), candidates["group_id"]))
    names = dict(zip(candidates["group_id"], candidates.get("group_name", candidates["group_label"])))
    rows_of = cand.groupby(cand["id"].map(group_of), sort=False).indices  # positions, in the layer's order
    for gid in sorted({group_of.get(i, "") for i in cand["id"]}):  # one overlay per group: no blending
        sub = cand.iloc[rows_of.get(gid, [])]
        label = f"Candidates {gid}: {names.get(gid, '')}"
        label = label if len(label) <= 80 else label[:79] + "…"
        _add_layer(m, sub, f"{label} ({len(sub)})", LAYER_CLASSES["candidate_clusters"], show=False,
                   fill_opacity=0.6, weight=1, pieces=pieces)
    feats = layers["divergence"]
    _add_layer(m, feats, f"Divergence by region ({len(feats)} regions)", LAYER_CLASSES["divergence"], show=True,
               fill_opacity=1.0, weight=0.6, pieces=pieces)
    _add_layer(m, layers["supported_clusters"], f"Supported clusters ({len(layers['supported_clusters'])})",
               LAYER_CLASSES["supported_clusters"], show=True, fill_opacity=0.0, weight=2.5, fill=False, dash="6 4",
               pieces=pieces)
    # Each region's shape and each popup piece once; the features refer to them (_EXPAND_JS).
    regions = {} if shapes is None else {str(c): shapely.geometry.mapping(g) for c, g in shapes.items()
                                         if g is not None}
    data = {"CM_REGIONS": regions, "CM_TEXT": pieces.texts}
    script = "".join(f"var {k} = {json.dumps(v, separators=(',', ':'), ensure_ascii=False)};" for k, v in data.items())
    script = script.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")  # line ends to older JS
    root.header.add_child(Element("<script>" + script.replace("</", "<\\/") + _EXPAND_JS + "</script>"),
                          name="clustermap_regions")  # "<\/": the data never ends the script
    for key, feats in layers.items():
        counts[LAYER_CLASSES[key]] = len(feats)

    _Legend(_legend_html(title, candidates, supported, divergence, bool(tiles)), html.escape(attribution)).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    shown = [g.geometry for g in layers.values() if len(g)]
    if shown:
        minx, miny, maxx, maxy = pd.concat(shown).total_bounds
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
