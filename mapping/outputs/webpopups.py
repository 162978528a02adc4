"""The web map's popups and tooltips, as the numbers of their HTML pieces (``CM_TEXT`` in ``map.html``).

A popup is cut into pieces: runs of tags, and the text between them (:data:`PIECE`); the page holds
each distinct piece once and a feature the numbers of its pieces. A 3,000-region run has ~60,000
popups of several million pieces, so they are built here without cutting finished HTML apart: every
run of tags is written between two :data:`SEP` marks, text as is (escaped, so it never holds a
``<``). Adjacent runs of tags then meet as ``SEP SEP``, which is dropped so they join into one piece
as the regular expression would join them; the remaining marks are where the pieces end
(:func:`encode`). Without the marks the text is the popup's HTML.

Values from the data are HTML-escaped once per distinct value (:class:`_Escape`).
"""

from __future__ import annotations

import html
import re

import geopandas as gpd
import numpy as np
import pandas as pd

from mapping.outputs.names import display_name
from mapping.outputs.statusmix import CONTRACT_STATUSES, STATUS_COLOURS, STATUS_LABELS, mix_colour, mix_label
from mapping.outputs.styles import NO_GROUP_COLOUR

__all__ = ["SEP", "PIECE", "candidate_popups", "divergence_popups", "supported_popups", "encode", "mark", "e",
           "POPUP_PAIRS", "CERTAINTY_COLUMNS"]

#: Between a run of tags and the text beside it (never in the page: see :func:`encode`).
SEP = "\x00"
_END = "\x01"  # between two popups in :func:`encode`
#: Runs of tags, and the text between them: the pieces popups are cut into.
PIECE = re.compile(r"(?:<[^>]*>)+|[^<]+")
_TAGS = re.compile(r"((?:<[^>]*>)+)")
#: Pairs listed in a region's popup (the rest are counted and left to divergence_pairs.csv).
POPUP_PAIRS = 40
#: Where a run states how certain a specialisation call is (mapping/analysis/uncertainty.py: certain / possible / no).
CERTAINTY_COLUMNS = ("specialisation_call", "certainty")
_BR = f"{SEP}<br>{SEP}"


def e(v) -> str:
    """HTML-escaped text of a value ('' for missing)."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    return html.escape(str(v), quote=True)


class _Escape:
    """:func:`e` of each distinct value once; the marks :data:`SEP` and ``_END`` (control characters no name
    holds) become U+FFFD so data never cuts a popup."""

    def __init__(self):
        self.cache: dict = {}

    def __call__(self, v) -> str:
        try:
            return self.cache[v]
        except KeyError:
            out = e(v)
            if SEP in out or _END in out:
                out = out.replace(SEP, "\ufffd").replace(_END, "\ufffd")
            self.cache[v] = out
            return out
        except TypeError:  # unhashable
            return e(v)


def mark(text: str) -> str:
    """``text`` (finished HTML) with every run of tags between :data:`SEP` marks (small layers, legends)."""
    return _TAGS.sub(f"{SEP}\\1{SEP}", text)


def _lq(v) -> str:
    return "n/a" if v is None or pd.isna(v) else f"{float(v):.2f}"


def _list(values: str, sep: str = ";") -> list[str]:
    return [v for v in str(values).split(sep) if v]


def _certainty(get, esc=e) -> str:
    """The certainty call (``certain`` / ``possible`` / ``no``) where the run has one (text, no tags)."""
    for c in CERTAINTY_COLUMNS:
        v = get(c)
        if v is not None and not (isinstance(v, float) and pd.isna(v)) and str(v):
            lo, hi = get("lq_low"), get("lq_high")
            bounds = (f" (LQ bounds {_lq(lo)}–{_lq(hi)})" if lo is not None and hi is not None
                      and pd.notna(lo) and pd.notna(hi) and lo != hi else "")
            return esc(v) + bounds
    return "not assessed"


def _columns(frame: pd.DataFrame, names) -> dict[str, list]:
    """Plain Python values of the columns present (as ``to_dict("records")`` gives them); None elsewhere."""
    n = len(frame)
    return {c: (frame[c].to_numpy(dtype=object).tolist() if c in frame.columns else [None] * n) for c in names}


def _certainties(cols: dict[str, list], esc) -> list[str]:
    """:func:`_certainty` of every row of the columns present (``cols`` holds only those)."""
    n = len(next(iter(cols.values()))) if cols else 0
    calls = [cols[c] for c in CERTAINTY_COLUMNS if c in cols]
    lo, hi = cols.get("lq_low", [None] * n), cols.get("lq_high", [None] * n)
    out = []
    for i in range(n):
        text = "not assessed"
        for col in calls:
            v = col[i]
            if v is not None and not (isinstance(v, float) and v != v) and str(v):
                a, b = lo[i], hi[i]
                bounds = (f" (LQ bounds {_lq(a)}–{_lq(b)})" if a is not None and b is not None
                          and pd.notna(a) and pd.notna(b) and a != b else "")
                text = esc(v) + bounds
                break
        out.append(text)
    return out


def _once(func, *columns) -> list:
    """``func`` of each row's values, computed once per distinct combination."""
    cache: dict = {}
    out = []
    for key in zip(*columns):
        try:
            v = cache[key]
        except KeyError:
            v = cache[key] = func(*key)
        except TypeError:
            v = func(*key)
        out.append(v)
    return out


