"""Extract every region and activity row label from the shared Russian sources and check they resolve.

Usage::

    .venv/bin/python scripts/collect_region_labels.py [--shared ../shared] [--update-sources]

Prints the labels that do not resolve (with the closest registry names) and exits 1 if any.
``--update-sources`` rewrites the ``source`` column of ``geodata/region_labels.csv`` and
``geodata/activity_labels.csv`` from where each variant was seen (rows are never added
automatically: a new variant is added by hand after checking which unit it means).

The extractors know where the labels are, so titles, ``в том числе:`` rows, footnotes and
``#N/A`` cells are not mistaken for labels:

- annex (``rosstat_regions_2022_annex/*.xlsx``): column A from the ``Российская Федерация`` row
  to the footnote rule (``¾¾¾``/``____``) or the first footnote line (``1) ...``);
- EMISS organisations: column 2 (region) and column 3 (activity) after the 4 header lines;
- EMISS shipments: columns ``region`` and ``production_field``;
- GVA structure (``VRP_OKVED2_s2016.xlsx``): columns A and B from the Russian Federation row to
  the footnotes, header rows ``Раздел X`` and the names under them;
- GRP (``VRP.xlsx``): column A of sheets ``Total`` and ``Per Capita`` below the ``OKATO`` header.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import openpyxl

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mapping.errors import MappingError  # noqa: E402
from mapping.ingest.registry import (  # noqa: E402
    _region_key,
    normalise_label,
    resolve_activity_labels,
    resolve_region_labels,
)

RU = Path("data") / "ru"
ANNEX = RU / "rosstat_regions_2022_annex"
EMISS_ORG = RU / "emiss_org_count_region_okved2" / "rosstat-org-stats.csv"
EMISS_SHIP = RU / "emiss_shipments_region_okved2" / "regional_production_2017_2020.csv"
GVA_STRUCT = RU / "gva_structure_region_okved" / "VRP_OKVED2_s2016.xlsx"
GVA_GRP = RU / "gva_structure_region_okved" / "VRP.xlsx"

_RULE = re.compile(r"^\s*[¾_]{3,}")
_NOTE = re.compile(r"^\s*\d\)\s")
# Rows inside the annex data block that are not territories: "в том числе:" headers and the
# split of the national total by level of government in sheet 2.15.
_NOT_A_UNIT = re.compile(r"^в том числе\b|^на (федеральном|региональном) уровне$")
_SECTION_HEADER = re.compile(r"^Раздел\s+\S$")


def _start_row(values: list) -> int | None:
    for i, v in enumerate(values):
        if isinstance(v, str) and normalise_label(v).startswith("российская федерация"):
            return i
    return None


def annex_labels(path: Path) -> Iterator[tuple[str, str]]:
    """Yield ``(location, label)`` for the territory rows of every sheet of an annex workbook."""
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        for sheet in wb.sheetnames:
            col = [r[0] if r else None for r in wb[sheet].iter_rows(values_only=True, max_col=1)]
            start = _start_row(col)
            if start is None:  # contents sheets, and section 8 whose sheets have no table
                continue
            for i in range(start, len(col)):
                v = col[i]
                if isinstance(v, str) and (_RULE.match(v) or _NOTE.match(v)):
                    break
                if v is None or not str(v).strip() or _NOT_A_UNIT.search(normalise_label(str(v))):
                    continue
                yield f"{path.name}!{sheet} row {i + 1}", str(v)
    finally:
        wb.close()


def emiss_org_rows(path: Path) -> Iterator[tuple[int, str, str]]:
    """Yield ``(line, region, activity)`` of the EMISS organisation-count export."""
    with path.open(encoding="utf-8", newline="") as f:
        for n, row in enumerate(csv.reader(f), start=1):
            if n > 4 and len(row) > 2 and row[1].strip():
                yield n, row[1], row[2]


def emiss_shipment_rows(path: Path) -> Iterator[tuple[int, str, str]]:
    """Yield ``(line, region, activity)`` of the EMISS shipments export."""
    with path.open(encoding="utf-8", newline="") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            yield n, row["region"], row["production_field"]


def gva_structure_sheets(path: Path) -> Iterator[tuple[str, list[tuple]]]:
    """Yield ``(sheet, rows)`` of the GVA structure workbook with cached cell values."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for sheet in wb.sheetnames:
            yield sheet, [tuple(r) for r in wb[sheet].iter_rows(values_only=True)]
    finally:
        wb.close()


