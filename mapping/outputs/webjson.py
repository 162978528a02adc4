"""The web map's GeoJSON as text, written in bulk, and the folium overlay that embeds it as folium would.

folium turns every feature into a dict, runs the style function on each, serialises the layer with
``tojson`` and then (branca) compiles the finished script as a Jinja template: for a 3,000-region run
with ~90 overlays and 60,000 features that is most of the page's time. Here the features' JSON is
written directly (:func:`geometry_json`, :func:`feature_collection`), in the bytes ``tojson`` gives
(keys sorted, ``", "``/``": "`` separators, ASCII, ``<>&'`` as ``\\u00XX``), and :class:`Overlay`
renders folium's own templates with the style maps folium would compute, without re-compiling its
output. ``tests/outputs/test_webmap_fast.py`` renders the same layers both ways and compares the pages.
"""

from __future__ import annotations

import functools
import json

import folium
import numpy as np
import shapely
import shapely.geometry
from branca.element import Element, Figure
from folium.elements import ElementAddToElement
from folium.features import GeoJsonDetail, GeoJsonStyleMapper
from folium.utilities import get_obj_in_upper_tree

__all__ = ["geometry_json", "feature_collection", "json_string", "Overlay", "Text"]

_POLYGON, _MULTIPOLYGON = 3, 6


def json_string(v) -> str:
    """``json.dumps`` of a value (ASCII, as ``tojson``)."""
    return json.dumps(v)


