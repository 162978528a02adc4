"""Simplification of the published layers: shared borders stay shared, islets go, nothing else."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from mapping.errors import MappingError
from mapping.geo.cartography import simplify_coverage


def _wiggly_neighbours() -> gpd.GeoSeries:
    """Two regions sharing a border with many small zigzags (0.001 degrees), one with an islet."""
    ys = np.linspace(0, 1, 201)
    xs = 1 + 0.001 * (np.arange(201) % 2)
    border = list(zip(xs, ys))
    west = shapely.Polygon([(0, 0)] + border + [(0, 1)])
    east = shapely.Polygon([(2, 0)] + border + [(2, 1)])
    islet = shapely.box(3, 3, 3.01, 3.01)  # 1e-4 square degrees
    return gpd.GeoSeries([west, shapely.MultiPolygon([east, islet])], index=["XA-W", "XA-E"], crs=4326)


def test_shared_border_stays_shared_and_islets_below_the_tolerance_go():
    geoms = _wiggly_neighbours()
    out = simplify_coverage(geoms, tolerance_deg=0.02)
    assert list(out.index) == ["XA-W", "XA-E"] and out.crs == geoms.crs
    assert shapely.is_valid(out.to_numpy()).all()
    assert shapely.get_num_coordinates(out.to_numpy()).sum() < shapely.get_num_coordinates(geoms.to_numpy()).sum() / 5
    # One common border: no gap or overlap between the neighbours after simplification.
    assert shapely.coverage_is_valid(out.to_numpy())
    union = shapely.union_all(out.to_numpy())
    assert union.geom_type == "Polygon"
    assert union.area == pytest.approx(shapely.area(out.to_numpy()).sum(), rel=1e-9)
    # The islet (0.01 x 0.01 degrees) is below a tolerance-sized square; each region keeps its largest part.
    assert shapely.get_num_geometries(out["XA-E"]) == 1 and out["XA-E"].bounds[2] == pytest.approx(2.0)


def test_zero_tolerance_changes_nothing_and_degrees_are_required():
    geoms = _wiggly_neighbours()
    assert simplify_coverage(geoms, tolerance_deg=0.0) is geoms
    with pytest.raises(MappingError, match="EPSG:4326"):
        simplify_coverage(geoms.to_crs(3857), tolerance_deg=0.02)
    with pytest.raises(MappingError, match="tolerance_deg must be >= 0"):
        simplify_coverage(geoms, tolerance_deg=-1.0)
