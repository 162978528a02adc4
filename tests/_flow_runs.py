"""Refresh-flow runs shared by ``test_refresh_flow.py`` and ``test_dask.py`` (need ``prefect_harness``).

The cold run of the default configuration is made once per session, whichever module asks first
(a module-level cache: a session fixture imported into two modules would run twice).
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mapping.config import load_config

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "config" / "default.toml"
#: Files whose content must not depend on how (or when) the run was made.
DATA_SUFFIXES = (".csv", ".geojson", ".qml")

_TMP = Path(tempfile.mkdtemp(prefix="clustermap-flow-tests-"))
atexit.register(shutil.rmtree, _TMP, True)
_CACHE: dict[str, "FlowRun"] = {}


@dataclass
class FlowRun:
    output_root: Path
    run_dir: Path
    flow_run_id: str


def config_for(output_root: Path, **sections):
    """``config/default.toml`` writing to ``output_root``; ``sections`` update whole config sections."""
    cfg = load_config(DEFAULT_CONFIG)
    update = {"run": cfg.run.model_copy(update={"output_root": Path(output_root)}),
              "execution": cfg.execution.model_copy(update={"keep_runs": 100})}  # tests compare earlier runs
    for name, values in sections.items():
        update[name] = getattr(cfg, name).model_copy(update=values)
    return cfg.model_copy(update=update)


def run_flow(cfg) -> FlowRun:
    """Run the refresh flow in this process and return where it wrote."""
    from flows.refresh import refresh

    state = refresh(cfg, return_state=True)
    return FlowRun(Path(cfg.run.output_root), Path(state.result()), str(state.state_details.flow_run_id))


def cold_run() -> FlowRun:
    """The session's first run of the default configuration (every stage computed)."""
    if "cold" not in _CACHE:
        _CACHE["cold"] = run_flow(config_for(_TMP / "default"))
    return _CACHE["cold"]


def new_root(name: str) -> Path:
    return _TMP / name


def data_digests(run_dir: Path) -> dict[str, str]:
    """sha256 of the run's data files (tables, layers, styles), i.e. without manifest/report/maps."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(run_dir).iterdir()) if p.suffix in DATA_SUFFIXES}
