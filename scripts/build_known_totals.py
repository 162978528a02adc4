#!/usr/bin/env python
"""Build ``data/ru_rosstat_2021_national.csv``: the national (Russian Federation) rows of the shipments tables.

The default input has suppressed shipments cells in sections B and E (2021: Kalmykia, Magadan Oblast,
Sevastopol, Jewish AO; earlier years fewer). Rosstat publishes the national total of the same tables,
so national total minus the published regions bounds the suppressed cells from above; without it every
shipments LQ of B and E (and every LQ of those regions) would have no finite bound. This file feeds
``specialisation.known_totals`` in ``config/default.toml`` (see ``mapping/analysis/uncertainty.py``); it
is never read as an input of the LQs themselves.

Same sources, SHA-256 checks, reader and years as ``scripts/build_default_data.py`` (the yearbook annex,
tables 12.2.2, 12.2.4, 12.2.6, 12.2.7, OKVED2 years 2017-2021; row «Российская Федерация»).

Usage::

    .venv/bin/python scripts/build_known_totals.py [--shared ../shared] [--out data/ru_rosstat_2021_national.csv]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import build_default_data as bdd  # noqa: E402

from mapping.errors import MappingError  # noqa: E402
from mapping.ingest.registry import load_region_registry  # noqa: E402
from mapping.schema import TIDY_COLUMNS  # noqa: E402

DEFAULT_OUT = ROOT / "data" / "ru_rosstat_2021_national.csv"


def build(shared: Path, out: Path) -> pd.DataFrame:
    """Write the national shipments rows of every year of ``bdd.YEARS["shipments"]`` and return them."""
    bdd.verify_sources(shared)
    base = shared / bdd.RU
    registry = load_region_registry()
    rows = []
    for sheet, code in bdd._shipment_sheets(base / bdd.F_INDUSTRY).items():
        df, _ = bdd._read(base, registry, bdd.F_INDUSTRY, bdd.YEARS["shipments"], sheet=sheet)
        nat = df.loc[df["kind"].eq("country")]
        for year in bdd.YEARS["shipments"]:
            r = nat.loc[nat["year"].eq(year)]
            if len(r) != 1 or pd.isna(r["value"].iloc[0]):
                raise MappingError(f"{bdd.F_INDUSTRY} sheet {sheet} {year}: expected one national value, "
                                   f"found {len(r)}")
            r = r.iloc[0]
            rows.append({"year": year, "region_code": r["region_code"], "activity_code": code,
                         "classification": "OKVED2", "level": "section", "indicator": "shipments",
                         "value": bdd._fmt(float(r["value"]), bdd.SIG_READ), "unit": bdd.UNITS["shipments"],
                         "flag": "", "source": r["source"]})
    table = pd.DataFrame(rows, columns=TIDY_COLUMNS).sort_values(["year", "activity_code"])
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False, encoding="utf-8", lineterminator="\n")
    print(table.to_string(index=False))
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=bdd.DEFAULT_SHARED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        build(args.shared, args.out)
    except MappingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