def gva_structure_region_labels(path: Path) -> Iterator[tuple[str, str]]:
    """Yield ``(location, label)`` from columns A and B of every year sheet."""
    for sheet, rows in gva_structure_sheets(path):
        colb = [r[1] if len(r) > 1 else None for r in rows]
        start = _start_row(colb)
        for i in range(start, len(rows)):
            a, b = rows[i][0], rows[i][1]
            if isinstance(b, str) and _NOTE.match(b):
                break
            for letter, v in (("A", a), ("B", b)):
                # '#N/A' marks district rows in column A (the author's lookup found no name)
                if isinstance(v, str) and v.strip() and v.strip() != "#N/A":
                    yield f"{path.name}!{sheet} {letter}{i + 1}", v


def gva_structure_activity_headers(path: Path) -> Iterator[tuple[str, str, str, int]]:
    """Yield ``(sheet, header, name, column)`` for each ``Раздел X`` column of every sheet.

    The total column (``Валовая добавленная стоимость в основных ценах``, one row above the
    section headers) comes first, with header None.
    """
    for sheet, rows in gva_structure_sheets(path):
        hdr = next(i for i, r in enumerate(rows) if any(isinstance(v, str) and _SECTION_HEADER.match(v.strip())
                                                        for v in r))
        yield sheet, None, rows[hdr - 1][2], 2
        for j, v in enumerate(rows[hdr]):
            if isinstance(v, str) and _SECTION_HEADER.match(v.strip()):
                yield sheet, v, rows[hdr + 1][j], j


