"""The country-neutral schema of the region registry, mapped onto the registry's internal columns.

A registry file may use the neutral column names (any country) or the historical Russian ones;
both are read into the same frame (:data:`mapping.ingest.registry.REGION_COLUMNS` plus
``country``), so the rest of the pipeline sees one shape:

=================  ====================  =====================================================
neutral column     internal column       meaning
=================  ====================  =====================================================
``region_code``    ``region_code``       project key (ISO 3166-2, NUTS, FIPS, ...); required
``name``           ``name_ru``           official name in the source language; required
``name_en``        ``name_en``           English name (default: ``name``)
``group``          ``federal_district``  code of the grouping unit above the region (federal
                                         district, Census region, NUTS-1, country), a row of
                                         the registry; may be empty
``kind``           ``kind``              ``country``, ``group`` (= ``federal_district``),
                                         ``region`` (= ``subject``), ``remainder``; default
                                         ``region``, and ``group`` for a code others name in
                                         ``group``
``country``        ``country``           ISO 3166-1 alpha-2 code of the unit's country
                                         (default: the ``country`` row above it, or the only
                                         ``country`` row)
``parent_code``    ``parent_code``       the unit a nested unit lies inside (default empty)
``boundary_codes`` ``boundary_codes``    ``;``-joined ids of boundary features whose union is
                                         the unit (default: the unit's own code)
``has_boundary``   ``has_boundary``      ``true``/``false`` (default: true for regions and
                                         remainders with ``boundary_codes``)
``iso_3166_2``,    same                  optional; default empty
``okato``,
``note``
=================  ====================  =====================================================

Everything here works on the frame already read (no file access beyond what the caller did).
"""

from __future__ import annotations

import pandas as pd

from mapping.errors import MappingError, format_items

__all__ = ["COLUMN_ALIASES", "KIND_ALIASES", "to_internal_columns", "fill_defaults", "assign_countries",
           "activity_columns", "region_label_index"]

#: Neutral column name -> internal column name.
COLUMN_ALIASES = {"name": "name_ru", "group": "federal_district"}
#: Neutral kind -> internal kind.
KIND_ALIASES = {"group": "federal_district", "region": "subject"}
_OPTIONAL = ("kind", "iso_3166_2", "okato", "name_en", "federal_district", "parent_code", "boundary_codes",
             "has_boundary", "note")


