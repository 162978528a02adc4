"""Cell values and units as statistical offices print them.

One place decides what a printed cell means, so every reader treats ``…``, ``-``, ``x``, ``н/д``,
decimal commas, thousands separators and footnote markers the same way, and one place turns a unit
as printed (``миллионов рублей``, ``тыс. чел.``, ``thousand USD``) into a canonical unit with a scale.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from mapping.errors import MappingError

__all__ = ["Cell", "MARKERS", "parse_value", "parse_number", "Unit", "parse_unit", "convert_factor",
           "FOOTNOTE_SUFFIX"]

#: Printed markers and what they mean: (tidy flag, value). Matched after stripping spaces and a
#: trailing footnote marker; case-insensitive. ``…``: confidential or not available (Rosstat);
#: ``-``: phenomenon absent (0); ``x``/``х``: not published / not applicable; ``н/д``: no data.
MARKERS: dict[str, tuple[str, float]] = {
    "…": ("suppressed", math.nan), "...": ("suppressed", math.nan), "..": ("suppressed", math.nan),
    "-": ("absent", 0.0), "–": ("absent", 0.0), "—": ("absent", 0.0), "−": ("absent", 0.0),
    "x": ("suppressed", math.nan), "х": ("suppressed", math.nan),
    "н/д": ("suppressed", math.nan), "нд": ("suppressed", math.nan), "n/a": ("suppressed", math.nan),
    "na": ("suppressed", math.nan), "(d)": ("suppressed", math.nan), "конф.": ("suppressed", math.nan),
}
#: A footnote marker after a value or label: ``2)``, ``1);2)``, `` 3)``.
FOOTNOTE_SUFFIX = re.compile(r"\s*((?:\d{1,2}\)\s*[;,]?\s*)+)$")
_SPACES = re.compile(r"[\s\u00a0\u2007\u2009\u202f']")
_TIMES = re.compile(r"^в\s*(\d+(?:[.,]\d+)?)\s*р(?:аза?)?\.?$", re.I)  # "в 2,5 р." = 250 percent
_NUM = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Cell:
    """A parsed cell: ``value`` (NaN when none), tidy ``flag``, the ``raw`` text and its ``footnote``."""

    value: float
    flag: str
    raw: str
    footnote: str = ""
    marker: str = ""


def parse_number(text: str, decimal: str = ".") -> float | None:
    """Parse a number printed with ``decimal`` as the decimal mark; None if it is not one.

    Spaces, non-breaking and thin spaces and apostrophes are thousands separators. With
    ``decimal="."`` a comma is a thousands separator only in groups of three (``1,234.5``); with
    ``decimal=","`` a dot is one only in groups of three (``1.234,5``).

    Examples
    --------
    >>> parse_number("1 234,5", ",")
    1234.5
    >>> parse_number("1,234.5")
    1234.5
    >>> parse_number("12,5") is None
    True
    """
    t = _SPACES.sub("", text)
    if not t:
        return None
    other = "," if decimal == "." else "."
    if other in t:
        whole = t.split(decimal)[0].lstrip("+-")
        if not re.fullmatch(rf"\d{{1,3}}(?:\{other}\d{{3}})+", whole):
            return None
        t = t.replace(other, "")
    t = t.replace(decimal, ".")
    if not _NUM.match(t):
        return None
    v = float(t)
    return v if math.isfinite(v) else None


def parse_value(value, *, decimal: str = ".", unit_base: str = "") -> Cell:
    """Parse one printed value cell.

    Parameters
    ----------
    value : Any
        The cell: a number, text or None.
    decimal : {".", ","}
        Decimal mark of text cells.
    unit_base : str
        Base of the column's unit (``percent`` lets ``в 2,5 р.`` mean 250).

    Returns
    -------
    Cell
        ``flag`` is ``""`` (a number), ``suppressed`` (``…``, ``x``, ``н/д``: value NaN), ``absent``
        (``-``: value 0), ``empty`` (blank) or ``unparsed`` (any other text, value NaN). A footnote
        marker after a number or marker is removed and kept in ``footnote``.

    Examples
    --------
    >>> parse_value("1 234,5 2)", decimal=",")
    Cell(value=1234.5, flag='', raw='1 234,5 2)', footnote='2)', marker='')
    >>> parse_value("…1)").flag
    'suppressed'
    """
    if value is None:
        return Cell(math.nan, "empty", "")
    if isinstance(value, bool):
        return Cell(math.nan, "unparsed", str(value))
    if isinstance(value, (int, float)):
        v = float(value)
        # NaN is a missing cell; an infinite number is kept so that the readers refuse it by name.
        return Cell(math.nan, "empty", str(value)) if math.isnan(v) else Cell(v, "", str(value))
    raw = str(value)
    text = raw.strip()
    if not text:
        return Cell(math.nan, "empty", raw)
    footnote = ""
    m = FOOTNOTE_SUFFIX.search(text)
    if m and m.start() > 0:
        core = text[:m.start()].rstrip()
        # "123,41)" is ambiguous (123.4 with footnote 1, or 123.41 with ")"?): only strip a marker
        # that is separated by a space or follows a non-digit marker such as "…".
        if text[m.start()] in " \t\u00a0" or not core[-1:].isdigit():
            footnote = re.sub(r"\s+", "", m.group(1))
            text = core
    key = text.casefold()
    if key in MARKERS or re.fullmatch(r"[….]{2,}", key):
        flag, v = MARKERS.get(key, ("suppressed", math.nan))
        return Cell(v, flag, raw, footnote, key)
    number = parse_number(text, decimal)
    if number is not None:
        return Cell(number, "", raw, footnote)
    t = _TIMES.match(text)
    if t and unit_base == "percent":
        return Cell(float(t.group(1).replace(",", ".")) * 100.0, "", raw, footnote, "times")
    return Cell(math.nan, "unparsed", raw, footnote)


# --------------------------------------------------------------------------- units

@dataclass(frozen=True)
class Unit:
    """A canonical unit: ``name`` (e.g. ``million RUB``), ``base`` (``RUB``) and ``factor`` (1e6)."""

    name: str
    base: str
    factor: float


_SCALES = [(r"трлн|триллион|trillion", 1e12, "trillion"), (r"млрд|миллиард|billion", 1e9, "billion"),
           (r"млн|миллион|million", 1e6, "million"), (r"тыс|тысяч|thousand|\$1,?000|\b000s?\b", 1e3, "thousand")]
_BASES = [(r"руб|rub|₽", "RUB"), (r"долл|usd|dollar|\$", "USD"), (r"евро|eur", "EUR"),
          (r"человек|\bчел\b|persons?|people|employees|jobs", "persons"),
          (r"процент|percent|%", "percent"),
          (r"единиц|\bед\b|count|number|establishments|organi[sz]ations|организаций|предприятий", "count"),
          (r"киловатт|kw", "kW"), (r"тонн|tonnes?", "t")]


def parse_unit(text: str | None) -> Unit | None:
    """Read a unit as printed; None when no known unit word is in the text.

    Examples
    --------
    >>> parse_unit("в фактически действовавших ценах; миллионов рублей")
    Unit(name='million RUB', base='RUB', factor=1000000.0)
    >>> parse_unit("тыс. чел.").name
    'thousand persons'
    >>> parse_unit("тысяч").name  # a bare scale counts things
    'thousand'
    """
    if not text:
        return None
    t = str(text).casefold().replace("ё", "е")
    base = next((b for pat, b in _BASES if re.search(pat, t)), None)
    scale = next(((f, w) for pat, f, w in _SCALES if re.search(pat, t)), None)
    if base == "percent":
        return Unit("percent", "percent", 1.0)
    if base is None:
        return Unit(scale[1], "count", scale[0]) if scale else None
    if base == "count":
        return Unit(f"{scale[1]}" if scale else "count", "count", scale[0] if scale else 1.0)
    return Unit(f"{scale[1]} {base}" if scale else base, base, scale[0] if scale else 1.0)


def convert_factor(src: Unit, dst: Unit, *, where: str) -> float:
    """Factor that converts values in ``src`` to ``dst``; MappingError when the bases differ."""
    if src.base != dst.base:
        raise MappingError(f"{where}: unit conflict: {src.name!r} cannot be converted to {dst.name!r} "
                           f"({src.base} vs {dst.base})")
    return src.factor / dst.factor
