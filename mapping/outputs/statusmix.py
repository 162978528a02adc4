"""The divergence layer of contract version 2: one feature per region, coloured by its mix of statuses.

A region has one region x activity pair per activity that is specialised or supported there, each
with a status (``divergence_pairs.csv``). Drawing one polygon per pair stacks polygons, and stacked
semi-transparent fills blend into colours no legend has. Here the pairs are counted per region
(``n_<status>``) and the statuses present form ``status_mix`` (sorted, joined with ``+``), which the
default styles colour by: every region is drawn once, in the colour of its mix.

Colours: a single status keeps its own colour (Tol "bright"); the mixes of the three testable
statuses take the colour a reader expects from mixing paint (aligned blue + untapped yellow = green,
blue + red = purple, red + yellow = orange; all three cyan); the mixes involving ``not_testable`` or ``no_data``
take Tol's "light" colours in a fixed order. Every mix of the five statuses has one colour, the same
in every run.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from mapping.errors import MappingError

__all__ = ["CONTRACT_STATUSES", "STATUS_COLOURS", "STATUS_SHORT", "STATUS_LABELS", "MIX_COLOURS",
           "status_mix", "mix_colour", "mix_label", "count_column", "region_divergence"]

#: The five statuses of contract version 2, in legend order.
CONTRACT_STATUSES: tuple[str, ...] = ("aligned", "supported_not_specialised", "specialised_not_supported",
                                      "not_testable", "no_data")
#: One colour per status: Tol "bright" blue / red / yellow for the testable statuses, Tol "muted" indigo for
#: "the data cannot say" and white for "no data" (all five pairwise distinct in colour-blind vision, ΔE > 30).
STATUS_COLOURS: dict[str, str] = {
    "aligned": "#4477AA",
    "supported_not_specialised": "#EE6677",
    "specialised_not_supported": "#CCBB44",
    "not_testable": "#332288",
    "no_data": "#FFFFFF",
}
#: Short legend wording of each status.
STATUS_SHORT: dict[str, str] = {
    "aligned": "aligned",
    "supported_not_specialised": "supported, not specialised",
    "specialised_not_supported": "specialised, not supported",
    "not_testable": "not testable",
    "no_data": "no data",
}
#: Legend labels of the statuses, English and Russian.
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "aligned": ("aligned: supported and specialised", "поддержан и специализирован"),
    "supported_not_specialised": ("supported, not specialised", "поддержан без специализации"),
    "specialised_not_supported": ("specialised, not supported (untapped)", "специализация без поддержки"),
    "not_testable": ("supported, not testable with these data", "поддержан, данные не позволяют проверить"),
    "no_data": ("supported, no data for the region", "поддержан, нет данных по региону"),
}
_LIGHT = ("#77AADD", "#EE8866", "#EEDD88", "#FFAABB", "#99DDFF", "#44BB99", "#BBCC33", "#AAAA00", "#DDDDDD")


def status_mix(statuses) -> str:
    """The statuses present, sorted alphabetically and joined with ``+`` (the contract's ``status_mix``).

    Examples
    --------
    >>> status_mix(["specialised_not_supported", "aligned", "aligned"])
    'aligned+specialised_not_supported'
    """
    present = sorted({str(s) for s in statuses if isinstance(s, str) and s})
    bad = [s for s in present if s not in CONTRACT_STATUSES]
    if bad:
        raise MappingError(f"status_mix: unknown status(es) {bad}; expected {list(CONTRACT_STATUSES)}")
    return "+".join(present)


def _all_mixes() -> list[str]:
    out = []
    for k in range(1, len(CONTRACT_STATUSES) + 1):
        out += [status_mix(c) for c in itertools.combinations(CONTRACT_STATUSES, k)]
    return out


def _mix_colours() -> dict[str, str]:
    a, r, y = "aligned", "supported_not_specialised", "specialised_not_supported"
    fixed = {**{s: c for s, c in STATUS_COLOURS.items()},
             status_mix([a, y]): "#228833",   # blue + yellow: green
             status_mix([a, r]): "#AA3377",   # blue + red: purple
             status_mix([r, y]): "#EE7733",   # red + yellow: orange (Tol "vibrant")
             status_mix([a, r, y]): "#66CCEE"}  # all three: cyan (Tol "bright")
    rest = [m for m in _all_mixes() if m not in fixed]
    return {**fixed, **{m: _LIGHT[i % len(_LIGHT)] for i, m in enumerate(rest)}}


#: Colour of every possible ``status_mix`` (31 mixes of the five statuses).
MIX_COLOURS: dict[str, str] = _mix_colours()


def mix_colour(mix: str) -> str:
    """Fill colour of a ``status_mix`` value (see :data:`MIX_COLOURS`)."""
    if mix not in MIX_COLOURS:
        raise MappingError(f"status_mix {mix!r} is not a '+'-joined, sorted set of {list(CONTRACT_STATUSES)}")
    return MIX_COLOURS[mix]


def mix_label(mix: str) -> str:
    """Legend wording of a ``status_mix``: ``"aligned + specialised, not supported"``."""
    return " + ".join(STATUS_SHORT[s] for s in mix.split("+"))


def count_column(status: str) -> str:
    """``n_<status>``: the per-region count column of a status."""
    return f"n_{status}"


def region_divergence(pairs: pd.DataFrame, *, region_info: pd.DataFrame | None = None) -> pd.DataFrame:
    """Count a run's region x activity pairs per region and status (the version-2 divergence layer's table).

    Parameters
    ----------
    pairs : DataFrame
        One row per region x activity pair (``divergence_pairs.csv``): ``region_code``,
        ``activity_code``, ``status``, ``year``, ``classification``, ``level``, ``lq_max``,
        ``supported_cluster_ids`` (``;``-joined).
    region_info : DataFrame, optional
        Indexed by ``region_code``: columns copied onto each region (names, grouping).

    Returns
    -------
    DataFrame
        One row per region with any pair, sorted by ``region_code``: ``id``
        (``<region_code>:<year>``), ``region_code``, the ``region_info`` columns, ``year``,
        ``classification``, ``level``, ``status_mix``, ``n_pairs``, ``n_<status>`` for each of
        :data:`CONTRACT_STATUSES` (int), ``activities_<status>`` (``;``-joined activity codes),
        ``supported_cluster_ids`` (``;``-joined) and ``lq_max`` (the highest LQ of the region's
        pairs, NaN when none is defined).

    Raises
    ------
    MappingError
        If a status is outside the contract's vocabulary.
    """
    bad = sorted(set(pairs["status"]) - set(CONTRACT_STATUSES))
    if bad:
        raise MappingError(f"divergence pairs, column 'status': unknown value(s) {bad}; "
                           f"expected {list(CONTRACT_STATUSES)}")
    p = pairs.sort_values(["region_code", "activity_code"])
    g = p.groupby("region_code", sort=True)
    out = pd.DataFrame(index=pd.Index(sorted(p["region_code"].unique()), name="region_code"))
    first = g[["year", "classification", "level"]].first()
    counts = pd.crosstab(p["region_code"], p["status"]).reindex(index=out.index, columns=list(CONTRACT_STATUSES),
                                                                fill_value=0)
    # One pass over plain lists instead of a Python function per group (a large run has thousands of regions).
    order = sorted(CONTRACT_STATUSES)
    keys = (counts[order].to_numpy() > 0) @ (1 << np.arange(len(order)))  # the statuses present, as bits
    mixes = {k: status_mix([st for b, st in enumerate(order) if k >> b & 1]) for k in set(keys.tolist())}
    out["status_mix"] = [mixes[k] for k in keys.tolist()]
    out["n_pairs"] = g.size().astype("int64")
    for s in CONTRACT_STATUSES:
        out[count_column(s)] = counts[s].astype("int64")
    acts: dict[tuple, list] = {}
    ids: dict[str, set] = {}
    for r, st, a, x in zip(p["region_code"].tolist(), p["status"].tolist(), p["activity_code"].tolist(),
                           p["supported_cluster_ids"].tolist()):
        acts.setdefault((r, st), []).append(a)
        ids.setdefault(r, set()).update(i for i in str(x).split(";") if i and i != "nan")
    regions = out.index.tolist()
    for s in CONTRACT_STATUSES:
        out[f"activities_{s}"] = [";".join(acts.get((r, s), ())) for r in regions]
    out["supported_cluster_ids"] = [";".join(sorted(ids[r])) for r in regions]
    out["lq_max"] = pd.to_numeric(g["lq_max"].max(), errors="coerce").astype(float)
    out = out.join(first)
    out["year"] = out["year"].astype("int64")
    if region_info is not None:
        out = out.join(region_info.reindex(out.index))
    out = out.reset_index()
    out.insert(0, "id", out["region_code"] + ":" + out["year"].astype(str))
    return out
