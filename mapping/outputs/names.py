"""Display forms of names from the registries."""

from __future__ import annotations

import functools
import re

__all__ = ["display_name", "md_text"]


def display_name(name: str) -> str:
    """Sentence case for names the classification prints in capitals (OKVED2 section names)."""
    return _display_name(str(name or ""))


@functools.lru_cache(maxsize=65536)
def _display_name(name: str) -> str:
    # Cached: a report or web map asks for the same few thousand activity names hundreds of thousands of times.
    letters = [c for c in name if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 3:
        return name[:1] + name[1:].lower()
    return name


_MD_SPECIAL = re.compile(r"([\\`\[\]<>|])")


def md_text(v) -> str:
    """Text from the data or a registry as literal Markdown: the characters that open links, images,
    autolinks, raw HTML, code spans and table cells are backslash-escaped; line breaks become spaces."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(v).split()))
