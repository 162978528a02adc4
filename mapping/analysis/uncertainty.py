"""Bounds on cells and location quotients where the published figures are rounded, suppressed or ranges.

Every activity cell gets an interval ``[value_low, value_high]`` that holds its true value:

* a plain cell is exact (``value_low == value_high == value``) unless the input gives wider bounds;
* a ``rounded`` or ``derived`` cell matched by a rounding rule is ``value +- half_width x base`` (e.g.
  Rosstat's GVA shares are printed to 0.1 percentage point: +-0.05 pp of the region's GVA);
* a ``suppressed`` cell is ``[value_low or 0, value_high or infinity]``;
* a ``range`` cell (e.g. a US CBP size-class letter) is ``[value_low, value_high]``.

The intervals are then narrowed by the totals that are known: the region's ``level = total`` row
(an equality where the indicator's total is the exact sum of its activities, otherwise an upper
bound), the nearest coarser activity present in the data for the same region (an upper bound on its
children), and national totals supplied as separate rows (an equality within a tolerance). Each pass
applies ``cell <= known - (sum of the others' lower bounds)`` and ``cell >= known - (sum of the
others' upper bounds)``; the published value of a cell is never excluded.

The LQ of a cell is ``f = v (v + a + b + c) / ((v + a) (v + b))`` with ``v`` the cell, ``a`` the
region's other cells, ``b`` the activity's other regions and ``c`` everything else. ``f`` falls in
``a`` and ``b``, rises in ``c`` and, for fixed others, rises in ``v`` up to
``v* = (ab + sqrt(ab (ab + c (a + b + c)))) / c`` and then falls. Its extremes over the (narrowed)
independent intervals are therefore exact: the maximum at ``a, b`` low, ``c`` high and ``v`` at
``v*`` clipped to its interval; the minimum at ``a, b`` high, ``c`` low and ``v`` at an end.

Where every region's total is a published equality (``region_total_source == "published"``, e.g.
GRP = sum of GVA by section), the region total ``T`` and the national total ``N`` are fixed and the
LQ is ``v N / (T (v + b))``: rising in ``v``, falling in ``b``. Its extremes over the cell intervals
(each already narrowed to ``[max(lo, T - sum of the others' highs), min(hi, T - sum of the others'
lows)]``, the exact range of a cell on the box cut by the equality) are ``v_lo N / (T (v_lo + b_hi))``
and ``v_hi N / (T (v_hi + b_lo))``, exact because ``b`` sums cells of other regions, which vary
independently. Without equalities (totals that are only upper bounds, national totals that tie a
column together) the bounds above are valid but may be wider than the exact ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chi2

from mapping.errors import MappingError

__all__ = ["RoundingRule", "cell_bounds", "tighten_bounds", "prepare_cells", "lq_bounds", "poisson_lq_interval"]

_GROUP = ["year", "indicator", "classification", "level"]
#: Stand-in for an unbounded interval end in the closed-form extremes (relative to the group total).
_BIG_FACTOR = 1e9


@dataclass(frozen=True)
class RoundingRule:
    """Cells of ``indicator`` with ``flag`` are known to +- ``half_width`` x base.

    ``relative_to``: ``"region_total"`` (base = the region's ``level = total`` row of the indicator,
    e.g. a share of GRP printed to 0.1 pp has ``half_width = 0.0005``), ``"value"`` (relative
    rounding) or ``"absolute"`` (base = 1, in the indicator's unit).
    """

    indicator: str
    flag: str = "derived"
    half_width: float = 0.0005
    relative_to: str = "region_total"


def cell_bounds(tidy: pd.DataFrame, rounding: tuple[RoundingRule, ...] = ()) -> pd.DataFrame:
    """Initial interval of every row from its flag, its bounds columns and the rounding rules.

    Parameters
    ----------
    tidy : DataFrame
        Tidy rows (``mapping.schema.TIDY_COLUMNS``, optionally ``value_low``/``value_high``).
    rounding : tuple of RoundingRule

    Returns
    -------
    DataFrame
        ``tidy`` with float columns ``value_low`` and ``value_high`` (``inf`` = no upper bound).

    Examples
    --------
    >>> t = pd.DataFrame({"year": 2021, "indicator": "e", "classification": "X", "level": "section",
    ...     "region_code": "a", "activity_code": ["p", "q"], "value": [5.0, None],
    ...     "flag": ["", "suppressed"]})
    >>> cell_bounds(t)[["value_low", "value_high"]].to_numpy().tolist()
    [[5.0, 5.0], [0.0, inf]]
    """
    df = tidy.copy(deep=False)  # copy-on-write: columns set here never reach the caller's frame
    given_lo = df["value_low"].astype(float) if "value_low" in df else pd.Series(np.nan, index=df.index)
    given_hi = df["value_high"].astype(float) if "value_high" in df else pd.Series(np.nan, index=df.index)
    v = df["value"].astype(float)
    lo = v.copy()
    hi = v.copy()
    open_cell = df["flag"].isin(["suppressed", "range"]) | v.isna()
    lo[open_cell] = given_lo[open_cell].fillna(0.0)
    hi[open_cell] = given_hi[open_cell].fillna(np.inf)
    if rounding:
        rk = ["year", "indicator", "classification", "region_code"]
        tot = df.loc[df["level"] == "total", rk + ["value"]].drop_duplicates(rk).rename(columns={"value": "_t"})
        region_total = pd.Series(df[rk].merge(tot, on=rk, how="left")["_t"].to_numpy(), index=df.index)
        for rule in rounding:
            hit = (df["indicator"] == rule.indicator) & (df["flag"] == rule.flag) & v.notna()
            if not hit.any():
                continue
            if rule.relative_to == "region_total":
                base = region_total[hit]
                if base.isna().any():
                    r = df.loc[hit & base.reindex(df.index).isna()].iloc[0]
                    raise MappingError(f"rounding rule for {rule.indicator!r}: no region total (level = total) "
                                       f"for {r['region_code']} in {r['year']}; the half-width is relative to it")
            elif rule.relative_to == "value":
                base = v[hit]
            elif rule.relative_to == "absolute":
                base = pd.Series(1.0, index=df.index)[hit]
            else:
                raise MappingError(f"rounding rule for {rule.indicator!r}: relative_to must be region_total, "
                                   f"value or absolute, got {rule.relative_to!r}")
            hw = rule.half_width * base
            lo[hit] = np.maximum(v[hit] - hw, 0.0)
            hi[hit] = v[hit] + hw
    # Explicit bounds on a cell with a value are its interval (intersected with a rounding rule's),
    # never excluding the value itself.
    widened = lo < hi
    glo = np.where(widened, np.maximum(lo, given_lo), given_lo)
    ghi = np.where(widened, np.minimum(hi, given_hi), given_hi)
    lo = np.where(given_lo.notna() & ~open_cell, np.minimum(glo, v), lo)
    hi = np.where(given_hi.notna() & ~open_cell, np.maximum(ghi, v), hi)
    df["value_low"] = np.asarray(lo, dtype=float)
    df["value_high"] = np.asarray(hi, dtype=float)
    return df


def _inf_sum(x: pd.Series, by) -> tuple[pd.Series, pd.Series]:
    """Group sums of the finite part and the number of infinite members, aligned to ``x`` (``by``: group keys,
    e.g. integer codes)."""
    fin = x.where(np.isfinite(x), 0.0)
    ninf = (~np.isfinite(x)).astype(int)
    return fin.groupby(by, sort=False).transform("sum"), ninf.groupby(by, sort=False).transform("sum")


def _apply_constraint(df: pd.DataFrame, member: pd.Series, group: np.ndarray, known_lo: pd.Series,
                      known_hi: pd.Series) -> int:
    """One tightening pass of ``known_lo <= sum(cells in group) <= known_hi`` (in place).

    ``member`` selects the rows that take part; ``group`` is each row's group (integer codes of the
    key columns, aligned on ``df``); ``known_lo``/``known_hi`` the bounds of each member's group
    (aligned on ``df``). Returns the number of cells narrowed.
    """
    sub = df.loc[member]
    if sub.empty:
        return 0
    by = pd.Series(group[member.to_numpy()], index=sub.index)
    lo, hi = sub["value_low"], sub["value_high"]
    s_lo = lo.groupby(by, sort=False).transform("sum")
    s_hi_fin, s_hi_inf = _inf_sum(hi, by)
    k_lo, k_hi = known_lo[member], known_hi[member]
    new_hi = np.minimum(hi, k_hi - (s_lo - lo))
    others_hi_inf = (s_hi_inf - (~np.isfinite(hi)).astype(int)) > 0
    others_hi = s_hi_fin - hi.where(np.isfinite(hi), 0.0)
    new_lo = np.where(others_hi_inf | k_lo.isna(), lo, np.maximum(lo, k_lo - others_hi))
    new_lo = pd.Series(new_lo, index=sub.index).clip(lower=0.0)
    new_hi = pd.Series(np.where(k_hi.isna(), hi, new_hi), index=sub.index)
    v = sub["value"]
    # Never exclude a published value (totals may disagree with the parts by rounding).
    new_hi = np.where(v.notna(), np.maximum(new_hi, v), new_hi)
    new_lo = np.where(v.notna(), np.minimum(new_lo, v), new_lo)
    new_hi = np.maximum(new_hi, new_lo)
    changed = (new_hi < hi - 1e-12 * np.maximum(1, np.abs(hi.where(np.isfinite(hi), 0)))) | (new_lo > lo + 1e-12)
    df.loc[member, "value_low"] = new_lo
    df.loc[member, "value_high"] = new_hi
    return int(np.asarray(changed).sum())


def _ancestor_map(activities: pd.DataFrame | None) -> dict[tuple[str, str], list[str]]:
    """(classification, code) -> its ancestors, nearest first, from the registry's ``parent_code``."""
    if activities is None or activities.empty:
        return {}
    parent = {(c, k): (p if isinstance(p, str) else "") for c, k, p in
              zip(activities["classification"], activities["code"], activities["parent_code"].fillna(""))}
    out = {}
    for (c, k) in parent:
        chain, p, seen = [], parent[(c, k)], set()
        while p and p not in seen:
            chain.append(p)
            seen.add(p)
            p = parent.get((c, p), "")
        out[(c, k)] = chain
    return out


