"""Credits and vocabulary of a run's geography: who made the boundaries, registries and data, under
which licence, and how the run's own country speaks (the grouping level above regions, the
language of the names).

They come from each file's metadata sidecar, ``<file>.meta.toml`` beside it (also accepted:
``<stem>.meta.toml``), overridden by ``[geodata.credits.<role>]`` and ``[geodata] group_name`` /
``source_language`` in the run's config. A sidecar is a small TOML file::

    title = "Region boundaries of Russia"
    source = "DCW-GMT 2.1.1 (Debian package gmt-dcw 2.1.1-1), The GMT Team"
    licence = "LGPL-3+"
    attribution = "Boundaries: DCW-GMT 2.1.1, © The GMT Team, LGPL-3+"
    note = "modified: decoded, repaired and simplified; see BOUNDARIES.md"
    url = "https://github.com/GenericMappingTools/dcw-gmt"

    [vocabulary]                      # region registries only
    group_name = "federal district"   # the grouping level above regions (column group)
    group_name_plural = "federal districts"
    source_language = "ru"            # ISO 639-1 of the names in column name
    language_name = "Russian"

Nothing about a particular country is assumed here: a file without metadata is credited by its
file name, with a note that its source and licence are not stated.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from mapping.errors import MappingError

__all__ = ["CREDIT_KEYS", "ROLES", "metadata_path", "read_metadata", "run_credits", "boundary_attribution",
           "vocabulary_settings", "credit_line"]

#: Keys of a credit (all optional in a sidecar).
CREDIT_KEYS = ("title", "source", "licence", "attribution", "note", "url")
#: File roles of a run, with the config attribute holding the file and the word used in credits.
ROLES = {"boundaries": "Boundaries", "regions": "Region registry", "activities": "Activity registry",
         "supported_clusters": "Supported clusters", "data": "Data"}
#: Language names for the ISO 639-1 codes met most; others are shown as the code.
LANGUAGE_NAMES = {"ru": "Russian", "en": "English", "de": "German", "fr": "French", "es": "Spanish",
                  "it": "Italian", "pl": "Polish", "pt": "Portuguese", "nl": "Dutch", "sv": "Swedish",
                  "fi": "Finnish", "cs": "Czech", "uk": "Ukrainian", "kk": "Kazakh", "zh": "Chinese"}


def metadata_path(path: str | Path) -> Path | None:
    """The metadata sidecar of ``path`` (``<file>.meta.toml`` or ``<stem>.meta.toml``), if any."""
    path = Path(path)
    for cand in (path.with_name(path.name + ".meta.toml"), path.with_name(path.stem + ".meta.toml")):
        if cand.is_file():
            return cand
    return None


def read_metadata(path: str | Path | None) -> dict:
    """Read the metadata sidecar of a file.

    Parameters
    ----------
    path : str or Path or None
        A boundary, registry or data file (or folder).

    Returns
    -------
    dict
        The sidecar's keys (empty when the file has no sidecar).

    Raises
    ------
    MappingError
        The sidecar is not valid TOML (the message names the sidecar).
    """
    if path is None:
        return {}
    meta = metadata_path(path)
    if meta is None:
        return {}
    try:
        return tomllib.loads(meta.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"{meta}: not valid TOML: {exc}") from None


def _credit(role: str, path: Path | None, override: dict[str, str]) -> dict:
    meta = {k: str(v) for k, v in read_metadata(path).items() if k in CREDIT_KEYS}
    meta.update({k: str(v) for k, v in override.items() if k in CREDIT_KEYS and v is not None})
    word = ROLES.get(role, role)
    if not meta.get("attribution"):
        if meta.get("source"):
            meta["attribution"] = f"{word}: {meta['source']}" + (f", {meta['licence']}" if meta.get("licence") else "")
        else:
            name = Path(path).name if path is not None else "(none)"
            meta["attribution"] = f"{word}: {name} (source and licence not stated)"
            meta.setdefault("note", f"add {name}.meta.toml beside the file or [geodata.credits.{role}] "
                                    "to the config to credit it")
    file = str(path) if path is not None else ""
    return {"role": role, "file": file, **{k: meta.get(k, "") for k in CREDIT_KEYS}}


def run_credits(config) -> list[dict]:
    """Credits of every file the run's geography and data come from.

    Parameters
    ----------
    config : mapping.config.RunConfig

    Returns
    -------
    list of dict
        One record per file: ``role`` (``boundaries``, ``regions``, ``activities``,
        ``supported_clusters``, ``data``), ``file`` and the :data:`CREDIT_KEYS`; ``attribution``
        is always filled (from the metadata, or built from ``source`` and ``licence``, or the file
        name with "source and licence not stated").
    """
    g = config.geodata
    over = dict(getattr(g, "credits", {}) or {})
    out = [_credit(role, getattr(g, role), over.get(role, {}))
           for role in ("boundaries", "regions", "activities", "supported_clusters") if getattr(g, role) is not None]
    seen = set()
    for inp in config.inputs:
        if inp.path is None or str(inp.path) in seen:
            continue
        seen.add(str(inp.path))
        out.append(_credit("data", inp.path, over.get("data", {})))
    return out


def boundary_attribution(config) -> str:
    """The attribution line maps must carry for the run's boundaries (see :func:`run_credits`)."""
    g = config.geodata
    return _credit("boundaries", g.boundaries, dict(getattr(g, "credits", {}) or {}).get("boundaries", {}))["attribution"]


