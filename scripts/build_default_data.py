#!/usr/bin/env python
"""Build ``data/ru_rosstat_2021.csv``, the embedded default input, from the original Rosstat files.

Every year the sources carry in one classification (OKVED2) is read: GVA 2016-2022, shipments
2017-2021, organisations by section 2019-2022, region totals 2016-2021 (``YEARS``); the run analyses the
latest year its specialisation indicators share and reports persistence over the others. The file
keeps its historical name (the yearbook edition, with figures up to 2021).

The sources are the files described in ``../shared/data/ru/PROVENANCE.md``. The script first checks
each file's SHA-256 against the sums below (and that PROVENANCE.md lists the same sums) and refuses
to build on any mismatch. It then reads the files with :func:`mapping.ingest.read.read_input` (the same
readers a run uses: layouts, labels, units, flags, source cells), writes the tidy long table (schema in
``data/README.md``) and prints consistency checks: the sum over subjects against the reported
national row, and parent = sum of parts for the nested okrugs.

Usage::

    .venv/bin/python scripts/build_default_data.py            # uses ../shared next to the project
    .venv/bin/python scripts/build_default_data.py --shared /path/to/shared --out data/ru_rosstat_2021.csv
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a plain script from any directory
    sys.path.insert(0, str(ROOT))

from mapping.config import InputFile  # noqa: E402
from mapping.errors import MappingError  # noqa: E402
from mapping.hashing import sha256_file  # noqa: E402
from mapping.ingest.layouts.annex import read_rosstat_annex  # noqa: E402
from mapping.ingest.layouts.cells import FLAG_ABSENT, FLAG_NORMAL
from mapping.ingest.layouts.gva import read_gva_structure
from mapping.ingest.read import read_input  # noqa: E402
from mapping.ingest.registry import load_region_registry, resolve_activity_labels  # noqa: E402
from mapping.ingest.tidy import read_tidy  # noqa: E402
from mapping.schema import TIDY_COLUMNS  # noqa: E402

#: Years read per indicator: every OKVED2 year of each source (GVA sheets 2016-2022; the 2023/2024 sheets
#: are copies of 2022; shipments tables 12.2.x OKVED2 2017-2021; organisations by section from 2019).
YEARS = {"gva": tuple(range(2016, 2023)), "shipments": tuple(range(2017, 2022)),
         "establishments": tuple(range(2019, 2023)), "totals": tuple(range(2016, 2022))}
#: The year of the first edition of this table (kept for the known-totals script and the tests).
YEAR = 2021
DEFAULT_SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DEFAULT_OUT = ROOT / "data" / "ru_rosstat_2021.csv"
RU = "data/ru"  # the sources' folder inside ``shared``

ANNEX = "rosstat_regions_2022_annex"
F_LABOUR = f"{ANNEX}/Раздел 2 - Труд.xlsx"
F_ORGS = f"{ANNEX}/Раздел 11 - Предприятия и организации.xlsx"
F_INDUSTRY = f"{ANNEX}/Раздел 12 - Промышленное производство.xlsx"
F_SCIENCE = f"{ANNEX}/Раздел 18 - Наука и инновации.xlsx"
F_TRADE = f"{ANNEX}/Раздел 21 - Внешняя торговля.xlsx"
F_GVA_SHARE = "gva_structure_region_okved/VRP_OKVED2_s2016.xlsx"
F_GRP = "gva_structure_region_okved/VRP.xlsx"
F_ORG_COUNT = "emiss_org_count_region_okved2/rosstat-org-stats.csv"

#: SHA-256 of each source as recorded in PROVENANCE.md (2026-11-22).
EXPECTED_SHA256 = {
    F_LABOUR: "79e21a7fe1b4da9208875bb71f06a7a1896c026a065b2a28bf03c3cbdb8ef937",
    F_ORGS: "66753c2ee71da0f1d1572021fc98b7277ceb2f3b3ae5988dc4a16a3d1ef2d2b2",
    F_INDUSTRY: "7fe190da03a6315a88f0f9a68b55c0c7358d5b76e4479ab73b0e2d98c2053b69",
    F_SCIENCE: "7024ada7c872e1b35a44cd8531c717781676f6ddc722ee7f858257588efe48ce",
    F_TRADE: "c1a95827d1b31a1d0740dbb903db6da6c1046194ccf3f95a266ef8ce5ca7c15b",
    F_GVA_SHARE: "7c22f3b99e071d720008bcd1d211e11b7e78af0469d3c69c1b79b336be68d755",
    F_GRP: "502d44735fbf8caa87b4352bd97c5ca4c2114741b259abafff83bd3751b06563",
    F_ORG_COUNT: "6c7534fbc47fe323bd6b0c73bb0069118e4fb5c3a7b36f2d4e16af51e16c1f3a",
}

#: Significant digits written: products of a rounded share and GRP carry ~3 real digits, so 6 is
#: ample; read values and sums keep 12, which only removes binary noise (578.5999999999999 -> 578.6).
SIG_DERIVED = 6
SIG_READ = 12
#: Units of the tidy table, per indicator.
UNITS = {"gva": "million RUB", "establishments": "count", "shipments": "million RUB",
         "employment": "thousand persons", "revenue": "billion RUB", "exports": "million USD",
         "rd_expenditure": "million RUB"}
#: Region-level context totals read from the annex: indicator -> (file, sheet(s)).
ANNEX_TOTALS = {"employment": (F_LABOUR, ["2.3."]), "revenue": (F_ORGS, ["11.2."]),
                "exports": (F_TRADE, ["21.1.1.", "21.2.1."]), "rd_expenditure": (F_SCIENCE, ["18.5."])}
KEEP_KINDS = ("subject", "remainder")
_PROV_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*([0-9a-f]{64})\s*\|", re.M)


# --------------------------------------------------------------------------- source verification


def verify_sources(shared: Path) -> None:
    """Refuse to build unless every source matches its SHA-256 here and in PROVENANCE.md."""
    base = shared / RU
    problems = []
    prov = base / "PROVENANCE.md"
    if prov.is_file():
        listed = dict(_PROV_ROW.findall(prov.read_text(encoding="utf-8")))
        for rel, sha in EXPECTED_SHA256.items():
            if listed.get(rel) != sha:
                problems.append(f"{rel}: PROVENANCE.md lists {listed.get(rel)!r}, this script expects {sha}")
    else:
        problems.append(f"{prov}: not found (needed to double-check the expected sums)")
    for rel, sha in EXPECTED_SHA256.items():
        path = base / rel
        if not path.is_file():
            problems.append(f"{path}: not found")
            continue
        got = sha256_file(path)
        print(f"  sha256 {'ok      ' if got == sha else 'MISMATCH'} {rel}")
        if got != sha:
            problems.append(f"{rel}: sha256 {got}, expected {sha}")
    if problems:
        raise SystemExit("refusing to build: the sources are not the documented files:\n  " + "\n  ".join(problems))


# --------------------------------------------------------------------------- helpers

def _fmt(value: float, sig: int) -> str:
    """Fixed, locale-free text for a value: ``sig`` significant digits, no exponent, "" for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return np.format_float_positional(float(f"{float(value):.{sig}g}"), trim="-")


