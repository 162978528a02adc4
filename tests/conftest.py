"""Shared fixtures: the ../shared data folder and one Prefect test harness per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def shared() -> Path:
    """The ../shared folder with the original third-party files; skip when it is absent."""
    if not (SHARED / "data").is_dir():
        pytest.skip(f"../shared not found at {SHARED}: tests on the original third-party files skipped")
    return SHARED


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    """One Prefect test harness (temporary local API + SQLite) for the whole session: it costs ~10 s."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect_home"))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield
