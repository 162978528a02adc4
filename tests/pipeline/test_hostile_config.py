"""Settings that used to pass and do harm later (issue: hostile and broken input): each one is refused when
the configuration is loaded, by every command, with the key and the value named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mapping.config import REPO_ROOT, load_config
from mapping.errors import MappingError

DEFAULT = (REPO_ROOT / "config" / "default.toml").read_text(encoding="utf-8")


def _config(tmp_path: Path, pattern: str, replacement: str) -> Path:
    text, n = re.subn(pattern, replacement, DEFAULT, count=1, flags=re.M)
    assert n == 1, pattern
    # Paths in the default config are relative to config/: keep them resolving from tmp_path.
    path = REPO_ROOT / "config" / f".test-{tmp_path.name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def config_with(tmp_path):
    made = []

    def make(pattern, replacement):
        made.append(_config(tmp_path, pattern, replacement))
        return made[-1]

    yield make
    for p in made:
        p.unlink(missing_ok=True)


@pytest.mark.parametrize("pattern, replacement, expected", [
    (r'^combine = .*$', 'combine = "gva or widgets"', "names ['widgets'], which are not in specialisation.indicators"),
    (r'^combine = .*$', 'combine = "gva or ("', "is not a rule of indicator names"),
    (r'^combine = .*$', 'combine = "__import__(\'os\')"', "only indicator names, and, or, not"),
    (r'^threshold = .*$', 'threshold = inf', "key 'specialisation.threshold'"),
    (r'^threshold = .*$', 'threshold = nan', "key 'specialisation.threshold'"),
    (r'^cron = .*$', 'cron = "61 * * * *"', "cron '61 * * * *' is not a valid cron expression"),
    (r'^cron = .*$', 'cron = "H 6 * * *"', "random and hashed fields"),
    (r'^timezone = .*$', 'timezone = "Mars/Olympus"', "timezone 'Mars/Olympus' is not an IANA time zone"),
])
def test_bad_setting_is_refused_at_load(config_with, pattern, replacement, expected):
    path = config_with(pattern, replacement)
    with pytest.raises(MappingError) as err:
        load_config(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("cron", ["@daily", "0 6 1 * *", "*/15 6-18 * * mon-fri"])
def test_valid_cron_is_kept(config_with, cron):
    assert load_config(config_with(r'^cron = .*$', f'cron = "{cron}"')).schedule.cron == cron


def test_check_command_refuses_a_bad_schedule_in_one_paragraph(config_with):
    from typer.testing import CliRunner

    from flows.cli import app

    path = config_with(r'^timezone = .*$', 'timezone = "Nowhere/Land"')
    result = CliRunner().invoke(app, ["check", "--config", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "timezone 'Nowhere/Land'" in result.output
