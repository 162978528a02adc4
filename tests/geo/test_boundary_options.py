"""Boundary files from other sources: any id column, a named layer, numeric ids, GeoJSON (synthetic shapes)."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely import box

from mapping.errors import MappingError
from mapping.geo.boundaries import load_boundaries


def test_named_layer_and_numeric_id_column(tmp_path):
    p = tmp_path / "b.gpkg"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(0, 0, 1, 1)], crs=4326).to_file(p, layer="other")
    gpd.GeoDataFrame({"FIPS": [6, 48], "region_code": ["junk", "junk"]},
                     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326).to_file(p, layer="states")
    gdf = load_boundaries(p, layer="states", id_column="FIPS")
    assert gdf["region_code"].tolist() == ["6", "48"]  # the id column replaces any region_code column
    with pytest.raises(MappingError, match=r"b\.gpkg: missing column.*'FIPS'.*boundary_id_column"):
        load_boundaries(p, layer="other", id_column="FIPS")


def test_geojson_with_its_own_id_column(tmp_path):
    p = tmp_path / "b.geojson"
    gpd.GeoDataFrame({"NUTS_ID": ["DE21", "DE21"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
                     crs=4326).to_file(p)
    with pytest.raises(MappingError, match=r"b\.geojson \(id column 'NUTS_ID'\).*'DE21' appears 2 times"):
        load_boundaries(p, id_column="NUTS_ID")
