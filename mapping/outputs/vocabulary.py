"""Wording of a run's outputs in the run's own terms: names in the source language and English,
the grouping level above regions, the specialisation rule actually in force, and credits.

The settings come from :func:`mapping.geo.credits.vocabulary_settings` (config, else the region
registry's metadata); nothing here names a particular country.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mapping.geo.credits import boundary_attribution, vocabulary_settings

__all__ = ["Vocabulary", "vocabulary", "rule_statement", "reference_statement", "boundary_attribution", "level_phrase"]


@dataclass(frozen=True)
class Vocabulary:
    """How one run names things.

    ``source_language`` is the ISO 639-1 code of the registry's ``name`` column; English names
    (``name_en``) come first where it is English, second otherwise.
    """

    group_name: str = "group"
    group_name_plural: str = "groups"
    source_language: str = "en"
    language_name: str = "English"

    @property
    def english_source(self) -> bool:
        return self.source_language == "en"

    @property
    def bilingual(self) -> bool:
        """Whether names are shown in two languages (the source language is not English)."""
        return not self.english_source

    def _pair(self, name: str, name_en: str) -> tuple[str, str]:
        name, name_en = str(name or ""), str(name_en or "")
        if self.english_source:  # the English name is the source's own; a registry's other spelling is not shown
            return name_en or name, ""
        return name or name_en, name_en if name_en != name else ""

    def name(self, name: str, name_en: str) -> str:
        """One unit's display name: the source-language name, and the English one in parentheses.

        Examples
        --------
        >>> Vocabulary(source_language="ru").name("Республика Татарстан", "Tatarstan")
        'Республика Татарстан (Tatarstan)'
        >>> Vocabulary(source_language="en").name("Алабама", "Alabama")
        'Alabama'
        """
        first, second = self._pair(name, name_en)
        return f"{first} ({second})" if second else first

    def name_slash(self, name: str, name_en: str) -> str:
        """As :meth:`name`, joined with " / " (for headings and lists)."""
        first, second = self._pair(name, name_en)
        return f"{first} / {second}" if second else first

    def names_note(self) -> str:
        """What language(s) the names are in, for the sources section."""
        return "names in English" if self.english_source else f"names in {self.language_name} and English"

    def title(self, word: str) -> str:
        """The group word capitalised for a heading ("federal district" -> "Federal district")."""
        return word[:1].upper() + word[1:]


def vocabulary(config) -> Vocabulary:
    """The :class:`Vocabulary` of a run's configuration (see :func:`mapping.geo.credits.vocabulary_settings`)."""
    return Vocabulary(**vocabulary_settings(config))


def _g(v: float) -> str:
    return f"{v:g}"


def rule_statement(s) -> str:
    """The specialisation rule in force, in one line (for the report header).

    Parameters
    ----------
    s : mapping.config.SpecialisationSection

    Returns
    -------
    str
        E.g. ``gva or shipments, each: LQ ≥ 2 ("twice the national average")`` or
        ``employment: US Cluster Mapping Project percentile rule (LQ ≥ max(1, the activity's 75th
        percentile across regions); employment, establishments above their 25th percentile)``.

    Examples
    --------
    >>> from mapping.config import SpecialisationSection
    >>> rule_statement(SpecialisationSection())
    'gva or shipments, each: LQ ≥ 2 ("twice the national average")'
    """
    combine = s.combine or " or ".join(s.indicators)
    each = ", each" if len(s.indicators) > 1 else ""
    if s.rule == "cmp_percentile":
        body = (f"US Cluster Mapping Project percentile rule (LQ ≥ max({_g(s.cmp_min_lq)}, the activity's "
                f"{_g(s.cmp_lq_percentile)}th percentile across regions); "
                f"{', '.join(s.cmp_size_indicators)} above their {_g(s.cmp_size_percentile)}th percentile where present)")
    elif s.rule == "eco_stars":
        body = (f"European Cluster Observatory stars (at least {s.eco_min_stars} of 3: size in the top "
                f"{s.eco_top_share:.0%}, LQ ≥ {_g(s.threshold)}, focus in the top {s.eco_top_share:.0%})")
    else:
        body = f"LQ ≥ {_g(s.threshold)}" + (' ("twice the national average")' if s.threshold == 2 else "")
    floors = []
    mv, ms = s.min_value, s.min_share_of_national  # one number, or one per indicator
    if isinstance(mv, dict):
        if any(v > 0 for v in mv.values()):
            floors.append("value ≥ " + ", ".join(f"{_g(v)} ({k})" for k, v in sorted(mv.items()) if v > 0))
    elif mv > 0:
        floors.append(f"value ≥ {_g(mv)}")
    if isinstance(ms, dict):
        if any(v > 0 for v in ms.values()):
            floors.append("share of national ≥ " + ", ".join(f"{v:.2%} ({k})" for k, v in sorted(ms.items()) if v > 0))
    elif ms > 0:
        floors.append(f"share of national ≥ {ms:.2%}")
    return f"{combine}{each}: {body}" + (f", size floors {' and '.join(floors)}" if floors else "")


def reference_statement(s, regions, codes) -> str:
    """What "national" means in the run's LQs.

    Parameters
    ----------
    s : mapping.config.SpecialisationSection
        ``reference`` ("all" or "country").
    regions : DataFrame
        The region registry (``region_code``, ``country``).
    codes : iterable of str
        The analysed units.

    Returns
    -------
    str
        E.g. ``national = the 85 regions of the run`` or ``national = the 12 regions of XA, XB
        pooled`` or ``national = each region's own country (XA, XB)``.
    """
    unique = getattr(codes, "unique", None)  # a column of millions of rows: its distinct values first
    codes = sorted(set(unique() if callable(unique) else codes))
    country = dict(zip(regions["region_code"], regions["country"])) if "country" in regions.columns else {}
    countries = sorted({country.get(c, "") for c in codes} - {""})
    if getattr(s, "reference", "all") == "country":
        return f"national = each region's own country ({', '.join(countries)})"
    if len(countries) > 1:
        return f"national = the {len(codes)} regions of {', '.join(countries)} pooled"
    return f"national = the {len(codes)} regions of the run"


def level_phrase(classification: str, level: str) -> str:
    """The analysis level in words: ``OKVED2 sections``, ``NAICS2007 6-digit industries``."""
    digits = re.fullmatch(r"[a-z]+(\d)", level)
    return f"{classification} {digits.group(1)}-digit industries" if digits else f"{classification} {level}s"