def _row(k: str, v: str) -> str:
    """One row of the key/value table, marked; ``k`` may start with tags (a swatch)."""
    return f"{SEP}<tr><th>{SEP}{k}{SEP}</th><td>{SEP}{v}{SEP}</td></tr>{SEP}"


def candidate_popups(cand: pd.DataFrame, supported_names: dict[str, str]) -> tuple[list[str], list[str]]:
    """Marked popup and tooltip of every candidate, in the frame's order."""
    esc = _Escape()
    used = ["candidate_id", "group_id", "group_name", "group_label", "region_names", "region_names_en",
            "activity_codes", "activity_names", "activity_names_en", "supported_cluster_ids", "max_lq", "indicators",
            "year", "n_regions"]
    c = _columns(cand, used)
    present = [k for k in (*CERTAINTY_COLUMNS, "lq_low", "lq_high") if k in cand.columns]
    cert = _certainties(_columns(cand, present), esc)
    has_name = "group_name" in cand.columns

    def regions(ru, en):
        return _BR.join(f"{esc(a)} / {esc(b)}" for a, b in zip(_list(ru), _list(en)))

    def acts(codes, ru, en):
        return _BR.join(f"{SEP}<b>{SEP}{esc(k)}{SEP}</b>{SEP} {esc(b)} / {SEP}<i>{SEP}{esc(display_name(a))}{SEP}</i>{SEP}"
                        for k, a, b in zip(_list(codes), _list(ru), _list(en)))

    def sups(ids):
        return _BR.join(f"{esc(i)}: {esc(supported_names.get(i, ''))}" for i in _list(ids)) or "none"

    def group(gid, name, label):
        return esc(f"{gid}: {(name if has_name else '') or label}")

    def tip_acts(en):
        return esc(", ".join(_list(en)))

    reg = _once(regions, c["region_names"], c["region_names_en"])
    act = _once(acts, c["activity_codes"], c["activity_names"], c["activity_names_en"])
    sup = _once(sups, c["supported_cluster_ids"])
    grp = _once(group, c["group_id"], c["group_name"], c["group_label"])
    ind = _once(lambda v: esc(v.replace(";", ", ")), c["indicators"])
    tip = _once(tip_acts, c["activity_names_en"])
    popups, tips = [], []
    for i, cid in enumerate(c["candidate_id"]):
        ec = esc(cid)
        popups.append(f"{SEP}<div class='cm-popup'><h4>{SEP}Candidate cluster {ec}{SEP}</h4><table class='cm-kv'>{SEP}"
                      + _row("co-location group", grp[i]) + _row("regions", reg[i]) + _row("activities", act[i])
                      + _row("max LQ", _lq(c["max_lq"][i])) + _row("indicators", ind[i])
                      + _row("certainty", cert[i]) + _row("supported clusters", sup[i])
                      + _row("year", esc(c["year"][i])) + f"{SEP}</table></div>{SEP}")
        tips.append(f"{ec}: {tip[i]} ({esc(c['n_regions'][i])} region(s))")
    return popups, tips


