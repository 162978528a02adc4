"""A user's division-level file makes a division-defined supported cluster testable at ``division``.

The default data are by OKVED2 section, so the bundled pilot clusters (defined by divisions) are
tested at the section level. Adding a small division-level employment file to the same run, with
no other change, moves the clusters whose regions it covers to a test at their own level. The
division file is synthetic (written by the test).
"""

from __future__ import annotations

import pandas as pd
import pytest

from mapping import pipeline
from mapping.config import InputFile
from _default_run import default_config

#: Synthetic employment by OKVED2 division (thousand persons).
DIVISIONS = {
    "RU-SAM": {"10": 20.0, "21": 2.0, "29": 30.0, "30": 40.0},
    "RU-ULY": {"10": 15.0, "21": 1.0, "29": 5.0, "30": 2.0},
    "RU-MOW": {"10": 100.0, "21": 20.0, "29": 10.0, "30": 10.0},
    "RU-SPE": {"10": 60.0, "21": 10.0, "29": 20.0, "30": 8.0},
    "RU-TA": {"10": 50.0, "21": 5.0, "29": 60.0, "30": 3.0},
}


def _lq_by_hand(region: str, code: str) -> float:
    national = sum(v[code] for v in DIVISIONS.values())
    total = sum(sum(v.values()) for v in DIVISIONS.values())
    return (DIVISIONS[region][code] / sum(DIVISIONS[region].values())) / (national / total)


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("division")
    rows = [{"year": 2021, "region_code": r, "activity_code": c, "classification": "OKVED2", "level": "division",
             "indicator": "employment", "value": v, "unit": "thousand persons", "flag": "", "source": "synthetic"}
            for r, vals in DIVISIONS.items() for c, v in vals.items()]
    path = tmp / "employment_by_division.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    base = default_config(tmp / "out")
    out = {}
    for name, cfg in (("sections", base),
                      ("with_divisions", base.model_copy(update={"inputs": base.inputs + (
                          InputFile(path=path, format="tidy"),)}))):
        inputs = pipeline.load_inputs(cfg)
        analysis = pipeline.compute_location_quotients(inputs, cfg)
        _, clusters, _ = pipeline.compare_supported(analysis, inputs, cfg)
        out[name] = clusters.set_index("cluster_id")
    return out


def test_default_data_test_division_clusters_at_section_level(verdicts):
    c = verdicts["sections"]
    assert set(c["tested_level"]) == {"section"}
    assert c.loc["PITC-18", "tested_activities"] == "C"  # Samara aerospace, division 30, seen as section C
    # Sections: C holds 66 % of industrial shipments (cap 1.51 < 2) but GVA can still test it.
    caps = dict(kv.split("=") for kv in c.loc["PITC-18", "attainable_lq_max"].split(";"))
    assert float(caps["shipments"]) < 2 <= float(caps["gva"])


def test_division_file_makes_the_cluster_testable_at_division(verdicts):
    c = verdicts["with_divisions"]
    sam = c.loc["PITC-18"]
    assert sam["tested_level"] == "division" and sam["tested_activities"] == "30"
    assert _lq_by_hand("RU-SAM", "30") >= 2 and sam["status"] == "aligned"
    uly = c.loc["PITC-24"]  # Ulyanovsk aircraft building, division 30: tested and not specialised
    assert uly["tested_level"] == "division" and _lq_by_hand("RU-ULY", "30") < 2
    assert uly["status"] == "supported_not_specialised"
    national = sum(v["30"] for v in DIVISIONS.values())
    total = sum(sum(v.values()) for v in DIVISIONS.values())
    assert sam["attainable_lq_max"] == f"employment={total / national:.2f}"
    # Arkhangelsk has no division rows: its cluster is still tested on sections.
    assert c.loc["PITC-02", "tested_level"] == "section"
