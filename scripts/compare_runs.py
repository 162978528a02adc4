"""Compare two run folders: are their outputs the same apart from run ids, timestamps and timings?

Used to show that a refactoring left behaviour unchanged: run the default refresh before and after
the change and compare ``outputs/latest`` of both.

    python scripts/compare_runs.py OLD_RUN_DIR NEW_RUN_DIR

Exit 0 when every file of either folder matches, 1 otherwise (each difference is printed).
Tables are compared cell by cell; GeoPackage layers by their attributes and geometries; PNG maps
pixel by pixel; text files after masking run ids, ISO timestamps, durations and folium's random
element ids; ``manifest.json`` without its run id, times, timings, software versions and output
hashes (the hashes of files that embed the run id).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

_RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)?")
_SECONDS = re.compile(r"\d+(?:\.\d+)?\s?(?:s|seconds)\b")
_FOLIUM_ID = re.compile(r"_[0-9a-f]{32}")
# The report's timings table: the row of figures under the "Timings" heading.
_TIMINGS = re.compile(r"(## Timings[^\n]*\n\n\|[^\n]*\n\|[^\n]*\n)\|[^\n]*\n")
_TIMINGS_HTML = re.compile(r"(Timings \(seconds\)</h2>.*?<tbody>).*?(</tbody>)", re.S)
_VOLATILE_MANIFEST = {"run_id", "started", "finished", "stage_seconds", "software", "outputs", "stage_cache"}


def _mask(text: str) -> str:
    text = _TIMINGS.sub(r"\1| <timings> |\n", text)
    text = _TIMINGS_HTML.sub(r"\1<timings>\2", text)
    for pattern, token in ((_RUN_ID, "<run_id>"), (_TIMESTAMP, "<time>"), (_FOLIUM_ID, "_<id>"),
                           (_SECONDS, "<seconds>")):
        text = pattern.sub(token, text)
    return text


def _manifest(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if k not in _VOLATILE_MANIFEST}


def _same_png(a: Path, b: Path) -> bool:
    import matplotlib.image as mpimg
    import numpy as np

    x, y = mpimg.imread(a), mpimg.imread(b)
    return x.shape == y.shape and bool(np.array_equal(x, y))


def _same_gpkg(a: Path, b: Path) -> list[str]:
    import pyogrio

    problems = []
    la, lb = [n for n, _ in pyogrio.list_layers(a)], [n for n, _ in pyogrio.list_layers(b)]
    if sorted(la) != sorted(lb):
        return [f"layers differ: {sorted(la)} vs {sorted(lb)}"]
    for layer in la:
        if layer == "layer_styles":
            continue
        fa, fb = pyogrio.read_dataframe(a, layer=layer), pyogrio.read_dataframe(b, layer=layer)
        if "geometry" in fa:
            fa, fb = fa.to_wkb(), fb.to_wkb()
        if not fa.equals(fb):
            problems.append(f"layer {layer!r} differs")
    return problems


def compare(old: Path, new: Path) -> list[str]:
    """Every difference between two run folders (an empty list when they match)."""
    problems: list[str] = []
    names_old = {p.relative_to(old).as_posix() for p in old.rglob("*") if p.is_file()}
    names_new = {p.relative_to(new).as_posix() for p in new.rglob("*") if p.is_file()}
    for name in sorted(names_old ^ names_new):
        problems.append(f"{name}: only in {'old' if name in names_old else 'new'}")
    for name in sorted(names_old & names_new):
        a, b = old / name, new / name
        if a.read_bytes() == b.read_bytes():
            continue
        suffix = a.suffix.lower()
        if name == "manifest.json":
            same = _manifest(a) == _manifest(b)
        elif suffix == ".png":
            same = _same_png(a, b)
        elif suffix == ".gpkg":
            diff = _same_gpkg(a, b)
            problems += [f"{name}: {d}" for d in diff]
            continue
        elif suffix in (".csv", ".md", ".html", ".geojson", ".json", ".qml", ".txt"):
            same = _mask(a.read_text(encoding="utf-8")) == _mask(b.read_text(encoding="utf-8"))
        else:
            same = False
        if not same:
            problems.append(f"{name}: differs")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    problems = compare(args.old.resolve(), args.new.resolve())
    for p in problems:
        print(p)
    print(f"{'same' if not problems else 'different'}: {args.old} vs {args.new} ({len(problems)} difference(s))")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
