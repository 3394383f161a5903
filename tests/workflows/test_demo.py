"""The main job end to end (slow: several minutes on 2 cores; run with -m slow)."""

from __future__ import annotations

import json
import subprocess

import pytest


@pytest.mark.slow
def test_quick_demo_prints_both_tables_and_stores_everything(tmp_path):
    run = subprocess.run(
        ["ionflow", "run", "demo", "--quick", "--results", "r.json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=1800,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Charge transfer across AP/graphene" in run.stdout and "Migration barriers" in run.stdout
    docs = json.loads((tmp_path / "r.json").read_text())
    kinds = [d["doc_type"] for d in docs]
    assert kinds.count("InterfaceChargeTransferDoc") == 1
    # three Li hops and one Cu hop in Li6PS5Cl:Cu; AP bulk, interface, slab centre
    assert kinds.count("MigrationBarrierDoc") == 7
    assert kinds.count("CompletedFlowRecord") == len({d["provenance"]["flow_uuid"] for d in docs})
    for doc in docs:
        if doc["doc_type"] != "CompletedFlowRecord":  # each flow's record of its stored results
            assert doc["engine"].startswith("embedded:") and doc["wall_time_s"] > 0
    # nothing written outside the work folder and the results file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ionflow-runs", "r.json", "r.json.lock"]
