"""Colours and styles shared by every map deliverable: GeoJSON simplestyle, QGIS QML, web and static maps.

One palette drives all of them, so QGIS, geojson.io, ``map.html`` and the report's PNGs show a
status mix or a co-location group in the same colour.

* The divergence layer (one feature per region, contract version 2) is coloured by ``status_mix``
  (:mod:`mapping.outputs.statusmix`): opaque fills, one per region, so every colour on the map is a
  legend colour. Statuses use Paul Tol's "bright" blue / red / yellow: distinguishable in normal
  vision and in simulated protanopia, deuteranopia and tritanopia (``tests/outputs/test_gis_outputs.py``).
* Supported clusters may share regions: they are drawn as outlines in their status colour, never
  as fills. Candidate clusters of different co-location groups may share regions too: each group is
  hatched at its own angle in its own colour, so overlapping candidates cross-hatch instead of blending.
* Co-location groups use Tol's "muted" nine-colour qualitative scheme (also colour-blind safe);
  a tenth group and beyond repeat it (with another hatch angle), groups with no colour of their own
  are pale grey.
* Outlines are drawn by a geometry generator that leaves out edges lying on the 180th meridian, so
  Chukotka, split there in the GeoJSON (RFC 7946), shows no seam.
* Legends list only the categories that occur, and name activities rather than codes.
"""

from __future__ import annotations

import html
import re
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import pandas as pd

from mapping.errors import MappingError
from mapping.outputs.statusmix import (
    CONTRACT_STATUSES,
    MIX_COLOURS,
    STATUS_COLOURS,
    STATUS_LABELS,
    mix_colour,
    mix_label,
)

__all__ = ["STATUS_COLOURS", "STATUS_LABELS", "GROUP_PALETTE", "NO_GROUP_COLOUR", "SIMPLESTYLE_KEYS",
           "LAYER_KINDS", "FILLED_LAYERS", "group_colours", "group_name", "feature_colours", "add_simplestyle",
           "qml_style", "layer_style_rules", "hatch_angle", "SEAMLESS_OUTLINE"]

#: Co-location group colours (Tol "muted"), in group-id order.
GROUP_PALETTE: tuple[str, ...] = ("#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99",
                                  "#999933", "#AA4499")
NO_GROUP_COLOUR = "#DDDDDD"
OUTLINE_COLOUR = "#333333"
#: simplestyle-spec 1.1.0 keys added to every polygon feature, in this order.
SIMPLESTYLE_KEYS = ("title", "description", "fill", "fill-opacity", "stroke", "stroke-width", "stroke-opacity")
#: Layer kinds and the property that colours them.
LAYER_KINDS: dict[str, str] = {"candidate_clusters": "group_id", "supported_clusters": "status",
                               "divergence": "status_mix"}
#: Layers whose default style fills polygons (the others are outlines or hatching): their features
#: must not overlap (``tests/outputs/test_overlap.py``).
FILLED_LAYERS = ("divergence",)
_FILL_OPACITY = {"candidate_clusters": 0.0, "supported_clusters": 0.0, "divergence": 1.0}
_STROKE_WIDTH = {"candidate_clusters": 1.2, "supported_clusters": 2.0, "divergence": 1.2}  # px; x0.26 = mm, >= 1 px in QGIS
#: QGIS expression: the feature's outline without the edges on the 180th meridian (where RFC 7946
#: GeoJSON splits Chukotka). In a projected layer (the GeoPackage) nothing lies on those short
#: lines near the false origin, so the whole outline is drawn.
SEAMLESS_OUTLINE = ("difference(boundary($geometry), buffer(geom_from_wkt("
                    "'MULTILINESTRING((180 -90,180 90),(-180 -90,-180 90))'), 0.000001))")


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


