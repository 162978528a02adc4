#!/usr/bin/env python
"""Build the input-output tables used for input-output relatedness (``[relatedness] io_table``).

Reads the original supply and use tables from ``../shared/data`` (after checking their SHA-256), derives
activity x activity intermediate flows under the fixed product sales structure
(:func:`mapping.analysis.iorelatedness.flows_from_supply_use`) and writes, in ``geodata/``:

* ``io_ru_2019_okved2.csv`` and ``io_ru_2019_okved2_codes.csv``: Rosstat supply and use tables for
  2019 (``ТР`` supply, ``М-отеч`` use of domestic products at basic prices), 61 activities at OKVED2
  division level (some divisions merged); the concordance lists the OKVED2 divisions of each activity.
* ``io_us_bea2007_naics.csv`` and ``io_us_bea2007_naics_codes.csv``: BEA 2007 benchmark detail Make
  and Use tables before redefinitions (389 industries); the concordance gives each BEA code's NAICS
  2007 prefix (:func:`mapping.analysis.iorelatedness.bea_naics_prefix`).

Flows files: ``from_code, to_code, value`` (million roubles / million dollars, rounded to 0.1; zero flows left out).
Concordance files: ``io_code, activity_code, name`` (one row per classification code an industry
stands for; ``activity_code`` empty for rows with no classification code, e.g. US government).
See ``geodata/IO.md``.

Usage::

    .venv/bin/python scripts/build_io_tables.py [--shared /path/to/shared]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mapping.analysis.iorelatedness import bea_naics_prefix, flows_from_supply_use  # noqa: E402
from mapping.hashing import sha256_file  # noqa: E402

DEFAULT_SHARED = ROOT.parent / "shared"
RU_FILE = "data/ru/io/rosstat_tri-2019_OKVED2.xlsx"
US_MAKE = "data/us/io/BEA2007_389_Make_BeforeRedef_USEEIO.csv"
US_USE = "data/us/io/BEA2007_389_Use_PRO_BeforeRedef_USEEIO.csv"
SHA256 = {
    RU_FILE: "91ea2a3dcaa84407bf77114480855227e62ab102efe98f9dd82caf162ce1bbd3",
    US_MAKE: "f0f7f2c702f2bf90791f13c52dd5d5a7b277733b9bd84596b676679a49df637d",
    US_USE: "668e5ab053c1d333e21e6d534018e706951ccc503d2549c3bb5ad0148f81dcc3",
}
#: Cyrillic letters Rosstat writes in some codes ("А 01", "С 16", "Е 36").
_CYR = str.maketrans({"А": "A", "В": "B", "С": "C", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
                      "Т": "T"})
#: OKVED2 divisions of section T, which Rosstat's table writes without division numbers.
_SECTION_DIVISIONS = {"T": ["97", "98"]}


def check(shared: Path, rel: str) -> Path:
    path = shared / rel
    got = sha256_file(path)
    if got != SHA256[rel]:
        sys.exit(f"{path}: SHA-256 {got} does not match the expected {SHA256[rel]}; refusing to build")
    return path


def ru_code(raw: str) -> tuple[str, list[str]]:
    """Normalised Rosstat activity code and its OKVED2 divisions: ``"С (10-12)"`` -> ``("C10-12", [10, 11, 12])``."""
    s = str(raw).translate(_CYR).strip()
    m = re.fullmatch(r"([A-U])\s*\(?\s*(\d{2})?(?:\s*-\s*(\d{2}))?\s*\)?", s)
    if not m:
        raise ValueError(f"unrecognised Rosstat activity code {raw!r}")
    letter, lo, hi = m.groups()
    if lo is None:
        return letter, _SECTION_DIVISIONS.get(letter, [])
    divs = [f"{d:02d}" for d in range(int(lo), int(hi or lo) + 1)]
    return letter + lo + (f"-{hi}" if hi else ""), divs


def _seq(x) -> bool:
    """A sequence number of one of the 61 activities or products (``"01"`` ... ``"61"``)."""
    try:
        return 1 <= int(str(x).strip()) <= 61
    except ValueError:
        return False


def _ru_sheet(path: Path, sheet: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Products x activities block of one Rosstat sheet (codes row 3, products from row 5) and activity names."""
    raw = pd.read_excel(path, sheet_name=sheet, header=None, dtype=object)
    codes_row, names_row, seq_row = raw.iloc[2], raw.iloc[1], raw.iloc[3]
    cols, names = {}, {}
    for j in range(3, raw.shape[1]):
        c = codes_row.iloc[j]
        if not _seq(seq_row.iloc[j]):  # final-demand and total columns come after the 61 activities
            continue
        if not isinstance(c, str) or not re.match(r"^\s*[A-UА-Я]\s*(\(|\d|$)", c.translate(_CYR)):
            continue
        try:
            code, _ = ru_code(c)
        except ValueError:
            continue
        cols[j] = code
        names[code] = str(names_row.iloc[j]).strip()
    rows = {}
    for i in range(4, raw.shape[0]):
        c = raw.iat[i, 1]
        if isinstance(c, str) and _seq(raw.iat[i, 0]):
            try:
                code, _ = ru_code(c)
            except ValueError:
                continue
            rows[i] = code
    block = raw.iloc[list(rows), list(cols)].apply(pd.to_numeric, errors="coerce").fillna(0.0)
    block.index, block.columns = list(rows.values()), list(cols.values())
    return block, names


