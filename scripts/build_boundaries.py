"""Build the bundled region boundaries (Russia's subjects, US states) from Debian ``gmt-dcw``.

Reads DCW-GMT's netCDF-4 file (``/usr/share/gmt-dcw/dcw-gmt.nc``) and ``dcw-states.txt``,
decodes each region's quantised rings, repairs invalid shapes, cleans every country's regions
into an exact polygonal coverage (shared borders identical, no overlaps, slivers between
neighbours closed), simplifies it as a coverage and writes one GeoPackage per country:

* ``geodata/ru_regions.gpkg`` -- the 83 subjects of the Russian Federation (2008-2014 set);
* ``geodata/us_states.gpkg`` -- the US states and DC.

Both have one layer ``regions`` in EPSG:4326 (longitude/latitude, degrees) with the columns
``region_code`` (ISO 3166-2), ``name_en``, ``name_dcw``, ``dcw_code`` and a MultiPolygon geometry.
Geometries are stored UNSPLIT at the antimeridian: Chukotka runs continuously to longitude
~190.34 and Alaska's western Aleutians go below -180 (~-187.56). The pipeline uses the unsplit
shapes for adjacency and splits them at 180 degrees itself when writing GeoJSON
(:func:`mapping.geo.boundaries.to_rfc7946`).

Usage::

    python scripts/build_boundaries.py [--dcw /usr/share/gmt-dcw/dcw-gmt.nc] [--out geodata/]

Needs h5py (``pip install .[build]``). See ``geodata/BOUNDARIES.md`` for source and licence.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import h5py
import numpy as np
import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry

DEFAULT_DCW = Path("/usr/share/gmt-dcw/dcw-gmt.nc")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "geodata"
LAYER = "regions"
RING_START = 65535  # a 65535 in the _lon array starts a ring; _lat there: 0 outer, 1 hole
GAP_WIDTH_DEG = 0.01  # gaps between neighbours narrower than this (~1 km) are slivers of quantisation
MAX_REGION_AREA_CHANGE = 0.03  # catches collapsed regions; tiny DC loses ~1.5 % at 0.01 deg
# GeoPackage stores a "last change" timestamp; pin it so that reruns give identical files.
FIXED_TIMESTAMP = "2000-01-01T00:00:00.000Z"


@dataclass(frozen=True)
class CountrySpec:
    """What to build for one country of the DCW file."""

    dcw_country: str
    out_name: str
    tolerance_deg: float
    max_bytes: int
    expected_count: int | None
    antimeridian: str


COUNTRIES = (
    # 0.005 deg (~550 m N-S) keeps Moscow and St Petersburg recognisable; ~1.9 MB.
    CountrySpec("RU", "ru_regions.gpkg", 0.005, 3_000_000, 83,
                "RU-CHU (Chukotka) runs continuously east of 180 to longitude ~190.34, as DCW stores it"),
    # Alaska alone has 1.5 M raw vertices; 0.01 deg (~1.1 km) fits the 1.5 MB budget.
    CountrySpec("US", "us_states.gpkg", 0.01, 1_500_000, None,
                "DCW stores US states on 0..360 longitudes; all were shifted by -360, so US-AK runs "
                "continuously from ~-187.56 (western Aleutians, west of 180) to ~-129.99"),
)


def read_state_names(states_txt: Path, country: str) -> list[tuple[str, str]]:
    """Return ``(dcw_code, name)`` pairs of one country from ``dcw-states.txt``, in file order."""
    pairs = []
    for line in states_txt.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        cc, code, name = line.split(maxsplit=2)
        if cc == country:
            pairs.append((code, name.strip()))
    if not pairs:
        raise ValueError(f"{states_txt}: no regions of country {country!r}")
    return pairs


def english_name(dcw_name: str) -> str:
    """Drop DCW's transliterated local name in parentheses: 'Moscow (Moskva)' -> 'Moscow'."""
    return dcw_name.split(" (", 1)[0].strip()


def _attr(var: h5py.Dataset, name: str) -> float:
    return float(np.asarray(var.attrs[name]).ravel()[0])


