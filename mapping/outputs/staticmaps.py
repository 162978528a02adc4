"""Static PNG maps for the report: divergence by status mix and candidate clusters by co-location group.

Maps are drawn in an equal-area conic projection (Albers): for Russia and the US the country's
own (:data:`mapping.geo.cartography.COUNTRY_PROJECTIONS`), for other countries one centred on the
data, or the CRS set as ``[maps] projection``. Geometry is unwrapped at 180 degrees, so Chukotka is
drawn whole. The main extent covers the bulk of the area (:func:`mapping.geo.cartography.bulk_extent`);
far-flung units (Alaska, Hawaii) get insets, and small, dense regions get insets too (Moscow with
Moscow Oblast, Saint Petersburg with Leningrad Oblast: :data:`COUNTRY_INSETS`, ``[maps] insets``).
Regions the report's headline names are labelled.
Figures use matplotlib's object API (no pyplot state), so they can be drawn from worker threads.
"""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.collections import Collection, PatchCollection
from matplotlib.figure import Figure  # a bare Figure: no pyplot state, no GUI backend, PNG via Agg
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.path import Path as MplPath

from mapping.geo.cartography import (
    bulk_extent,
    layer_crs,
    reference_longitude,
    simplify_for_web,
    unwrap_antimeridian,
)
from mapping.outputs.statusmix import CONTRACT_STATUSES, MIX_COLOURS, STATUS_COLOURS, STATUS_LABELS, mix_label
from mapping.outputs.styles import group_colours

__all__ = ["write_divergence_png", "write_candidates_png", "write_static_maps", "headline_regions",
           "STATIC_MAPS", "COUNTRY_INSETS"]

#: File names of the static maps in a run folder.
STATIC_MAPS = {"divergence": "divergence.png", "candidate_clusters": "candidate_clusters.png"}
#: Insets drawn by default for a country: (title, region codes). Far-flung units get insets as well.
COUNTRY_INSETS: dict[str, list[tuple[str, list[str]]]] = {
    "RU": [("Moscow and Moscow Oblast", ["RU-MOW", "RU-MOS"]),
           ("Saint Petersburg and Leningrad Oblast", ["RU-SPE", "RU-LEN"])],
}
_BACKGROUND, _EDGE = "#e4e4e4", "#ffffff"
_DPI = 110
_MAX_FAR_INSETS = 3
#: Background shapes drawn over all panels of the candidate map at most: a panel per group redraws every
#: unit, so a country of 3,000 regions gets 12 panels (a run of 85 or 51 regions, hundreds).
_PANEL_SHAPES = 36_000
_MIN_PANELS = 12


def _blend(colour: str, share: float) -> str:
    """``colour`` mixed with white: ``share`` 1 is the colour itself."""
    c = colour.lstrip("#")
    rgb = [int(c[i:i + 2], 16) for i in (0, 2, 4)]
    return "#" + "".join(f"{round(255 - (255 - v) * share):02x}" for v in rgb)


def _unwrap(gdf: gpd.GeoDataFrame, ref: float) -> gpd.GeoDataFrame:
    """:func:`mapping.geo.cartography.unwrap_antimeridian` on the rows it moves (a part more than 180 degrees
    from ``ref``); the others are kept as they are, as it keeps them, without its per-row work."""
    geoms = gdf.geometry.to_numpy()
    parts, owner = shapely.get_parts(geoms, return_index=True)
    far = np.round((ref - shapely.get_x(shapely.centroid(parts))) / 360.0) != 0  # NaN (empty part): moved
    need = np.zeros(len(geoms), dtype=bool)
    need[owner[far]] = True
    moved = unwrap_antimeridian(gdf.iloc[np.flatnonzero(need)], ref)  # (also checks the CRS)
    out = gdf.copy()
    geoms = geoms.copy()
    geoms[need] = moved.geometry.to_numpy()
    out["geometry"] = geoms
    return out.set_geometry("geometry")


