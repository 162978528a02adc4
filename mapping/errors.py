"""Errors raised by the mapping library."""


class MappingError(ValueError):
    """A problem with the user's input or configuration, with a message naming where it is."""


def format_items(items, limit: int = 5) -> str:
    """Join at most ``limit`` items for an error message, then "and N more"."""
    items = [str(i) for i in items]
    shown = "; ".join(items[:limit])
    if len(items) > limit:
        shown += f"; and {len(items) - limit} more"
    return shown