def decode_region(nc: h5py.File, key: str) -> shapely.MultiPolygon:
    """Decode DCW's ``<key>_lon``/``<key>_lat`` uint16 arrays into a (possibly invalid) MultiPolygon.

    Coordinate = attribute ``min`` + raw value / attribute ``scale``, per variable. Rings come closed.
    """
    lon_var, lat_var = nc[f"{key}_lon"], nc[f"{key}_lat"]
    raw_lon = lon_var[()].astype(np.int64)
    raw_lat = lat_var[()].astype(np.int64)
    x = _attr(lon_var, "min") + raw_lon / _attr(lon_var, "scale")
    y = _attr(lat_var, "min") + raw_lat / _attr(lat_var, "scale")
    starts = np.flatnonzero(raw_lon == RING_START)
    if len(starts) == 0 or starts[0] != 0:
        raise ValueError(f"{key}: the lon array does not begin with a ring marker {RING_START}")
    ends = np.append(starts[1:], len(raw_lon))
    polygons: list[list] = []
    for s, e in zip(starts, ends):
        ring = np.column_stack([x[s + 1:e], y[s + 1:e]])
        kind = raw_lat[s]
        if kind == 0:
            polygons.append([ring, []])
        elif kind == 1 and polygons:
            polygons[-1][1].append(ring)
        else:
            raise ValueError(f"{key}: ring at index {s} has marker {kind}, expected 0 (outer) or 1 (hole)")
    return shapely.MultiPolygon([shapely.Polygon(shell, holes) for shell, holes in polygons])


def to_multipolygon(geom: BaseGeometry) -> shapely.MultiPolygon:
    """Keep only the polygonal parts of ``geom`` as one MultiPolygon (lines from repairs are dropped)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = shapely.get_parts(np.array(parts, dtype=object)) if parts else []
    return shapely.MultiPolygon(list(polys))


def repair(geom: shapely.MultiPolygon) -> tuple[shapely.MultiPolygon, bool]:
    """Return a valid MultiPolygon and whether a repair was needed."""
    if geom.is_valid:
        return geom, False
    fixed = shapely.make_valid(geom)
    # make_valid may return touching polygons in a collection: dissolve them.
    return to_multipolygon(shapely.union_all(to_multipolygon(fixed))), True


def normalise_longitude(geom: shapely.MultiPolygon) -> shapely.MultiPolygon:
    """Shift a region stored on 0..360 longitudes by -360 when most of it lies east of 180.

    DCW stores US states on 0..360 (California at 235..246). Chukotka (157.8..190.3) keeps its
    coordinates; Alaska (172.4..230.0) becomes -187.6..-130.0. Shapes stay continuous (unsplit).
    """
    minx, _, maxx, _ = geom.bounds
    if (minx + maxx) / 2 > 180:
        return shapely.transform(geom, lambda c: c - np.array([360.0, 0.0]))
    return geom


def clean_coverage(geoms: np.ndarray) -> np.ndarray:
    """Make neighbours share identical borders: resolve overlaps, close slivers narrower than GAP_WIDTH_DEG.

    Uses GEOS CoverageCleaner with its automatic (tiny) snapping distance; an explicit snapping
    distance of the order of the quantisation step collapsed whole regions in trials.
    """
    cleaned = shapely.coverage_clean(geoms, gap_width=GAP_WIDTH_DEG, merge_strategy="longest_border")
    return np.array([to_multipolygon(g) for g in cleaned], dtype=object)


def simplify_coverage(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Simplify all regions together so that shared borders stay shared (no gaps, no overlaps)."""
    simplified = shapely.coverage_simplify(geoms, tolerance)
    return np.array([to_multipolygon(g) for g in simplified], dtype=object)


def check_geometries(codes: list[str], geoms: np.ndarray, reference: np.ndarray) -> None:
    """Raise ValueError unless every geometry is a valid, non-empty MultiPolygon forming a coverage."""
    problems = []
    for code, g, ref in zip(codes, geoms, reference):
        if g is None or g.is_empty:
            problems.append(f"{code}: empty")
        elif g.geom_type != "MultiPolygon":
            problems.append(f"{code}: {g.geom_type}, expected MultiPolygon")
        elif not g.is_valid:
            problems.append(f"{code}: invalid ({shapely.is_valid_reason(g)})")
        elif abs(g.area / ref.area - 1) > MAX_REGION_AREA_CHANGE:
            problems.append(f"{code}: area changed by {100 * (g.area / ref.area - 1):.2f} %")
    if not problems and not shapely.coverage_is_valid(geoms):
        problems.append("regions do not form a valid coverage (overlaps or unmatched shared edges)")
    if problems:
        raise ValueError("boundary check failed: " + "; ".join(problems))


def layer_description(spec: CountrySpec, version: str) -> str:
    """The GeoPackage layer description: source, licence and the unsplit-antimeridian convention."""
    return (
        f"{spec.dcw_country} regions from DCW-GMT {version} (Debian package gmt-dcw), LGPL-3+, "
        "(c) The GMT Team; see geodata/BOUNDARIES.md. EPSG:4326 degrees. Cleaned and coverage-simplified "
        f"at {spec.tolerance_deg} deg by scripts/build_boundaries.py. Geometries are UNSPLIT at the "
        f"antimeridian: {spec.antimeridian}. Use them as is for adjacency; split at 180 deg for GeoJSON "
        "(mapping.geo.boundaries.to_rfc7946)."
    )


