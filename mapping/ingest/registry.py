"""Registries of territorial units and economic activities, and resolution of source labels to codes.

Russian statistical tables name regions and activities in many spellings (padding spaces, line
breaks, footnote markers, EMISS long names, typos). Labels are resolved through the project's own
tables of variants (``geodata/region_labels.csv``, ``geodata/activity_labels.csv``) plus the official
names; an unknown label is an error, never a fuzzy guess (see ``geodata/REGIONS.md``).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from mapping.errors import MappingError, format_items
from mapping.ingest import regschema
from mapping.ingest.suggest import activity_suggestions, region_suggestions
from mapping.locations import bundled_path

__all__ = [
    "GEODATA_DIR",
    "REGION_COLUMNS",
    "REGION_LABEL_COLUMNS",
    "ACTIVITY_COLUMNS",
    "ACTIVITY_LABEL_COLUMNS",
    "REGION_KINDS",
    "NESTED_CHOICES",
    "normalise_label",
    "load_region_registry",
    "load_region_labels",
    "load_activity_registry",
    "load_activity_labels",
    "resolve_region_labels",
    "resolve_activity_labels",
    "leaf_units",
    "expand_to_units",
]

#: Default folder of the registries.
GEODATA_DIR = bundled_path("geodata")
REGION_COLUMNS = ["region_code", "kind", "iso_3166_2", "okato", "name_ru", "name_en", "federal_district",
                  "parent_code", "boundary_codes", "has_boundary", "note"]
REGION_LABEL_COLUMNS = ["region_code", "label", "source"]
ACTIVITY_COLUMNS = ["classification", "code", "level", "parent_code", "name_ru", "name_en"]
ACTIVITY_LABEL_COLUMNS = ["classification", "code", "label", "source"]
REGION_KINDS = ("country", "federal_district", "subject", "remainder")
#: Allowed values of ``nested`` in :func:`leaf_units` and :func:`expand_to_units`.
NESTED_CHOICES = ("parts", "parents")
#: Activity levels from the broadest; an ambiguous name resolves to the broadest level.
_LEVEL_ORDER = ("total", "aggregate", "section", "division", "group", "class", "subclass")

_SPACES = re.compile(r"\s+")
_DASHES = re.compile("[\u2010\u2011\u2012\u2013\u2014\u2015\u2212]")
# A footnote marker glued to the end of a word: "Федерация1)", "округ2)3)", "ЗАНЯТЫХ1);2)".
_FOOTNOTE = re.compile(r"(?<=[^\W\d_])(?:\d{1,2}\)[;,]?)+")
_LATIN_TO_CYRILLIC = str.maketrans("aceopxykmhtb", "асеорхукмнтв")
_CYRILLIC_TO_LATIN = str.maketrans("авсенкмортху", "abcehkmoptxy")
_SECTION_CODE = re.compile(r"^(?:раздел\s*)?([a-zа-я])$")
_DIVISION_CODE = re.compile(r"^(?:раздел\s*)?(\d{2})$")


def normalise_label(label: str) -> str:
    """Return the matching form of a label from a statistical table.

    Steps: Unicode NFC; ``ё`` to ``е``; footnote markers glued to the end of a word removed
    (``Российская Федерация1)`` -> ``российская федерация``); en/em/non-breaking dashes and the
    minus sign to ``-`` with the spaces around a dash removed (``Осетия – Алания`` ->
    ``осетия-алания``); lower case; non-breaking spaces, line breaks, tabs and runs of spaces to
    one space; leading and trailing spaces stripped. Latin/Cyrillic look-alike letters are not
    touched here (see :func:`resolve_activity_labels` and :func:`resolve_region_labels`).

    Parameters
    ----------
    label : str
        A raw label.

    Returns
    -------
    str
        The normalised label.

    Examples
    --------
    >>> normalise_label("Центральный\\nфедеральный   округ")
    'центральный федеральный округ'
    >>> normalise_label("Российская Федерация1)")
    'российская федерация'
    >>> normalise_label("Республика Северная Осетия – Алания")
    'республика северная осетия-алания'
    """
    text = unicodedata.normalize("NFC", str(label))
    text = text.replace("ё", "е").replace("Ё", "Е")
    text = _FOOTNOTE.sub("", text)
    text = _DASHES.sub("-", text)
    text = _SPACES.sub(" ", text.lower())  # \s covers NBSP, line breaks and tabs in Python 3
    text = re.sub(r" ?- ?", "-", text)
    return text.strip()


def _region_key(label: str) -> str:
    """Normalise and fix Latin look-alikes inside Cyrillic words ("Бpянская" with a Latin p)."""
    words = normalise_label(label).split(" ")
    fixed = [w.translate(_LATIN_TO_CYRILLIC) if re.search("[а-я]", w) else w for w in words]
    return " ".join(fixed)


def _read_csv(path: Path, columns: list[str], key: list[str], what: str, prepare=None) -> pd.DataFrame:
    """Read a registry CSV as strings and check its columns and key uniqueness.

    ``prepare(frame, where)`` maps another schema's columns onto ``columns`` first (neutral names);
    the frame's ``attrs["path"]`` names the file, so later errors can name the file in use.
    """
    if not path.is_file():
        raise MappingError(f"{path}: {what} file not found")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    if prepare is not None:
        frame = prepare(frame, str(path))
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MappingError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(columns)}")
    frame = frame[columns].apply(lambda s: s.str.strip())
    empty = frame.loc[frame[key].eq("").any(axis=1)]
    if len(empty):
        raise MappingError(f"{path}: empty key column(s) {', '.join(key)} at row(s) "
                           + format_items(str(i + 2) for i in empty.index))
    dup = frame.loc[frame.duplicated(key, keep=False)]
    if len(dup):
        items = [f"row {i + 2}: " + ", ".join(f"{k}={dup.at[i, k]!r}" for k in key) for i in dup.index]
        raise MappingError(f"{path}: duplicate {'/'.join(key)}: " + format_items(items))
    frame.attrs["path"] = str(path)
    return frame


def _region_problems(frame: pd.DataFrame, codes: set) -> bool:
    """Whether any row fails the per-row checks of :func:`load_region_registry` (vectorised, so that a
    registry of thousands of units is walked row by row only to name what fails)."""
    cols = ["kind", "parent_code", "federal_district", "has_boundary"]
    if any(frame[c].isna().any() or not pd.api.types.is_string_dtype(frame[c]) for c in cols):
        return True
    bad = ~frame["kind"].isin(REGION_KINDS) | ~frame["has_boundary"].str.lower().isin(["true", "false"])
    for col in ("parent_code", "federal_district"):
        bad |= frame[col].ne("") & ~frame[col].isin(list(codes))
    return bool(bad.any())


def load_region_registry(path: Path | None = None) -> pd.DataFrame:
    """Load the registry of territorial units.

    The file may use the country-neutral columns (``region_code, name, name_en, group, kind,
    country``, ...) or the historical ones (``name_ru``, ``federal_district``, ``okato``); see
    :mod:`mapping.ingest.regschema` and ``geodata/REGIONS.md``. Both are read into the same frame.

    Parameters
    ----------
    path : Path, optional
        CSV file; default ``geodata/regions.csv`` in the repository.

    Returns
    -------
    DataFrame
        One row per unit with the columns of :data:`REGION_COLUMNS` plus ``country`` (ISO 3166-1
        alpha-2, empty where unknown) as strings (empty string for missing), except
        ``has_boundary`` which is bool. Default RangeIndex; ``attrs["path"]`` is the file.

    Raises
    ------
    MappingError
        Missing file or column, duplicate or empty ``region_code``, unknown ``kind``, a
        ``parent_code``/``federal_district`` that is not a unit of the registry, or a
        ``has_boundary`` other than true/false. The message names the file, row and value.

    Examples
    --------
    >>> reg = load_region_registry()
    >>> reg.set_index("region_code").at["RU-NEN", "parent_code"]
    'RU-ARK'
    """
    path = Path(path) if path is not None else GEODATA_DIR / "regions.csv"
    frame = _read_csv(path, REGION_COLUMNS + ["country"], ["region_code"], "region registry",
                      prepare=regschema.to_internal_columns)
    frame = regschema.fill_defaults(frame)  # neutral registries may leave kind, boundary columns empty
    problems = []
    codes = set(frame["region_code"])
    for i, row in (frame.iterrows() if _region_problems(frame, codes) else ()):  # rows named only when one fails
        where = f"row {i + 2}, region_code={row.region_code}"
        if row.kind not in REGION_KINDS:
            problems.append(f"{where}, column 'kind': expected one of {', '.join(REGION_KINDS)}, got {row.kind!r}")
        for col in ("parent_code", "federal_district"):
            if row[col] and row[col] not in codes:
                problems.append(f"{where}, column '{col}': {row[col]!r} is not a region_code of the registry")
        if row.has_boundary.lower() not in ("true", "false"):
            problems.append(f"{where}, column 'has_boundary': expected true or false, got {row.has_boundary!r}")
    if problems:
        raise MappingError(f"{path}: " + format_items(problems))
    frame["has_boundary"] = frame["has_boundary"].str.lower().eq("true")
    return regschema.assign_countries(frame, str(path))


def load_region_labels(path: Path | None = None) -> pd.DataFrame:
    """Load the table of region label variants (``region_code, label, source``).

    Parameters
    ----------
    path : Path, optional
        CSV file; default ``geodata/region_labels.csv`` in the repository.

    Returns
    -------
    DataFrame
        Columns of :data:`REGION_LABEL_COLUMNS`, strings.

    Raises
    ------
    MappingError
        Missing file or column, empty or duplicate ``region_code``/``label`` pair.
    """
    path = Path(path) if path is not None else GEODATA_DIR / "region_labels.csv"
    return _read_csv(path, REGION_LABEL_COLUMNS, ["region_code", "label"], "region label")


def load_activity_registry(path: Path | None = None) -> pd.DataFrame:
    """Load the registry of activity codes (OKVED2 and OKVED 2007).

    Parameters
    ----------
    path : Path, optional
        CSV file; default ``geodata/activities.csv`` in the repository.

    Returns
    -------
    DataFrame
        Columns of :data:`ACTIVITY_COLUMNS`, strings; unique on ``classification, code``.

    Raises
    ------
    MappingError
        Missing file or column, duplicate or empty key, or a ``parent_code`` not in the same
        classification.
    """
    path = Path(path) if path is not None else GEODATA_DIR / "activities.csv"
    frame = _read_csv(path, ACTIVITY_COLUMNS, ["classification", "code"], "activity registry",
                      prepare=regschema.activity_columns)
    known = pd.MultiIndex.from_arrays([frame["classification"], frame["code"]])
    # Rows walked one by one only to name the failures (iterrows over thousands of codes is slow).
    unknown = frame["parent_code"].ne("") & ~pd.MultiIndex.from_arrays(
        [frame["classification"], frame["parent_code"]]).isin(known)
    bad = [f"row {i + 2}, {r.classification} {r.code}: parent_code {r.parent_code!r} not in the registry"
           for i, r in frame.loc[unknown].iterrows()]
    if bad:
        raise MappingError(f"{path}: " + format_items(bad))
    return frame


def load_activity_labels(path: Path | None = None) -> pd.DataFrame:
    """Load the table of activity label variants (``classification, code, label, source``).

    Parameters
    ----------
    path : Path, optional
        CSV file; default ``geodata/activity_labels.csv`` in the repository.

    Returns
    -------
    DataFrame
        Columns of :data:`ACTIVITY_LABEL_COLUMNS`, strings.

    Raises
    ------
    MappingError
        Missing file or column, empty or duplicate ``classification``/``code``/``label``.
    """
    path = Path(path) if path is not None else GEODATA_DIR / "activity_labels.csv"
    return _read_csv(path, ACTIVITY_LABEL_COLUMNS, ["classification", "code", "label"], "activity label")


def _unknown_error(unknown: list[str], names: list[str], key, what: str, source: str,
                   labels_file: str | None = None, suggest=None) -> MappingError:
    """Build the error listing unknown labels with the three closest registry entries each
    (``suggest(label) -> list of str`` when given, else the closest names)."""
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(key(name), name)
    items = []
    for label in unknown[:5]:  # the message shows five; ranking every unit is not free
        if suggest is not None:
            close = [repr(c) for c in suggest(label)]
        else:
            close = [repr(by_key[c]) for c in difflib.get_close_matches(key(label), list(by_key), n=3, cutoff=0.0)]
        items.append(f"{label!r} (closest: {', '.join(close) or 'none'})")
    items += [repr(label) for label in unknown[5:]]
    return MappingError(f"{source}: {len(unknown)} unknown {what} label(s): " + format_items(items)
                        + f"; add the variant to {labels_file or f'geodata/{what}_labels.csv'} if it is a known unit")


def resolve_region_labels(labels: Iterable[str], *, registry: pd.DataFrame | None = None,
                          labels_table: pd.DataFrame | None = None, source: str = "<input>") -> dict[str, str]:
    """Map raw region labels to ``region_code``.

    Matching is exact on the normalised form (:func:`normalise_label`, plus Latin look-alike letters
    inside Cyrillic words read as Cyrillic) against the official ``name_ru``, the ``region_code``
    itself and every variant of ``geodata/region_labels.csv``. There is no fuzzy matching.

    Parameters
    ----------
    labels : iterable of str
        Raw labels as met in a source (padding, line breaks and footnote markers allowed).
    registry : DataFrame, optional
        From :func:`load_region_registry`; default the repository registry.
    labels_table : DataFrame, optional
        From :func:`load_region_labels`; default the repository table.
    source : str
        Name of the input, used in error messages (a file path).

    Returns
    -------
    dict
        ``{raw label: region_code}`` for every distinct label given.

    Raises
    ------
    MappingError
        A label is unknown (the message lists up to five with the three closest registry names
        each and names ``source``), or the variants map one label to two units.

    Examples
    --------
    >>> resolve_region_labels(["Ненецкий автономный округ (Архангельская область)"])
    {'Ненецкий автономный округ (Архангельская область)': 'RU-NEN'}
    """
    registry = load_region_registry() if registry is None else registry
    labels_table = load_region_labels() if labels_table is None else labels_table
    index = regschema.region_label_index(registry, labels_table, _region_key)  # errors name the files in use
    out, unknown = {}, []
    for label in dict.fromkeys(labels):
        code = index.get(_region_key(label))
        if code is None:
            unknown.append(label)
        else:
            out[label] = code
    if unknown:
        raise _unknown_error(unknown, list(registry["name_ru"]), _region_key, "region", source,
                             labels_table.attrs.get("path"),  # the label file in use
                             suggest=lambda lab: region_suggestions(lab, registry, labels_table))
    return out


def _activity_code_key(text: str, level_of: dict[str, str]) -> str | None:
    """Read ``C``, ``Раздел C``, ``Раздел С`` (Cyrillic) or ``21`` as a code of the registry."""
    m = _SECTION_CODE.match(text)
    if m:
        # Section headers are typed with Cyrillic look-alikes ("Раздел О"): read them as Latin.
        code = m.group(1).translate(_CYRILLIC_TO_LATIN).upper()
        return code if level_of.get(code) == "section" else None
    m = _DIVISION_CODE.match(text)
    if m and level_of.get(m.group(1)) == "division":
        return m.group(1)
    return text.upper() if text.upper() in level_of else None


def resolve_activity_labels(labels: Iterable[str], *, classification: str, level: str | None = None,
                            registry: pd.DataFrame | None = None, labels_table: pd.DataFrame | None = None,
                            source: str = "<input>") -> dict[str, str]:
    """Map raw activity labels to codes of one classification.

    Accepted: a code (``C``, ``21``, ``TOTAL``), a section header ``Раздел C`` also with a Cyrillic
    look-alike letter (``Раздел С``, ``Раздел О``), the official name in any case, or a variant of
    ``geodata/activity_labels.csv``, all compared in normalised form (:func:`normalise_label`).
    Four OKVED2 sections have a single division with the section's name (D/35, P/85, U/99 and the
    like): such a name resolves to the broadest level unless ``level`` is given.

    Parameters
    ----------
    labels : iterable of str
        Raw labels.
    classification : str
        ``"OKVED2"`` or ``"OKVED2007"`` (the letters mean different activities in the two).
    level : str, optional
        Restrict names to one level (``"section"``, ``"division"``, ...).
    registry, labels_table : DataFrame, optional
        From :func:`load_activity_registry` / :func:`load_activity_labels`; default the repository files.
    source : str
        Name of the input, used in error messages.

    Returns
    -------
    dict
        ``{raw label: code}``.

    Raises
    ------
    MappingError
        Unknown classification, or unknown labels (up to five listed with the three closest names
        each, naming ``source``).

    Examples
    --------
    >>> resolve_activity_labels(["Раздел О"], classification="OKVED2")
    {'Раздел О': 'O'}
    """
    registry = load_activity_registry() if registry is None else registry
    labels_table = load_activity_labels() if labels_table is None else labels_table
    known = sorted(set(registry["classification"]))
    if classification not in known:
        raise MappingError(f"{source}: classification {classification!r} is not in the activity registry; "
                           f"expected one of {', '.join(known)}")
    reg = registry.loc[registry["classification"] == classification]
    level_of = dict(zip(reg["code"], reg["level"]))
    lab = labels_table.loc[labels_table["classification"] == classification]
    candidates: dict[str, set[str]] = {}
    for name, code in list(zip(reg["name_ru"], reg["code"])) + list(zip(lab["label"], lab["code"])):
        candidates.setdefault(normalise_label(name), set()).add(code)
    rank = {lv: i for i, lv in enumerate(_LEVEL_ORDER)}
    out, unknown = {}, []
    for label in dict.fromkeys(labels):
        key = normalise_label(label)
        code = _activity_code_key(key, level_of)
        if code is None:
            codes = [c for c in candidates.get(key, ()) if level is None or level_of.get(c) == level]
            codes.sort(key=lambda c: (rank.get(level_of.get(c, ""), 99), c))
            code = codes[0] if codes else None
        elif level is not None and level_of[code] != level:
            code = None
        if code is None:
            unknown.append(label)
        else:
            out[label] = code
    if unknown:
        names = [n for n, c in zip(reg["name_ru"], reg["code"]) if level is None or level_of[c] == level]
        raise _unknown_error(unknown, names, normalise_label, "activity", f"{source} ({classification})",
                             labels_table.attrs.get("path"),
                             suggest=lambda lab: activity_suggestions(lab, registry, classification, level))
    return out


def _check_nested(nested: str) -> None:
    if nested not in NESTED_CHOICES:
        raise MappingError(f"nested must be one of {', '.join(NESTED_CHOICES)}, got {nested!r}")


def _children(registry: pd.DataFrame) -> dict[str, list[str]]:
    """Map each parent unit to its parts (nested okrugs and the remainder), sorted."""
    out: dict[str, list[str]] = {}
    for code, parent in zip(registry["region_code"], registry["parent_code"]):
        if parent:
            out.setdefault(parent, []).append(code)
    return {k: sorted(v) for k, v in out.items()}


def leaf_units(registry: pd.DataFrame, codes: Iterable[str] | None = None, *, nested: str = "parts") -> list[str]:
    """Choose a non-overlapping set of units (subjects, nested okrugs, remainders) from ``codes``.

    Arkhangelsk Oblast contains the Nenets okrug, and Tyumen Oblast the Khanty-Mansi and
    Yamalo-Nenets okrugs; tables show the parent, its okrugs and the remainder "without the
    okrugs", so summing every row double counts. ``nested="parts"`` keeps the subjects that have
    no parts plus the parts (RU-NEN, RU-ARK-X, RU-KHM, RU-YAN, RU-TYU-X) and drops the parents
    RU-ARK and RU-TYU; ``nested="parents"`` keeps RU-ARK and RU-TYU and drops every unit with a
    ``parent_code``. The country and federal districts are never returned (they overlap the
    subjects).

    Parameters
    ----------
    registry : DataFrame
        From :func:`load_region_registry`.
    codes : iterable of str, optional
        Codes present in the data; default every subject and remainder of the registry.
    nested : {"parts", "parents"}
        Which side of the nesting to keep.

    Returns
    -------
    list of str
        Region codes in registry order, none of them contained in another.

    Raises
    ------
    MappingError
        Unknown ``nested`` or code; under "parts" a parent whose parts are not all in ``codes``;
        under "parents" a part whose parent is not in ``codes`` (coverage would be lost).

    Examples
    --------
    >>> reg = load_region_registry()
    >>> [c for c in leaf_units(reg, nested="parts") if c.startswith("RU-ARK") or c == "RU-NEN"]
    ['RU-NEN', 'RU-ARK-X']
    """
    _check_nested(nested)
    kind = dict(zip(registry["region_code"], registry["kind"]))
    parent = dict(zip(registry["region_code"], registry["parent_code"]))
    if codes is None:
        given = {c for c, k in kind.items() if k in ("subject", "remainder")}
    else:
        given = set(codes)
        unknown = sorted(given - set(kind))
        if unknown:
            raise MappingError("leaf_units: code(s) not in the region registry: " + format_items(unknown))
        given = {c for c in given if kind[c] in ("subject", "remainder")}
    children = _children(registry)
    problems = []
    if nested == "parts":
        for p, parts in children.items():
            if (p in given or given & set(parts)) and not set(parts) <= given:
                problems.append(f"{p}: parts missing {', '.join(sorted(set(parts) - given))}")
        keep = {c for c in given if c not in children}
        hint = "use nested='parents'"
    else:
        for c in sorted(given):
            if parent[c] and parent[c] not in given:
                problems.append(f"{c}: parent {parent[c]} missing")
        keep = {c for c in given if not parent[c]}
        hint = "use nested='parts'"
    if problems:
        raise MappingError(f"leaf_units(nested={nested!r}): the units would not cover the same territory: "
                           + format_items(problems) + f"; {hint}")
    return [c for c in registry["region_code"] if c in keep]


def expand_to_units(code: str, registry: pd.DataFrame, *, nested: str = "parts") -> list[str]:
    """List the units of the :func:`leaf_units` set chosen by ``nested`` that cover ``code``.

    Parameters
    ----------
    code : str
        Any region code of the registry (country, district, subject, part).
    registry : DataFrame
        From :func:`load_region_registry`.
    nested : {"parts", "parents"}
        The unit set, as in :func:`leaf_units`.

    Returns
    -------
    list of str
        Sorted codes. Under "parts" RU-ARK -> [RU-ARK-X, RU-NEN]; under "parents" RU-NEN ->
        [RU-ARK]; a district or the country -> all its units.

    Raises
    ------
    MappingError
        Unknown ``code`` or ``nested``.

    Examples
    --------
    >>> reg = load_region_registry()
    >>> expand_to_units("RU-ARK", reg, nested="parts")
    ['RU-ARK-X', 'RU-NEN']
    >>> expand_to_units("RU-NEN", reg, nested="parents")
    ['RU-ARK']
    """
    _check_nested(nested)
    row = registry.loc[registry["region_code"] == code]
    if row.empty:
        close = difflib.get_close_matches(code, list(registry["region_code"]), n=3, cutoff=0.0)
        raise MappingError(f"expand_to_units: {code!r} is not in the region registry (closest: {', '.join(close)})")
    kind, parent = row["kind"].iloc[0], row["parent_code"].iloc[0]
    units = leaf_units(registry, nested=nested)
    if kind == "country":
        country = dict(zip(registry["region_code"], registry["country"])) if "country" in registry.columns else {}
        own = country.get(code, "")
        return sorted(u for u in units if not own or country.get(u, "") in ("", own))  # multi-country runs
    if kind == "federal_district":
        fd = dict(zip(registry["region_code"], registry["federal_district"]))
        return sorted(u for u in units if fd[u] == code)
    if nested == "parents":
        return [parent or code]
    return _children(registry).get(code, [code])
