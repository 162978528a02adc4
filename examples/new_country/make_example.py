"""Write the synthetic two-country example of examples/new_country/ (run: python make_example.py).

SYNTHETIC DATA: the countries XA "Nordmark" and XB "Suedland" (ISO 3166-1 user-assigned codes), their
regions, boundaries and employment figures are invented, with planted specialisations, to show what a
new country needs and to test the pipeline end to end. Nothing here describes a real place.

Regions have NUTS-like codes (XA11 ... XB14, groups XA1, XA2, XB1), activities are NACE Rev. 2
divisions (names from the NACE Rev. 2 structure, in German and English), the indicator is persons
employed. Two cells are suppressed; known_totals.csv carries the published totals of the pooled area
that pin them down. The files are deterministic (fixed seed).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
YEAR = 2022

COUNTRIES = [("XA", "Nordmark", "North March"), ("XB", "Südland", "South Land")]
GROUPS = [("XA1", "Nordmark-West", "North March West", "XA"), ("XA2", "Nordmark-Ost", "North March East", "XA"),
          ("XB1", "Südland", "South Land (statistical region)", "XB")]
# code, name, English name, group, (column, row) in the grid of 2 x 3 degree cells
REGIONS = [
    ("XA11", "Oberland", "Upland", "XA1", (0, 1)),
    ("XA12", "Seegau", "Lake District", "XA1", (1, 1)),
    ("XA13", "Talgau", "Valley District", "XA1", (0, 0)),
    ("XA14", "Hafenstadt", "Port City", "XA2", (1, 0)),
    ("XA15", "Waldmark", "Forest March", "XA2", (2, 1)),
    ("XA16", "Heideland", "Heathland", "XA2", (2, 0)),
    ("XB11", "Nordufer", "North Shore", "XB1", (3, 1)),
    ("XB12", "Bergland", "Highlands", "XB1", (4, 1)),
    ("XB13", "Flussau", "River Meadows", "XB1", (3, 0)),
    ("XB14", "Inselkreis", "Island County", "XB1", (4, 0)),
]
# NACE Rev. 2: section, division, German name, English name
ACTIVITIES = [
    ("A", "01", "Landwirtschaft, Jagd und damit verbundene Tätigkeiten",
     "Crop and animal production, hunting and related service activities"),
    ("C", "10", "Herstellung von Nahrungs- und Futtermitteln", "Manufacture of food products"),
    ("C", "20", "Herstellung von chemischen Erzeugnissen", "Manufacture of chemicals and chemical products"),
    ("C", "21", "Herstellung von pharmazeutischen Erzeugnissen",
     "Manufacture of basic pharmaceutical products and pharmaceutical preparations"),
    ("C", "26", "Herstellung von Datenverarbeitungsgeräten, elektronischen und optischen Erzeugnissen",
     "Manufacture of computer, electronic and optical products"),
    ("C", "29", "Herstellung von Kraftwagen und Kraftwagenteilen",
     "Manufacture of motor vehicles, trailers and semi-trailers"),
    ("D", "35", "Energieversorgung", "Electricity, gas, steam and air conditioning supply"),
    ("F", "41", "Hochbau", "Construction of buildings"),
    ("G", "46", "Großhandel (ohne Handel mit Kraftfahrzeugen)",
     "Wholesale trade, except of motor vehicles and motorcycles"),
    ("G", "47", "Einzelhandel (ohne Handel mit Kraftfahrzeugen)",
     "Retail trade, except of motor vehicles and motorcycles"),
    ("H", "49", "Landverkehr und Transport in Rohrfernleitungen", "Land transport and transport via pipelines"),
    ("I", "55", "Beherbergung", "Accommodation"),
    ("J", "62", "Erbringung von Dienstleistungen der Informationstechnologie",
     "Computer programming, consultancy and related activities"),
    ("K", "64", "Erbringung von Finanzdienstleistungen",
     "Financial service activities, except insurance and pension funding"),
    ("M", "72", "Forschung und Entwicklung", "Scientific research and development"),
]
SECTIONS = {"A": ("Land- und Forstwirtschaft, Fischerei", "Agriculture, forestry and fishing"),
            "C": ("Verarbeitendes Gewerbe", "Manufacturing"),
            "D": ("Energieversorgung", "Electricity, gas, steam and air conditioning supply"),
            "F": ("Baugewerbe", "Construction"),
            "G": ("Handel; Instandhaltung und Reparatur von Kraftfahrzeugen",
                  "Wholesale and retail trade; repair of motor vehicles and motorcycles"),
            "H": ("Verkehr und Lagerei", "Transportation and storage"),
            "I": ("Gastgewerbe", "Accommodation and food service activities"),
            "J": ("Information und Kommunikation", "Information and communication"),
            "K": ("Erbringung von Finanz- und Versicherungsdienstleistungen", "Financial and insurance activities"),
            "M": ("Erbringung von freiberuflichen, wissenschaftlichen und technischen Dienstleistungen",
                  "Professional, scientific and technical activities")}
# Planted specialisations: region -> {division: multiplier of the national structure}
PLANTED = {"XA11": {"29": 4.0, "26": 3.0}, "XA12": {"29": 3.5, "26": 2.5, "20": 1.5},
           "XA14": {"62": 3.5, "64": 4.0, "46": 1.6}, "XA13": {"01": 3.0, "10": 3.0},
           "XA16": {"01": 3.5, "10": 2.5}, "XB11": {"21": 4.5, "72": 3.5, "20": 2.5},
           "XB12": {"21": 3.0, "72": 4.0}, "XB14": {"55": 5.0, "49": 1.5}, "XA15": {"35": 2.5, "41": 1.4}}
SIZE = {"XA11": 420_000, "XA12": 380_000, "XA13": 260_000, "XA14": 900_000, "XA15": 210_000, "XA16": 240_000,
        "XB11": 310_000, "XB12": 190_000, "XB13": 230_000, "XB14": 120_000}
SUPPRESSED = {("XB13", "21"), ("XA15", "64")}
ORIGIN = (140.0, -36.0)  # south-west corner of the grid, degrees: another projection zone than RU or US


def _ring(x0: float, y0: float, w: float = 2.0, h: float = 3.0) -> list[list[float]]:
    return [[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h], [x0, y0]]  # counter-clockwise


def boundaries() -> dict:
    feats = []
    for code, name, name_en, _, (col, row) in REGIONS:
        polys = [[_ring(ORIGIN[0] + 2 * col, ORIGIN[1] + 3 * row)]]
        if code == "XB14":  # a far-flung island belonging to the island county
            polys.append([_ring(158.0, -41.0, 1.0, 1.0)])
        feats.append({"type": "Feature", "properties": {"nuts_id": code, "nuts_name": name},
                      "geometry": {"type": "MultiPolygon", "coordinates": polys}})
    return {"type": "FeatureCollection", "name": "regions", "features": feats}


def employment() -> dict[tuple[str, str], int]:
    rng = np.random.default_rng(20221)
    base = rng.dirichlet(np.full(len(ACTIVITIES), 4.0))
    out = {}
    for code, *_ in REGIONS:
        w = np.array([base[i] * PLANTED.get(code, {}).get(a[1], 1.0) * rng.lognormal(0, 0.12)
                      for i, a in enumerate(ACTIVITIES)])
        w = w / w.sum() * SIZE[code]
        for a, v in zip(ACTIVITIES, w):
            out[(code, a[1])] = int(round(v))
    return out


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main() -> None:
    _write_csv(HERE / "regions.csv", ["region_code", "name", "name_en", "group", "kind", "country"],
               [[c, n, e, "", "country", c] for c, n, e in COUNTRIES]
               + [[c, n, e, ctry, "group", ctry] for c, n, e, ctry in GROUPS]
               + [[c, n, e, g, "region", c[:2]] for c, n, e, g, _ in REGIONS])
    _write_csv(HERE / "region_labels.csv", ["region_code", "label", "source"],
               [["XA14", "hafenstadt (kreisfreie stadt)", "statistical office"],
                ["XB14", "inselkreis (mit außeninseln)", "statistical office"]])
    _write_csv(HERE / "activities.csv", ["classification", "code", "level", "parent_code", "name", "name_en"],
               [["NACE2", "TOTAL", "total", "", "Insgesamt", "Total - all NACE activities"]]
               + [["NACE2", s, "section", "", *SECTIONS[s]] for s in SECTIONS]
               + [["NACE2", d, "division", s, n, e] for s, d, n, e in ACTIVITIES])
    (HERE / "boundaries.geojson").write_text(json.dumps(boundaries(), ensure_ascii=False, indent=1) + "\n",
                                             encoding="utf-8")
    emp = employment()
    rows = []
    for (region, div), v in emp.items():
        sup = (region, div) in SUPPRESSED
        rows.append([YEAR, region, div, "NACE2", "division", "employment", "" if sup else v, "persons",
                     "suppressed" if sup else "", "synthetic"])
    _write_csv(HERE / "employment.csv", ["year", "region_code", "activity_code", "classification", "level",
                                         "indicator", "value", "unit", "flag", "source"], rows)
    # Published totals of the pooled area for the divisions with a suppressed cell (region_code names the area).
    divs = sorted({d for _, d in SUPPRESSED})
    _write_csv(HERE / "known_totals.csv", ["year", "region_code", "activity_code", "classification", "level",
                                           "indicator", "value", "unit", "flag", "source"],
               [[YEAR, "XA+XB", d, "NACE2", "division", "employment", sum(v for (r, a), v in emp.items() if a == d),
                 "persons", "", "synthetic national total of XA and XB"] for d in divs])
    _write_csv(HERE / "supported_clusters.csv",
               ["cluster_id", "programme", "name", "name_en", "region_codes", "classification", "activity_level",
                "activity_codes", "source"],
               [["XA-AUTO", "cluster_programme", "Automobilcluster Oberland-Seegau", "Upland-Lake automotive cluster",
                 "XA11;XA12", "NACE2", "division", "29;26", "synthetic"],
                ["XB-PHARMA", "cluster_programme", "Pharma-Netzwerk Nordufer", "North Shore pharma network",
                 "XB11", "NACE2", "division", "21;72", "synthetic"],
                ["XA-ENERGY", "cluster_programme", "Energieregion Heideland", "Heathland energy region",
                 "XA16", "NACE2", "division", "35", "synthetic"]])


if __name__ == "__main__":
    main()
