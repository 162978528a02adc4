"""Colours and styles shared by every map deliverable: GeoJSON simplestyle, QGIS QML, web and static maps.

One palette drives all of them, so QGIS, geojson.io, ``map.html`` and the report's PNGs show a
status or a co-location group in the same colour.

* Statuses use Paul Tol's "bright" blue / red / yellow: distinguishable in normal vision and in
  simulated protanopia, deuteranopia and tritanopia (checked in ``tests/outputs/test_gis_outputs.py``).
* Co-location groups use Tol's "muted" nine-colour qualitative scheme (also colour-blind safe);
  a tenth group and beyond repeat it, groups with no colour of their own are pale grey.
"""

from __future__ import annotations

import html
import re
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import pandas as pd

from mapping.errors import MappingError
from mapping.schema import STATUSES

__all__ = ["STATUS_COLOURS", "STATUS_LABELS", "GROUP_PALETTE", "NO_GROUP_COLOUR", "SIMPLESTYLE_KEYS",
           "LAYER_KINDS", "group_colours", "feature_colours", "add_simplestyle", "qml_style", "layer_style_rules"]

#: One colour per divergence status (Tol "bright": blue, red, yellow).
STATUS_COLOURS: dict[str, str] = {
    "aligned": "#4477AA",
    "supported_not_specialised": "#EE6677",
    "specialised_not_supported": "#CCBB44",
    # No verdict: greys, dark where the data cannot test the threshold, pale where there are no data.
    "not_testable": "#444444",
    "no_data": "#DDDDDD",
}
#: Legend labels of the statuses, English and Russian.
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "aligned": ("aligned: supported and specialised", "поддержан и специализирован"),
    "supported_not_specialised": ("supported, not specialised", "поддержан без специализации"),
    "specialised_not_supported": ("specialised, not supported (untapped)", "специализация без поддержки"),
    "not_testable": ("supported, not testable with these data", "поддержан, данные не позволяют проверить"),
    "no_data": ("supported, no data for the region", "поддержан, нет данных по региону"),
}
#: Co-location group colours (Tol "muted"), in group-id order.
GROUP_PALETTE: tuple[str, ...] = ("#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99",
                                  "#999933", "#AA4499")
NO_GROUP_COLOUR = "#DDDDDD"
OUTLINE_COLOUR = "#333333"
#: simplestyle-spec 1.1.0 keys added to every polygon feature, in this order.
SIMPLESTYLE_KEYS = ("title", "description", "fill", "fill-opacity", "stroke", "stroke-width", "stroke-opacity")
#: Layer kinds and the property that colours them.
LAYER_KINDS: dict[str, str] = {"candidate_clusters": "group_id", "supported_clusters": "status",
                               "divergence": "status"}
_FILL_OPACITY = {"candidate_clusters": 0.6, "supported_clusters": 0.35, "divergence": 0.7}
_STROKE_WIDTH = {"candidate_clusters": 1.0, "supported_clusters": 2.0, "divergence": 0.5}


def group_colours(group_ids) -> dict[str, str]:
    """Colour of each co-location group, the same in every layer and run.

    Ids of the form ``G<n>`` (as :func:`mapping.analysis.grouping.group_activities` names them) take
    palette colour ``n - 1`` (repeating past nine), so a group keeps its colour whichever groups
    have candidates; other ids follow in sorted order.

    Parameters
    ----------
    group_ids : iterable of str
        Group ids as in ``activity_groups.csv`` (e.g. ``G01``); empty ids get no entry.

    Returns
    -------
    dict
        ``{group_id: "#rrggbb"}``, sorted by id.

    Examples
    --------
    >>> group_colours(["G02", "G01", "G02"])
    {'G01': '#CC6677', 'G02': '#332288'}
    """
    ids = sorted({str(g) for g in group_ids if isinstance(g, str) and g})
    out, others = {}, []
    for g in ids:
        m = re.fullmatch(r"G(\d+)", g)
        if m and int(m.group(1)) > 0:
            out[g] = GROUP_PALETTE[(int(m.group(1)) - 1) % len(GROUP_PALETTE)]
        else:
            others.append(g)
    for i, g in enumerate(others):
        out[g] = GROUP_PALETTE[i % len(GROUP_PALETTE)]
    return dict(sorted(out.items()))