def write_gpkg(gdf: gpd.GeoDataFrame, path: Path, description: str, version: str) -> None:
    """Write ``gdf`` as layer ``regions``, reproducibly (fixed timestamp, overwrite)."""
    if path.exists():
        path.unlink()
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_TIMESTAMP})
    pyogrio.write_dataframe(
        gdf, path, layer=LAYER, driver="GPKG", geometry_type="MultiPolygon",
        layer_options={"DESCRIPTION": description, "IDENTIFIER": LAYER},
        layer_metadata={"source": f"DCW-GMT {version} (Debian gmt-dcw)", "licence": "LGPL-3+",
                        "antimeridian": "unsplit", "attribution": "geodata/BOUNDARIES.md"},
    )


def build_country(nc: h5py.File, states_txt: Path, spec: CountrySpec, out_dir: Path, version: str) -> dict:
    """Decode, repair, clean, simplify, check and write one country; return summary figures."""
    names = sorted(read_state_names(states_txt, spec.dcw_country))
    if spec.expected_count is not None and len(names) != spec.expected_count:
        raise ValueError(f"{states_txt}: {len(names)} {spec.dcw_country} regions, expected {spec.expected_count}")
    decoded, repaired = [], []
    for code, _ in names:
        geom, was_invalid = repair(decode_region(nc, f"{spec.dcw_country}{code}"))
        decoded.append(normalise_longitude(geom))
        if was_invalid:
            repaired.append(code)
    decoded_arr = np.array(decoded, dtype=object)
    cleaned = clean_coverage(decoded_arr)
    final = simplify_coverage(cleaned, spec.tolerance_deg)
    region_codes = [f"{spec.dcw_country}-{code}" for code, _ in names]
    check_geometries(region_codes, final, decoded_arr)

    gdf = gpd.GeoDataFrame(
        {"region_code": region_codes,
         "name_en": [english_name(n) for _, n in names],
         "name_dcw": [n for _, n in names],
         "dcw_code": [code for code, _ in names]},
        geometry=list(final), crs="EPSG:4326",
    )
    path = out_dir / spec.out_name
    write_gpkg(gdf, path, layer_description(spec, version), version)
    size = path.stat().st_size
    if size > spec.max_bytes:
        raise ValueError(f"{path}: {size} bytes, over the budget of {spec.max_bytes}")
    area0, area1 = shapely.area(decoded_arr), shapely.area(final)
    return {
        "file": str(path), "features": len(gdf), "bytes": size,
        "vertices_raw": int(shapely.get_num_coordinates(decoded_arr).sum()),
        "vertices": int(shapely.get_num_coordinates(final).sum()),
        "repaired": repaired,
        "area_change_pct": 100 * (area1.sum() / area0.sum() - 1),
        "max_region_area_change_pct": 100 * float(np.abs(area1 / area0 - 1).max()),
        "max_region": region_codes[int(np.argmax(np.abs(area1 / area0 - 1)))],
        "lon_range": (float(min(g.bounds[0] for g in final)), float(max(g.bounds[2] for g in final))),
    }


def _version(nc: h5py.File) -> str:
    v = nc.attrs.get("version", b"unknown")
    return v.decode() if isinstance(v, bytes) else str(v)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints one summary block per written file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dcw", type=Path, default=DEFAULT_DCW, help="DCW-GMT netCDF file (dcw-gmt.nc)")
    parser.add_argument("--states", type=Path, default=None,
                        help="dcw-states.txt (default: next to the --dcw file)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: geodata/)")
    args = parser.parse_args(argv)
    states_txt = args.states or args.dcw.with_name("dcw-states.txt")
    for p in (args.dcw, states_txt):
        if not p.is_file():
            parser.error(f"{p} not found (apt-get install gmt-dcw)")
    args.out.mkdir(parents=True, exist_ok=True)
    with h5py.File(args.dcw, "r") as nc:
        version = _version(nc)
        print(f"DCW-GMT {version} from {args.dcw}")
        for spec in COUNTRIES:
            s = build_country(nc, states_txt, spec, args.out, version)
            print(f"{s['file']}: {s['features']} features, {s['vertices_raw']:,} -> {s['vertices']:,} vertices, "
                  f"{s['bytes']:,} bytes, tolerance {spec.tolerance_deg} deg\n"
                  f"  invalid repaired: {len(s['repaired'])} ({', '.join(s['repaired']) or '-'}); "
                  f"total area change {s['area_change_pct']:+.4f} % (max per region "
                  f"{s['max_region_area_change_pct']:.3f} % in {s['max_region']}); longitudes {s['lon_range'][0]:.2f}..{s['lon_range'][1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
