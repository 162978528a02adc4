"""Display forms of names from the registries."""

from __future__ import annotations

__all__ = ["display_name"]


def display_name(name: str) -> str:
    """Sentence case for names the classification prints in capitals (OKVED2 section names)."""
    name = str(name or "")
    letters = [c for c in name if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 3:
        return name[:1] + name[1:].lower()
    return name
