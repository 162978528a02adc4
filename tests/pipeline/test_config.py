"""Config validation on load: clear errors naming the file, key and value."""

from pathlib import Path

import pytest

from mapping.config import load_config, with_inputs
from mapping.errors import MappingError

ROOT = Path(__file__).resolve().parents[2]


def test_default_config_loads_and_resolves_paths():
    cfg = load_config(ROOT / "config" / "default.toml")
    assert cfg.specialisation.threshold == 2.0
    assert cfg.inputs[0].path == (ROOT / "data" / "ru_rosstat_2021.csv").resolve()
    assert cfg.geodata.boundaries.is_absolute() and cfg.geodata.boundaries.exists()


@pytest.mark.parametrize("text,match", [
    ("[[inputs]]\npath='x.csv'\n[specialisation]\nthreshold = -1\n", r"specialisation.threshold.*greater than 0.*-1"),
    ("[[inputs]]\npath='x.csv'\n[relatedness]\nmeasure = 'jaccard'\n", r"relatedness.measure.*'jaccard'"),
    ("[[inputs]]\npath='x.csv'\n[geodata]\nnested_units = 'both'\n", r"geodata.nested_units"),
    ("[[inputs]]\npath='x.csv'\n[specialisaton]\nthreshold = 2\n", r"specialisaton.*Extra inputs"),
    ("[run]\nseed = 1\n", r"key 'inputs': Field required"),
    ("[[inputs]\n", r"not valid TOML"),
], ids=["negative-threshold", "bad-measure", "bad-nested", "typo-section", "no-inputs", "bad-toml"])
def test_invalid_config(tmp_path, text, match):
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(MappingError, match=match) as err:
        load_config(p)
    assert str(p) in str(err.value)


def test_missing_config(tmp_path):
    with pytest.raises(MappingError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_with_inputs_replaces_inputs(tmp_path):
    cfg = with_inputs(load_config(ROOT / "config" / "default.toml"), [tmp_path / "a.csv"])
    assert [i.path for i in cfg.inputs] == [(tmp_path / "a.csv").resolve()]