def gva_grp_labels(path: Path) -> Iterator[tuple[str, str]]:
    """Yield ``(location, label)`` from column A of sheets Total and Per Capita of VRP.xlsx."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for sheet in ("Total", "Per Capita"):
            for i, (v,) in enumerate(wb[sheet].iter_rows(values_only=True, max_col=1), start=1):
                if i == 1 or not isinstance(v, str) or not v.strip() or v.strip() == "#N/A":
                    continue
                yield f"{path.name}!{sheet} A{i}", v
    finally:
        wb.close()


def iter_region_labels(shared: Path) -> Iterator[tuple[str, str, str]]:
    """Yield ``(source tag, location, raw label)`` for every territory label in the shared sources."""
    for path in sorted((shared / ANNEX).glob("*.xlsx")):
        for where, label in annex_labels(path):
            yield "rosstat_annex", where, label
    for n, region, _ in emiss_org_rows(shared / EMISS_ORG):
        yield "emiss", f"{EMISS_ORG.name} line {n}", region
    for n, region, _ in emiss_shipment_rows(shared / EMISS_SHIP):
        yield "emiss", f"{EMISS_SHIP.name} line {n}", region
    for where, label in gva_structure_region_labels(shared / GVA_STRUCT):
        yield "gva", where, label
    for where, label in gva_grp_labels(shared / GVA_GRP):
        yield "gva", where, label


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def iter_activity_labels(shared: Path) -> Iterator[tuple[str, str, str, str, str | None]]:
    """Yield ``(classification, source tag, location, raw label, expected)`` for activity labels.

    ``expected`` is the code the label must resolve to when the layout says so (GVA headers and
    the names under them, by column), ``"*"`` for a section/division-level row of the EMISS files
    (not indented, or indented by four spaces), and None for the group-level rows indented
    deeper (and two unindented "н.в.д.г." group rows of the shipments file), which are outside
    the registry's levels and must not resolve.
    """
    for sheet, header, name, j in gva_structure_activity_headers(shared / GVA_STRUCT):
        cls = "OKVED2" if int(sheet) >= 2016 else "OKVED2007"
        if header is None:
            code = "TOTAL"
        else:
            code = header.strip()[-1].translate(str.maketrans("АВСЕНКМОРТХ", "ABCEHKMOPTX"))
            yield cls, "gva", f"{GVA_STRUCT.name}!{sheet} col {j + 1} header", header, code
        if isinstance(name, str) and name.strip():
            yield cls, "gva", f"{GVA_STRUCT.name}!{sheet} col {j + 1} name", name, code
    seen = set()
    for path, rows in ((EMISS_ORG, emiss_org_rows(shared / EMISS_ORG)),
                       (EMISS_SHIP, emiss_shipment_rows(shared / EMISS_SHIP))):
        for n, _, activity in rows:
            if (path, activity) in seen:
                continue
            seen.add((path, activity))
            deep = _indent(activity) > 4 or "не включенных в другие группировки" in activity and _indent(activity) == 0
            expected = None if deep else "*"
            if normalise_label(activity) == "сбор и обработка сточных вод":  # division 37, indented 8
                expected = "37"
            yield "OKVED2", "emiss", f"{path.name} line {n}", activity, expected


def check(shared: Path) -> list[str]:
    """Resolve every label; return the error messages (empty when all resolve)."""
    errors = []
    regions = list(iter_region_labels(shared))
    try:
        resolve_region_labels([r[2] for r in regions], source="shared sources")
    except MappingError as exc:
        errors.append(str(exc))
    for cls in ("OKVED2", "OKVED2007"):
        acts = [a for a in iter_activity_labels(shared) if a[0] == cls and a[4] is not None]
        try:
            got = resolve_activity_labels([a[3] for a in acts], classification=cls, source="shared sources")
        except MappingError as exc:
            errors.append(str(exc))
            continue
        wrong = [f"{a[2]}: {a[3]!r} -> {got[a[3]]}, expected {a[4]}" for a in acts
                 if a[4] != "*" and got[a[3]] != a[4]]
        errors.extend(wrong)
    return errors


def _rewrite_sources(path: Path, key_cols: list[str], seen: dict[tuple, set[str]]) -> None:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
        fields = list(rows[0].keys())
    for row in rows:
        tags = set(filter(None, row["source"].split(";"))) & {"official"}
        tags |= seen.get(tuple(row[c] for c in key_cols), set())
        row["source"] = ";".join(sorted(tags))
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def update_sources(shared: Path) -> None:
    """Rewrite the ``source`` columns from where each stored variant was seen."""
    region_seen: dict[tuple, set[str]] = {}
    raw = list(iter_region_labels(shared))
    codes = resolve_region_labels([r[2] for r in raw])
    for tag, _, label in raw:
        region_seen.setdefault((codes[label], _region_key(label)), set()).add(tag)
    _rewrite_sources(REPO / "geodata" / "region_labels.csv", ["region_code", "label"], region_seen)
    act_seen: dict[tuple, set[str]] = {}
    for cls, tag, _, label, expected in iter_activity_labels(shared):
        if expected is None:
            continue
        code = resolve_activity_labels([label], classification=cls)[label]
        act_seen.setdefault((cls, code, normalise_label(label)), set()).add(tag)
    _rewrite_sources(REPO / "geodata" / "activity_labels.csv", ["classification", "code", "label"], act_seen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--update-sources", action="store_true")
    args = parser.parse_args(argv)
    errors = check(args.shared)
    for e in errors:
        print(e)
    if errors:
        return 1
    if args.update_sources:
        update_sources(args.shared)
    n = sum(1 for _ in iter_region_labels(args.shared))
    print(f"all labels resolve ({n} region label occurrences)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
