"""The corpus of malformed inputs (``tests/data/malformed/``): each must stop with its own error.

The table ``tests/data/malformed/expected.csv`` (written by ``tests/data/make_malformed.py``) lists
the file, the reading options and a fragment of the one-paragraph message the run must give. The
message must also name the file. Every case goes through :func:`mapping.pipeline.load_inputs`, the
same path as ``clustermap run`` and ``clustermap check``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from mapping.config import REPO_ROOT, GeodataSection, InputFile, RunConfig
from mapping.errors import MappingError
from mapping.pipeline import load_inputs

CORPUS = Path(__file__).resolve().parents[1] / "data" / "malformed"
CASES = list(csv.DictReader(open(CORPUS / "expected.csv", encoding="utf-8")))
G = REPO_ROOT / "geodata"
US = GeodataSection(country="US", regions=G / "us_regions.csv", region_labels=G / "us_region_labels.csv",
                    activities=G / "naics2007.csv", boundaries=G / "us_states.gpkg", supported_clusters=None)


def test_corpus_is_large_enough():
    assert len(CASES) >= 30
    assert len({(c["file"], c["options"]) for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[f"{c['file']}{'' if c['options'] == '{}' else ' ' + c['options']}"
                                             for c in CASES])
def test_malformed_input_stops_with_its_error(case):
    options = json.loads(case["options"])
    geodata = US if options.pop("us", False) else GeodataSection()
    path = CORPUS / case["file"]
    config = RunConfig(inputs=(InputFile(path=path, **options),), geodata=geodata)
    with pytest.raises(MappingError) as err:
        load_inputs(config)
    message = str(err.value)
    assert case["expected"] in message, message
    name = Path(case["file"]).name
    assert name in message or "one run mixes" in message, message


def test_unit_conflict_across_files(tmp_path):
    """The same indicator in persons and in rubles in two inputs cannot be combined."""
    import layouts as L

    a = L.write_csv(tmp_path / "a.csv", [["year", "region_code", "activity_code", "classification", "level",
                                          "indicator", "value", "unit", "flag", "source"],
                                         ["2021", "RU-BEL", "C", "OKVED2", "section", "employment", "1",
                                          "thousand persons", "", "a"]])
    b = L.write_csv(tmp_path / "b.csv", [["year", "region_code", "activity_code", "classification", "level",
                                          "indicator", "value", "unit", "flag", "source"],
                                         ["2021", "RU-BRY", "C", "OKVED2", "section", "employment", "1",
                                          "million RUB", "", "b"]])
    with pytest.raises(MappingError, match="unit conflict: indicator 'employment' is in 'thousand persons'"):
        load_inputs(RunConfig(inputs=(InputFile(path=a), InputFile(path=b))))


def test_duplicate_across_files(tmp_path):
    import layouts as L

    rows = L.tidy_rows()
    a = L.write_csv(tmp_path / "a.csv", rows, delimiter="\t")
    b = L.write_csv(tmp_path / "b.csv", rows, delimiter="\t")
    with pytest.raises(MappingError, match="appears in more than one input"):
        load_inputs(RunConfig(inputs=(InputFile(path=a), InputFile(path=b))))