def feature_colours(gdf: pd.DataFrame, kind: str) -> pd.Series:
    """Fill colour of each feature of a layer of ``kind`` (see :data:`LAYER_KINDS`).

    Raises
    ------
    MappingError
        If ``kind`` is unknown, the colouring column is missing, or a status is outside the
        contract's vocabulary.
    """
    if kind not in LAYER_KINDS:
        raise MappingError(f"unknown layer kind {kind!r}; expected one of {sorted(LAYER_KINDS)}")
    col = LAYER_KINDS[kind]
    if col not in gdf.columns:
        raise MappingError(f"layer {kind}: column {col!r} is missing; columns are {list(gdf.columns)}")
    if col == "status":
        bad = sorted(set(gdf[col]) - set(STATUSES))
        if bad:
            raise MappingError(f"layer {kind}, column 'status': unknown value(s) {bad}; expected {list(STATUSES)}")
        return gdf[col].map(STATUS_COLOURS)
    colours = group_colours(gdf[col])
    return gdf[col].map(lambda g: colours.get(g, NO_GROUP_COLOUR))


def _semi(values: str) -> str:
    return ", ".join(v for v in str(values).split(";") if v)


def _titles(gdf: pd.DataFrame, kind: str) -> tuple[list[str], list[str]]:
    """Plain-text ``title`` and ``description`` (the viewer escapes them; no HTML here)."""
    titles, descs = [], []
    for r in gdf.itertuples(index=False):
        if kind == "divergence":
            titles.append(f"{r.region_name_en} ({r.region_name}): {r.activity_code} {r.activity_name_en}")
            call = getattr(r, "specialisation_call", "")
            call = call if isinstance(call, str) and call else "not assessed"
            descs.append(f"status: {r.status}; LQ by indicator: {r.lq_by_indicator or 'n/a'}; certainty: {call}; "
                         f"supported clusters: {_semi(r.supported_cluster_names) or 'none'}; year {r.year}")
        elif kind == "supported_clusters":
            titles.append(f"{r.name_en} ({r.name_ru})")
            descs.append(f"status: {r.status}; regions: {_semi(r.region_names)}; activities: "
                         f"{_semi(r.cluster_activity_codes)}; best LQ: "
                         f"{'n/a' if pd.isna(r.best_lq) else f'{r.best_lq:.2f}'}; programme {r.programme}")
        else:
            titles.append(f"Candidate {getattr(r, 'candidate_id', '')}: {_semi(r.activity_names_en)}")
            descs.append(f"group {r.group_label}; regions: {_semi(r.region_names_en)}; max LQ: "
                         f"{'n/a' if pd.isna(r.max_lq) else f'{r.max_lq:.2f}'}; supported clusters: "
                         f"{_semi(r.supported_cluster_ids) or 'none'}")
    return titles, descs


