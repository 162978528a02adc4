"""The "national" reference of the location quotients: the whole run, or each region's own country.

``[specialisation] reference = "all"`` (default) compares every region with the sum over all the
regions of the run -- one country, or in a multi-country run the pooled countries (for example
NUTS-2 regions of two countries against the two together). ``reference = "country"`` compares
each region with the regions of its own country (the registry's ``country`` column): the LQs,
their bounds, the percentile rules and the known national totals are then computed per country.
"""

from __future__ import annotations

import pandas as pd

from mapping.analysis.location_quotient import location_quotient_table
from mapping.errors import MappingError, format_items

__all__ = ["REFERENCES", "lq_by_reference"]

#: Allowed values of ``reference``.
REFERENCES = ("all", "country")


def _merge_info(infos: list[dict]) -> dict:
    """Add up the uncertainty step's counters over the countries (lists joined, first value otherwise)."""
    out: dict = {}
    for info in infos:
        for k, v in info.items():
            if k not in out:
                out[k] = dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v
            elif isinstance(v, bool) or not isinstance(v, (int, float, dict, list)):
                continue
            elif isinstance(v, dict):
                for kk, vv in v.items():
                    out[k][kk] = out[k].get(kk, 0) + vv if isinstance(vv, (int, float)) else vv
            elif isinstance(v, list):
                out[k] += [x for x in v if x not in out[k]]
            else:
                out[k] += v
    return out


def lq_by_reference(tidy: pd.DataFrame, settings, *, country_of: dict[str, str] | None = None,
                    activities: pd.DataFrame | None = None, known_totals: pd.DataFrame | None = None
                    ) -> tuple[pd.DataFrame, dict]:
    """Location quotients against the configured reference (see the module docstring).

    Parameters
    ----------
    tidy : DataFrame
        Tidy rows of one non-overlapping set of units.
    settings : mapping.config.SpecialisationSection
        ``reference`` picks the reference; the rest as for
        :func:`mapping.analysis.location_quotient.location_quotient_table`.
    country_of : dict, optional
        ``region_code`` -> ISO 3166-1 alpha-2 country (the registry's ``country``); needed for
        ``reference = "country"``. Known totals of a country are its rows whose ``region_code``
        maps to it (e.g. the country row ``XA``).
    activities, known_totals : DataFrame, optional
        As for :func:`~mapping.analysis.location_quotient.location_quotient_table`.

    Returns
    -------
    (lq, info)
        As :func:`~mapping.analysis.location_quotient.location_quotient_table`; ``info["reference"]``
        says which reference was used (``"all"`` or ``"country: XA, XB"``).

    Raises
    ------
    MappingError
        ``reference = "country"`` and a region of the data has no country.
    """
    reference = getattr(settings, "reference", "all")
    if reference != "country":
        lq, info = location_quotient_table(tidy, settings, activities=activities, known_totals=known_totals)
        info["reference"] = "all"
        return lq, info
    country_of = country_of or {}
    country = tidy["region_code"].map(lambda c: country_of.get(c, ""))
    missing = sorted(set(tidy.loc[country == "", "region_code"]))
    if missing:
        raise MappingError("specialisation.reference = 'country' needs the country of every region; the region "
                           "registry (column 'country', or a 'country' row above the region) gives none for: "
                           + format_items(missing))
    frames, infos = [], []
    for ctry in sorted(set(country)):
        known = None
        if known_totals is not None and len(known_totals):
            known = known_totals.loc[known_totals["region_code"].map(lambda c: country_of.get(c, c)) == ctry]
        lq, info = location_quotient_table(tidy.loc[country == ctry], settings, activities=activities,
                                           known_totals=known if known is not None and len(known) else None)
        frames.append(lq)
        infos.append(info)
    info = _merge_info(infos)
    info["reference"] = "country: " + ", ".join(sorted(set(country)))
    lq = pd.concat(frames, ignore_index=True)
    lq = lq.sort_values(["year", "indicator", "classification", "level", "region_code", "activity_code"],
                        kind="stable").reset_index(drop=True)
    return lq, info
