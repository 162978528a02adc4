"""The finishing step every non-tidy layout shares: years, flags, units, label resolution,
aggregate checks, region-set vintage, nesting notes, and the tidy rows with their ledger.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from mapping.config import InputFile
from mapping.errors import MappingError, format_items
from mapping.ingest.limits import FORMULA_MARK
from mapping.hashing import sha256_path
from mapping.ingest.layouts.common import (
    CLASSIFICATION_ORDER,
    InputRead,
    _Cells,
    _Registries,
    _resolve_activities,
    _resolve_regions,
    check_years,
)
from mapping.ingest.tidy import validate_tidy
from mapping.ingest.values import (
    Unit,
    convert_factor,
    parse_unit,
    parse_value,
)
from mapping.ledger import FileLedger
from mapping.schema import LEVELS

# --------------------------------------------------------------------------- common finishing step

def _finish(path: Path, c: _Cells, inp: InputFile, regs: _Registries) -> InputRead:
    df = c.frame.reset_index(drop=True).copy()
    drops = dict(c.drops)
    notes = list(c.notes)
    n_read = len(df) + sum(drops.values())
    if df.empty:
        raise MappingError(f"{path}: no data cells found")
    df = _select_years(df, inp, drops, notes, path)
    df = _parse_flags(df, inp, path, notes, drops)
    # Regions.
    where = f", sheet {df['source_sheet'].iloc[0]!r}" if df["source_sheet"].iloc[0] else ""
    codes = _resolve_regions(df["region_label"], df["source_row"], path, regs, where)
    df["region_code"] = df["region_label"].map(codes)
    # Activities given by label.
    todo = df["activity_code"].eq("")
    if todo.any():
        for cls, g in df.loc[todo].groupby("classification"):
            labels = [l for l in g["activity_label"].unique()]
            if cls not in set(regs.activities["classification"]):
                raise MappingError(f"{path}: activity labels of classification {cls!r} cannot be resolved: it is not "
                                   f"in the activity registry")
            m = _resolve_activities(labels, cls, None, g, path, regs, where)
            df.loc[g.index, "activity_code"] = g["activity_label"].map(m)
    lvl = {(cl, co): lv for cl, co, lv in zip(regs.activities["classification"], regs.activities["code"],
                                               regs.activities["level"])}
    blank = df["level"].eq("")
    df.loc[blank, "level"] = [lvl.get((cl, co), "") for cl, co in zip(df.loc[blank, "classification"],
                                                                        df.loc[blank, "activity_code"])]
    nolevel = df["level"].eq("")
    if nolevel.any():
        r = df.loc[nolevel].iloc[0]
        raise MappingError(f"{path}: activity {r['activity_code']!r} ({r['classification']}) is not in the activity "
                           f"registry and no level was given; set level")
    # Units.
    unit, factor = _unit(c, inp, path, notes)
    for col in ("value", "value_low", "value_high"):
        df[col] = df[col] * factor
    checks = _checks(df, regs, c.indicator, unit.name if unit else "")
    agg_act = ~df["level"].isin(LEVELS)
    if agg_act.any():
        drops["activity aggregate (e.g. B-E industry): used only as a check"] = int(agg_act.sum())
        df = df.loc[~agg_act]
    _check_mixing(df, path)
    tidy = pd.DataFrame({
        "year": df["year"].astype(int), "region_code": df["region_code"], "activity_code": df["activity_code"],
        "classification": df["classification"], "level": df["level"], "indicator": c.indicator,
        "value": df["value"], "unit": unit.name if unit else "", "flag": df["flag"],
        "source": _sources(df, inp, c), "value_low": df["value_low"], "value_high": df["value_high"],
        "source_row": df["source_row"]})
    tidy = tidy.astype({"value": float, "value_low": float, "value_high": float})
    if tidy["value_low"].isna().all() and tidy["value_high"].isna().all():
        tidy = tidy.drop(columns=["value_low", "value_high"])
    try:
        tidy = validate_tidy(tidy, path)
    except MappingError as exc:
        raise MappingError(str(exc).replace("row ", "source row ")) from None
    n_used = len(tidy)
    ledger = FileLedger(file=str(path), sha256=sha256_path(path), rows_read=n_read, format=c.fmt, row_unit=c.row_unit,
                        layout_rows=dict(c.layout), notes=notes)
    for reason, n in drops.items():
        ledger.drop(reason, n)
    if ledger.rows_read != n_used + sum(ledger.dropped.values()):
        raise AssertionError(f"reader ledger for {path} does not balance: read {n_read}, kept {n_used}, "
                             f"dropped {sum(ledger.dropped.values())}")
    ledger.rows_read = n_used + sum(ledger.dropped.values())
    ledger.cells_suppressed = int(tidy["flag"].isin(["suppressed", "range"]).sum())
    _vintage_note(tidy, regs, ledger)
    _nesting_note(tidy, regs, ledger)
    ledger.checks = _check_summary(checks)
    return InputRead(tidy, ledger, checks)


def _select_years(df: pd.DataFrame, inp: InputFile, drops: dict, notes: list, path: Path) -> pd.DataFrame:
    present = sorted(set(df["year"]))
    if inp.years:
        reason = check_years(path, inp.years, present)
        other = ~df["year"].isin(inp.years)
        if other.any():
            drops[reason] = int(other.sum())
        return df.loc[~other]
    classes = sorted(set(df["classification"]), key=lambda x: CLASSIFICATION_ORDER.index(x)
                     if x in CLASSIFICATION_ORDER else 99)
    if len(classes) > 1:
        newest = classes[0]
        keep_years = set(df.loc[df["classification"] == newest, "year"])
        other = ~df["year"].isin(keep_years)
        old = sorted(set(df.loc[other, "year"]))
        drops[f"year of an older classification ({', '.join(classes[1:])}) not selected; set years to read it"] = \
            int(other.sum())
        notes.append(f"the file spans {', '.join(classes)}: years {min(keep_years)}-{max(keep_years)} ({newest}) "
                     f"read, years {old[0]}-{old[-1]} not (classifications are never mixed in one run)")
        return df.loc[~other]
    return df


def _check_mixing(df: pd.DataFrame, path: Path) -> None:
    rows = df.loc[df["level"] != "total"]
    by = rows.groupby("level")["classification"].unique()
    mixed = by[by.map(len) > 1]
    if not mixed.empty:
        years = {c: sorted(set(rows.loc[rows["classification"] == c, "year"])) for c in
                 set(rows["classification"])}
        raise MappingError(f"{path}: the selected years mix classifications ("
                           + format_items(f"{c}: {y[0]}-{y[-1]}" for c, y in sorted(years.items()))
                           + "); OKVED 2007 and OKVED2 (or NAICS vintages) code different activities with the "
                           "same letters, so select years of one classification")


def _parse_flags(df: pd.DataFrame, inp: InputFile, path: Path, notes: list, drops: dict) -> pd.DataFrame:
    """Reader flags -> tidy flags; text cells that are neither numbers nor markers stop the run."""
    df = df.copy()
    unparsed = df["flag"].eq("unparsed")
    if unparsed.any():
        reparsed = [parse_value(r, decimal=",", unit_base="percent") for r in df.loc[unparsed, "_raw"]]
        ok = [x.flag in ("", "suppressed", "absent") for x in reparsed]
        idx = df.index[unparsed]
        for i, x, good in zip(idx, reparsed, ok):
            if good:
                df.at[i, "value"], df.at[i, "flag"] = x.value, x.flag
        still = df["flag"].eq("unparsed")
        formula = still & df["_raw"].astype(str).str.startswith(FORMULA_MARK)
        if formula.any():  # refused even with unparsed = 'suppressed': the value exists, it is just not stored
            raise MappingError(f"{path}: formula cell(s) without a stored value: "
                               + format_items(_where(r) + f": ={str(r['_raw'])[len(FORMULA_MARK):]}"
                                              for _, r in df.loc[formula].iterrows())
                               + "; open the workbook in a spreadsheet program and save it (the values are then "
                               "stored), or replace the formulas by their values")
        if still.any():
            if inp.unparsed == "suppressed":
                notes.append(f"{int(still.sum())} text cell(s) read as suppressed (unparsed = 'suppressed')")
                df.loc[still, ["value", "flag"]] = [math.nan, "suppressed"]
            else:
                bad = df.loc[still]
                raise MappingError(f"{path}: cell(s) that are neither numbers nor known markers (… - x н/д): "
                                   + format_items(_where(r) + f": {r['_raw']!r}" for _, r in bad.iterrows())
                                   + "; fix them or set unparsed = 'suppressed'")
    # A year in which a whole level is empty (EMISS sections before 2019) is not published at all:
    # drop it with a reason rather than carry a column of "suppressed" cells.
    all_empty = df.groupby(["year", "level", "classification"])["flag"].transform(lambda f: f.eq("empty").all())
    if all_empty.any() and not all_empty.all():
        yrs = sorted(set(df.loc[all_empty, "year"]))
        drops[f"no figure published for the level in the year (every cell empty: {format_items(yrs)})"] = \
            int(all_empty.sum())
        df = df.loc[~all_empty]
    empty = df["flag"].eq("empty")
    if empty.any():
        notes.append(f"{int(empty.sum())} empty cell(s) read as suppressed (no figure published)")
        df.loc[empty, "flag"] = "suppressed"
        df.loc[empty, "value"] = math.nan
    foot = df["footnote"].astype(str).ne("")
    if foot.any():
        notes.append(f"footnote markers stripped from {int(foot.sum())} value cell(s): "
                     + ", ".join(sorted(set(df.loc[foot, "footnote"]))))
    inf = df["value"].abs().eq(math.inf)
    if inf.any():
        raise MappingError(f"{path}: value(s) that are not finite numbers: "
                           + format_items(_where(r) + f": {r['_raw']!r}" for _, r in df.loc[inf].iterrows()))
    neg = df["value"] < 0
    if neg.any():
        raise MappingError(f"{path}: negative value(s) where none is possible: "
                           + format_items(_where(r) + f": {r['value']:g}" for _, r in df.loc[neg].iterrows()))
    return df


def _where(r) -> str:
    sheet = f"sheet {r['source_sheet']!r}, " if r.get("source_sheet") else ""
    col = r["source_col"]
    cell = f"cell {col}{r['source_row']}" if sheet else f"line {r['source_row']}, column {col}"
    return f"{r['source_file']} {sheet}{cell}"


#: Indicators whose unit is implied when an export prints none: counts of things.
COUNT_UNITS = {"establishments": "count"}


def _unit(c: _Cells, inp: InputFile, path: Path, notes: list) -> tuple[Unit | None, float]:
    """The file's unit, converted to the configured one when both are given."""
    src = parse_unit(c.unit_text) if c.unit_text else None
    if c.unit_text and src is None and not inp.unit:
        raise MappingError(f"{path}: unit {c.unit_text!r} not understood; set unit (e.g. 'million RUB')")
    dst = parse_unit(inp.unit) if inp.unit else None
    if inp.unit and dst is None:
        raise MappingError(f"{path}: configured unit {inp.unit!r} not understood (e.g. 'million RUB', "
                           "'thousand persons', 'count', 'USD', 'percent')")
    if src is None and dst is None and c.indicator in COUNT_UNITS:
        # A count of organisations is in units whether or not the export prints "(единица)".
        u = parse_unit(COUNT_UNITS[c.indicator])
        notes.append(f"unit: the file states none; {u.name} taken for the count indicator '{c.indicator}'")
        return u, 1.0
    if src is None and dst is None:
        raise MappingError(f"{path}: the file states no unit; pass it for this input, e.g. "
                           "--option unit='thousand RUB' (or unit = ... in the config)")
    if src is not None and dst is not None:
        f = convert_factor(src, dst, where=f"{path}: the file says {c.unit_text!r}, the configuration says "
                                           f"{inp.unit!r}")
        if f != 1:
            notes.append(f"unit: {c.unit_text!r} ({src.name}) converted to {dst.name} (x {f:g})")
        else:
            notes.append(f"unit: {c.unit_text!r} = {dst.name}")
        return dst, f
    u = src or dst
    notes.append(f"unit: {c.unit_text!r} read as {u.name}" if src else f"unit: {u.name} (from the configuration)")
    return u, 1.0