def _lookup(df: pd.DataFrame, table: pd.DataFrame, keys: list[str]) -> tuple[pd.Series, pd.Series]:
    """``value_low``/``value_high`` of ``table`` matched to each row of ``df`` on ``keys`` (NaN if none)."""
    t = table[keys + ["value_low", "value_high"]].drop_duplicates(keys)
    j = df[keys].merge(t, on=keys, how="left")
    return (pd.Series(j["value_low"].to_numpy(), index=df.index),
            pd.Series(j["value_high"].to_numpy(), index=df.index))


def _nearest_present_ancestor(rows: pd.DataFrame, anc: dict[tuple[str, str], list[str]]) -> np.ndarray:
    """For each activity row, the position (in ``rows``) of the first row of its nearest ancestor present
    for the same year, indicator, classification and region; -1 where none is.

    Ancestors are tried nearest first, one generation at a time, on integer codes of the keys.
    """
    from mapping.analysis.frames import _combine

    act_code, act_values = pd.factorize(rows["activity_code"], use_na_sentinel=False)
    cls_code, cls_values = pd.factorize(rows["classification"], use_na_sentinel=False)
    # Each row's chain of ancestors present among the rows' activities (an absent one is never found, so
    # it is left out), from its distinct (classification, activity) pairs.
    pair, pairs = pd.factorize(pd.Series(cls_code.astype(np.int64) * len(act_values) + act_code))
    index_of = {a: i for i, a in enumerate(act_values)}
    chains = [[index_of[p] for p in anc.get((cls_values[int(k) // len(act_values)],
                                             act_values[int(k) % len(act_values)]), []) if p in index_of]
              for k in pairs]
    if not any(chains):  # no activity has an ancestor among the rows (e.g. a single level of data)
        return np.full(len(rows), -1, np.int64)
    keys = ["year", "indicator", "classification", "region_code"]
    per, sizes = [], []
    for k in keys:
        c, u = pd.factorize(rows[k], use_na_sentinel=False)
        per.append(c.astype(np.int64))
        sizes.append(len(u))
    n_act = len(act_values)
    base = _combine(per, sizes) * n_act
    present, first = np.unique(base + act_code, return_index=True)
    out = np.full(len(rows), -1, np.int64)
    todo = np.ones(len(rows), bool)
    depth = max((len(c) for c in chains), default=0)
    for d in range(depth):
        anc_d = np.array([c[d] if d < len(c) else -1 for c in chains], np.int64)[pair]
        look = todo & (anc_d >= 0)
        if not look.any():
            break
        key = base[look] + anc_d[look]
        at = np.clip(np.searchsorted(present, key), 0, max(len(present) - 1, 0))
        found = present[at] == key
        idx = np.flatnonzero(look)
        out[idx[found]] = first[at[found]]
        todo[idx[found]] = False
    return out


def tighten_bounds(cells: pd.DataFrame, *, exact_totals: tuple[str, ...] = (),
                   activities: pd.DataFrame | None = None, known_totals: pd.DataFrame | None = None,
                   known_tolerance: float = 1e-3, passes: int = 3) -> tuple[pd.DataFrame, dict]:
    """Narrow cell intervals with the known totals (see the module docstring).

    Parameters
    ----------
    cells : DataFrame
        Output of :func:`cell_bounds` (activity rows and ``level == "total"`` rows).
    exact_totals : tuple of str
        Indicators whose region ``total`` row is the exact sum of their activities at each level
        (e.g. GRP = sum of GVA by section); otherwise the total is only an upper bound.
    activities : DataFrame, optional
        Activity registry (``classification, code, parent_code``); the nearest ancestor present in
        the data for the same region bounds the sum of its children from above.
    known_totals : DataFrame, optional
        National totals: ``year, indicator, classification, level, activity_code, value`` (and
        optional ``value_low/value_high``); the sum over the run's regions must match within
        ``known_tolerance`` (relative).
    passes : int
        Tightening passes over all constraints.

    Returns
    -------
    cells : DataFrame
        Same rows with narrowed ``value_low``/``value_high``.
    info : dict
        Number of cells narrowed per constraint kind.
    """
    df = cells.reset_index(drop=True)  # positional work below; the caller's index is restored at the end
    act = df["level"] != "total"
    info = {"region_total": 0, "parent_activity": 0, "national_total": 0}
    # Region totals, per level.
    rkeys = ["year", "indicator", "classification", "region_code"]
    t_lo, t_hi = _lookup(df, df.loc[~act], rkeys)
    exact = df["indicator"].isin(exact_totals)
    t_lo = t_lo.where(exact)
    # Parent activities present in the data for the same region.
    anc = _ancestor_map(activities)
    par_lo = pd.Series(np.nan, index=df.index)
    par_hi = pd.Series(np.nan, index=df.index)
    par_code = np.full(len(df), "", dtype=object)
    if anc:
        rows = np.flatnonzero(act.to_numpy())
        pos = _nearest_present_ancestor(df.iloc[rows], anc)
        hit = pos >= 0
        hi_v, lo_v = df["value_high"].to_numpy(dtype=float), df["value_low"].to_numpy(dtype=float)
        codes = df["activity_code"].to_numpy(dtype=object)
        src = rows[np.maximum(pos, 0)]
        par_hi.iloc[rows] = np.where(hit, hi_v[src], np.nan)
        par_lo.iloc[rows] = np.where(hit, lo_v[src], np.nan)
        par_code[rows[hit]] = codes[src[hit]]
    # National totals.
    n_lo = pd.Series(np.nan, index=df.index)
    n_hi = pd.Series(np.nan, index=df.index)
    if known_totals is not None and len(known_totals):
        n_lo, n_hi = _lookup(df, cell_bounds(known_totals), _GROUP + ["activity_code"])
        n_lo, n_hi = n_lo * (1 - known_tolerance), n_hi * (1 + known_tolerance)
        n_lo = n_lo.where(act)
        n_hi = n_hi.where(act)
    # The groups of each constraint, as integer codes computed once (the passes only change the bounds).
    from mapping.analysis.frames import KeyCodes

    groups: dict[str, np.ndarray] = {}
    codes = KeyCodes(df.assign(_parent=par_code))

    def group(kind: str, keys: list[str]) -> np.ndarray:
        if kind not in groups:
            groups[kind] = codes.codes(keys, sort=False)[0]
        return groups[kind]

    for _ in range(passes):
        changed = 0
        m = act & t_hi.notna()
        if m.any():
            n = _apply_constraint(df, m, group("region", ["year", "indicator", "classification", "level",
                                                          "region_code"]), t_lo, t_hi)
            info["region_total"] += n
            changed += n
        m = act & par_hi.notna()
        if m.any():
            n = _apply_constraint(df, m, group("parent", ["year", "indicator", "classification", "level",
                                                          "region_code", "_parent"]),
                                  pd.Series(np.nan, index=df.index), par_hi)
            info["parent_activity"] += n
            changed += n
        m = act & n_hi.notna()
        if m.any():
            n = _apply_constraint(df, m, group("national", _GROUP + ["activity_code"]), n_lo, n_hi)
            info["national_total"] += n
            changed += n
        if not changed:
            break
    df.index = cells.index
    return df, info


def prepare_cells(tidy: pd.DataFrame, *, rounding: tuple[RoundingRule, ...] = (), exact_totals: tuple[str, ...] = (),
                  activities: pd.DataFrame | None = None, known_totals: pd.DataFrame | None = None,
                  known_tolerance: float = 1e-3, range_point: str = "midpoint") -> tuple[pd.DataFrame, dict]:
    """Bounds for every cell, narrowed by the known totals, and point values for ``range`` cells.

    A ``range`` cell has no published value; with ``range_point = "midpoint"`` its point value
    (used for the point LQ and the national sums) is the midpoint of its narrowed interval, or its
    lower bound when the interval is open. ``"missing"`` leaves it empty like a suppressed cell.

    Returns
    -------
    cells : DataFrame
        ``tidy`` with ``value_low``, ``value_high`` and possibly imputed ``value``.
    info : dict
        Counts of narrowed cells and imputed range cells.
    """
    cells = cell_bounds(tidy, rounding)
    cells, info = tighten_bounds(cells, exact_totals=exact_totals, activities=activities,
                                 known_totals=known_totals, known_tolerance=known_tolerance)
    rng = (cells["flag"] == "range") & cells["value"].isna()
    if range_point == "midpoint" and rng.any():
        lo, hi = cells.loc[rng, "value_low"], cells.loc[rng, "value_high"]
        cells.loc[rng, "value"] = np.where(np.isfinite(hi), (lo + hi) / 2.0, lo)
    elif range_point not in ("midpoint", "missing"):
        raise MappingError(f"range_point must be 'midpoint' or 'missing', got {range_point!r}")
    info["range_cells_imputed"] = int(rng.sum()) if range_point == "midpoint" else 0
    return cells, info


def _lq_f(v, a, b, c):
    """``v (v + a + b + c) / ((v + a)(v + b))``; at ``v = 0`` its limit from above.

    The limit is 0 when ``a, b > 0``; ``(a + c) / a`` when only ``b = 0`` (the cell could be the whole
    activity), ``(b + c) / b`` when only ``a = 0`` (the whole region), and unbounded (1 when
    ``c = 0``) when both are 0.
    """
    v, a, b, c = (np.broadcast_to(np.asarray(x, dtype=float), np.broadcast(v, a, b, c).shape) for x in (v, a, b, c))
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (v / (v + a)) * ((v + a + b + c) / (v + b))
        lim = np.where((a > 0) & (b > 0), 0.0,
                       np.where(b == 0, np.where(a > 0, (a + c) / a, np.where(c > 0, np.inf, 1.0)), (b + c) / b))
    return np.where(v > 0, f, lim)


def lq_bounds(lq: pd.DataFrame) -> pd.DataFrame:
    """Exact extremes of each LQ over the cells' intervals (see the module docstring).

    Parameters
    ----------
    lq : DataFrame
        Output of :func:`mapping.analysis.location_quotient.location_quotients` with ``value_low`` and
        ``value_high`` (rows of one year x indicator x classification x level form one table).

    Returns
    -------
    DataFrame
        ``lq`` plus ``lq_low``, ``lq_high`` (``inf`` when no finite upper bound exists),
        ``share_of_national_low/high`` and ``region_share_low/high`` (bounds of ``value /
        national_value`` and ``value / region_total``). Rows whose region total or national value
        can be zero at the bounds keep NaN there.
    """
    df = lq.copy(deep=False)  # copy-on-write: columns set here never reach the caller's frame
    lo = df["value_low"].astype(float)
    hi = df["value_high"].astype(float)
    from mapping.analysis.frames import KeyCodes

    # Integer groups (grouping on five text columns is slow on a large table); sums as before, group by group.
    keys = KeyCodes(df)
    grp = pd.Series(keys.codes(_GROUP, sort=False)[0], index=df.index)
    reg = pd.Series(keys.codes(_GROUP + ["region_code"], sort=False)[0], index=df.index)
    act = pd.Series(keys.codes(_GROUP + ["activity_code"], sort=False)[0], index=df.index)
    r_lo = lo.groupby(reg, sort=False).transform("sum")
    n_lo = lo.groupby(act, sort=False).transform("sum")
    t_lo = lo.groupby(grp, sort=False).transform("sum")
    r_hf, r_hi = _inf_sum(hi, reg)
    n_hf, n_hi = _inf_sum(hi, act)
    t_hf, t_hi = _inf_sum(hi, grp)
    inf_v = (~np.isfinite(hi)).astype(int)
    hv = hi.where(np.isfinite(hi), 0.0)
    big = _BIG_FACTOR * (t_hf + t_lo + 1.0)
    a_lo, b_lo = r_lo - lo, n_lo - lo
    a_hi = np.where(r_hi - inf_v > 0, big, r_hf - hv)
    b_hi = np.where(n_hi - inf_v > 0, big, n_hf - hv)
    c_inf = (t_hi - r_hi - n_hi + inf_v) > 0
    c_hi = np.where(c_inf, big, t_hf - r_hf - n_hf + hv)
    c_lo = t_lo - r_lo - n_lo + lo
    v_hi = np.where(inf_v > 0, big, hi)
    # Maximum: a, b low; c high; v at the clipped stationary point (or an end).
    ab = a_lo * b_lo
    with np.errstate(divide="ignore", invalid="ignore"):
        vstar = np.where(c_hi > 0, (ab + np.sqrt(ab * (ab + c_hi * (a_lo + b_lo + c_hi)))) / c_hi, np.inf)
    vstar = np.clip(vstar, lo, v_hi)
    cands = np.vstack([_lq_f(lo, a_lo, b_lo, c_hi), _lq_f(v_hi, a_lo, b_lo, c_hi), _lq_f(vstar, a_lo, b_lo, c_hi)])
    with np.errstate(invalid="ignore"):
        mx = np.where(np.isnan(cands).all(axis=0), np.nan, np.nanmax(np.where(np.isnan(cands), -np.inf, cands), axis=0))
        mins = np.vstack([_lq_f(lo, a_hi, b_hi, c_lo), _lq_f(v_hi, a_hi, b_hi, c_lo)])
        mn = np.where(np.isnan(mins).all(axis=0), np.nan, np.nanmin(np.where(np.isnan(mins), np.inf, mins), axis=0))
    mx = np.where(c_inf & (v_hi > 0), np.inf, mx)
    if "region_total_source" in df.columns:
        mn, mx = _fixed_total_bounds(df, grp, lo, hi, v_hi, b_lo, b_hi, n_hi - inf_v > 0, mn, mx)
    df["lq_low"] = mn
    df["lq_high"] = mx
    with np.errstate(divide="ignore", invalid="ignore"):
        df["share_of_national_low"] = np.where(lo > 0, lo / (lo + b_hi), 0.0)
        df["share_of_national_high"] = np.where(v_hi > 0, v_hi / (v_hi + b_lo), 0.0)
        df["region_share_low"] = np.where(lo > 0, lo / (lo + a_hi), 0.0)
        df["region_share_high"] = np.where(v_hi > 0, v_hi / (v_hi + a_lo), 0.0)
    # A published point can only sit inside its bounds; guard against rounding in the last digit.
    p = df["lq"]
    has = p.notna()
    df.loc[has, "lq_low"] = np.fmin(df.loc[has, "lq_low"], p[has])
    df.loc[has, "lq_high"] = np.fmax(df.loc[has, "lq_high"], p[has])
    return df


def _fixed_total_bounds(df, grp, lo, hi, v_hi, b_lo, b_hi, b_inf, mn, mx):
    """Exact LQ bounds where the region totals of the whole table are published equalities.

    ``LQ = v N / (T (v + b))`` with ``T`` (``region_total``) and ``N`` (``national_total``) fixed.
    Tables with any region whose total is not published keep the general bounds ``mn, mx``.
    """
    fixed = (df["region_total_source"] == "published").groupby(grp, sort=False).transform("all")
    if not fixed.any():
        return mn, mx
    scale = (df["national_total"] / df["region_total"]).to_numpy(dtype=float)
    vh = np.asarray(v_hi, dtype=float)
    lo_, bl, bh = lo.to_numpy(dtype=float), np.asarray(b_lo, dtype=float), np.asarray(b_hi, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(lo_ > 0, scale * lo_ / (lo_ + bh), 0.0)
        low = np.where(np.asarray(b_inf) & (lo_ > 0), 0.0, low)  # an unbounded other region -> share -> 0
        high = np.where(vh > 0, scale * vh / (vh + bl), 0.0)
        high = np.where(~np.isfinite(hi.to_numpy(dtype=float)) & (bl == 0), scale, high)  # the whole activity
    f = fixed.to_numpy() & np.isfinite(scale)
    return np.where(f, low, mn), np.where(f, high, mx)


def poisson_lq_interval(lq: pd.DataFrame, *, indicators: tuple[str, ...], confidence: float = 0.95) -> pd.DataFrame:
    """Small-count interval for the LQ of count indicators (e.g. establishments).

    The region's count ``v`` is read as a Poisson draw; the exact (Garwood) interval for its mean,
    ``[chi2(a/2, 2v) / 2, chi2(1 - a/2, 2v + 2) / 2]``, is carried to the LQ with the region total
    and the national shares held at their published values. Only cells with a published integer
    value get an interval.

    Returns
    -------
    DataFrame
        ``lq`` plus ``lq_ci_low`` and ``lq_ci_high`` (empty where not computed).

    Examples
    --------
    >>> t = pd.DataFrame({"indicator": "establishments", "value": [4.0], "flag": [""], "region_total": [10.0],
    ...     "national_value": [40.0], "national_total": [400.0], "lq": [4.0]})
    >>> r = poisson_lq_interval(t, indicators=("establishments",))
    >>> round(float(r["lq_ci_low"].iloc[0]), 3), round(float(r["lq_ci_high"].iloc[0]), 3)
    (1.09, 10.242)
    """
    df = lq.copy(deep=False)  # copy-on-write: columns set here never reach the caller's frame
    alpha = 1.0 - confidence
    v = df["value"].astype(float)
    ok = df["indicator"].isin(indicators) & v.notna() & df["lq"].notna() & (df["flag"] != "range") \
        & (np.abs(v - np.round(v)) < 1e-9)
    low = np.full(len(df), np.nan)
    high = np.full(len(df), np.nan)
    if ok.any():
        vv = v[ok].to_numpy()
        lam_lo = np.where(vv > 0, chi2.ppf(alpha / 2, 2 * vv) / 2, 0.0)
        lam_hi = chi2.ppf(1 - alpha / 2, 2 * vv + 2) / 2
        scale = (df.loc[ok, "national_total"] / (df.loc[ok, "region_total"] * df.loc[ok, "national_value"])).to_numpy()
        low[ok.to_numpy()] = lam_lo * scale
        high[ok.to_numpy()] = lam_hi * scale
    df["lq_ci_low"] = low
    df["lq_ci_high"] = high
    return df
