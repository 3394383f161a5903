"""Flows side by side in worker processes: each stores its own results; a failure stops the run
after the flows already running have stored theirs.

Two flows in two workers: the vacancy hop of Cu in L1_2 CuAg3 on ASE's EMT (a real CI-NEB flow)
and a flow whose one job fails. The killed run with workers: ``test_run_resume.py``.
"""

from __future__ import annotations

import json

import pytest
from jobflow import Flow, job
from pymatgen.core import Lattice, Structure

from ionflow.analysis.store import results_store
from ionflow.workflows.cli import run_flows
from ionflow.workflows.specs import FlowSpec, build_flows, spec_fingerprint


@job
def broken_job() -> None:
    """A job that fails."""
    raise ValueError("this job fails")


@pytest.mark.timeout(600)
def test_a_failing_flow_stops_the_run_and_the_running_flow_still_stores(tmp_path):
    host = Structure(
        Lattice.cubic(3.9), ["Cu", "Ag", "Ag", "Ag"], [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
    )
    host.to(filename=str(tmp_path / "CuAg3.cif"))
    spec = FlowSpec(flow="barriers", structure=str(tmp_path / "CuAg3.cif"), species=["Cu"])
    spec = spec.model_copy(update={"model": "EMT", "warm_start": False, "images": 3})
    barrier_flows = build_flows(spec)
    flows = [*barrier_flows, ("broken", Flow([broken_job()]))]
    store = results_store(str(tmp_path / "r.json"))
    with pytest.raises(RuntimeError, match="did not finish"):
        run_flows(flows, store, tmp_path / "runs", spec_fingerprint(spec), workers=2)
    docs = json.loads((tmp_path / "r.json").read_text())
    records = [d for d in docs if d["doc_type"] == "CompletedFlowRecord"]
    assert [r["label"] for r in records] == [barrier_flows[0][0]]  # the failed flow is not recorded
    (barrier,) = [d for d in docs if d["doc_type"] == "MigrationBarrierDoc"]
    assert barrier["species"] == "Cu" and barrier["result_id"] in records[0]["result_ids"]
    assert 0.3 < barrier["forward_barrier"] < 1.5  # EMT's Cu vacancy hop in Ag: a real band ran

    # a rerun of the barrier flow finds it stored
    assert run_flows(barrier_flows, store, tmp_path / "runs", spec_fingerprint(spec), workers=2) == (0, 1)