def _sources(df: pd.DataFrame, inp: InputFile, c: _Cells) -> list[str]:
    """Provenance of each value: ``file!sheet!B12`` (workbook), ``file!R12C3`` (CSV), ``folder/file!R12:emp`` (CBP)."""
    prefix = inp.source or c.source_name
    sheets, rows, cols = df["source_sheet"].tolist(), df["source_row"].tolist(), df["source_col"].tolist()
    if c.fmt == "cbp":
        out = [f"{prefix}/{f}!R{r}:{col}" for f, r, col in zip(df["source_file"].tolist(), rows, cols)]
    else:
        out = [f"{prefix}!{sh}!{col}{r}" if sh else f"{prefix}!R{r}C{col}" for sh, r, col in zip(sheets, rows, cols)]
    if "_grp_source" in df.columns:
        out = [f"{o} * {g} / 100" for o, g in zip(out, df["_grp_source"].tolist())]
    return out


# --------------------------------------------------------------------------- checks and notes

def _checks(df: pd.DataFrame, regs: _Registries, indicator: str, unit: str) -> pd.DataFrame:
    """Every reported aggregate (country, district, parent of nested okrugs, B-E) vs the sum of its parts."""
    r = regs.regions.set_index("region_code")
    kind = df["region_code"].map(r["kind"])
    parent = r["parent_code"].to_dict()
    fd = r["federal_district"].to_dict()
    ctry = r["country"].to_dict() if "country" in r.columns else {}
    out = []
    keys = ["year", "classification", "level", "activity_code"]
    is_unit = kind.isin(["subject", "remainder"])
    is_agg = kind.isin(["country", "federal_district"])
    has_parent = df["region_code"].map(lambda c: bool(parent.get(c)))
    agg_by = {k: g for k, g in df.loc[is_agg].groupby(keys, sort=True)}
    nested_keys = set(df.loc[has_parent, keys].itertuples(index=False, name=None))
    units = df.loc[is_unit]
    for key, g in units.groupby(keys, sort=True):
        if key not in agg_by and key not in nested_keys:
            continue  # nothing reported to check against
        vals = dict(zip(g["region_code"], g["value"]))
        present = set(vals)
        top = {u for u in present if not parent.get(u)}
        for p in {parent[u] for u in present if parent.get(u)} - present:
            top |= {u for u in present if parent.get(u) == p}  # parent absent: its parts stand in
        if key in agg_by:
            for code, rep in zip(agg_by[key]["region_code"], agg_by[key]["value"]):
                is_country = r.at[code, "kind"] == "country"
                members = ({u for u in top if ctry.get(u, "") in ("", ctry.get(code, ""))} if is_country  # multi-country
                           else {u for u in top if fd.get(u) == code})
                out.append(_check_row(key, "country" if is_country else "federal district", code, rep,
                                      [vals[u] for u in members]))
        for p in sorted({parent[u] for u in present if parent.get(u)} & present):
            parts = [u for u in present if parent.get(u) == p]
            out.append(_check_row(key, "nested parent", p, vals[p], [vals[u] for u in parts]))
    # Activity aggregates such as B-E (sections B to E).
    acts = df.loc[~df["level"].isin(LEVELS) & df["activity_code"].str.fullmatch(r"[A-Z]-[A-Z]")]
    for (year, cls, code), g in acts.groupby(["year", "classification", "activity_code"]):
        lo, hi = code.split("-")
        members = [chr(x) for x in range(ord(lo), ord(hi) + 1)]
        sec = df.loc[(df["year"] == year) & (df["classification"] == cls) & df["activity_code"].isin(members)
                     & df["level"].eq("section")]
        for reg_code, rep in zip(g["region_code"], g["value"]):
            parts = sec.loc[sec["region_code"] == reg_code, "value"].tolist()
            if parts:
                out.append(_check_row((year, cls, "aggregate", code), "activity aggregate", reg_code, rep, parts))
    res = pd.DataFrame(out, columns=["year", "classification", "level", "activity_code", "check", "aggregate",
                                     "reported", "sum_of_parts", "difference", "rel_difference", "parts",
                                     "parts_without_value"])
    res.insert(0, "indicator", indicator)
    res.insert(1, "unit", unit)
    return res


