"""The row ledger: every row an input file holds, used or dropped with a reason.

Filled by the ingestion stage, written to ``manifest.json`` and summarised in ``report.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FileLedger", "format_ledger"]


@dataclass
class FileLedger:
    """Row accounting for one input file: read = used + sum(dropped)."""

    file: str
    sha256: str
    rows_read: int
    rows_used: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    cells_suppressed: int = 0
    rows_context: int = 0
    #: Layout read ("tidy", "annex", "cbp", ...), what a row is ("row" of a long table or value "cell"
    #: of a wide layout), layout rows that hold no values (titles, blank, footnotes: reason -> count),
    #: reader notes (units, nesting, vintage, footnotes) and aggregate checks (reported vs summed).
    format: str = ""
    row_unit: str = "row"
    layout_rows: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)

    def drop(self, reason: str, n: int) -> None:
        if n:
            self.dropped[reason] = self.dropped.get(reason, 0) + int(n)

    def check(self) -> None:
        """Raise if the ledger does not balance (a programming error, never user input)."""
        total = self.rows_used + sum(self.dropped.values())
        if total != self.rows_read:
            raise AssertionError(f"ledger for {self.file} does not balance: read {self.rows_read}, "
                                 f"used {self.rows_used} + dropped {sum(self.dropped.values())}")

    def to_dict(self) -> dict:
        return {"file": self.file, "sha256": self.sha256, "rows_read": self.rows_read,
                "rows_used": self.rows_used, "rows_dropped": dict(sorted(self.dropped.items())),
                "rows_context": self.rows_context, "cells_suppressed": self.cells_suppressed,
                "format": self.format, "row_unit": self.row_unit, "layout_rows": dict(self.layout_rows),
                "notes": list(self.notes), "checks": list(self.checks)}


def format_ledger(d: dict) -> list[str]:
    """Lines describing one ledger (``FileLedger.to_dict()``) for the terminal and the report."""
    unit = d.get("row_unit", "row")
    lines = [f"{d['file']} ({d.get('format') or 'tidy'}; one {unit} per value): read {d['rows_read']}, "
             f"used {d['rows_used']} (context {d['rows_context']}), suppressed cells {d['cells_suppressed']}"]
    lines += [f"  dropped {n}: {reason}" for reason, n in d["rows_dropped"].items()]
    if d.get("layout_rows"):
        lines.append("  layout rows without values: " + ", ".join(f"{k} {v}" for k, v in d["layout_rows"].items()))
    lines += [f"  note: {n}" for n in d.get("notes", [])]
    for c in d.get("checks", []):
        s = f"  check {c['check']}: {c['n']} compared, {c['complete']} with every part published"
        if "max_abs_rel_difference" in c:
            s += f"; largest difference {c['max_abs_rel_difference']:.3%} ({c['worst']})"
        lines.append(s)
    return lines