def credit_line(credit: dict) -> str:
    """One Markdown line for a credit: attribution, then title, licence, note and link where known."""
    word = ROLES.get(credit["role"], credit["role"])
    att = credit["attribution"]
    if att.lower().startswith(word.lower() + ":"):  # "Boundaries: X" under the heading "Boundaries"
        att = att[len(word) + 1:].strip()
    parts = [att]
    if credit.get("title"):
        parts.append(credit["title"])
    if credit.get("licence") and credit["licence"] not in credit["attribution"]:
        parts.append(f"licence: {credit['licence']}")
    if credit.get("note"):
        parts.append(credit["note"])
    if credit.get("url"):
        parts.append(f"`{credit['url']}`")  # as text: the report links to nothing outside
    file = f" (`{Path(credit['file']).name}`)" if credit.get("file") else ""
    return f"- {word}{file}: " + "; ".join(parts)


def vocabulary_settings(config) -> dict:
    """How the run's outputs name things: the grouping level above regions and the names' language.

    Order of precedence: ``[geodata] group_name`` / ``source_language`` in the config, then the
    ``[vocabulary]`` table of the region registry's sidecar, then neutral defaults ("group", English).

    Parameters
    ----------
    config : mapping.config.RunConfig

    Returns
    -------
    dict
        ``group_name``, ``group_name_plural``, ``source_language`` (ISO 639-1), ``language_name``.
    """
    g = config.geodata
    voc = dict(read_metadata(g.regions).get("vocabulary", {}))
    if getattr(g, "group_name", None):
        voc["group_name"] = g.group_name
        voc.pop("group_name_plural", None)
    if getattr(g, "source_language", None):
        voc["source_language"] = g.source_language
        voc.pop("language_name", None)
    group = str(voc.get("group_name") or "group")
    lang = str(voc.get("source_language") or "en").lower()
    return {"group_name": group,
            "group_name_plural": str(voc.get("group_name_plural") or _plural(group)),
            "source_language": lang,
            "language_name": str(voc.get("language_name") or LANGUAGE_NAMES.get(lang, lang))}


def _plural(word: str) -> str:
    """English plural of the last word of a noun phrase ("federal district" -> "federal districts")."""
    head, _, last = word.rpartition(" ")
    if last.endswith(("s", "x", "ch", "sh")):
        last += "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}".strip()