def _check_row(key, check: str, code: str, reported: float, parts: list[float]) -> dict:
    arr = np.array(parts, dtype=float)
    s = float(np.nansum(arr))
    diff = s - reported if not math.isnan(reported) else math.nan
    rel = diff / reported if reported and not math.isnan(reported) else math.nan
    return {"year": int(key[0]), "classification": key[1], "level": key[2], "activity_code": key[3], "check": check,
            "aggregate": code, "reported": reported, "sum_of_parts": s, "difference": diff, "rel_difference": rel,
            "parts": len(parts), "parts_without_value": int(np.isnan(arr).sum())}


def _check_summary(checks: pd.DataFrame) -> list[dict]:
    """Per kind of check: how many, and the largest relative difference where all parts have values."""
    out = []
    if checks.empty:
        return out
    for kind, g in checks.groupby("check"):
        full = g.loc[g["parts_without_value"].eq(0) & g["rel_difference"].notna()]
        row = {"check": kind, "n": int(len(g)), "complete": int(len(full))}
        if not full.empty:
            w = full.loc[full["rel_difference"].abs().idxmax()]
            row.update({"max_abs_rel_difference": float(abs(w["rel_difference"])),
                        "worst": f"{w['aggregate']} {w['activity_code']} {int(w['year'])}: reported {w['reported']:.6g}, "
                                 f"sum of parts {w['sum_of_parts']:.6g}"})
        out.append(row)
    return out


