"""Firm-level records: streamed aggregation to any OKVED2 level, errors, and municipal units as regions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mapping import pipeline
from mapping.config import InputFile, load_config
from mapping.errors import MappingError
from mapping.ingest.firms import aggregate_firms, municipal_geodata, read_firms
from mapping.ingest.registry import load_activity_registry

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ["10.11", "10.12", "10.51", "20.14", "20.15", "26.11", "62.01", "62.02", "01.11", "46.90"]


def _firms(n: int = 2000, seed: int = 0, regions=("RU-MOW", "RU-SPE", "RU-TA", "RU-NVS")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"region_code": rng.choice(list(regions), n), "okved2": rng.choice(CLASSES, n),
                         "employees": rng.integers(1, 500, n), "revenue": rng.lognormal(8, 1, n).round(2),
                         "exports": np.where(rng.random(n) < 0.3, rng.lognormal(6, 1, n).round(2), 0.0),
                         "year": 2023})


def _expected(df: pd.DataFrame, level: str) -> pd.DataFrame:
    n = {"division": 2, "group": 4, "class": 5}[level]
    out = (df.assign(activity_code=df["okved2"].str.slice(0, n))
             .groupby(["year", "region_code", "activity_code"])
             .agg(establishments=("okved2", "size"), employees=("employees", "sum"), revenue=("revenue", "sum"),
                  exports=("exports", "sum")).reset_index())
    return out


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("level", ["division", "group", "class"])
def test_aggregates_equal_a_pandas_group_by(tmp_path, suffix, level):
    df = _firms()
    path = tmp_path / f"firms{suffix}"
    df.to_csv(path, index=False) if suffix == ".csv" else df.to_parquet(path)
    agg = aggregate_firms(path, level=level)
    exp = _expected(df, level)
    got = agg.table[exp.columns]
    assert agg.records == len(df) and agg.dropped == {}
    pd.testing.assert_frame_equal(got.reset_index(drop=True), exp, check_dtype=False, rtol=1e-9)


def test_sections_come_from_the_activity_registry(tmp_path):
    df = _firms()
    path = tmp_path / "f.parquet"
    df.to_parquet(path)
    agg = aggregate_firms(path, level="section", activities=load_activity_registry())
    assert set(agg.table["activity_code"]) == {"A", "C", "G", "J"}
    c = df.loc[df["okved2"].str[:2].isin(["10", "20", "26"])]
    got = agg.table.loc[agg.table["activity_code"] == "C"]
    assert got["establishments"].sum() == len(c) and got["employees"].sum() == c["employees"].sum()


def test_records_without_region_or_code_are_dropped_and_counted(tmp_path):
    df = _firms(100)
    df.loc[0, "region_code"] = None
    df.loc[1, "okved2"] = None
    path = tmp_path / "f.parquet"
    df.to_parquet(path)
    agg = aggregate_firms(path)
    assert agg.records == 100 and agg.table["establishments"].sum() == 98
    assert agg.dropped == {"firm record without a region code": 1, "firm record without an OKVED2 code": 1}


def test_bad_codes_and_values_name_the_row(tmp_path):
    df = _firms(50)
    df["okved2"] = df["okved2"].astype(object)
    df.loc[7, "okved2"] = "10-11"
    path = tmp_path / "f.csv"
    df.to_csv(path, index=False)
    with pytest.raises(MappingError, match=r"f\.csv, column 'okved2': 1 code value\(s\) not an OKVED2 code.*row 8: '10-11'"):
        aggregate_firms(path)
    df = _firms(50)
    df.loc[[3, 9], "employees"] = -4
    df.to_csv(path, index=False)
    with pytest.raises(MappingError, match=r"negative employees in 2 record\(s\): row 4 .*; row 10 "):
        aggregate_firms(path)


def test_codes_coarser_than_the_level_and_missing_year_or_column_are_refused(tmp_path):
    df = _firms(20)
    df.loc[2, "okved2"] = "62"
    path = tmp_path / "f.parquet"
    df.to_parquet(path)
    with pytest.raises(MappingError, match="coarser than the class level.*row 3: '62'"):
        aggregate_firms(path, level="class")
    assert len(aggregate_firms(path, level="division").table)  # fine at the division level
    df.drop(columns=["year"]).to_parquet(path)
    with pytest.raises(MappingError, match="no 'year' column"):
        aggregate_firms(path)
    assert set(aggregate_firms(path, year=2022).table["year"]) == {2022}
    df.drop(columns=["employees"]).to_parquet(path)
    with pytest.raises(MappingError, match=r"missing firm column\(s\): employees"):
        aggregate_firms(path)


def test_columns_can_be_mapped(tmp_path):
    df = _firms(30).rename(columns={"okved2": "okved_code", "employees": "staff"})
    path = tmp_path / "f.parquet"
    df.to_parquet(path)
    agg = aggregate_firms(path, columns={"okved2": "okved_code", "employees": "staff"})
    assert agg.table["employees"].sum() == df["staff"].sum()


def test_read_firms_gives_tidy_rows_with_a_balanced_ledger(tmp_path):
    df = _firms(300)
    path = tmp_path / "f.parquet"
    df.to_parquet(path)
    got = read_firms(InputFile(path=path, format="firms", level="division", unit="thousand RUB"))
    t = got.tidy
    assert set(t["indicator"]) == {"establishments", "employment", "revenue", "exports"}
    assert set(t["classification"]) == {"OKVED2"} and set(t["level"]) == {"division"}
    assert t.loc[t["indicator"] == "employment", "unit"].unique().tolist() == ["persons"]
    assert t.loc[t["indicator"] == "revenue", "value"].sum() == pytest.approx(df["revenue"].sum())
    assert got.ledger.rows_read == len(t) and got.ledger.format == "firms"
    assert "300 firm records aggregated" in got.ledger.notes[0]


@pytest.fixture(scope="module")
def municipal(tmp_path_factory):
    """Moscow Oblast split into two municipal units, with registry and boundaries written."""
    import geopandas as gpd
    import shapely

    tmp = tmp_path_factory.mktemp("municipal")
    regions = gpd.read_file(ROOT / "geodata" / "ru_regions.gpkg")
    mos = regions.loc[regions["region_code"] == "RU-MOS"].geometry.iloc[0]
    x = mos.centroid.x
    minx, miny, maxx, maxy = mos.bounds
    west = shapely.intersection(mos, shapely.box(minx - 1, miny - 1, x, maxy + 1))
    east = shapely.intersection(mos, shapely.box(x, miny - 1, maxx + 1, maxy + 1))
    src = gpd.GeoDataFrame({"oktmo": ["46-W", "46-E"], "name": ["Запад", "Восток"], "parent": ["RU-MOS", "RU-MOS"]},
                           geometry=[west, east], crs=4326)
    src.to_file(tmp / "muni.gpkg", driver="GPKG")
    regions_csv, gpkg = municipal_geodata(tmp / "muni.gpkg", tmp / "geo", code_column="oktmo", name_column="name",
                                          parent_column="parent")
    return tmp, regions_csv, gpkg


def test_municipal_units_become_analysis_units(municipal):
    tmp, regions_csv, gpkg = municipal
    df = _firms(3000, regions=("RU-MOW", "RU-SPE", "RU-TA", "RU-NVS", "RU-KDA", "46-W", "46-E"))
    df.to_parquet(tmp / "firms.parquet")
    cfg = load_config(ROOT / "config" / "default.toml")
    cfg = cfg.model_copy(update={
        "inputs": (InputFile(path=tmp / "firms.parquet", format="firms", level="division"),),
        "geodata": cfg.geodata.model_copy(update={"regions": regions_csv, "boundaries": gpkg}),
        "specialisation": cfg.specialisation.model_copy(update={"indicators": ("employment",), "combine": None,
                                                                "level": "division"}),
        "run": cfg.run.model_copy(update={"output_root": tmp / "out"})})
    inputs = pipeline.load_inputs(cfg)
    assert {"46-W", "46-E"} <= set(inputs.tidy["region_code"])
    analysis = pipeline.compute_location_quotients(inputs, cfg)
    lq = analysis.lq
    assert {"46-W", "46-E"} <= set(lq["region_code"]) and lq["lq"].notna().any()
    assert set(lq.loc[lq["region_code"] == "46-W", "region_name"]) == {"Запад"}
    geo = pipeline.load_geography(inputs, cfg)
    assert {"46-W", "46-E"} <= set(geo.units["region_code"])
    pairs = {tuple(sorted(p)) for p in geo.neighbours[geo.neighbours.columns[:2]].itertuples(index=False)}
    assert ("46-E", "46-W") in pairs


def test_municipal_geodata_refuses_unknown_parents_and_clashing_codes(tmp_path, municipal):
    import geopandas as gpd

    tmp, _, _ = municipal
    src = gpd.read_file(tmp / "muni.gpkg")
    src.loc[0, "parent"] = "RU-XXX"
    src.loc[1, "oktmo"] = "RU-MOW"
    src.to_file(tmp_path / "bad.gpkg", driver="GPKG")
    with pytest.raises(MappingError, match="already a region code.*parent 'RU-XXX' is not a region"):
        municipal_geodata(tmp_path / "bad.gpkg", tmp_path / "geo", code_column="oktmo", name_column="name",
                          parent_column="parent")


def test_text_in_a_numeric_column_names_the_row(tmp_path):
    df = _firms(40)
    df["revenue"] = df["revenue"].astype(object)
    df.loc[12, "revenue"] = "12,5 тыс."
    path = tmp_path / "f.csv"
    df.to_csv(path, index=False)
    with pytest.raises(MappingError, match=r"column 'revenue': not a number: row 13: '12,5 тыс.'"):
        aggregate_firms(path)


def test_leading_zeros_of_codes_survive_in_csv(tmp_path):
    df = _firms(40)
    df["okved2"] = "01.11"
    df["region_code"] = "01000000"  # an OKTMO-style code with a leading zero
    path = tmp_path / "f.csv"
    df.to_csv(path, index=False)
    t = aggregate_firms(path).table
    assert t["activity_code"].tolist() == ["01"] and t["region_code"].tolist() == ["01000000"]