def group_name(codes, names: dict[str, str], *, n: int = 3, width: int = 36) -> str:
    """A short name of a set of activities for legends: the first ``n`` names, then ``+k more``.

    Parameters
    ----------
    codes : iterable of str
        Activity codes, in the order to show.
    names : dict
        Code -> name (English); a code without a name is shown as the code.
    n : int, default 3
        Names shown.
    width : int, default 36
        Longest name shown, in characters (longer names end with an ellipsis).

    Examples
    --------
    >>> group_name(["C", "B", "D"], {"C": "Manufacturing", "B": "Mining and quarrying"}, n=2)
    'Manufacturing (C) · Mining and quarrying (B) · +1 more'
    """
    codes = [str(c) for c in codes if isinstance(c, str) and c]
    shown = []
    for code in codes[:n]:
        name = str(names.get(code) or "").strip()
        name = name if len(name) <= width else name[:width - 1].rstrip(" ,;") + "…"
        shown.append(f"{name} ({code})" if name else code)
    more = len(codes) - len(shown)
    return " · ".join(shown + ([f"+{more} more"] if more > 0 else []))


def hatch_angle(group_id: str) -> int:
    """Hatch angle (degrees) of a co-location group: 45, 135, 0, 90, 22, 112, ... by group number."""
    angles = (45, 135, 0, 90, 22, 112, 67, 157)
    m = re.fullmatch(r"G(\d+)", str(group_id))
    i = int(m.group(1)) - 1 if m else abs(hash(group_id))
    # Groups sharing a colour (every ninth) get a different angle.
    return angles[(i + i // len(GROUP_PALETTE)) % len(angles)]


def feature_colours(gdf: pd.DataFrame, kind: str) -> pd.Series:
    """Fill colour of each feature of a layer of ``kind`` (see :data:`LAYER_KINDS`).

    Raises
    ------
    MappingError
        If ``kind`` is unknown, the colouring column is missing, or a status or status mix is
        outside the contract's vocabulary.
    """
    if kind not in LAYER_KINDS:
        raise MappingError(f"unknown layer kind {kind!r}; expected one of {sorted(LAYER_KINDS)}")
    col = LAYER_KINDS[kind]
    if col not in gdf.columns:
        raise MappingError(f"layer {kind}: column {col!r} is missing; columns are {list(gdf.columns)}")
    if col == "status":
        bad = sorted(set(gdf[col]) - set(CONTRACT_STATUSES))
        if bad:
            raise MappingError(f"layer {kind}, column 'status': unknown value(s) {bad}; "
                               f"expected {list(CONTRACT_STATUSES)}")
        return gdf[col].map(STATUS_COLOURS)
    if col == "status_mix":
        return gdf[col].map(mix_colour)
    colours = group_colours(gdf[col])
    return gdf[col].map(colours).fillna(NO_GROUP_COLOUR)  # ids without a colour (or missing) are grey


def _num(v) -> str:
    return "n/a" if v is None or pd.isna(v) else f"{float(v):.2f}"


def _semi(values: str) -> str:
    return ", ".join(v for v in str(values).split(";") if v)


def _titles(gdf: pd.DataFrame, kind: str) -> tuple[list[str], list[str]]:
    """Plain-text ``title`` and ``description`` (the viewer escapes them; no HTML here)."""
    n = len(gdf)
    semi_cache: dict = {}

    def semi(v) -> str:  # many features share region and activity lists
        if v not in semi_cache:
            semi_cache[v] = _semi(v)
        return semi_cache[v]

    def col(name: str, default=None) -> list:
        # Plain lists: iterating an Arrow-backed column (or ``to_dict("records")``) row by row is far slower.
        return gdf[name].tolist() if name in gdf.columns or default is None else [default] * n

    if kind == "divergence":
        labels = {m: mix_label(m) for m in set(col("status_mix"))}
        titles = [f"{en} ({ru}): {labels[m]}" for en, ru, m in
                  zip(col("region_name_en"), col("region_name"), col("status_mix"))]
        counts = zip(*(col(f"n_{s}") for s in CONTRACT_STATUSES))
        descs = [f"{n_pairs} region × activity pairs ("
                 + "; ".join(f"{STATUS_LABELS[s][0]}: {k}" for s, k in zip(CONTRACT_STATUSES, ks) if k)
                 + f"); year {year}; details in divergence_pairs.csv (region_code {code})"
                 for n_pairs, ks, year, code in zip(col("n_pairs"), counts, col("year"), col("region_code"))]
    elif kind == "supported_clusters":
        titles = [f"{en} ({ru})" for en, ru in zip(col("name_en"), col("name_ru"))]
        descs = [f"status: {st}; regions: {semi(rn)}; activities: {semi(ac)}; best LQ: {_num(lq)}; programme {pr}"
                 for st, rn, ac, lq, pr in zip(col("status"), col("region_names"), col("cluster_activity_codes"),
                                               col("best_lq"), col("programme"))]
    else:
        titles = [f"Candidate {cid}: {semi(an)}" for cid, an in zip(col("candidate_id", ""), col("activity_names_en"))]
        descs = [f"group {g}: {gn}; regions: {semi(rn)}; max LQ: {_num(lq)}; supported clusters: {semi(sc) or 'none'}"
                 for g, gn, rn, lq, sc in zip(col("group_id"), col("group_name", ""), col("region_names_en"),
                                              col("max_lq"), col("supported_cluster_ids"))]
    return titles, descs


def add_simplestyle(gdf: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
    """Add simplestyle-spec properties so geojson.io and code-hosting previews colour the layer.

    The keys :data:`SIMPLESTYLE_KEYS` are added to every feature (same keys, flat scalars);
    existing columns are kept unchanged. ``title`` and ``description`` are plain text. Filled
    layers are opaque; outline and hatched layers have ``fill-opacity`` 0 (their features overlap).

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
    out["fill-opacity"] = float(_FILL_OPACITY[kind])
    out["stroke"] = OUTLINE_COLOUR if kind == "divergence" else fills.to_numpy()
    out["stroke-width"] = float(_STROKE_WIDTH[kind])
    out["stroke-opacity"] = 1.0
    return out


def layer_style_rules(gdf: pd.DataFrame, kind: str) -> list[tuple[str, str, str]]:
    """Categories of a layer's style: ``(value, label, colour)``, in legend order, only those that occur.

    Status mixes are labelled in words with their number of regions; statuses with their label;
    co-location groups with the activities they hold (``group_name``).
    """
    col = LAYER_KINDS[kind]
    present = set(gdf[col]) if col in gdf.columns else set()
    if col == "status_mix":
        n = gdf[col].value_counts()
        return [(m, f"{mix_label(m)} ({n[m]} region{'s' if n[m] != 1 else ''})", c)
                for m, c in MIX_COLOURS.items() if m in present]
    if col == "status":
        return [(s, STATUS_LABELS[s][0], STATUS_COLOURS[s]) for s in CONTRACT_STATUSES if s in present]
    colours = group_colours(gdf["group_id"])
    names = dict(zip(gdf["group_id"], gdf["group_name"])) if "group_name" in gdf.columns else {}
    return [(g, f"{g}: {names.get(g) or g}", c) for g, c in colours.items()]


def _rgba(colour: str, alpha: float = 1.0) -> str:
    c = colour.lstrip("#")
    return ",".join(str(int(c[i:i + 2], 16)) for i in (0, 2, 4)) + f",{round(alpha * 255)}"


def _layer_xml(cls: str, props: dict[str, str], inner: str = "") -> str:
    # Old-style <prop> elements (read by every QGIS 3) and the newer <Option> map (3.26+).
    prop = "".join(f'<prop k="{k}" v={quoteattr(v)}/>' for k, v in props.items())
    opt = "".join(f'<Option name="{k}" type="QString" value={quoteattr(v)}/>' for k, v in props.items())
    return (f'<layer class="{cls}" enabled="1" locked="0" pass="0">{prop}<Option type="Map">{opt}</Option>'
            f'{inner}</layer>')


def _outline(name: str, colour: str, width_mm: float) -> str:
    """A geometry-generator symbol layer drawing :data:`SEAMLESS_OUTLINE` as a line."""
    line = _layer_xml("SimpleLine", {"line_color": _rgba(colour), "line_width": f"{width_mm:.2f}",
                                     "line_width_unit": "MM", "line_style": "solid", "joinstyle": "bevel",
                                     "capstyle": "square"})
    sub = f'<symbol type="line" name="@{name}@1" alpha="1" clip_to_extent="1" force_rhr="0">{line}</symbol>'
    return _layer_xml("GeometryGenerator", {"SymbolType": "Line", "geometryModifier": SEAMLESS_OUTLINE,
                                            "units": "MapUnit"}, sub)


def _fill_symbol(name: str, colour: str, kind: str, value: str) -> str:
    width = _STROKE_WIDTH[kind] * 0.26
    layers = []
    if kind == "divergence":  # opaque fill, no outline of its own; the seamless outline on top
        layers.append(_layer_xml("SimpleFill", {"color": _rgba(colour), "outline_style": "no", "style": "solid",
                                                "outline_color": _rgba(OUTLINE_COLOUR), "outline_width": "0",
                                                "outline_width_unit": "MM", "joinstyle": "bevel"}))
        layers.append(_outline(name, OUTLINE_COLOUR, width))
    elif kind == "candidate_clusters":  # hatching per group: overlapping candidates cross-hatch
        line = _layer_xml("SimpleLine", {"line_color": _rgba(colour), "line_width": "0.45", "line_width_unit": "MM",
                                         "line_style": "solid", "capstyle": "flat"})
        sub = f'<symbol type="line" name="@{name}@0" alpha="1" clip_to_extent="1" force_rhr="0">{line}</symbol>'
        layers.append(_layer_xml("LinePatternFill", {"angle": str(hatch_angle(value)), "distance": "2.2",
                                                     "distance_unit": "MM", "line_width": "0.45",
                                                     "line_width_unit": "MM", "color": _rgba(colour)}, sub))
        layers.append(_outline(name, colour, width))
    else:  # supported clusters: outlines in the status colour
        layers.append(_outline(name, colour, width))
    return (f'<symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">{"".join(layers)}'
            '</symbol>')


def qml_style(gdf: pd.DataFrame, kind: str) -> str:
    """A QGIS layer style (QML) colouring the layer by status mix, status or co-location group.

    The same document goes into the GeoPackage's ``layer_styles`` table (as the default style)
    and beside each GeoJSON as ``<layer>.qml``, which QGIS loads automatically. It works on both:
    the outline expression (:data:`SEAMLESS_OUTLINE`) only drops edges on the 180th meridian of a
    longitude/latitude layer.

    Parameters
    ----------
    gdf : DataFrame
        The layer's attribute table (for the categories present and their labels).
    kind : str
        ``candidate_clusters``, ``supported_clusters`` or ``divergence``.

    Returns
    -------
    str
        A QML document: a categorised renderer on :data:`LAYER_KINDS` ``[kind]`` with one
        category per value present (no catch-all), and a map tip.
    """
    attr = LAYER_KINDS[kind]
    rules = layer_style_rules(gdf, kind)
    cats, syms = [], []
    for i, (value, label, colour) in enumerate(rules):
        cats.append(f'<category value={quoteattr(value)} symbol="{i}" label={quoteattr(label)} render="true"/>')
        syms.append(_fill_symbol(str(i), colour, kind, value))
    tip = html.escape('<b>[% "title" %]</b><br>[% "description" %]')
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            '<qgis version="3.22.0-Białowieża" styleCategories="Symbology|MapTips">\n'
            f'  <renderer-v2 type="categorizedSymbol" attr={quoteattr(attr)} symbollevels="0" '
            'enableorderby="0" forceraster="0" referencescale="-1">\n'
            f'    <categories>{"".join(cats)}</categories>\n'
            f'    <symbols>{"".join(syms)}</symbols>\n'
            '  </renderer-v2>\n'
            f'  <mapTip>{tip}</mapTip>\n'
            '  <layerGeometryType>2</layerGeometryType>\n'
            '</qgis>\n')
