"""Build geodata/supported_clusters.csv from ../shared/data/ru/supported_clusters/.

The shared file lists the 25 pilot innovative territorial clusters of 2012 (typed for this project
from public facts; see its README). This script maps it onto the project's programme-neutral schema
(mapping.ingest.tables.SUPPORTED_REGISTRY_COLUMNS) so other programmes can be appended as rows.

Usage: python scripts/build_supported_clusters.py [--shared ../shared] [--out geodata/supported_clusters.csv]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ("Government list of pilot innovative territorial clusters (2012); HSE (2013); Kutsenko (2015) "
          "Foresight-Russia 9(1):32-55, CC BY 4.0; OKVED2 mapping judged for this project")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--out", type=Path, default=ROOT / "geodata" / "supported_clusters.csv")
    args = ap.parse_args()
    src = args.shared / "data" / "ru" / "supported_clusters" / "pilot_innovative_clusters_2012.csv"
    with open(src, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    from mapping.ingest.tables import SUPPORTED_REGISTRY_COLUMNS

    out = []
    for r in rows:
        out.append({
            "cluster_id": r["cluster_id"], "programme": r["programme"], "name_ru": r["name_ru"],
            "name_en": r["name_en"], "support_group": r["support_group"], "selected_year": r["selected_year"],
            "region_codes": r["region_codes"], "classification": "OKVED2", "activity_level": "division",
            "activity_codes": r["okved2_divisions"], "specialisation_ru": r["specialisation_ru"],
            "specialisation_en": r["specialisation_en"], "source": SOURCE,
        })
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=SUPPORTED_REGISTRY_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(out)
    print(f"wrote {len(out)} clusters to {args.out}")


if __name__ == "__main__":
    main()
