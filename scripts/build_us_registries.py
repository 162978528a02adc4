#!/usr/bin/env python
"""Build the US registries used by a County Business Patterns run.

Writes, in ``geodata/``:

* ``us_regions.csv``: the 50 states and DC (ISO 3166-2 ``US-CA`` ...), the four Census regions as
  aggregates (kind ``federal_district``, used only as checks) and the ``US`` country row; same columns
  as ``geodata/regions.csv`` in the neutral schema: ``name`` is the source language's (English)
  name, as the US sources are English. ``okato`` holds the two-digit state FIPS code.
* ``us_region_labels.csv``: label variants (FIPS code with and without the leading zero, USPS
  abbreviation, English name), same columns as ``geodata/region_labels.csv``.
* ``naics2007.csv``: the NAICS 2007 codes present in the CBP state files for 2008-2011 (CBP uses
  NAICS 2007 from 2008) and their ancestors, levels ``naics2`` ... ``naics6`` and ``total``; same
  columns as ``geodata/activities.csv``.

Sources: the state list below (FIPS and USPS codes are US Census / ANSI INCITS 38 public codes;
English names), and ``../shared/data/us/cbp_state_naics_2000_2011_
wilson428/`` (``industries.csv``, ``naics.csv`` and the ``fips/*.csv`` files, US Census Bureau
County Business Patterns; public domain). See ``geodata/US.md``.

Usage::

    .venv/bin/python scripts/build_us_registries.py [--shared /path/to/shared]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mapping.ingest.layouts.cbp import naics_code_from_cbp, naics_level  # noqa: E402

DEFAULT_SHARED = ROOT.parent / "shared"
CBP = "data/us/cbp_state_naics_2000_2011_wilson428"
#: CBP switched to NAICS 2007 with the 2008 reference year.
NAICS2007_FROM = 2008

# USPS, FIPS, English name, Census region.
STATES = [
    ("AL", "01", "Alabama", "S"), ("AK", "02", "Alaska", "W"),
    ("AZ", "04", "Arizona", "W"), ("AR", "05", "Arkansas", "S"),
    ("CA", "06", "California", "W"), ("CO", "08", "Colorado", "W"),
    ("CT", "09", "Connecticut", "NE"), ("DE", "10", "Delaware", "S"),
    ("DC", "11", "District of Columbia", "S"), ("FL", "12", "Florida", "S"),
    ("GA", "13", "Georgia", "S"), ("HI", "15", "Hawaii", "W"),
    ("ID", "16", "Idaho", "W"), ("IL", "17", "Illinois", "MW"),
    ("IN", "18", "Indiana", "MW"), ("IA", "19", "Iowa", "MW"),
    ("KS", "20", "Kansas", "MW"), ("KY", "21", "Kentucky", "S"),
    ("LA", "22", "Louisiana", "S"), ("ME", "23", "Maine", "NE"),
    ("MD", "24", "Maryland", "S"), ("MA", "25", "Massachusetts", "NE"),
    ("MI", "26", "Michigan", "MW"), ("MN", "27", "Minnesota", "MW"),
    ("MS", "28", "Mississippi", "S"), ("MO", "29", "Missouri", "MW"),
    ("MT", "30", "Montana", "W"), ("NE", "31", "Nebraska", "MW"),
    ("NV", "32", "Nevada", "W"), ("NH", "33", "New Hampshire", "NE"),
    ("NJ", "34", "New Jersey", "NE"), ("NM", "35", "New Mexico", "W"),
    ("NY", "36", "New York", "NE"), ("NC", "37", "North Carolina", "S"),
    ("ND", "38", "North Dakota", "MW"), ("OH", "39", "Ohio", "MW"),
    ("OK", "40", "Oklahoma", "S"), ("OR", "41", "Oregon", "W"),
    ("PA", "42", "Pennsylvania", "NE"), ("RI", "44", "Rhode Island", "NE"),
    ("SC", "45", "South Carolina", "S"), ("SD", "46", "South Dakota", "MW"),
    ("TN", "47", "Tennessee", "S"), ("TX", "48", "Texas", "S"),
    ("UT", "49", "Utah", "W"), ("VT", "50", "Vermont", "NE"),
    ("VA", "51", "Virginia", "S"), ("WA", "53", "Washington", "W"),
    ("WV", "54", "West Virginia", "S"), ("WI", "55", "Wisconsin", "MW"),
    ("WY", "56", "Wyoming", "W"),
]
CENSUS_REGIONS = {"NE": ("1", "Northeast Region"),
                  "MW": ("2", "Midwest Region"),
                  "S": ("3", "South Region"),
                  "W": ("4", "West Region")}
REGION_COLUMNS = ["region_code", "kind", "iso_3166_2", "okato", "name", "name_en", "federal_district",
                  "parent_code", "boundary_codes", "has_boundary", "note"]


def region_rows() -> list[dict]:
    """Rows of ``us_regions.csv``: country, Census regions, states in USPS order."""
    rows = [{"region_code": "US", "kind": "country", "iso_3166_2": "US", "okato": "00",
             "name": "United States", "name_en": "United States", "federal_district": "",
             "parent_code": "", "boundary_codes": "", "has_boundary": "false",
             "note": "national total (50 states and DC); iso_3166_2 holds the ISO 3166-1 alpha-2 code; "
                     "okato holds 00"}]
    for key, (num, en) in CENSUS_REGIONS.items():
        members = ";".join(f"US-{s[0]}" for s in STATES if s[3] == key)
        rows.append({"region_code": f"US-CR-{key}", "kind": "federal_district", "iso_3166_2": "",
                     "okato": num, "name": en, "name_en": en, "federal_district": "", "parent_code": "",
                     "boundary_codes": members, "has_boundary": "true",
                     "note": "US Census Bureau region (aggregate, used only as a check); okato holds the "
                             "Census region number"})
    for usps, fips, en, cr in STATES:
        rows.append({"region_code": f"US-{usps}", "kind": "subject", "iso_3166_2": f"US-{usps}", "okato": fips,
                     "name": en, "name_en": en, "federal_district": f"US-CR-{cr}", "parent_code": "",
                     "boundary_codes": f"US-{usps}", "has_boundary": "true",
                     "note": "okato holds the state FIPS code" + ("; federal district, not a state"
                                                                  if usps == "DC" else "")})
    return rows


def label_rows() -> list[dict]:
    """Label variants: FIPS ("06" and "6"), USPS code, English name."""
    rows = [{"region_code": "US", "label": "united states", "source": "official"},
            {"region_code": "US", "label": "00", "source": "fips"}]
    for key, (num, en) in CENSUS_REGIONS.items():
        rows.append({"region_code": f"US-CR-{key}", "label": en.lower(), "source": "census"})
    for usps, fips, en, _ in STATES:
        code = f"US-{usps}"
        rows += [{"region_code": code, "label": fips, "source": "fips"}]
        if fips.startswith("0"):  # CBP writes fipstate without the leading zero
            rows.append({"region_code": code, "label": str(int(fips)), "source": "fips"})
        rows += [
                 {"region_code": code, "label": usps.lower(), "source": "usps"},
                 {"region_code": code, "label": en.lower(), "source": "official"}]
    return rows


def naics_rows(base: Path) -> list[dict]:
    """NAICS 2007 codes with CBP data for 2008+ and their ancestors (names from CBP's own lists)."""
    names: dict[str, str] = {}
    with open(base / "naics.csv", encoding="utf-8", newline="") as fh:
        for rec in csv.reader(fh, delimiter="\t"):
            if len(rec) >= 2 and rec[0].strip() and rec[0].strip() != "NAICS":
                names[naics_code_from_cbp(rec[0].strip())] = rec[1].strip()
    with open(base / "industries.csv", encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):  # industries.csv wins: it names the codes actually kept
            names[naics_code_from_cbp(rec["code"])] = rec["description"].strip()
    present: set[str] = set()
    for f in sorted((base / "fips").glob("*.csv")):
        with open(f, encoding="utf-8", newline="") as fh:
            if any(int(r["year"]) >= NAICS2007_FROM for r in csv.DictReader(fh)):
                present.add(naics_code_from_cbp(f.stem))
    codes = set(present)
    for code in present:  # ancestors: the sector, then each shorter prefix that CBP lists
        codes |= {a for a in _ancestors(code) if a in names}
    rows = []
    for code in sorted(codes, key=lambda c: (naics_level(c) != "total", c.split("-")[0], len(c))):
        parent = next((a for a in _ancestors(code) if a in codes), "")
        rows.append({"classification": "NAICS2007", "code": code, "level": naics_level(code),
                     "parent_code": parent, "name_ru": names.get(code, code), "name_en": names.get(code, code)})
    return rows


def _ancestors(code: str) -> list[str]:
    """Proper ancestors from the nearest: 32731 -> [3273, 327, 31-33]; sectors have none.

    Sectors get no parent, like the OKVED2 sections in ``activities.csv`` (``TOTAL`` is a level of its own).
    """
    if code == "TOTAL" or naics_level(code) == "naics2":
        return []
    out = [code[:n] for n in range(len(code) - 1, 2, -1)]
    return out + [naics_code_from_cbp(code[:2] + "----")]


def _write(path: Path, rows: list[dict], columns: list[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {path} ({len(rows)} rows)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    args = parser.parse_args(argv)
    base = args.shared / CBP
    if not base.is_dir():
        print(f"error: {base} not found", file=sys.stderr)
        return 1
    geo = ROOT / "geodata"
    _write(geo / "us_regions.csv", region_rows(), REGION_COLUMNS)
    _write(geo / "us_region_labels.csv", label_rows(), ["region_code", "label", "source"])
    _write(geo / "naics2007.csv", naics_rows(base),
           ["classification", "code", "level", "parent_code", "name_ru", "name_en"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