def _pair_rows(pairs: pd.DataFrame, esc) -> tuple[list[str], list]:
    """Marked table row of every pair (sorted by region, status, then LQ descending) and its region code."""
    order = {s: i for i, s in enumerate(CONTRACT_STATUSES)}
    used = ["region_code", "status", "lq_max", "activity_code", "activity_name", "activity_name_en",
            "lq_by_indicator", "supported_cluster_names"]
    p = pairs[[k for k in used if k in pairs.columns]]
    # The sort of the records by (region, status order, -LQ), stable.
    key = pd.DataFrame({"r": p["region_code"].to_numpy(dtype=object),
                        "o": [order.get(s, 9) for s in p["status"].tolist()],
                        "l": [-(v if pd.notna(v) else 0) for v in p["lq_max"].tolist()]})
    idx = key.sort_values(["r", "o", "l"], kind="stable").index.to_numpy()
    p = p.iloc[idx]
    c = _columns(p, used)
    present = [k for k in (*CERTAINTY_COLUMNS, "lq_low", "lq_high") if k in pairs.columns]
    cert = _certainties(_columns(pairs[present].iloc[idx], present), esc)

    def status(s):
        return f"{SEP}<tr><td><span class='cm-swatch' style='background:{STATUS_COLOURS.get(s, NO_GROUP_COLOUR)}'></span>{SEP}{esc(s)}"

    def activity(code, ru, en):
        return f"{SEP}</td><td><b>{SEP}{esc(code)}{SEP}</b>{SEP} {esc(en)}{SEP}<br><i>{SEP}{esc(display_name(ru))}{SEP}</i></td><td>{SEP}"

    def lqs(text):
        return _BR.join(esc(x.replace("=", ": ")) for x in _list(text)) or "n/a"

    def names(text):
        return _BR.join(esc(n) for n in _list(text)) or "—"

    st = _once(status, c["status"])
    ac = _once(activity, c["activity_code"], c["activity_name"], c["activity_name_en"])
    lq = _once(lqs, c["lq_by_indicator"])
    nm = _once(names, c["supported_cluster_names"])
    rows = [f"{a}{b}{q}{SEP}</td><td>{SEP}{k}{SEP}</td><td>{SEP}{n}{SEP}</td></tr>{SEP}"
            for a, b, q, k, n in zip(st, ac, lq, cert, nm)]
    return rows, c["region_code"]


_PAIRS_HEAD = (f"{SEP}<table class='cm-pairs'><tr><th>{SEP}status{SEP}</th><th>{SEP}activity{SEP}</th><th>{SEP}"
               f"LQ by indicator{SEP}</th><th>{SEP}certainty{SEP}</th><th>{SEP}supported cluster{SEP}</th></tr>{SEP}")


def divergence_popups(div: gpd.GeoDataFrame, pairs: pd.DataFrame | None) -> tuple[list[str], list[str]]:
    """Marked popup and tooltip of every region: its status mix, counts per status and first pairs."""
    esc = _Escape()
    detail: dict = {}
    if pairs is not None and len(pairs):
        rows, codes = _pair_rows(pairs, esc)
        bounds = np.flatnonzero(np.r_[True, np.asarray(codes[1:], dtype=object) != np.asarray(codes[:-1], dtype=object),
                                      True]) if codes else []
        for a, b in zip(bounds[:-1], bounds[1:]):
            text = _PAIRS_HEAD + "".join(rows[a:min(b, a + POPUP_PAIRS)]) + f"{SEP}</table>{SEP}"
            if b - a > POPUP_PAIRS:
                text += f"{SEP}<p>{SEP}… and {b - a - POPUP_PAIRS} more pairs in divergence_pairs.csv{SEP}</p>{SEP}"
            detail.setdefault(codes[a], text)
    cols = ["region_code", "region_name", "region_name_en", "federal_district", "year", "status_mix", "n_pairs",
            *[f"n_{s}" for s in CONTRACT_STATUSES]]
    c = _columns(div, cols)
    has = {k: k in div.columns for k in cols}
    popups, tips = [], []
    for i, code in enumerate(c["region_code"]):
        mix = c["status_mix"][i]
        counts = [(s, int((c[f"n_{s}"][i] if has[f"n_{s}"] else 0) or 0)) for s in CONTRACT_STATUSES]
        head = (f"{SEP}<h4>{SEP}{esc(c['region_name'][i])}{SEP}</h4><p>{SEP}{esc(c['region_name_en'][i])} · {esc(code)} · "
                f"{esc(c['federal_district'][i] if has['federal_district'] else '')} · {esc(c['year'][i])}"
                f"{SEP}</p><p><span class='cm-swatch' style='background:{mix_colour(mix)}'></span>{SEP}"
                f"{esc(mix_label(mix))}{SEP}</p>{SEP}")
        table = "".join(_row(f"{SEP}<span class='cm-swatch' style='background:{STATUS_COLOURS[s]}'></span>{SEP}"
                             f"{esc(STATUS_LABELS[s][0])}", str(n)) for s, n in counts if n)
        popups.append(f"{SEP}<div class='cm-popup'>{SEP}" + head + f"{SEP}<table class='cm-kv'>{SEP}" + table
                      + f"{SEP}</table>{SEP}" + detail.get(code, "") + f"{SEP}</div>{SEP}")
        tips.append(f"{esc(c['region_name_en'][i])} ({esc(c['region_name'][i])}): {esc(mix_label(mix))}, "
                    f"{esc(c['n_pairs'][i])} pairs")
    return popups, tips


