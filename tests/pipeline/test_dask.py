"""The heavy stages on a 2-worker local Dask cluster (prefect-dask) give the default runner's outputs."""

from __future__ import annotations

import json

import pytest
from _flow_runs import cold_run, config_for, data_digests, new_root, run_flow

pytest.importorskip("prefect_dask", reason="prefect-dask not installed (pip install -e '.[dask]')")
pytestmark = pytest.mark.slow


def test_dask_runner_gives_the_default_runners_outputs(prefect_harness):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
    )

    default = cold_run()
    cfg = config_for(new_root("dask"), execution={"task_runner": "dask", "dask_workers": 2})
    dask = run_flow(cfg)
    ours, theirs = data_digests(dask.run_dir), data_digests(default.run_dir)
    assert any(n.endswith(".geojson") for n in ours) and any(n.endswith(".csv") for n in ours)
    assert ours == theirs
    manifest = json.loads((dask.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["stage_cache"]["reused"] == []  # computed on the cluster, not taken from a cache
    # The heavy stages ran as the Dask subflow of this run.
    with get_client(sync_client=True) as client:
        subflows = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[dask.flow_run_id])))
    assert subflows and all(r.state.is_completed() for r in subflows)