def build_ru(shared: Path, out: Path) -> None:
    path = check(shared, RU_FILE)
    supply, names = _ru_sheet(path, "ТР")
    use, _ = _ru_sheet(path, "М-отеч")
    flows = flows_from_supply_use(supply, use)
    print(f"RU: supply {supply.shape}, domestic use {use.shape}, total output {supply.to_numpy().sum():,.0f}, "
          f"intermediate domestic use {use.to_numpy().sum():,.0f} million roubles")
    _write_flows(flows, out / "io_ru_2019_okved2.csv")
    conc = []
    for col in flows.columns:
        raw = next(k for k in [col] if k)
        letter = raw[0]
        lo_hi = raw[1:]
        if lo_hi:
            lo, _, hi = lo_hi.partition("-")
            divs = [f"{d:02d}" for d in range(int(lo), int(hi or lo) + 1)]
        else:
            divs = _SECTION_DIVISIONS.get(letter, [])
        for d in divs or [""]:
            conc.append({"io_code": col, "activity_code": d, "name": names.get(col, "")})
    pd.DataFrame(conc).to_csv(out / "io_ru_2019_okved2_codes.csv", index=False)


def build_us(shared: Path, out: Path) -> None:
    make = pd.read_csv(check(shared, US_MAKE), index_col=0).fillna(0.0)
    use = pd.read_csv(check(shared, US_USE), index_col=0).fillna(0.0)
    industries = [c for c in make.index if c in use.columns and not c.startswith("T0")]
    commodities = [c for c in make.columns if c in use.index and not c.startswith("T0")]
    supply = make.loc[industries, commodities].T  # commodities x industries, like a supply table
    uses = use.loc[commodities, industries]
    flows = flows_from_supply_use(supply, uses)
    print(f"US: {len(industries)} industries x {len(commodities)} commodities; total output "
          f"{supply.to_numpy().sum():,.0f}, intermediate use {uses.to_numpy().sum():,.0f} million dollars")
    _write_flows(flows, out / "io_us_bea2007_naics.csv")
    conc = [{"io_code": c, "activity_code": bea_naics_prefix(c), "name": ""} for c in industries]
    pd.DataFrame(conc).to_csv(out / "io_us_bea2007_naics_codes.csv", index=False)
    print(f"US: {sum(1 for r in conc if not r['activity_code'])} BEA codes without a NAICS prefix: "
          f"{[r['io_code'] for r in conc if not r['activity_code']]}")


def _write_flows(flows: pd.DataFrame, path: Path) -> None:
    long = flows.stack().rename("value").reset_index()
    long.columns = ["from_code", "to_code", "value"]
    long["value"] = long["value"].round(1)  # 0.1 million: below the tables' own precision
    long = long.loc[long["value"] != 0]
    long.to_csv(path, index=False)
    print(f"wrote {path.name}: {len(long)} flows between {flows.shape[0]} activities")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    ap.add_argument("--out", type=Path, default=ROOT / "geodata")
    a = ap.parse_args()
    build_ru(a.shared, a.out)
    build_us(a.shared, a.out)


if __name__ == "__main__":
    main()