def supported_popups(sup: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Marked popup and tooltip of every supported cluster (a few dozen: written as HTML, then marked)."""
    popups, tips = [], []
    for _, r in sup.iterrows():
        rows = [("cluster", e(r["cluster_id"])), ("programme", e(r["programme"])),
                ("regions", "<br>".join(e(x) for x in _list(r["region_names"]))),
                ("cluster activities", e(r["cluster_activity_codes"].replace(";", ", "))),
                ("compared as", e(r["activity_codes"].replace(";", ", "))),
                ("status", f"<span class='cm-swatch' style='background:{STATUS_COLOURS[r['status']]}'></span>"
                           f"{e(r['status'])}"),
                ("best LQ", f"{_lq(r['best_lq'])} {e(r['best_lq_indicator'])}"),
                ("certainty", _certainty(r.get)),
                ("specialised pairs", e(r["specialised_pairs"].replace(";", ", ")) or "none"),
                ("note", e(r["granularity_note"]))]
        text = ("<div class='cm-popup'>" + f"<h4>{e(r['name_ru'])}</h4><p>{e(r['name_en'])}</p>"
                + "<table class='cm-kv'>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
                + "</table></div>")
        popups.append(mark(text.replace(SEP, "\ufffd").replace(_END, "\ufffd")))
        tips.append(mark(f"{e(r['name_en'])}: {e(r['status'])}".replace(SEP, "\ufffd").replace(_END, "\ufffd")))
    return popups, tips


def encode(marked: list[str]) -> tuple[list[str], list[str]]:
    """The pieces of every marked text, numbered in order of first appearance.

    Returns
    -------
    (numbers, pieces)
        Per text, the JSON text of the list of its pieces' numbers (``"[0, 1, 2]"``; a text without pieces,
        ``""``, stays the JSON string ``'""'``); and the distinct pieces, in the order of their numbers
        (``CM_TEXT``).
    """
    if not marked:
        return [], []
    # One split for all texts: each text's end becomes a piece of its own (dropped after numbering); an
    # empty piece is only ever a text's leading or trailing mark.
    joined = _END.join(marked).replace(SEP + SEP, "").replace(_END, SEP + _END + SEP)
    tokens = np.array(joined.split(SEP), dtype=object)
    end = tokens == _END
    keep = ~end & (tokens != "")
    owner = np.cumsum(end)[keep]
    codes, uniques = pd.factorize(tokens[keep], sort=False)
    counts = np.bincount(owner, minlength=len(marked))
    # The numbers' text for all texts in one join, then cut per text.
    names = np.array([str(k) for k in range(len(uniques))], dtype=object)
    width = np.array([len(x) + 2 for x in names])[codes]  # ", " after each
    text = ", ".join(names[codes].tolist())
    stop = np.cumsum(width)
    first = np.r_[0, np.cumsum(counts)[:-1]]
    out = []
    for a, n in zip(first.tolist(), counts.tolist()):
        if n:
            lo = int(stop[a - 1]) if a else 0
            out.append("[" + text[lo:int(stop[a + n - 1]) - 2] + "]")
        else:  # no piece: the HTML is empty, kept as a string (as before pieces)
            out.append('""')
    return out, list(uniques)