def add_simplestyle(gdf: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
    """Add simplestyle-spec properties so geojson.io and code-hosting previews colour the layer.

    The keys :data:`SIMPLESTYLE_KEYS` are added to every feature (same keys, flat scalars);
    existing columns are kept unchanged. ``title`` and ``description`` are plain text.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        A layer as built by :func:`mapping.outputs.layers.build_layers` (any CRS).
    kind : str
        ``candidate_clusters``, ``supported_clusters`` or ``divergence``.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with the simplestyle columns appended.
    """
    out = gdf.copy()
    fills = feature_colours(out, kind)
    titles, descs = _titles(out, kind)
    out["title"] = titles
    out["description"] = descs
    out["fill"] = fills.to_numpy()
    out["fill-opacity"] = _FILL_OPACITY[kind]
    out["stroke"] = OUTLINE_COLOUR if kind != "supported_clusters" else fills.to_numpy()
    out["stroke-width"] = _STROKE_WIDTH[kind]
    out["stroke-opacity"] = 1.0
    return out


def layer_style_rules(gdf: pd.DataFrame, kind: str) -> list[tuple[str, str, str]]:
    """Categories of a layer's style: ``(value, label, colour)``, in legend order.

    Statuses always list all three (a QGIS user sees the full vocabulary); groups list the
    groups present, labelled with their members (``group_label``).
    """
    if LAYER_KINDS.get(kind) == "status":
        return [(s, STATUS_LABELS[s][0], STATUS_COLOURS[s]) for s in STATUSES]
    colours = group_colours(gdf["group_id"])
    labels = dict(zip(gdf["group_id"], gdf["group_label"])) if "group_label" in gdf.columns else {}
    return [(g, str(labels.get(g, g)), c) for g, c in colours.items()]


def _rgba(colour: str, alpha: float = 1.0) -> str:
    c = colour.lstrip("#")
    return ",".join(str(int(c[i:i + 2], 16)) for i in (0, 2, 4)) + f",{round(alpha * 255)}"


def _fill_symbol(name: str, colour: str, kind: str) -> str:
    fill = _rgba(colour, _FILL_OPACITY[kind])
    outline = _rgba(colour if kind == "supported_clusters" else OUTLINE_COLOUR)
    width = f"{_STROKE_WIDTH[kind] * 0.26:.2f}"
    props = {"color": fill, "outline_color": outline, "outline_width": width, "outline_width_unit": "MM",
             "outline_style": "solid", "style": "solid", "joinstyle": "bevel"}
    # Old-style <prop> elements (read by every QGIS 3) and the newer <Option> map (3.26+).
    prop = "".join(f'<prop k="{k}" v="{v}"/>' for k, v in props.items())
    opt = "".join(f'<Option name="{k}" type="QString" value="{v}"/>' for k, v in props.items())
    return (f'<symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
            f'<layer class="SimpleFill" enabled="1" locked="0" pass="0">{prop}<Option type="Map">{opt}</Option>'
            f'</layer></symbol>')


def qml_style(gdf: pd.DataFrame, kind: str) -> str:
    """A QGIS layer style (QML) colouring the layer by status or by co-location group.

    The same document goes into the GeoPackage's ``layer_styles`` table (as the default style)
    and beside each GeoJSON as ``<layer>.qml``, which QGIS loads automatically.

    Parameters
    ----------
    gdf : DataFrame
        The layer's attribute table (for the groups present and their labels).
    kind : str
        ``candidate_clusters``, ``supported_clusters`` or ``divergence``.

    Returns
    -------
    str
        A QML document: a categorised renderer on :data:`LAYER_KINDS` ``[kind]`` with one
        category per value, plus a grey catch-all for other values, and a map tip.
    """
    attr = LAYER_KINDS[kind]
    rules = layer_style_rules(gdf, kind)
    cats, syms = [], []
    for i, (value, label, colour) in enumerate(rules):
        cats.append(f'<category value={quoteattr(value)} symbol="{i}" label={quoteattr(label)} render="true"/>')
        syms.append(_fill_symbol(str(i), colour, kind))
    n = len(rules)
    cats.append(f'<category value="" symbol="{n}" label="other" render="true"/>')
    syms.append(_fill_symbol(str(n), NO_GROUP_COLOUR, kind))
    tip = html.escape('<b>[% "title" %]</b><br>[% "description" %]')
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            '<qgis version="3.28.0-Firenze" styleCategories="Symbology|MapTips">\n'
            f'  <renderer-v2 type="categorizedSymbol" attr={quoteattr(attr)} symbollevels="0" '
            'enableorderby="0" forceraster="0" referencescale="-1">\n'
            f'    <categories>{"".join(cats)}</categories>\n'
            f'    <symbols>{"".join(syms)}</symbols>\n'
            '  </renderer-v2>\n'
            f'  <mapTip>{tip}</mapTip>\n'
            '  <layerGeometryType>2</layerGeometryType>\n'
            '</qgis>\n')
