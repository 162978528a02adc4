"""OKVED2 groups and classes (e.g. from firm records) run through the pipeline with the bundled registry."""

from pathlib import Path

import pytest

from mapping import pipeline
from mapping.config import load_config, with_inputs
from mapping.errors import MappingError

ROOT = Path(__file__).resolve().parents[2]
HEADER = "year,region_code,activity_code,classification,level,indicator,value,unit,flag,source\n"
REGIONS = ["RU-TA", "RU-BA", "RU-MOW", "RU-SPE", "RU-KLU", "RU-TOM"]


def _config(tmp_path, rows, level="group"):
    p = tmp_path / "groups.csv"
    p.write_text(HEADER + "".join(rows), encoding="utf-8")
    cfg = with_inputs(load_config(ROOT / "config" / "default.toml"), [p])
    spec = cfg.specialisation.model_copy(update={"indicators": ("employment",), "combine": None, "level": level,
                                                 "known_totals": ()})
    return cfg.model_copy(update={"specialisation": spec})


def test_group_level_codes_get_their_division_as_parent(tmp_path):
    codes = ["21.1", "21.2", "26.1", "62.0"]
    rows = [f"2021,{r},{c},OKVED2,group,employment,{10 + 7 * i + 3 * j},persons,,synthetic\n"
            for i, r in enumerate(REGIONS) for j, c in enumerate(codes)]
    cfg = _config(tmp_path, rows)
    inputs = pipeline.load_inputs(cfg)
    acts = inputs.activities.set_index("code")
    assert acts.loc["21.1", "parent_code"] == "21" and acts.loc["21.1", "level"] == "group"
    analysis = pipeline.compute_location_quotients(inputs, cfg)
    assert set(analysis.lq["activity_code"]) == set(codes)
    # Supported clusters named by division (21 pharmaceuticals) are compared on the division's groups.
    pairs_status, clusters, _ = pipeline.compare_supported(analysis, inputs, cfg)
    tomsk = pairs_status.loc[pairs_status["supported_cluster_ids"].str.contains("PITC-22")]
    assert {"21.1", "21.2"} <= set(tomsk["activity_code"])


def test_unknown_division_is_still_refused(tmp_path):
    rows = [f"2021,{r},00.1,OKVED2,group,employment,5,persons,,synthetic\n" for r in REGIONS]
    with pytest.raises(MappingError, match=r"unknown activity code\(s\).*'00.1'"):
        pipeline.load_inputs(_config(tmp_path, rows))
