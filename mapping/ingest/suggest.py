"""Suggestions for labels that resolve to nothing: the closest regions by name, code, ISO code, label
variant or transliteration, and the closest activity codes of the same level.

``Kemerovskaya oblast`` is compared with the Latin transliteration of every Russian name
(``kemerovskaya oblast``), ``RU-KEMM`` with every code and ISO 3166-2 code (``RU-KEM``), and
``Kemerovo region`` with the English names; each unit scores the best similarity over all its names.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

import pandas as pd

__all__ = ["transliterate", "region_suggestions", "activity_suggestions"]

# A plain Russian-to-Latin transliteration (as in the English spellings of region names).
_TRANSLIT = {"а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
             "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
             "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y",
             "ь": "", "э": "e", "ю": "yu", "я": "ya"}
# Ending spellings that differ between transliteration conventions ("-aya"/"-aja", "-iy"/"-ij").
_VARIANTS = ((r"aja\b", "aya"), (r"ij\b", "iy"), (r"yj\b", "iy"), (r"yy\b", "iy"), (r"ja", "ya"), (r"ju", "yu"),
             (r"\bg\.? ?", ""), (r"\bcity of\b", ""))


def transliterate(text: str) -> str:
    """Lower-case Latin form of a label for comparison across scripts.

    Examples
    --------
    >>> transliterate("Кемеровская область – Кузбасс")
    'kemerovskaya oblast kuzbass'
    >>> transliterate("Kemerovskaja oblast'")
    'kemerovskaya oblast'
    """
    t = unicodedata.normalize("NFKD", str(text).casefold().replace("ё", "е"))
    t = "".join(_TRANSLIT.get(c, c) for c in t if not unicodedata.combining(c))
    t = re.sub(r"[^a-z0-9]+", " ", t).strip()
    for pat, rep in _VARIANTS:
        t = re.sub(pat, rep, t)
    return " ".join(t.split())


#: Words of unit types that say nothing about which unit is meant (compared after transliteration).
_GENERIC = {"oblast", "oblasti", "kray", "krai", "respublika", "resp", "avtonomnyy", "avtonomnaya", "avtonomnyi",
            "okrug", "ao", "region", "republic", "autonomous", "the", "of", "city", "federal", "district", "territory",
            "krug", "gorod", "state", "county", "province"}


def _word_sim(a: str, b: str) -> float:
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    common = len(next((a[:i] for i in range(min(len(a), len(b)), 0, -1) if a[:i] == b[:i]), ""))
    # A shared stem ("tatarstan"/"tatarstanskaya", "kemerovo"/"kemerovskaya") is a strong hint.
    stem = common / min(len(a), len(b)) if common >= 5 else 0.0
    return max(ratio, stem)


def _score(query: str, candidate: str) -> float:
    if not query or not candidate:
        return 0.0
    whole = difflib.SequenceMatcher(None, query, candidate).ratio()
    q_words = [w for w in query.split() if w not in _GENERIC and len(w) > 1]
    c_words = [w for w in candidate.split() if w not in _GENERIC and len(w) > 1]
    if not q_words or not c_words:
        return whole
    words = sum(max(_word_sim(q, c) for c in c_words) for q in q_words) / len(q_words)
    return max(whole, words)


def region_suggestions(label: str, registry: pd.DataFrame, labels_table: pd.DataFrame | None = None,
                       n: int = 3) -> list[str]:
    """The ``n`` units closest to ``label``, as ``"name (code)"``, best first.

    Parameters
    ----------
    label : str
        The unknown label (any script, a name or a code).
    registry : DataFrame
        Region registry: ``region_code`` and any of ``name_ru``/``name``, ``name_en``, ``iso_3166_2``.
    labels_table : DataFrame, optional
        Label variants: ``region_code``, ``label``.
    """
    names: dict[str, set[str]] = {}
    for col in ("region_code", "iso_3166_2", "name_ru", "name", "name_en"):
        if col in registry.columns:
            for code, v in zip(registry["region_code"], registry[col].fillna("").astype(str)):
                if v:
                    names.setdefault(code, set()).add(v)
    if labels_table is not None and not labels_table.empty:
        for code, v in zip(labels_table["region_code"], labels_table["label"].astype(str)):
            names.setdefault(code, set()).add(v)
    q_code = str(label).strip().upper()
    q = transliterate(label)
    scores = {}
    for code, variants in names.items():
        best = max(_score(q, transliterate(v)) for v in variants)
        if re.fullmatch(r"[A-Z]{2}-[A-Z0-9-]+", q_code):  # a code-like query: compare codes as codes
            best = max([best] + [difflib.SequenceMatcher(None, q_code, v.upper()).ratio() + 0.05
                                 for v in variants if re.fullmatch(r"[A-Za-z]{2}-[A-Za-z0-9-]+", v)])
        scores[code] = best
    ranked = sorted(scores, key=lambda c: (-scores[c], c))[:n]
    name_col = "name_ru" if "name_ru" in registry.columns else ("name" if "name" in registry.columns else None)
    display = dict(zip(registry["region_code"], registry[name_col])) if name_col else {}
    return [f"{display.get(c, c)} ({c})" for c in ranked]


def activity_suggestions(label: str, registry: pd.DataFrame, classification: str, level: str | None = None,
                         n: int = 3) -> list[str]:
    """The ``n`` codes of ``classification`` (at ``level``, or at the level the label looks like) closest
    to ``label`` by code and by name, as ``"code (name)"``."""
    reg = registry.loc[registry["classification"] == classification]
    text = str(label).strip()
    if level is None:  # infer the level from the label's shape: "C" section, "21" division, "21.1" group...
        shape = ("section" if re.fullmatch(r"[A-Za-zА-Яа-я]{1,2}", text) else
                 "division" if re.fullmatch(r"\d{2}", text) else
                 "group" if re.fullmatch(r"\d{2}\.\d", text) else
                 "class" if re.fullmatch(r"\d{2}\.\d{2}", text) else None)
        if shape in set(reg["level"]):
            level = shape
    if level is not None and level in set(reg["level"]):
        reg = reg.loc[reg["level"] == level]
    name_col = "name_ru" if "name_ru" in reg.columns else "name"
    q = transliterate(text)
    scores = {}
    for code, name in zip(reg["code"], reg[name_col].fillna("").astype(str)):
        by_code = difflib.SequenceMatcher(None, text.upper(), str(code).upper()).ratio()
        scores[code] = max(by_code, _score(q, transliterate(name)))
    ranked = sorted(scores, key=lambda c: (-scores[c], c))[:n]
    names = dict(zip(reg["code"], reg[name_col]))
    return [f"{c} ({names[c]})" for c in ranked]