def _htmlsafe(text: str) -> str:
    """What Jinja's ``tojson`` does to ``json.dumps``' output."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")


def geometry_json(geoms, *, compact: bool = False) -> list[str]:
    """GeoJSON text of each geometry, as ``json.dumps(shapely.geometry.mapping(g), ...)`` writes it.

    Parameters
    ----------
    geoms : array-like of shapely geometries
    compact : bool
        False: keys sorted, ``", "`` and ``": "`` (folium's ``tojson``); True: ``type`` first, no spaces
        (``separators=(",", ":")``).

    Returns
    -------
    list of str
        ``"null"`` for a missing geometry.
    """
    geoms = np.asarray(geoms, dtype=object)
    out: list = [None] * len(geoms)
    types = shapely.get_type_id(geoms)
    fast = np.isin(types, (_POLYGON, _MULTIPOLYGON)) & ~shapely.has_z(geoms) & ~shapely.is_empty(geoms)
    sep, colon = (",", ":") if compact else (", ", ": ")
    which = np.flatnonzero(fast)
    if len(which):
        parts, part_of = shapely.get_parts(geoms[which], return_index=True)
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        coords, coord_of = shapely.get_coordinates(rings, return_index=True)
        if not np.isfinite(coords).all():  # json writes NaN/Infinity, repr nan/inf: leave those to json
            which = np.array([], dtype=int)
            fast[:] = False
        else:
            pts = [f"[{x!r}{sep}{y!r}]" for x, y in coords.tolist()]
            ring_txt = _group(pts, coord_of, len(rings), sep)
            part_txt = _group(ring_txt, ring_of, len(parts), sep)
            n_parts = np.bincount(part_of, minlength=len(which))
            starts = np.r_[0, np.cumsum(n_parts)]
            for k, i in enumerate(which):
                a, b = starts[k], starts[k + 1]
                if types[i] == _POLYGON:
                    kind, text = "Polygon", part_txt[a]
                else:
                    kind, text = "MultiPolygon", "[" + sep.join(part_txt[a:b]) + "]"
                out[i] = (f'{{"type"{colon}"{kind}"{sep}"coordinates"{colon}{text}}}' if compact
                          else f'{{"coordinates"{colon}{text}{sep}"type"{colon}"{kind}"}}')
    for i in np.flatnonzero(~fast):
        g = geoms[i]
        out[i] = "null" if g is None else (
            json.dumps(shapely.geometry.mapping(g), separators=(sep, colon), ensure_ascii=False) if compact
            else json.dumps(shapely.geometry.mapping(g), sort_keys=True))
    return out


def _group(items: list[str], owner: np.ndarray, n: int, sep: str) -> list[str]:
    """``"[" + sep.join(items of owner k) + "]"`` for k in range(n); ``owner`` ascending."""
    starts = np.r_[0, np.cumsum(np.bincount(owner, minlength=n))].tolist()
    return ["[" + sep.join(items[a:b]) + "]" for a, b in zip(starts[:-1], starts[1:])]


def feature_collection(ids: list[str], geometries: list[str], properties: dict[str, list]) -> str:
    """A FeatureCollection's text as folium's ``tojson`` writes it.

    Parameters
    ----------
    ids : list of str
    geometries : list of str
        Each feature's geometry text (:func:`geometry_json`, or ``"null"``).
    properties : dict
        Property name -> per-feature JSON text of the value, or None to leave the property out of that
        feature.
    """
    names = sorted(properties)
    cols = [properties[k] for k in names]
    keys = [json.dumps(k) + ": " for k in names]
    feats = []
    for i, (fid, geom) in enumerate(zip(ids, geometries)):
        props = ", ".join(k + col[i] for k, col in zip(keys, cols) if col[i] is not None)
        feats.append(f'{{"geometry": {geom}, "id": {json.dumps(fid)}, "properties": {{{props}}}, "type": "Feature"}}')
    return _htmlsafe('{"features": [' + ", ".join(feats) + '], "type": "FeatureCollection"}')


class Text(Element):
    """An element of the page given as finished text.

    branca compiles an element's text as a Jinja template and renders it again: seconds for the
    megabytes of a large map's data (which must then hold no ``{{``). The text here is what that
    render gives for text without Jinja syntax (one trailing newline dropped, line ends as ``\\n``);
    ``template=False`` keeps text already rendered.
    """

    def __init__(self, text: str, *, template: bool = True):
        super().__init__()
        if template:  # as Jinja renders it
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            text = text[:-1] if text.endswith("\n") else text
        self.text = text

    def render(self, **kwargs) -> str:
        return self.text


@functools.cache
def _detail_header(kind: type, args: str) -> str:
    """The ``<style>`` a folium GeoJsonPopup/GeoJsonTooltip made with ``args`` (JSON) puts in the page's head,
    rendered by folium once."""
    kwargs = json.loads(args)
    fig = Figure()
    m = folium.Map(tiles=None)
    fig.add_child(m)
    layer = folium.GeoJson({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "x", "properties": {f: "" for f in kwargs["fields"]}, "geometry": None}]})
    detail = kind(**kwargs)
    layer.add_child(detail)
    layer.add_to(m)
    fig.render()
    return fig.header._children[detail.get_name() + "tablestyle"].render()


class Overlay(folium.GeoJson):
    """A folium GeoJson layer whose data is given as text, rendered as folium renders that data.

    Parameters
    ----------
    data_json : str
        The FeatureCollection as :func:`feature_collection` writes it.
    ids : list of str
        The features' ids, unique (folium then identifies features by ``feature.id``).
    styles : list of dict
        Each feature's style (what folium's ``style_function`` returns for it); features styled alike
        share one dict object, so each style is serialised once.
    highlight : dict, optional
        The style on hover (the same for every feature).
    popup, tooltip : dict, optional
        Keyword arguments of folium.GeoJsonPopup and folium.GeoJsonTooltip (JSON values).
    **kwargs
        As for folium.GeoJson (name, show, control, className, interactive ...).
    """

    def __init__(self, data_json: str, ids: list[str], styles: list[dict], *, highlight: dict | None = None,
                 popup: dict | None = None, tooltip: dict | None = None, **kwargs):
        self._details = {folium.GeoJsonPopup: popup, folium.GeoJsonTooltip: tooltip}
        fields = sorted({f for d in (popup, tooltip) if d for f in d["fields"]})
        self._stub = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": "stub", "properties": {f: "" for f in fields}, "geometry": None}] if ids else []}
        first = styles[0] if styles else {}
        super().__init__(self._stub, style_function=lambda f: dict(first),
                         highlight_function=(lambda f: dict(highlight)) if highlight is not None else None,
                         popup=folium.GeoJsonPopup(**popup) if popup else None,
                         tooltip=folium.GeoJsonTooltip(**tooltip) if tooltip else None, **kwargs)
        self._data_json = data_json
        self._ids, self._styles, self._highlight = ids, styles, highlight

    @staticmethod
    def _mapping(ids: list[str], styles: list[dict]) -> dict:
        """GeoJsonStyleMapper's mapping: style key -> feature ids, the default chosen by folium's own rule."""
        keys: dict[int, str] = {}
        mapping: dict = {}
        for fid, style in zip(ids, styles):
            key = keys.get(id(style))
            if key is None:
                key = keys[id(style)] = GeoJsonStyleMapper._to_key(style)
            mapping.setdefault(key, []).append(fid)
        GeoJsonStyleMapper._set_default_key(mapping)
        return mapping

    def render(self, **kwargs):
        """As folium.GeoJson.render, with the style maps computed per distinct style and the data inserted as text."""
        self.parent_map = get_obj_in_upper_tree(self, folium.Map)
        if self._ids:
            if self.style:
                self.style_map = self._mapping(self._ids, self._styles)
            if self.highlight:
                self.highlight_map = self._mapping(self._ids, [self._highlight] * len(self._ids))
        figure = self.get_root()
        if self.show:  # folium.map.Layer.render
            self.add_child(ElementAddToElement(element_name=self.get_name(), element_parent_name=self._parent.get_name()),
                           name=self.get_name() + "_add")
        slot = {"cm_overlay": self.get_name()}
        self.data = slot
        script = self._template.module.script(self, kwargs)
        self.data = self._stub
        here = _htmlsafe(json.dumps(slot, sort_keys=True))
        assert script.count(here) == 1
        figure.script.add_child(Text(script.replace(here, self._data_json)), name=self.get_name())
        for child in self._children.values():  # MacroElement.render of the popup, tooltip and addTo
            if isinstance(child, GeoJsonDetail):
                args = json.dumps(self._details[type(child)], sort_keys=True)
                figure.header.add_child(Text(_detail_header(type(child), args), template=False),
                                        name=child.get_name() + "tablestyle")
            figure.script.add_child(Text(child._template.module.script(child, kwargs)), name=child.get_name())
