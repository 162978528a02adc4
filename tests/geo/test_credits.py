"""Credits and vocabulary of a run from the files' metadata and the config (mapping/geo/credits.py)."""

from __future__ import annotations

from pathlib import Path

from mapping.config import load_config
from mapping.geo.credits import boundary_attribution, run_credits, vocabulary_settings
from mapping.outputs.vocabulary import Vocabulary, rule_statement, vocabulary

ROOT = Path(__file__).resolve().parents[2]
DCW = "Boundaries: DCW-GMT 2.1.1, © The GMT Team, LGPL-3+"


def test_russian_defaults():
    cfg = load_config(ROOT / "config" / "default.toml")
    assert boundary_attribution(cfg) == DCW
    voc = vocabulary(cfg)
    assert (voc.group_name, voc.source_language, voc.language_name) == ("federal district", "ru", "Russian")
    data = [c for c in run_credits(cfg) if c["role"] == "data"]
    assert data and "Rosstat" in data[0]["attribution"]


def test_us_defaults():
    cfg = load_config(ROOT / "config" / "us_cbp.toml")
    assert boundary_attribution(cfg) == DCW  # the US states come from DCW-GMT too
    voc = vocabulary(cfg)
    assert voc.group_name == "Census region" and voc.english_source
    assert voc.name("Алабама", "Alabama") == "Alabama"  # an English source: the English name only
    data = [c for c in run_credits(cfg) if c["role"] == "data"]
    assert data and "County Business Patterns" in data[0]["attribution"]
    rule = rule_statement(cfg.specialisation)
    assert "Cluster Mapping Project" in rule and "75th percentile" in rule and "LQ ≥ 2" not in rule


def test_file_without_metadata_is_not_credited_to_anyone_else(tmp_path):
    cfg = load_config(ROOT / "config" / "default.toml")
    b = tmp_path / "mine.gpkg"
    b.write_bytes(b"")
    g = cfg.geodata.model_copy(update={"boundaries": b, "regions": tmp_path / "regions.csv"})
    other = cfg.model_copy(update={"geodata": g})
    att = boundary_attribution(other)
    assert "DCW" not in att and "mine.gpkg" in att and "not stated" in att
    assert vocabulary_settings(other)["group_name"] == "group"  # no Russian words without the metadata


def test_config_overrides_the_metadata(tmp_path):
    cfg = load_config(ROOT / "config" / "default.toml")
    g = cfg.geodata.model_copy(update={"credits": {"boundaries": {"attribution": "Boundaries: © EuroGeographics"}},
                                       "group_name": "NUTS-1 region", "source_language": "de"})
    other = cfg.model_copy(update={"geodata": g})
    assert boundary_attribution(other) == "Boundaries: © EuroGeographics"
    voc = vocabulary(other)
    assert (voc.group_name, voc.group_name_plural, voc.language_name) == ("NUTS-1 region", "NUTS-1 regions", "German")


def test_vocabulary_orders_names():
    assert Vocabulary(source_language="ru").name("Москва", "Moscow") == "Москва (Moscow)"
    assert Vocabulary(source_language="en").name("", "Texas") == "Texas"
    assert Vocabulary(source_language="de").name_slash("Bayern", "Bavaria") == "Bayern / Bavaria"


def test_unknown_credit_keys_are_refused(tmp_path):
    import pytest

    from mapping.errors import MappingError

    cfg = tmp_path / "c.toml"
    cfg.write_text('[[inputs]]\npath = "x.csv"\n[geodata.credits.boundary]\nattribution = "x"\n', encoding="utf-8")
    with pytest.raises(MappingError, match=r"credits\.boundary"):
        load_config(cfg)