def _tidy_flag(flag: str) -> str:
    """Reader flag -> tidy flag. An empty or unparsed cell has no value: recorded as suppressed."""
    return flag if flag in (FLAG_NORMAL, FLAG_ABSENT, "suppressed", "derived") else "suppressed"


def _rows(df: pd.DataFrame, *, indicator: str, level: str, sig: int, flag: str | None = None) -> pd.DataFrame:
    """Tidy rows for the kept units of a frame with region_code, activity_code, value, flag, source."""
    kept = df.loc[df["kind"].isin(KEEP_KINDS)]
    out = pd.DataFrame({
        "year": kept["year"].astype(int), "region_code": kept["region_code"], "activity_code": kept["activity_code"],
        "classification": "OKVED2", "level": level, "indicator": indicator,
        "value": kept["value"], "unit": UNITS[indicator],
        "flag": kept["flag"].map(_tidy_flag) if flag is None else flag,
        "source": kept["source"]})
    if flag is not None:  # a derived value is suppressed when an input is
        out.loc[kept["flag"].map(_tidy_flag).eq("suppressed").to_numpy(), "flag"] = "suppressed"
    out.loc[out["flag"].eq("suppressed"), "value"] = math.nan
    out["value_text"] = [_fmt(v, sig) for v in out["value"]]
    return out


