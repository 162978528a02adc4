"""Input-output relatedness: activity x activity links from supply and use tables, mapped onto a run's activities.

Three steps, each a function of frames:

1. :func:`flows_from_supply_use` turns a supply table (products x activities) and a use table
   (products x activities) into intermediate flows between activities under the fixed product
   sales structure (each product is supplied by the activities that make it, in proportion to
   their output of it): ``F = D @ U`` with ``D[a, p] = V[p, a] / sum_a V[p, a]``.
2. :func:`map_io_codes` finds, for each run activity, the input-output industries it covers: the
   deepest concordance code that is the activity or one of its ancestors, or, for an activity coarser
   than the table (an OKVED2 section), every industry below it. Activities the table does not reach
   are returned as unmapped (reported, never dropped silently).
3. :func:`io_links` aggregates the flows to the run's activities and takes, for each pair, the
   largest of the four shares Delgado, Porter and Stern (2016) use: the share of j's intermediate
   inputs bought from i, of i's bought from j, of i's intermediate sales going to j and of j's going
   to i. Two activities that map to the same input-output industry cannot be told apart by the
   table: their link is NaN (no evidence), not 0.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from mapping.errors import MappingError

__all__ = ["flows_from_supply_use", "bea_naics_prefix", "map_io_codes", "io_links", "io_relatedness"]


def flows_from_supply_use(supply: pd.DataFrame, use: pd.DataFrame) -> pd.DataFrame:
    """Activity x activity intermediate flows from a supply and a use table.

    Parameters
    ----------
    supply : DataFrame
        Products (index) x activities (columns): output of each product by each activity (any
        currency unit); negative entries count as zero.
    use : DataFrame
        Products (index) x activities (columns): intermediate use of each product by each activity,
        same unit. Products or activities missing from one table count as zero in it.

    Returns
    -------
    DataFrame
        Supplying activity (index) x using activity (columns), same unit: the value of the
        supplying activity's products used by the using activity.

    Examples
    --------
    >>> v = pd.DataFrame([[8.0, 2.0], [0.0, 5.0]], index=["p1", "p2"], columns=["a", "b"])
    >>> u = pd.DataFrame([[1.0, 4.0], [3.0, 0.0]], index=["p1", "p2"], columns=["a", "b"])
    >>> flows_from_supply_use(v, u).to_numpy().tolist()
    [[0.8, 3.2], [3.2, 0.8]]
    """
    products = sorted(set(supply.index) | set(use.index), key=str)
    acts = list(dict.fromkeys(list(supply.columns) + list(use.columns)))
    v = supply.reindex(index=products, columns=acts, fill_value=0.0).to_numpy(dtype=float)
    u = use.reindex(index=products, columns=acts, fill_value=0.0).to_numpy(dtype=float)
    v = np.clip(v, 0.0, None)  # negative outputs (BEA's small adjustments) cannot supply anything
    q = v.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(q > 0, v / q, 0.0)  # products x activities: who makes each product
    f = share.T @ u
    return pd.DataFrame(f, index=acts, columns=acts)


def bea_naics_prefix(code: str) -> str:
    """The NAICS prefix a BEA detail industry code stands for ('' when it has none).

    A BEA detail code is a NAICS code padded with zeros, or an aggregate of the NAICS codes that
    share its digits before the first letter (``33641A`` -> ``33641``, ``4A0000`` -> ``4``, i.e.
    what no more specific code claims). Construction (``23xxxx``: BEA's own structure types) maps
    to NAICS ``23``; government (``S00xxx``) and other non-NAICS rows to ''.

    Examples
    --------
    >>> [bea_naics_prefix(c) for c in ["1111A0", "211000", "327310", "233210", "S00101", "4A0000"]]
    ['1111', '211', '32731', '23', '', '4']
    """
    code = str(code).strip()
    if not code[:1].isdigit():
        return ""
    if code.startswith("23"):
        return "23"
    digits = re.match(r"\d+", code).group(0)
    if len(digits) == len(code):
        digits = digits.rstrip("0")
    return digits if len(digits) >= 1 else ""


def _ancestors(code: str, parent: dict[str, str]) -> list[str]:
    """The code and its ancestors, nearest first: registry parents, then numeric prefixes.

    Prefixes matter where the registry stops short of a concordance code (NAICS ``445110`` climbs to
    the sector ``44-45`` in the registry, while BEA's retail aggregate stands for the prefix ``4``).
    """
    out = [code]
    p = parent.get(code, "")
    while p and p not in out:
        out.append(p)
        p = parent.get(p, "")
    if code.replace(".", "").isdigit():
        out += [q for q in (code[:n] for n in range(len(code) - 1, 0, -1)) if q[-1] != "." and q not in out]
    return out


def map_io_codes(codes: list[str], concordance: pd.DataFrame, activities: pd.DataFrame | None = None
                 ) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Input-output industries covered by each run activity.

    Parameters
    ----------
    codes : list of str
        The run's activity codes (e.g. OKVED2 sections, NAICS-6 codes).
    concordance : DataFrame
        ``io_code, activity_code``: each input-output industry and the classification codes it
        stands for (several rows per industry when it merges codes, e.g. OKVED2 divisions 10-12).
    activities : DataFrame, optional
        Activity registry (``code, parent_code``) to climb or descend the hierarchy; without it,
        numeric prefixes are used (NAICS, OKVED2 divisions and finer).

    Returns
    -------
    mapping : dict
        Activity code -> sorted tuple of input-output industry codes (activities not reached are absent).
    unmapped : list of str
        Run activities that no input-output industry covers.
    """
    missing = [c for c in ("io_code", "activity_code") if c not in concordance.columns]
    if missing:
        raise MappingError(f"input-output concordance: missing column(s) {missing}; needs io_code, activity_code")
    parent: dict[str, str] = {}
    if activities is not None and len(activities):
        parent = {str(c): (p if isinstance(p, str) else "")
                  for c, p in zip(activities["code"], activities["parent_code"].fillna(""))}
    by_code: dict[str, set[str]] = {}
    for io, ac in zip(concordance["io_code"].astype(str), concordance["activity_code"].astype(str)):
        if ac:
            by_code.setdefault(ac, set()).add(io)
    # each concordance code's ancestors, to find the industries below a coarse activity
    below: dict[str, set[str]] = {}
    for ac, ios in by_code.items():
        for a in _ancestors(ac, parent)[1:]:
            below.setdefault(a, set()).update(ios)
    out: dict[str, tuple[str, ...]] = {}
    unmapped = []
    for c in codes:
        hit = next((by_code[a] for a in _ancestors(str(c), parent) if a in by_code), None)
        if hit is None:
            hit = below.get(str(c))
        if hit:
            out[c] = tuple(sorted(hit))
        else:
            unmapped.append(c)
    return out, unmapped


def io_links(codes: list[str], flows: pd.DataFrame, mapping: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """Delgado-Porter-Stern input-output links between the run's activities.

    Parameters
    ----------
    codes : list of str
        Run activity codes (the matrix's order).
    flows : DataFrame
        ``from_code, to_code, value``: intermediate flows between input-output industries.
    mapping : dict
        Output of :func:`map_io_codes`.

    Returns
    -------
    DataFrame
        Square, index and columns ``codes``: the largest of the four input and output shares, in
        [0, 1]; NaN where either activity is unmapped or both map to the same industries; diagonal 1.
    """
    missing = [c for c in ("from_code", "to_code", "value") if c not in flows.columns]
    if missing:
        raise MappingError(f"input-output table: missing column(s) {missing}; needs from_code, to_code, value")
    nf = len(flows)
    codes_idx, ind = pd.factorize(pd.concat([flows["from_code"], flows["to_code"]], ignore_index=True).astype(str))
    ni = len(ind)
    pos = {str(c): i for i, c in enumerate(ind)}
    f = np.bincount(codes_idx[:nf] * ni + codes_idx[nf:], weights=flows["value"].to_numpy(dtype=float),
                    minlength=ni * ni).reshape(ni, ni)
    sets = sorted({s for s in mapping.values()})
    set_pos = {s: i for i, s in enumerate(sets)}
    s_mat = np.zeros((len(sets), ni))
    for s, i in set_pos.items():
        s_mat[i, [pos[c] for c in s if c in pos]] = 1.0
    agg = s_mat @ f @ s_mat.T                 # flows between the activities' industry sets
    sold = s_mat @ f.sum(axis=1)              # each set's intermediate sales (to every industry)
    bought = f.sum(axis=0) @ s_mat.T          # each set's intermediate purchases
    with np.errstate(divide="ignore", invalid="ignore"):
        inp = np.where(bought[None, :] > 0, agg / bought[None, :], 0.0)   # share of column's inputs from row
        out = np.where(sold[:, None] > 0, agg / sold[:, None], 0.0)       # share of row's sales to column
    link = np.maximum.reduce([inp, inp.T, out, out.T])
    np.fill_diagonal(link, np.nan)  # the same industries: the table cannot separate them
    idx = np.array([set_pos.get(mapping.get(c), -1) for c in codes])
    n = len(codes)
    m = np.full((n, n), np.nan)
    ok = idx >= 0
    m[np.ix_(ok, ok)] = link[np.ix_(idx[ok], idx[ok])]
    np.fill_diagonal(m, 1.0)
    res = pd.DataFrame(np.clip(m, 0.0, 1.0), index=codes, columns=codes)
    res.index.name = "activity_code"
    return res


def io_relatedness(codes: list[str], table: pd.DataFrame) -> pd.DataFrame:
    """:func:`io_links` for a table whose codes are the run's activity codes (no concordance).

    Examples
    --------
    >>> t = pd.DataFrame({"from_code": ["a", "b"], "to_code": ["b", "c"], "value": [10.0, 5.0]})
    >>> io_relatedness(["a", "b", "c"], t).to_numpy().tolist()
    [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]
    """
    if not {"from_code", "to_code"} <= set(table.columns):
        raise MappingError("input-output table: missing column(s) from_code/to_code; needs from_code, to_code, value")
    known = set(table["from_code"].astype(str)) | set(table["to_code"].astype(str))
    return io_links(codes, table, {c: (c,) for c in codes if c in known})
