"""Static PNG maps for the report: divergence by status and candidate clusters by co-location group.

Maps are drawn in an equal-area conic projection centred on the country (Albers, central
meridian 100 E for Russia; see :data:`mapping.geo.cartography.COUNTRY_PROJECTIONS`) from the
unwrapped geometry, so Chukotka is drawn whole instead of being torn at 180 degrees.
Figures use matplotlib's object API (no pyplot state), so they can be drawn from worker threads.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from matplotlib.figure import Figure  # a bare Figure: no pyplot state, no GUI backend, PNG via Agg
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from mapping.geo.cartography import map_projection, reference_longitude, simplify_for_web, unwrap_antimeridian
from mapping.schema import STATUSES
from mapping.outputs.styles import STATUS_COLOURS, STATUS_LABELS, group_colours

__all__ = ["write_divergence_png", "write_candidates_png", "write_static_maps", "STATIC_MAPS"]

#: File names of the static maps in a run folder.
STATIC_MAPS = {"divergence": "divergence.png", "candidate_clusters": "candidate_clusters.png"}
_BACKGROUND, _EDGE = "#e4e4e4", "#ffffff"
_DPI = 110


def _blend(colour: str, share: float) -> str:
    """``colour`` mixed with white: ``share`` 1 is the colour itself."""
    c = colour.lstrip("#")
    rgb = [int(c[i:i + 2], 16) for i in (0, 2, 4)]
    return "#" + "".join(f"{round(255 - (255 - v) * share):02x}" for v in rgb)


class _Frame:
    """Background units and the projection shared by the panels of one run's maps."""

    def __init__(self, layers: list[gpd.GeoDataFrame], background: gpd.GeoDataFrame | None, country: str | None):
        self.ref = reference_longitude(*(g for g in layers if len(g)))
        base = background if background is not None and len(background) else pd.concat(layers)
        base = self._prepare(base.to_crs(4326)[["geometry"]])
        self.crs = map_projection(country, self.ref, tuple(base.total_bounds))
        self.background = base.to_crs(self.crs)
        minx, miny, maxx, maxy = self.background.total_bounds
        self.extent = (minx, miny, maxx, maxy)
        self.aspect = (maxy - miny) / (maxx - minx)

    def _prepare(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        # A pixel of a 12-inch country map spans ~0.1 degree: simplifying at 0.01 changes nothing
        # visible and makes drawing several times faster.
        return simplify_for_web(unwrap_antimeridian(gdf, self.ref), tolerance_deg=0.01, decimals=None,
                                preserve_topology=False)

    def project(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return self._prepare(gdf).to_crs(self.crs)

    def panel(self, ax) -> None:
        self.background.plot(ax=ax, color=_BACKGROUND, edgecolor=_EDGE, linewidth=0.3)
        minx, miny, maxx, maxy = self.extent
        padx, pady = (maxx - minx) * 0.01, (maxy - miny) * 0.02
        ax.set_xlim(minx - padx, maxx + padx)
        ax.set_ylim(miny - pady, maxy + pady)
        ax.set_aspect("equal")
        ax.set_axis_off()


def _figure(frame: _Frame, n: int, ncols: int, width: float = 12.0, *, right: float = 0.0,
            foot: float = 0.3) -> tuple[Figure, list]:
    """Panels sized to the map's aspect; ``right`` and ``foot`` (inches) are kept free for legends.

    Legends sit outside the maps so they never hide a region (the lower left of a map of Russia
    is the North Caucasus).
    """
    nrows = -(-n // ncols)
    title_h, head = 0.45, 0.85  # inches: panel title, figure title
    panel_h = (width - right) * 0.98 / ncols * frame.aspect
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


def write_divergence_png(path: Path, divergence: gpd.GeoDataFrame, *, background: gpd.GeoDataFrame | None = None,
                         country: str | None = None, year: int | None = None, note: str = "") -> Path:
    """One panel per status: regions with at least one region x activity pair of that status.

    The shade says how many activities of the region have the status (1, 2, 3 or more), so a
    region with several statuses appears in several panels and nothing is hidden by overlap.

    Parameters
    ----------
    path : Path
        PNG file to write.
    divergence : geopandas.GeoDataFrame
        The divergence layer (EPSG:4326, RFC 7946 form).
    background : geopandas.GeoDataFrame, optional
        Every analysis unit (EPSG:4326), drawn in grey.
    country : str, optional
        ISO 3166-1 alpha-2 code, selects the projection.
    year : int, optional
        For the title.
    note : str
        Footer text (sources, units without geometry).

    Returns
    -------
    Path
    """
    frame = _Frame([divergence], background, country)
    proj = frame.project(divergence[["region_code", "status", "geometry"]])
    fig, axes = _figure(frame, len(STATUSES), 1, right=2.4)
    for ax, status in zip(axes, STATUSES):
        frame.panel(ax)
        sub = proj.loc[proj["status"] == status]
        counts = sub.groupby("region_code").size()
        regions = sub.drop_duplicates("region_code").set_index("region_code")
        shades = {1: 0.45, 2: 0.75, 3: 1.0}
        base = STATUS_COLOURS[status]
        if len(regions):
            regions = regions.assign(_c=[_blend(base, shades[min(int(counts[c]), 3)]) for c in regions.index])
            regions.plot(ax=ax, color=regions["_c"], edgecolor="#444444", linewidth=0.35)
        en, ru = STATUS_LABELS[status]
        label = f"{en} — {ru}" if (country or "").upper() == "RU" else en  # Russian for the Russian map
        ax.set_title(f"{label}: {len(sub)} pairs in {len(regions)} regions", fontsize=11, loc="left")
        handles = [Patch(facecolor=_blend(base, s), edgecolor="#444444", label=lab)
                   for s, lab in ((0.45, "1 activity"), (0.75, "2 activities"), (1.0, "3 or more"))]
        handles.append(Patch(facecolor=_BACKGROUND, edgecolor="#bbbbbb", label="no pair with this status"))
        ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8.5, frameon=False,
                  title="region × activity pairs", title_fontsize=8.5, alignment="left")
    fig.suptitle(f"Specialisation vs support{f', {year}' if year else ''}: divergence by status "
                 "(Albers equal-area)", fontsize=13, x=0.01, ha="left", y=1 - 0.15 / fig.get_figheight(), va="top")
    _footer(fig, note)
    fig.savefig(path, dpi=_DPI, bbox_inches="tight", facecolor="white")
    return Path(path)


def write_candidates_png(path: Path, candidates: gpd.GeoDataFrame, *, background: gpd.GeoDataFrame | None = None,
                         country: str | None = None, year: int | None = None, note: str = "") -> Path:
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
    frame = _Frame([candidates], background, country)
    proj = frame.project(candidates[["candidate_id", "group_id", "group_label", "cross_regional", "n_regions",
                                     "geometry"]])
    colours = group_colours(proj["group_id"])
    groups = list(colours) or [""]
    ncols = 1 if len(groups) <= 3 else 2
    fig, axes = _figure(frame, len(groups), ncols, foot=0.9)
    for ax, gid in zip(axes, groups):
        frame.panel(ax)
        sub = proj.loc[proj["group_id"] == gid]
        colour = colours.get(gid, "#999999")
        if len(sub):
            sub.plot(ax=ax, color=colour, edgecolor="#444444", linewidth=0.3, alpha=0.85)
            cross = sub.loc[sub["cross_regional"].astype(bool)]
            if len(cross):
                cross.boundary.plot(ax=ax, color="#111111", linewidth=1.1)
        label = str(sub["group_label"].iloc[0]) if len(sub) else "no candidates"
        if len(label) > 70:
            label = label[:67] + "..."
        ax.set_title(f"{label}: {len(sub)} candidates", fontsize=10, loc="left")
    handles = [Patch(facecolor=c, edgecolor="#444444", label=g) for g, c in colours.items()]
    handles += [Line2D([], [], color="#111111", linewidth=1.1, label="cross-regional candidate (outline)"),
                Patch(facecolor=_BACKGROUND, edgecolor="#bbbbbb", label="no candidate of the group")]
    fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.01, 0.3 / fig.get_figheight()),
               ncol=min(len(handles), 6), fontsize=8.5, frameon=False, title="co-location group",
               title_fontsize=8.5, alignment="left")
    fig.suptitle(f"Candidate clusters{f', {year}' if year else ''}, by co-location group (Albers equal-area)",
                 fontsize=13, x=0.01, ha="left", y=1 - 0.15 / fig.get_figheight(), va="top")
    _footer(fig, note)
    fig.savefig(path, dpi=_DPI, bbox_inches="tight", facecolor="white")
    return Path(path)


def write_static_maps(out_dir: Path, candidates: gpd.GeoDataFrame, divergence: gpd.GeoDataFrame, **kwargs
                      ) -> dict[str, Path]:
    """Write :data:`STATIC_MAPS` into ``out_dir``; keyword arguments as for :func:`write_divergence_png`."""
    out_dir = Path(out_dir)
    return {"divergence": write_divergence_png(out_dir / STATIC_MAPS["divergence"], divergence, **kwargs),
            "candidate_clusters": write_candidates_png(out_dir / STATIC_MAPS["candidate_clusters"], candidates,
                                                       **kwargs)}