# --------------------------------------------------------------------------- indicators
# Each source is read by the library (mapping.ingest.read.read_input: layout, labels, units, flags, source
# cells); the build only selects 2021, keeps the subjects and remainders, and formats the values.

def _read(base: Path, registry: pd.DataFrame, rel: str, years: tuple[int, ...], **options) -> tuple[pd.DataFrame, object]:
    """Read one source for ``years`` with the library; add each row's ``kind`` from the registry."""
    got = read_input(InputFile(path=base / rel, source=rel, years=years, **options))
    df = got.tidy.copy()
    df["kind"] = df["region_code"].map(dict(zip(registry["region_code"], registry["kind"])))
    return df, got


def build_gva(base: Path, registry: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """GVA by section = share (%) x GRP / 100, plus GRP as the region total; national check values."""
    years = YEARS["gva"]
    df, got = _read(base, registry, F_GVA_SHARE, years, grp=base / F_GRP)
    if set(df["classification"]) != {"OKVED2"} or sorted(set(df["year"])) != list(years):
        raise MappingError(f"{F_GVA_SHARE}: sheets {sorted(set(df['year']))} are {sorted(set(df['classification']))}, "
                           f"expected OKVED2 for {list(years)}")
    gva = _rows(df.loc[df["level"].eq("section")], indicator="gva", level="section", sig=SIG_DERIVED,
                flag="derived")
    grp, _ = _read(base, registry, F_GRP, years)
    total = _rows(grp, indicator="gva", level="total", sig=SIG_READ)
    # National check: the sheet's national structure ("из суммы субъектов") x the sum of subjects' GRP.
    # The library drops that row (it has no GRP of its own), so the shares are read raw here.
    nat_share = {}
    for year in years:
        share, _ = read_gva_structure(base / F_GVA_SHARE, year)
        nat = share.loc[share["region_label"].map(lambda l: "из суммы субъектов" in str(l))]
        acts = resolve_activity_labels(nat.loc[nat["activity_label"].str.strip().str.startswith("Раздел"),
                                               "activity_label"].unique(), classification="OKVED2", level="section")
        nat = nat.loc[nat["activity_label"].isin(acts)]
        nat_share[year] = pd.Series(nat["value"].to_numpy(), index=nat["activity_label"].map(acts).to_numpy())
    return gva, total, {"nat_share": nat_share}


def build_establishments(base: Path, registry: pd.DataFrame) -> pd.DataFrame:
    """Number of organisations by section (upper-case, unindented rows A-U) and the region total."""
    df, _ = _read(base, registry, F_ORG_COUNT, YEARS["establishments"])
    sec = _rows(df.loc[df["level"].eq("section")], indicator="establishments", level="section", sig=SIG_READ)
    tot = _rows(df.loc[df["level"].eq("total")], indicator="establishments", level="total", sig=SIG_READ)
    return pd.concat([sec, tot])


def _shipment_sheets(path: Path) -> dict[str, str]:
    """Find the OKVED2 sheets 12.2.x with the shipments years and the section each one covers (by title)."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    sheets = [s for s in wb.sheetnames if s.startswith("12.2.")]
    wb.close()
    found: dict[str, str] = {}
    for sheet in sheets:
        _, meta = read_rosstat_annex(path, sheet)
        name = re.search(r"«([^»]+)»", meta["title"])
        if set(YEARS["shipments"]) <= set(meta["years"]) and "ОКВЭД2" in meta["title"] and name:
            code = resolve_activity_labels([name.group(1)], classification="OKVED2", level="section",
                                           source=f"{path.name} sheet {sheet}")[name.group(1)]
            if code in found.values():
                raise MappingError(f"{path.name}: two OKVED2 sheets for section {code}")
            found[sheet] = code
    if sorted(found.values()) != ["B", "C", "D", "E"]:
        raise MappingError(f"{path.name}: expected OKVED2 sheets for sections B, C, D, E; found {found}")
    return found


def build_shipments(base: Path, registry: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Shipments of own production (million RUB), sections B-E, from the annex 12.2.x OKVED2 sheets."""
    frames, national = [], {}
    for sheet, code in _shipment_sheets(base / F_INDUSTRY).items():
        df, got = _read(base, registry, F_INDUSTRY, YEARS["shipments"], sheet=sheet)
        if set(df["activity_code"]) != {code} or set(df["unit"]) != {UNITS["shipments"]}:
            raise MappingError(f"{F_INDUSTRY} sheet {sheet}: read as {sorted(set(df['activity_code']))} in "
                               f"{sorted(set(df['unit']))}, expected {code} in {UNITS['shipments']}")
        for year, v in df.loc[df["kind"].eq("country")].groupby("year")["value"].sum().items():
            national[(int(year), "shipments", code)] = v
        print(f"  shipments {code}: sheet {sheet}: {got.ledger.notes[0]}")
        frames.append(_rows(df, indicator="shipments", level="section", sig=SIG_READ))
    return pd.concat(frames), national


def build_annex_totals(base: Path, registry: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Region context totals from the annex (employment, revenue, exports, R&D expenditure)."""
    frames, national = [], {}
    for indicator, (rel, sheets) in ANNEX_TOTALS.items():
        parts = []
        for sheet in sheets:
            df, got = _read(base, registry, rel, YEARS["totals"], sheet=sheet, indicator=indicator,
                            unit=UNITS[indicator])
            print(f"  {indicator}: {rel} sheet {sheet}: {got.ledger.notes[0]}")
            parts.append(df.set_index(["region_code", "year"]))
        if len(parts) == 1:
            df = parts[0].reset_index()
            flag = None
        else:  # exports = far abroad + CIS; suppressed if any part is
            a, b = parts
            df = a[["kind"]].copy()
            b = b.reindex(a.index)
            df["value"] = a["value"] + b["value"]
            supp = a["flag"].eq("suppressed") | b["flag"].eq("suppressed")
            df["flag"] = np.where(supp, "suppressed", "derived")
            df["source"] = a["source"] + " + " + b["source"]
            df = df.reset_index()
            flag = "derived"
        df["activity_code"] = "TOTAL"
        for year, v in df.loc[df["kind"].eq("country")].groupby("year")["value"].sum().items():
            national[(int(year), indicator, "TOTAL")] = v
        frames.append(_rows(df, indicator=indicator, level="total", sig=SIG_READ, flag=flag))
    return pd.concat(frames), national


# --------------------------------------------------------------------------- checks

def check_national(tidy: pd.DataFrame, registry: pd.DataFrame, national: dict) -> pd.DataFrame:
    """Sum over subjects (parents only, so nested okrugs are not counted twice) vs the national row."""
    top = set(registry.loc[registry["kind"].eq("subject") & registry["parent_code"].eq(""), "region_code"])
    rows = []
    for (year, indicator, act), g in tidy.groupby(["year", "indicator", "activity_code"]):
        g = g.loc[g["region_code"].isin(top)]
        s = g["value"].sum()
        nat = national.get((int(year), indicator, act), math.nan)
        rows.append({"year": year, "indicator": indicator, "activity": act, "units": len(g),
                     "suppressed": int(g["flag"].eq("suppressed").sum()), "sum_subjects": s, "national": nat,
                     "rel_diff": (s - nat) / nat if nat and not math.isnan(nat) else math.nan})
    return pd.DataFrame(rows)


def check_parts(tidy: pd.DataFrame, registry: pd.DataFrame) -> pd.DataFrame:
    """Parent = sum of parts (RU-ARK = RU-NEN + RU-ARK-X; RU-TYU = RU-KHM + RU-YAN + RU-TYU-X)."""
    children: dict[str, list[str]] = {}
    for code, parent in zip(registry["region_code"], registry["parent_code"]):
        if parent:
            children.setdefault(parent, []).append(code)
    rows = []
    for (year, indicator, act), g in tidy.groupby(["year", "indicator", "activity_code"]):
        v = g.set_index("region_code")["value"]
        for parent, parts in sorted(children.items()):
            if parent in v and all(p in v for p in parts) and v[[parent] + parts].notna().all():
                s = v[parts].sum()
                rows.append({"year": year, "indicator": indicator, "activity": act, "parent": parent, "parent_value": v[parent],
                             "sum_parts": s, "rel_diff": (s - v[parent]) / v[parent] if v[parent] else
                             (0.0 if s == 0 else math.inf)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- main

def build(shared: Path, out: Path) -> pd.DataFrame:
    """Verify the sources, build the tidy table, print the checks and write ``out``."""
    print(f"sources: {shared / RU}")
    verify_sources(shared)
    base = shared / RU
    registry = load_region_registry()
    print("reading:")
    gva, gva_total, gva_meta = build_gva(base, registry)
    est = build_establishments(base, registry)
    ship, nat_ship = build_shipments(base, registry)
    totals, nat_totals = build_annex_totals(base, registry)
    tidy = pd.concat([gva, gva_total, est, ship, totals], ignore_index=True)
    key = ["year", "indicator", "level", "region_code", "activity_code"]
    dup = tidy.duplicated(key, keep=False)
    if dup.any():
        raise MappingError("duplicate keys in the built table: " + ", ".join(
            "/".join(map(str, k)) for k in tidy.loc[dup, key].drop_duplicates().head(5).itertuples(index=False)))
    tidy = tidy.sort_values(key, kind="stable").reset_index(drop=True)
    national = {**nat_ship, **nat_totals}
    tops = registry.loc[registry["kind"].eq("subject") & registry["parent_code"].eq(""), "region_code"]
    for year, shares in gva_meta["nat_share"].items():
        g = gva_total.loc[gva_total["region_code"].isin(tops) & gva_total["year"].eq(year), "value"].sum()
        for code, share in shares.items():
            national[(int(year), "gva", code)] = share * g / 100.0
    _print_summary(tidy, registry, national)
    written = tidy.assign(value=tidy["value_text"])[TIDY_COLUMNS]
    out.parent.mkdir(parents=True, exist_ok=True)
    written.to_csv(out, index=False, lineterminator="\n", encoding="utf-8")
    read_tidy(out)  # the table must pass the pipeline's own input validation
    print(f"wrote {out} ({len(written)} rows, sha256 {sha256_file(out)}); it passes mapping.ingest.tidy.read_tidy")
    return written


def _print_summary(tidy: pd.DataFrame, registry: pd.DataFrame, national: dict) -> None:
    kind = dict(zip(registry["region_code"], registry["kind"]))
    print("\nrows by indicator and level (subjects / remainders / flags):")
    for (ind, lev), g in tidy.groupby(["indicator", "level"]):
        k = g.drop_duplicates("region_code")["region_code"].map(kind).value_counts()
        print(f"  {ind:15s} {lev:8s} {len(g):5d} rows, {k.get('subject', 0)} subjects, "
              f"{k.get('remainder', 0)} remainders, {g['activity_code'].nunique()} activities, flags "
              + ", ".join(f"{f or 'plain'}={n}" for f, n in g["flag"].value_counts().sort_index().items()))
    nat = check_national(tidy, registry, national)
    print("\nnational check: sum over subjects (82 top-level subjects; the nested okrugs are inside RU-ARK and "
          "RU-TYU) vs the national row (gva sections: national structure x sum of subjects' GRP; "
          "gva TOTAL and establishments: no national row in the source):")
    with pd.option_context("display.width", 200, "display.max_rows", 200, "display.float_format", "{:.6g}".format):
        print(nat.to_string(index=False))
        parts = check_parts(tidy, registry)
        print("\nparent = sum of parts (largest relative differences):")
        if parts.empty:
            print("  no indicator has a parent and all its parts")
        else:
            parts["abs"] = parts["rel_diff"].abs()
            worst = parts.sort_values("abs", ascending=False).groupby("indicator", sort=True).head(1)
            print(worst.drop(columns="abs").to_string(index=False))
            print(f"  {len(parts)} parent checks; per indicator the largest |rel diff| is shown "
                  "(gva sections: shares rounded to 0.1 pp in parent and parts separately)")
    sums = tidy.loc[tidy["indicator"].eq("gva") & tidy["level"].eq("section")].groupby(
        ["region_code", "year"])["value"].sum()
    grp = tidy.loc[tidy["indicator"].eq("gva") & tidy["level"].eq("total")].set_index(["region_code", "year"])["value"]
    dev = (sums / grp - 1).abs()
    print(f"\ngva: sum of sections / GRP - 1 over {dev.notna().sum()} units: max {dev.max():.3g} "
          f"({dev.idxmax()}); the shares are rounded to 0.1 pp")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                        help=f"folder holding data/ru/ (default {DEFAULT_SHARED})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output CSV (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    try:
        build(args.shared, args.out)
    except MappingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