def to_internal_columns(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """Rename neutral columns to the internal ones; a file may not use both names of one column.

    Parameters
    ----------
    frame : DataFrame
        The registry as read (strings).
    where : str
        The file, for messages.

    Returns
    -------
    DataFrame
        A copy with internal column names; missing optional columns are added empty.

    Raises
    ------
    MappingError
        Both ``name`` and ``name_ru`` (or ``group`` and ``federal_district``) are present.
    """
    both = [f"{n}/{i}" for n, i in COLUMN_ALIASES.items() if n in frame.columns and i in frame.columns]
    if both:
        raise MappingError(f"{where}: use one name per column, not both: {', '.join(both)}")
    out = frame.rename(columns=COLUMN_ALIASES)
    for col in _OPTIONAL:
        if col not in out.columns:
            out[col] = ""
    if "country" not in out.columns:
        out["country"] = ""
    return out


def fill_defaults(frame: pd.DataFrame) -> pd.DataFrame:
    """Fill the optional columns a neutral registry may leave empty (see the module docstring).

    Parameters
    ----------
    frame : DataFrame
        Internal columns, stripped strings.

    Returns
    -------
    DataFrame
        A copy: ``kind`` normalised (``group`` -> ``federal_district``, ``region`` -> ``subject``),
        empty kinds set to ``federal_district`` for codes named in another row's
        ``federal_district`` and ``subject`` otherwise; empty ``name_en`` = the name; empty
        ``boundary_codes``/``has_boundary`` of regions and remainders = own code / true.
    """
    out = frame.copy()
    named_groups = set(out["federal_district"]) - {""}
    kind = out["kind"].str.lower().replace(KIND_ALIASES)
    kind = kind.where(kind != "", out["region_code"].map(lambda c: "federal_district" if c in named_groups
                                                         else "subject"))
    out["kind"] = kind
    out["name_en"] = out["name_en"].where(out["name_en"] != "", out["name_ru"])
    unit = out["kind"].isin(["subject", "remainder"])
    no_flag = out["has_boundary"] == ""
    out.loc[unit & (out["boundary_codes"] == "") & no_flag, "boundary_codes"] = out["region_code"]
    out.loc[no_flag, "has_boundary"] = (unit & (out["boundary_codes"] != "")).map({True: "true", False: "false"})
    return out


def assign_countries(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """Fill ``country`` where empty: from the ``country`` row above the unit, else the only country row.

    A ``country`` row's own country is its ``iso_3166_2`` or, if empty, its ``region_code``. The
    chain above a unit follows ``federal_district`` (group) and ``parent_code``.

    Parameters
    ----------
    frame : DataFrame
        Internal columns, kinds normalised.
    where : str
        The file, for messages.

    Returns
    -------
    DataFrame
        A copy with ``country`` filled where it can be (empty otherwise).

    Raises
    ------
    MappingError
        A ``country`` value that is not a two-letter upper-case code.
    """
    out = frame.copy()
    kind = dict(zip(out["region_code"], out["kind"]))
    up = {c: [g for g in (fd, p) if g] for c, fd, p in zip(out["region_code"], out["federal_district"],
                                                            out["parent_code"])}
    own = {c: (iso or c) for c, k, iso in zip(out["region_code"], out["kind"], out["iso_3166_2"]) if k == "country"}
    given = dict(zip(out["region_code"], out["country"]))
    only = next(iter(own.values())) if len(own) == 1 else ""

    def find(code: str, seen: set[str]) -> str:
        if given.get(code):
            return given[code]
        if kind.get(code) == "country":
            return own[code]
        for g in up.get(code, []):
            if g not in seen:
                found = find(g, seen | {g})
                if found:
                    return found
        return ""

    out["country"] = [find(c, {c}) or only for c in out["region_code"]]
    bad = [f"row {i + 2}, region_code={c}: {v!r}" for i, (c, v) in enumerate(zip(out["region_code"], out["country"]))
           if v and not (len(v) == 2 and v.isalpha() and v.isupper())]
    if bad:
        raise MappingError(f"{where}, column 'country': expected an ISO 3166-1 alpha-2 code such as DE: "
                           + format_items(bad))
    return out


def activity_columns(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """The activity registry's neutral columns: ``name`` for ``name_ru``, ``name_en`` defaulting to it.

    Parameters
    ----------
    frame : DataFrame
        The activity registry as read (``classification, code, level, parent_code, name[, name_en]``).
    where : str
        The file, for messages.

    Returns
    -------
    DataFrame
        A copy with ``name_ru`` and ``name_en``; ``parent_code`` added empty when absent.
    """
    if "name" in frame.columns and "name_ru" in frame.columns:
        raise MappingError(f"{where}: use one name per column, not both: name/name_ru")
    out = frame.rename(columns={"name": "name_ru"})
    if "parent_code" not in out.columns:
        out["parent_code"] = ""
    if "name_en" not in out.columns and "name_ru" in out.columns:
        out["name_en"] = out["name_ru"]
    return out


def region_label_index(registry: pd.DataFrame, labels_table: pd.DataFrame, key) -> dict[str, str]:
    """Index every way a region may be named in a source: its name, its code and its label variants.

    Every ``region_code`` of the registry, every name (``name``/``name_ru`` column) and every row of
    the label table is a label of its unit. A name shared by a unit and a group, parent or country
    above it (a country of one region) means the finest of them. Any other key reached from two
    units is an error that says where each side comes from (file, column or row), e.g. a name equal
    to another unit's code.

    Parameters
    ----------
    registry : DataFrame
        From :func:`mapping.ingest.registry.load_region_registry` (``attrs["path"]`` names the file).
    labels_table : DataFrame
        From :func:`mapping.ingest.registry.load_region_labels` (``attrs["path"]`` names the file).
    key : callable
        The matching form of a label (normalisation).

    Returns
    -------
    dict
        Matching form -> ``region_code``.

    Raises
    ------
    MappingError
        A label maps to two units, or the label table names a code not in the registry; the
        message names the files in use.
    """
    reg_file = registry.attrs.get("path", "the region registry")
    lab_file = labels_table.attrs.get("path", "the region label table")
    entries = [(c, c, f"{reg_file} row {i + 2} column region_code") for i, c in enumerate(registry["region_code"])]
    entries += [(n, c, f"{reg_file} row {i + 2} column name") for i, (n, c) in
                enumerate(zip(registry["name_ru"], registry["region_code"])) if n]
    entries += [(lab, c, f"{lab_file} row {i + 2}") for i, (lab, c) in
                enumerate(zip(labels_table["label"], labels_table["region_code"]))]
    up = {c: {g for g in (fd, p, ctry) if g and g != c} for c, fd, p, ctry in
          zip(registry["region_code"], registry["federal_district"], registry["parent_code"],
              registry["country"] if "country" in registry.columns else registry["parent_code"])}

    def above(code: str, other: str) -> bool:  # is ``other`` a group, parent or country of ``code``?
        seen, todo = set(), list(up.get(code, ()))
        while todo:
            c = todo.pop()
            if c == other:
                return True
            if c not in seen:
                seen.add(c)
                todo += list(up.get(c, ()))
        return False

    index: dict[str, tuple[str, str]] = {}
    clashes = []
    for label, code, origin in entries:
        k = key(label)
        first = index.setdefault(k, (code, origin))
        if first[0] == code:
            continue
        is_code = "column region_code" in origin or "column region_code" in first[1]
        # A name shared along one chain (a country with one region, "Luxembourg" for LU, LU0, LU00) means
        # the finest unit, which is what the data are about; unrelated units sharing a label are an error.
        if not is_code and above(code, first[0]):
            index[k] = (code, origin)
        elif not is_code and above(first[0], code):
            pass
        else:
            clashes.append(f"{label!r} -> {first[0]} ({first[1]}) and {code} ({origin})")
    if clashes:
        raise MappingError("a region label maps to two units (a name, code or variant may mean one unit only; "
                           "rename or remove one side): " + format_items(clashes))
    unknown = sorted(set(labels_table["region_code"]) - set(registry["region_code"]))
    if unknown:
        raise MappingError(f"{lab_file}: region_code not in the registry {reg_file}: " + format_items(unknown))
    return {k: v[0] for k, v in index.items()}