def _polygon_paths(geoms) -> list | None:
    """The matplotlib path of each geometry as geopandas' ``plot`` builds it, or None if not all are non-empty
    (Multi)Polygons.

    geopandas normalises the geometries and makes one compound path per geometry, a closed sub-path per
    ring (exterior first); building them in bulk here instead of a patch per geometry is most of the
    maps' time saved, and the paths are the same, so are the pixels.
    """
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms) or not np.isin(shapely.get_type_id(geoms), (3, 6)).all() or shapely.is_empty(geoms).any():
        return None
    parts, part_of = shapely.get_parts(shapely.normalize(geoms), return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    per_ring = np.bincount(coord_of, minlength=len(rings))
    ring_start = np.r_[0, np.cumsum(per_ring)]
    codes = np.full(len(coords), MplPath.LINETO, dtype=MplPath.code_type)
    codes[ring_start[:-1]] = MplPath.MOVETO
    codes[ring_start[1:] - 1] = MplPath.CLOSEPOLY
    per_geom = np.bincount(part_of[ring_of], weights=per_ring, minlength=len(geoms)).astype(int)
    start = np.r_[0, np.cumsum(per_geom)].tolist()
    return [MplPath(coords[a:b], codes[a:b]) for a, b in zip(start[:-1], start[1:])]


def _draw_polygons(ax, gdf: gpd.GeoDataFrame, paths: list | None, *, color, **style) -> None:
    """``gdf.plot(ax=ax, color=color, **style)`` for polygons, with their paths given (same artists, same pixels).

    The steps of geopandas' ``plot_series`` for polygons: axis labels from the CRS, the aspect, the
    colours taken per geometry, one PatchCollection (face colour first, then the style in its order).
    Anything else (other geometry types, missing geometries) goes to geopandas.
    """
    from geopandas.plotting import _set_aspect, _set_axis_labels

    if paths is None or len(paths) != len(gdf) or not len(gdf):
        gdf.plot(ax=ax, color=color, **style)
        return
    s = gdf.geometry
    _set_axis_labels(ax, s.crs)
    _set_aspect("auto", s, ax)
    if pd.api.types.is_list_like(color) and len(color) == len(s):
        if isinstance(color, pd.Series):
            color = color.reindex(s.index)
        color = np.take(color, np.arange(len(s)), axis=0)[np.ones(len(s), dtype=bool)]
    coll = PatchCollection([], facecolor=color, **style)
    Collection.set_paths(coll, list(paths))
    ax.add_collection(coll, autolim=True)
    ax.autoscale_view()


def _rows(paths: list | None, mask) -> list | None:
    """The paths of the rows ``mask`` selects."""
    return None if paths is None else [paths[i] for i in np.flatnonzero(np.asarray(mask))]


class _Frame:
    """Background units, the projection, the main extent and the insets shared by one run's maps."""

    def __init__(self, layers: list[gpd.GeoDataFrame], background: gpd.GeoDataFrame | None, country: str | None,
                 *, projection: str | None = None, insets: list | None = None, names: dict | None = None):
        self.ref = reference_longitude(*(g for g in layers if len(g)))
        base = background if background is not None and len(background) else pd.concat(layers)
        cols = [c for c in ("region_code", "geometry") if c in base.columns]
        base = self._prepare(base.to_crs(4326)[cols])
        self.crs = layer_crs(country, self.ref, tuple(base.total_bounds), override=projection)
        self.background = base.to_crs(self.crs)
        self.extent, outlying = bulk_extent(self.background.geometry.to_numpy())
        minx, miny, maxx, maxy = self.extent
        self.aspect = (maxy - miny) / (maxx - minx)
        self.projection_name = self.crs.name
        codes = (self.background["region_code"] if "region_code" in self.background.columns
                 else pd.Series([""] * len(self.background)))
        names = names or {}
        wanted = insets if insets is not None else COUNTRY_INSETS.get((country or "").upper(), [])
        present = set(codes)
        #: (title, region codes, extent in the projection) of each inset.
        self.insets = [(t, [c for c in cs if c in present]) for t, cs in wanted]
        self.insets = [(t, cs, self._window(self.background.loc[codes.isin(cs)].total_bounds))
                       for t, cs in self.insets if cs]
        far = [(c, g, o) for c, g, o in zip(codes, self.background.geometry, outlying) if o is not None]
        self.far_note = ""
        self.far_names = [names.get(c) or c for c, _, _ in far]
        if len(far) <= _MAX_FAR_INSETS:
            for code, geom, out in far:
                whole = out.area >= 0.999 * geom.area
                title = (names.get(code) or code or "outlying part") + ("" if whole else " (outlying part)")
                self.insets.append((title, [code], self._window(out.bounds)))
        else:
            self.far_note = "Outside the main extent: " + ", ".join(self.far_names) + "."

    @staticmethod
    def _window(bounds) -> tuple[float, float, float, float]:
        # Square-ish window with a margin, so the neighbours give context.
        minx, miny, maxx, maxy = bounds
        cx, cy, half = (minx + maxx) / 2, (miny + maxy) / 2, max(maxx - minx, maxy - miny) * 0.6
        return cx - half, cy - half, cx + half, cy + half

    def _prepare(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        # A pixel of a 12-inch country map spans ~0.1 degree: simplifying at 0.01 changes nothing
        # visible and makes drawing several times faster.
        return simplify_for_web(_unwrap(gdf, self.ref), tolerance_deg=0.01, decimals=None,
                                preserve_topology=False)

    def _draw_background(self, ax) -> None:
        """The grey units, as ``background.plot(color=..., edgecolor=..., linewidth=0.3)`` draws them.

        A map with one panel per group draws the same thousands of units in every panel: their paths
        are built once (:func:`_polygon_paths`).
        """
        if not hasattr(self, "_background_paths"):
            self._background_paths = _polygon_paths(self.background.geometry.to_numpy())
        _draw_polygons(ax, self.background, self._background_paths, color=_BACKGROUND, edgecolor=_EDGE,
                       linewidth=0.3)

    def project(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return self._prepare(gdf).to_crs(self.crs)

    def panel(self, ax, extent=None, *, pad: float = 0.01) -> None:
        self._draw_background(ax)
        minx, miny, maxx, maxy = extent or self.extent
        padx, pady = (maxx - minx) * pad, (maxy - miny) * 2 * pad
        ax.set_xlim(minx - padx, maxx + padx)
        ax.set_ylim(miny - pady, maxy + pady)
        ax.set_aspect("equal")
        ax.set_axis_off()


def headline_regions(pairs: pd.DataFrame, *, top: int = 10) -> list[str]:
    """Regions the report's headline names: those of aligned pairs and of the ``top`` untapped pairs by LQ."""
    if pairs is None or not len(pairs):
        return []
    aligned = pairs.loc[pairs["status"] == "aligned", "region_code"]
    un = pairs.loc[pairs["status"] == "specialised_not_supported"].sort_values("lq_max", ascending=False,
                                                                              kind="stable")
    return list(dict.fromkeys([*aligned, *un["region_code"].head(top)]))


def _labels(ax, proj: gpd.GeoDataFrame, codes: list[str], names: dict[str, str], extent) -> None:
    minx, miny, maxx, maxy = extent
    for code in codes:
        row = proj.loc[proj["region_code"] == code]
        if row.empty:
            continue
        pt = row.geometry.iloc[0].representative_point()
        if not (minx <= pt.x <= maxx and miny <= pt.y <= maxy):
            continue
        ax.annotate(names.get(code) or code, (pt.x, pt.y), fontsize=7, ha="center", va="center", color="#111111",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75})


_TITLE_H, _HEAD = 0.45, 0.85  # inches: a panel's title, the figure's title


def _panel_h(frame: _Frame, ncols: int, width: float = 12.0, right: float = 0.0) -> float:
    """Height of a panel in inches: the map's aspect on its share of the width."""
    return (width - right) * 0.98 / ncols * frame.aspect


def _figure(frame: _Frame, n: int, ncols: int, width: float = 12.0, *, right: float = 0.0,
            foot: float = 0.3) -> tuple[Figure, list]:
    """Panels sized to the map's aspect; ``right`` and ``foot`` (inches) are kept free for legends.

    Legends sit outside the maps so they never hide a region (the lower left of a map of Russia
    is the North Caucasus).
    """
    nrows = -(-n // ncols)
    title_h, head = _TITLE_H, _HEAD
    panel_h = _panel_h(frame, ncols, width, right)
    height = nrows * (panel_h + title_h) + head + foot
    fig = Figure(figsize=(width, height), dpi=_DPI)
    # Tight margins: an equal-aspect map fills its slot only if the slot has the map's aspect.
    fig.subplots_adjust(left=0.01, right=0.99 - right / width, bottom=foot / height, top=1 - head / height,
                        hspace=title_h / panel_h, wspace=0.02)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_axis_off()
    return fig, axes[:n]


def _footer(fig: Figure, text: str) -> None:
    fig.text(0.01, 0.005, text, fontsize=7.5, color="#555555", ha="left", va="bottom", wrap=True)


def _draw_mix(ax, frame: _Frame, proj: gpd.GeoDataFrame, paths, extent=None, *, pad: float = 0.01) -> None:
    frame.panel(ax, extent, pad=pad)
    if len(proj):
        _draw_polygons(ax, proj, paths, color=proj["status_mix"].map(MIX_COLOURS), edgecolor="#444444",
                       linewidth=0.35)


def write_divergence_png(path: Path, divergence: gpd.GeoDataFrame, *, background: gpd.GeoDataFrame | None = None,
                         country: str | None = None, year: int | None = None, note: str = "",
                         pairs: pd.DataFrame | None = None, projection: str | None = None,
                         insets: list | None = None) -> Path:
    """The divergence map: each region in the colour of its status mix, with insets, labels and counts.

    The main panel colours every region once by ``status_mix`` (the legend lists the mixes present,
    with their number of regions); insets enlarge small, dense regions and far-flung ones; the
    regions the headline names are labelled. Below, one small panel per status present shades
    regions by how many of their activities have the status: "1 activity" is a light tint with
    hatching, so it is never confused with "no pair" (plain grey).

    Parameters
    ----------
    path : Path
        PNG file to write.
    divergence : geopandas.GeoDataFrame
        The divergence layer (contract version 2: one feature per region; EPSG:4326, RFC 7946 form).
    background : geopandas.GeoDataFrame, optional
        Every analysis unit (EPSG:4326; ``region_code`` for insets), drawn in grey.
    country : str, optional
        ISO 3166-1 alpha-2 code: selects the projection and the default insets.
    year : int, optional
        For the title.
    note : str
        Footer text (sources, units without geometry).
    pairs : DataFrame, optional
        The region x activity pairs: which regions the headline names (labels).
    projection : str, optional
        ``[maps] projection``.
    insets : list of (title, list of region codes), optional
        ``[maps] insets``; default :data:`COUNTRY_INSETS` for the country.

    Returns
    -------
    Path
    """
    names = dict(zip(divergence["region_code"], divergence["region_name_en"])) if len(divergence) else {}
    frame = _Frame([divergence], background, country, projection=projection, insets=insets, names=names)
    cols = ["region_code", "region_name_en", "status_mix", "geometry"] + [f"n_{s}" for s in CONTRACT_STATUSES]
    proj = frame.project(divergence[[c for c in cols if c in divergence.columns]])
    paths = _polygon_paths(proj.geometry.to_numpy())  # once for the map, its insets and the small multiples
    statuses = [s for s in CONTRACT_STATUSES if f"n_{s}" in proj.columns and (proj[f"n_{s}"] > 0).any()]
    width, right = 12.0, 3.0
    main_w = width - right
    main_h = main_w * frame.aspect
    ncols = 2 if len(statuses) > 1 else 1
    nrows_s = -(-len(statuses) // ncols)
    small_h = (width / ncols) * 0.98 * frame.aspect
    head, title_h, foot = 0.8, 0.4, 0.5
    height = head + main_h + nrows_s * (small_h + title_h) + foot
    fig = Figure(figsize=(width, height), dpi=_DPI)
    top = height - head  # inches from the bottom
    ax = fig.add_axes((0.005, (top - main_h) / height, main_w / width, main_h / height))
    _draw_mix(ax, frame, proj, paths)
    labelled = headline_regions(pairs)[:14] if pairs is not None else []
    _labels(ax, proj, labelled, names, frame.extent)
    n = proj["status_mix"].value_counts()
    handles = [Patch(facecolor=c, edgecolor="#444444", label=f"{mix_label(m)} ({n[m]})")
               for m, c in MIX_COLOURS.items() if m in n.index]
    handles.append(Patch(facecolor=_BACKGROUND, edgecolor="#bbbbbb", label="no pair"))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=((main_w + 0.1) / width, top / height), fontsize=8,
               frameon=False, title="statuses of the region's pairs\n(number of regions)", title_fontsize=8.5,
               alignment="left")
    # Insets in the right column, below the legend.
    n_in = len(frame.insets)
    if n_in:
        box = min(right - 0.3, (main_h * 0.62) / n_in)
        for i, (title, codes, window) in enumerate(frame.insets):
            y = top - main_h * 0.38 - (i + 1) * box
            iax = fig.add_axes(((main_w + 0.2) / width, y / height, box / width, (box - 0.25) / height))
            _draw_mix(iax, frame, proj, paths, window, pad=0.0)
            _labels(iax, proj, codes, names, window)
            iax.set_title(title, fontsize=7.5, loc="left")
            for spine in iax.spines.values():
                spine.set_visible(True)
    # Small multiples: one per status present, shaded by the number of activities.
    shades = {1: 0.35, 2: 0.7, 3: 1.0}
    for k, status in enumerate(statuses):
        r, c = divmod(k, ncols)
        y0 = top - main_h - (r + 1) * (small_h + title_h) + 0.05
        sax = fig.add_axes((c / ncols + 0.005, y0 / height, 1 / ncols - 0.01, small_h / height))
        frame.panel(sax)
        col = f"n_{status}"
        sub = proj.loc[proj[col] > 0]
        base = STATUS_COLOURS[status]
        for cnt, share in shades.items():
            rows = ((proj[col] >= 3) if cnt == 3 else (proj[col] == cnt)) & (proj[col] > 0)
            part = proj.loc[rows]
            if len(part):
                _draw_polygons(sax, part, _rows(paths, rows), color=_blend(base, share),
                               edgecolor=base if cnt == 1 else "#444444", linewidth=0.5 if cnt == 1 else 0.3,
                               hatch="////" if cnt == 1 else None)
        en, ru = STATUS_LABELS[status]
        label = f"{en} — {ru}" if (country or "").upper() == "RU" else en
        sax.set_title(f"{label}: {int(sub[col].sum())} pairs in {len(sub)} regions", fontsize=9, loc="left")
        hs = [Patch(facecolor=_blend(base, 0.35), edgecolor=base, hatch="////", label="1 activity"),
              Patch(facecolor=_blend(base, 0.7), edgecolor="#444444", label="2 activities"),
              Patch(facecolor=base, edgecolor="#444444", label="3 or more"),
              Patch(facecolor=_BACKGROUND, edgecolor="#bbbbbb", label="no pair")]
        sax.legend(handles=hs, loc="lower left", fontsize=7, frameon=True, framealpha=0.85)
    fig.suptitle(f"Specialisation vs support{f', {year}' if year else ''}: regions by the statuses of their "
                 f"pairs", fontsize=13, x=0.01, ha="left", y=1 - 0.12 / height, va="top")
    fig.text(0.01, 1 - 0.5 / height, f"Projection: {frame.projection_name}", fontsize=7.5, color="#555555",
             ha="left", va="top")
    _footer(fig, " ".join(t for t in (note, frame.far_note) if t))
    _save_png(fig, path)
    return Path(path)


def write_candidates_png(path: Path, candidates: gpd.GeoDataFrame, *, background: gpd.GeoDataFrame | None = None,
                         country: str | None = None, year: int | None = None, note: str = "",
                         projection: str | None = None, **_ignored) -> Path:
    """One panel per co-location group: its candidate clusters, outlined, in the group's colour.

    Candidates of one group never share a region, so within a panel nothing overlaps; a
    candidate spanning neighbouring regions gets a thick outline around all of them.

    Parameters
    ----------
    path : Path
        PNG file to write.
    candidates : geopandas.GeoDataFrame
        The candidate layer (EPSG:4326, RFC 7946 form).
    background, country, year, note
        As for :func:`write_divergence_png`.

    Returns
    -------
    Path
    """
    names = dict(zip(candidates["region_codes"], candidates["region_names_en"])) if "region_names_en" in candidates else {}
    frame = _Frame([candidates], background, country, projection=projection, insets=[], names=names)
    cols = ["candidate_id", "group_id", "group_label", "group_name", "cross_regional", "n_regions", "geometry"]
    group_of = candidates["group_id"]
    colours = group_colours(group_of)
    groups = list(colours) or [""]
    panels, rest = _panel_groups(groups, group_of, len(frame.background))
    # Only the candidates of the groups with a panel are drawn: only they are projected.
    drawn = candidates.loc[group_of.isin(panels).to_numpy(), [c for c in cols if c in candidates.columns]]
    proj = frame.project(drawn)
    paths = _polygon_paths(proj.geometry.to_numpy())
    ncols = 1 if len(panels) <= 3 else 2
    far = (" Outside the main extent (see the insets of divergence.png): " + ", ".join(frame.far_names) + "."
           if frame.far_names else "")
    # Below the panels, bottom up: the footer (at 0.5 % of the figure's height), then the one-row legend.
    # Each panel's title names its group and the panel shows its colour, so the legend holds only what
    # every panel shares (a legend of group colours ran to several rows over the last panels on the US map).
    left = int(group_of.isin(rest).sum())
    others = (f" {len(rest)} further groups with fewer candidates ({left} candidates) are drawn in map.html and listed "
              "in candidate_clusters.csv: " + ", ".join(map(str, rest)) + "." if rest else "")
    text_h = 0.13 * (1 + len(note + far + others) // 150)  # inches: ~150 characters a line
    # foot = legend_y + 0.45 with legend_y = 0.005 * height + text_h + 0.1, and height = panels + foot.
    panels_h = -(-len(panels) // ncols) * (_panel_h(frame, ncols) + _TITLE_H) + _HEAD
    legend_y = 0.005 * (panels_h + text_h + 0.55) / 0.995 + text_h + 0.1
    fig, axes = _figure(frame, len(panels), ncols, foot=legend_y + 0.45)
    for ax, gid in zip(axes, panels):
        frame.panel(ax)
        rows = proj["group_id"] == gid
        sub = proj.loc[rows]
        colour = colours.get(gid, "#999999")
        if len(sub):
            _draw_polygons(ax, sub, _rows(paths, rows), color=colour, edgecolor="#444444", linewidth=0.3, alpha=0.85)
            cross = sub.loc[sub["cross_regional"].astype(bool)]
            if len(cross):
                cross.boundary.plot(ax=ax, color="#111111", linewidth=1.1)
        label = (f"{gid}: {sub['group_name'].iloc[0]}" if len(sub) and "group_name" in sub.columns
                 else str(sub["group_label"].iloc[0]) if len(sub) else "no candidates")
        if len(label) > 70:
            label = label[:67] + "..."
        ax.set_title(f"{label}: {len(sub)} candidates", fontsize=10, loc="left")
    handles = [Patch(facecolor="#888888", edgecolor="#444444", label="candidate cluster (in its group's colour)"),
               Line2D([], [], color="#111111", linewidth=1.1, label="cross-regional candidate (outline)"),
               Patch(facecolor=_BACKGROUND, edgecolor="#bbbbbb", label="no candidate of the group")]
    fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.01, legend_y / fig.get_figheight()),
               ncol=len(handles), fontsize=8.5, frameon=False)
    fig.suptitle(f"Candidate clusters{f', {year}' if year else ''}, by co-location group ({frame.projection_name})",
                 fontsize=13, x=0.01, ha="left", y=1 - 0.15 / fig.get_figheight(), va="top")
    _footer(fig, note + far + others)
    _save_png(fig, path)
    return Path(path)


def _panel_groups(groups: list, group_of: pd.Series, n_shapes: int) -> tuple[list, list]:
    """(groups with a panel, groups left out) of the candidate map: a panel per group while the background
    shapes over all panels stay within :data:`_PANEL_SHAPES`; past that, the groups with the most candidates
    (in the groups' order); the footer names the others."""
    limit = max(_MIN_PANELS, _PANEL_SHAPES // max(1, n_shapes))
    if len(groups) <= limit:
        return groups, []
    size = group_of.value_counts()
    ranked = sorted(range(len(groups)), key=lambda i: (-int(size.get(groups[i], 0)), i))
    own = set(ranked[:limit])
    return [g for i, g in enumerate(groups) if i in own], [g for i, g in enumerate(groups) if i not in own]


def _save_png(fig: Figure, path: Path) -> None:
    """Save as a 256-colour palette PNG: the maps are flat fills, so it looks the same at a third of the
    size (a 37-group US candidate map: 1.8 -> 0.44 MB), and report.html embeds each map once more."""
    from PIL import Image

    buf = io.BytesIO()
    # The intermediate image only carries the pixels to PIL: an uncompressed TIFF, not a compressed PNG.
    fig.savefig(buf, format="tiff", dpi=_DPI, bbox_inches="tight", facecolor="white")
    buf.seek(0)
    with Image.open(buf) as im:
        pal = im.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        pal.save(path, format="PNG", optimize=True)


def write_static_maps(out_dir: Path, candidates: gpd.GeoDataFrame, divergence: gpd.GeoDataFrame, **kwargs
                      ) -> dict[str, Path]:
    """Write :data:`STATIC_MAPS` into ``out_dir``; keyword arguments as for :func:`write_divergence_png`."""
    out_dir = Path(out_dir)
    return {"divergence": write_divergence_png(out_dir / STATIC_MAPS["divergence"], divergence, **kwargs),
            "candidate_clusters": write_candidates_png(out_dir / STATIC_MAPS["candidate_clusters"], candidates,
                                                       **kwargs)}
