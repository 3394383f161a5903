"""`ionflow run` killed part-way and run again recomputes only what was missing.

The run: the vacancy hops of Cu and of Ag in L1_2 CuAg3 on ASE's EMT, two flows (one per
species) of a few jobs each, side by side in two worker processes (each stores its own flow).
It is SIGKILLed as soon as the first flow's barrier is stored;
the rerun skips every flow whose results that run stored (counted from the jobs it reports
and the flows' own job counts), keeps the stored document as it was, and runs the rest;
``--recompute`` runs everything again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from pymatgen.core import Lattice, Structure

from ionflow.analysis.store import results_store
from ionflow.workflows.cli import run_flows
from ionflow.workflows.specs import FlowSpec, build_flows, spec_fingerprint
from tests.cli import CLI, ionflow

RUN = ["run", "barriers", "CuAg3.cif", "--species", "Cu,Ag", "--model", "EMT", "--no-warm-start"]
RUN += ["--images", "3", "--results", "r.json", "--workers", "2"]  # the two flows side by side


def stored(folder: Path, doc_type: str) -> list[dict]:
    path = folder / "r.json"
    if not path.exists():
        return []
    return [d for d in json.loads(path.read_text() or "[]") if d["doc_type"] == doc_type]


@pytest.mark.timeout(900)
def test_a_killed_run_reruns_only_the_missing_flow(tmp_path):
    host = Structure(
        Lattice.cubic(3.9), ["Cu", "Ag", "Ag", "Ag"], [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
    )
    host.to(filename=str(tmp_path / "CuAg3.cif"))
    first = subprocess.Popen(
        [*CLI, *RUN],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while not stored(tmp_path, "MigrationBarrierDoc"):
        assert first.poll() is None and time.monotonic() < deadline, "the first run ended before storing"
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    before = {d["result_id"]: d for d in stored(tmp_path, "MigrationBarrierDoc")}
    records = stored(tmp_path, "CompletedFlowRecord")
    assert len(records) == len(before) >= 1  # results and their record land in one write

    rerun = ionflow(*RUN, cwd=tmp_path, timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    out = " ".join(rerun.stdout.split())
    all_records = {r["label"]: r for r in stored(tmp_path, "CompletedFlowRecord")}
    assert len(all_records) == 2
    missing = [r for r in all_records.values() if r["result_ids"][0] not in before]
    expected_jobs = sum(r["jobs"] for r in missing)
    assert f"ran {expected_jobs} jobs in {len(missing)} flows; skipped {len(before)} flows" in out
    assert out.count("stored by an earlier run, skipped") == len(before)
    after = {d["result_id"]: d for d in stored(tmp_path, "MigrationBarrierDoc")}
    assert len(after) == 2 and {d["species"] for d in after.values()} == {"Cu", "Ag"}
    for result_id, doc in before.items():  # not recomputed: the same document, the same time
        assert after[result_id]["provenance"] == doc["provenance"]

    # --recompute runs every flow again (in-process: the same run_flows the command calls)
    spec = FlowSpec(flow="barriers", structure=str(tmp_path / "CuAg3.cif"), species=["Cu", "Ag"])
    spec = spec.model_copy(update={"model": "EMT", "warm_start": False, "images": 3})
    store = results_store(str(tmp_path / "r.json"))
    flows = build_flows(spec)
    assert run_flows(flows, store, tmp_path / "runs", spec_fingerprint(spec)) == (0, 2)
    total = sum(r["jobs"] for r in all_records.values())
    assert run_flows(flows, store, tmp_path / "runs", spec_fingerprint(spec), recompute=True) == (total, 0)