def region_vintage(codes, regions: pd.DataFrame) -> str:
    """Name the region set of a Russian table: 83 (before 2014), 85 (2014-2022) or 89 subjects (from 2022)."""
    kind = dict(zip(regions["region_code"], regions["kind"]))
    subj = sorted(c for c in set(pd.unique(pd.Series(codes))) if kind.get(c) == "subject")
    n = len(subj)
    if not subj or not str(subj[0]).startswith("RU"):
        return f"{n} subject(s)"
    crimea = {"RU-X-CR", "RU-X-SEV"} & set(subj)
    new = {"RU-X-DPR", "RU-X-LPR", "RU-X-ZAP", "RU-X-KHE"} & set(subj)
    if n == 89:
        return "89 subjects (from 2022: with Crimea, Sevastopol and the four units added in 2022)"
    if n == 85 and len(crimea) == 2 and not new:
        return "85 subjects (2014-2022 set: with Crimea and Sevastopol)"
    if n == 83 and not crimea and not new:
        return "83 subjects (2008-2014 set: without Crimea and Sevastopol)"
    return f"{n} subjects (not a complete 83/85/89 set)"


def _vintage_note(tidy: pd.DataFrame, regs: _Registries, ledger: FileLedger) -> None:
    sets: dict[str, list[str]] = {}
    for (ind, year), g in tidy.groupby(["indicator", "year"]):
        sets.setdefault(region_vintage(g["region_code"], regs.regions), []).append(f"{ind} {year}")
    for name, where in sets.items():
        ledger.notes.append(f"region set: {name}" + (f" ({format_items(where, 4)})" if len(sets) > 1 else ""))


def _nesting_note(tidy: pd.DataFrame, regs: _Registries, ledger: FileLedger) -> None:
    r = regs.regions.set_index("region_code")
    codes = set(tidy["region_code"].unique())
    parents = sorted({r.at[c, "parent_code"] for c in codes if c in r.index and r.at[c, "parent_code"]})
    both = [p for p in parents if p in codes]
    aggs = sorted(c for c in codes if r.at[c, "kind"] in ("country", "federal_district"))
    if both:
        ledger.notes.append(f"nested units: {', '.join(both)} and their parts are both in the file; the run keeps "
                            "one side (geodata.nested_units) and drops the other, so nothing is counted twice")
    if aggs:
        ledger.notes.append(f"{len(aggs)} aggregate unit(s) ({format_items(aggs, 3)}) used only as checks: the sum "
                            "of their units is compared with the reported value")
