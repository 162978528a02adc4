"""A failed, refused or interrupted run leaves no ``.partial`` folder; one left by a killed run is swept at the
next start, while a live run's folder is never touched."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from mapping.config import InputFile, RunConfig, RunSection
from mapping.outputs.runlock import reserve_run_dir, sweep_partials

ROOT = Path(__file__).resolve().parents[2]


def _holder(output_root: Path, *, then: str) -> subprocess.Popen:
    """A process that reserves a run folder, prints it, then sleeps or dies without cleaning up."""
    code = f"""
import os, sys, time
sys.path.insert(0, {str(ROOT)!r})
from mapping.outputs.runlock import reserve_run_dir
_, partial, _ = reserve_run_dir({str(output_root)!r}, "key")
(partial / "half.csv").write_text("a,b\\n")
print(partial, flush=True)
{'os._exit(9)' if then == 'die' else 'time.sleep(60)'}
"""
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def _partials(root: Path) -> list[Path]:
    return sorted((root / "runs").glob(".*.partial"))


def test_partial_of_a_killed_run_is_swept_at_the_next_start(tmp_path):
    proc = _holder(tmp_path, then="die")
    partial = Path(proc.stdout.readline().strip())
    proc.wait(timeout=60)
    assert partial.is_dir()  # what kill -9 leaves behind
    _, mine, _ = reserve_run_dir(tmp_path, "other")
    assert not partial.exists()
    assert _partials(tmp_path) == [mine]


def test_partial_of_a_live_run_is_kept(tmp_path):
    proc = _holder(tmp_path, then="sleep")
    try:
        partial = Path(proc.stdout.readline().strip())
        assert sweep_partials(tmp_path / "runs") == []
        assert (partial / "half.csv").is_file()
    finally:
        proc.kill()
        proc.wait(timeout=60)
    time.sleep(0.1)
    assert sweep_partials(tmp_path / "runs") == [partial]
    assert not partial.exists() and list((tmp_path / "runs").iterdir()) == []


@pytest.mark.parametrize("exc", [RuntimeError("disk trouble"), KeyboardInterrupt(),
                                 OSError(28, "No space left on device", "location_quotients.csv")])
def test_failed_or_interrupted_write_removes_its_partial(tmp_path, monkeypatch, exc):
    from mapping import pipeline

    def fail(*_a, **_k):
        raise exc

    monkeypatch.setattr(pipeline, "_write_tables", fail)
    config = RunConfig(run=RunSection(output_root=tmp_path), inputs=(InputFile(path=tmp_path / "x.csv"),))
    with pytest.raises(type(exc)):
        pipeline.write_run(config, SimpleNamespace(content_key="k"), None, None, None, None, None, (None,) * 3)
    assert _partials(tmp_path) == []
    assert list((tmp_path / "runs").iterdir()) == []
