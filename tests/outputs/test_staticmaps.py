"""Static PNG maps on a SYNTHETIC grid: the background drawn once per panel as geopandas draws it, and a
candidate map of many groups over many regions limited to the groups with the most candidates."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from shapely.geometry import box

from mapping.outputs import staticmaps


def _grid(n: int = 12) -> gpd.GeoDataFrame:
    cells = [{"region_code": f"R{i:02d}{j:02d}", "geometry": box(10 + i * 0.2, 40 + j * 0.2, 10.2 + i * 0.2,
                                                                   40.2 + j * 0.2)} for i in range(n) for j in range(n)]
    return gpd.GeoDataFrame(cells, geometry="geometry", crs=4326)


def _candidates(units: gpd.GeoDataFrame, n_groups: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for g in range(n_groups):
        for k in range(g % 5 + 1):  # group g has g % 5 + 1 candidates
            r = units.iloc[int(rng.integers(len(units)))]
            rows.append({"candidate_id": f"G{g:02d}:{k}", "group_id": f"G{g:02d}", "group_label": f"label {g}",
                         "group_name": f"name {g}", "cross_regional": bool(k % 2), "n_regions": 1,
                         "region_codes": r["region_code"], "region_names_en": r["region_code"],
                         "geometry": r.geometry})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def _draw(monkeypatch, tmp_path, name, units, cand):
    figures = []
    save = staticmaps._save_png
    monkeypatch.setattr(staticmaps, "_save_png", lambda fig, path: (figures.append(fig), save(fig, path)))
    path = staticmaps.write_candidates_png(tmp_path / name, cand, background=units, country=None, year=2023)
    return path, figures[-1]


def test_repeated_background_has_the_pixels_geopandas_draws(monkeypatch, tmp_path):
    units = _grid()
    cand = _candidates(units, 6)
    fast, _ = _draw(monkeypatch, tmp_path, "fast.png", units, cand)

    def every_time(self, ax):  # what the maps did before: geopandas draws the background in every panel
        self.background.plot(ax=ax, color=staticmaps._BACKGROUND, edgecolor=staticmaps._EDGE, linewidth=0.3)

    monkeypatch.setattr(staticmaps._Frame, "_draw_background", every_time)
    slow, _ = _draw(monkeypatch, tmp_path, "slow.png", units, cand)
    assert np.array_equal(imread(fast), imread(slow))


def test_many_groups_over_many_regions_keep_the_largest_groups(monkeypatch, tmp_path):
    units = _grid()
    monkeypatch.setattr(staticmaps, "_PANEL_SHAPES", 12 * len(units))  # 12 panels for this grid
    cand = _candidates(units, 15)
    _, fig = _draw(monkeypatch, tmp_path, "many.png", units, cand)
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert len(titles) == 12
    size = cand["group_id"].value_counts()
    drawn = {t.split(":")[0] for t in titles}
    left_out = sorted(set(size.index) - drawn)
    assert len(left_out) == 3 and all(size[g] <= size[d] for g in left_out for d in drawn)
    assert [t.split(":")[0] for t in titles] == sorted(drawn)  # in the groups' order
    footer = fig.texts[-1].get_text()
    assert "3 further groups" in footer and all(g in footer for g in left_out)


@pytest.mark.parametrize("n_groups", [3, 12])
def test_few_groups_get_a_panel_each(monkeypatch, tmp_path, n_groups):
    units = _grid()
    _, fig = _draw(monkeypatch, tmp_path, "few.png", units, _candidates(units, n_groups))
    assert len([ax for ax in fig.axes if ax.get_title(loc="left")]) == n_groups
    assert "further groups" not in fig.texts[-1].get_text()


def test_panel_groups_ranks_by_candidates_then_order(monkeypatch):
    groups = ["A", "B", "C", "D"]
    of = pd.Series(["D", "B", "C", "C", "A", "B", "D"])
    assert staticmaps._panel_groups(groups, of, n_shapes=10) == (groups, [])
    monkeypatch.setattr(staticmaps, "_MIN_PANELS", 2)
    monkeypatch.setattr(staticmaps, "_PANEL_SHAPES", 100)
    # 50 shapes: 2 panels; B, C and D have 2 candidates each, the first two in the groups' order win.
    assert staticmaps._panel_groups(groups, of, n_shapes=50) == (["B", "C"], ["A", "D"])


@pytest.mark.parametrize("n_groups", [4, 37])
def test_legend_and_footer_sit_below_every_panel(monkeypatch, tmp_path, n_groups):
    """The US map has 37 groups: the legend must not run over the last panels nor the footer over it."""
    units = _grid()
    _, fig = _draw(monkeypatch, tmp_path, "legend.png", units, _candidates(units, n_groups))
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    lowest = min(ax.get_position().y0 for ax in fig.axes if ax.get_title(loc="left"))
    legend = fig.legends[0].get_window_extent(renderer).transformed(fig.transFigure.inverted())
    footer = fig.texts[-1].get_window_extent(renderer).transformed(fig.transFigure.inverted())
    assert legend.y1 < lowest and footer.y1 <= legend.y0
    assert len(fig.legends[0].get_texts()) == 3  # what every panel shares; the titles name the groups


def _divergence(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    from mapping.outputs.statusmix import CONTRACT_STATUSES

    rng = np.random.default_rng(2)
    n = {s: rng.integers(0, 4, len(units)) for s in CONTRACT_STATUSES[:3]}
    mix = ["+".join(sorted(s for s in n if n[s][i])) or "aligned" for i in range(len(units))]
    out = units.assign(region_name_en=units["region_code"], status_mix=mix,
                       **{f"n_{s}": v for s, v in n.items()}, n_not_testable=0, n_no_data=0)
    # A region with a hole and one of two parts, so the paths built in bulk meet rings and parts.
    out.loc[0, "geometry"] = box(10, 40, 10.2, 40.2).difference(box(10.05, 40.05, 10.1, 40.1))
    out.loc[1, "geometry"] = box(10, 40.2, 10.1, 40.4).union(box(10.15, 40.2, 10.2, 40.4))
    return out


def test_maps_have_the_pixels_geopandas_draws(monkeypatch, tmp_path):
    """Polygons drawn from paths built in bulk, and projected only where drawn: the pixels of ``GeoDataFrame.plot``."""
    units = _grid()
    div, cand = _divergence(units), _candidates(units, 15)
    monkeypatch.setattr(staticmaps, "_PANEL_SHAPES", 12 * len(units))  # some groups left out: not projected

    def draw(tag):
        return (staticmaps.write_divergence_png(tmp_path / f"d{tag}.png", div, background=units, year=2023,
                                                insets=[("corner", ["R0000", "R0001"])]),
                staticmaps.write_candidates_png(tmp_path / f"c{tag}.png", cand, background=units, year=2023))

    fast = draw("fast")
    monkeypatch.setattr(staticmaps, "_draw_polygons", lambda ax, gdf, paths, *, color, **style:
                        gdf.plot(ax=ax, color=color, **style))
    slow = draw("slow")
    for a, b in zip(fast, slow):
        assert np.array_equal(imread(a), imread(b)), a.name


def test_unwrap_moves_only_what_unwrap_antimeridian_moves():
    from mapping.geo.cartography import unwrap_antimeridian

    g = gpd.GeoDataFrame(geometry=[box(170, 60, 180, 70).union(box(-180, 60, -170, 70)), box(100, 50, 110, 60),
                                   None, box(-180, 40, -175, 45)], crs=4326)
    mine, theirs = staticmaps._unwrap(g, 100.0), unwrap_antimeridian(g, 100.0)
    assert list(mine.geometry.to_wkb()) == list(theirs.geometry.to_wkb())
    assert mine.geometry.iloc[1] is g.geometry.iloc[1]  # left as it is
