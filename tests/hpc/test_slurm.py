"""Submission, monitoring and rescue against a real SLURM on this machine.

`.ci/run` installs Debian's slurm-wlm and starts a one-node cluster on loopback
(`.ci/slurm-local-up`). A Li vacancy hop in cubic Li3OCl (2x2x2, embedded engine: end points
relaxed, then a 3-image CI-NEB, then its result recorded: three jobs, a few seconds each)
goes through ``ionflow submit`` -> FireWorks -> sbatch -> rlaunch; one job of a second
workflow is killed with scancel mid-run, found LOST and rerun to completion, and the first
workflow's stored barrier is untouched throughout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pymatgen.core import Lattice, Structure

if shutil.which("sbatch") is None:
    if os.environ.get("CI"):
        pytest.fail("SLURM is not installed: .ci/run must run .ci/slurm-local-up", pytrace=False)
    pytest.skip(
        "SLURM (sbatch) is not installed here; .ci/slurm-local-up starts one", allow_module_level=True
    )

TIMEOUT_S = 400


def ionflow(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", "from ionflow.workflows.cli import main; main()", *args]
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("MONGOMOCK_SERVERSTORE_FILE", None)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=TIMEOUT_S, env=env)
    if check:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def status(cluster: Path, cwd: Path) -> list[dict]:
    return json.loads(ionflow("status", "--cluster", str(cluster), "--json", cwd=cwd).stdout)


def wait_until(cluster: Path, cwd: Path, done, what: str) -> list[dict]:
    t0 = time.time()
    while time.time() - t0 < TIMEOUT_S:
        rows = status(cluster, cwd)
        if done(rows):
            return rows
        failed = [r for r in rows if r["state"] == "FIZZLED"]
        if failed:  # stop at once, with the job's own error output
            logs = ionflow("logs", str(failed[0]["fw_id"]), "--cluster", str(cluster), cwd=cwd).stdout
            raise AssertionError(f"job failed while waiting for {what}:\n{logs[-3000:]}")
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}: {rows}")


def all_completed(wf_id: int):
    return lambda rows: all(r["state"] == "COMPLETED" for r in rows if r["wf_id"] == wf_id)


def write_spec(folder: Path, images: int) -> Path:
    host = Structure(
        Lattice.cubic(3.91),
        ["O", "Cl", "Li", "Li", "Li"],
        [[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
    )
    host.to(filename=str(folder / "Li3OCl.cif"))
    spec = folder / f"hop-{images}.yaml"
    spec.write_text(f"flow: barriers\nstructure: Li3OCl.cif\nspecies: Li\nimages: {images}\nfmax: 0.05\n")
    return spec


def barriers(results: Path) -> dict[str, dict]:
    return {
        d["result_id"]: d for d in json.loads(results.read_text()) if d["doc_type"] == "MigrationBarrierDoc"
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A profile for the local SLURM with a file LaunchPad and results file in a fresh folder."""
    folder = tmp_path_factory.mktemp("cluster")
    profile = folder / "local.yaml"
    profile.write_text(
        "scheduler: slurm\naccount: local\npartition: debug\nwalltime: '00:20:00'\n"
        f"launchpad: file:{folder}/launchpad.json\nresults: {folder}/results.json\nwork_dir: {folder}/runs\n"
    )
    return folder, profile


@pytest.fixture(scope="module")
def first_run(cluster):
    folder, profile = cluster
    spec = write_spec(folder, images=3)
    out = ionflow("submit", str(spec), "--cluster", str(profile), cwd=folder).stdout
    assert "added" in out and "batch jobs queued" in out
    rows = wait_until(profile, folder, all_completed(1), "the first workflow")
    return spec, rows


def test_submitted_flow_runs_through_slurm(cluster, first_run):
    folder, _ = cluster
    _, rows = first_run
    assert sorted(r["job"] for r in rows) == ["CI-NEB Li-hop0", "record results", "relax end points Li-hop0"]
    for row in rows:
        assert row["queue_id"] and row["host"], row  # each job ran in its own SLURM batch job
    assert len({r["queue_id"] for r in rows}) == 3
    neb = next(r for r in rows if r["job"].startswith("CI-NEB"))
    assert neb["result"].startswith("Ea ")
    relax = next(r for r in rows if r["job"].startswith("relax"))
    assert relax["result"].startswith("E ") and relax["result"].count("/") == 1  # both end points
    (doc,) = barriers(folder / "results.json").values()
    # a symmetric hop: the same barrier both ways, saddle in the middle
    assert doc["converged"]
    assert doc["forward_barrier"] > 0.05
    assert doc["forward_barrier"] == pytest.approx(doc["reverse_barrier"], abs=0.02)
    assert doc["saddle_image"] == 2
    assert doc["provenance"]["job_uuid"] and doc["provenance"]["flow_uuid"]


def test_resubmitting_the_same_spec_adds_nothing(cluster, first_run):
    folder, profile = cluster
    spec, _ = first_run
    before = status(profile, folder)
    out = ionflow("submit", str(spec), "--cluster", str(profile), cwd=folder).stdout
    assert "already submitted" in " ".join(out.split()) and "workflow 1" in out
    assert status(profile, folder) == before


def test_killed_job_is_lost_then_rerun_without_losing_results(cluster, first_run):
    folder, profile = cluster
    first = barriers(folder / "results.json")
    spec = write_spec(folder, images=5)
    ionflow("submit", str(spec), "--cluster", str(profile), cwd=folder)
    rows = wait_until(
        profile,
        folder,
        lambda rows: any(
            r["job"].startswith("CI-NEB") and r["queue_state"] == "RUNNING" for r in rows if r["wf_id"] > 1
        ),
        "the second CI-NEB to start",
    )
    neb = next(r for r in rows if r["wf_id"] > 1 and r["job"].startswith("CI-NEB"))
    time.sleep(1)
    subprocess.run(["scancel", neb["queue_id"]], check=True)
    rows = wait_until(profile, folder, lambda rows: any(r["state"] == "LOST" for r in rows), "the lost run")
    lost = [r for r in rows if r["state"] == "LOST"]
    assert [r["fw_id"] for r in lost] == [neb["fw_id"]]
    relax = next(r for r in rows if r["wf_id"] == neb["wf_id"] and r["job"].startswith("relax"))
    assert relax["state"] == "COMPLETED"
    table = ionflow("status", "--cluster", str(profile), "--state", "LOST", cwd=folder).stdout
    assert "LOST" in table and "CI-NEB" in table

    out = ionflow("rerun", "--lost", "--cluster", str(profile), cwd=folder).stdout
    assert f"reset: {neb['fw_id']}" in out
    rows = wait_until(profile, folder, all_completed(neb["wf_id"]), "the rerun")
    relax_after = next(r for r in rows if r["fw_id"] == relax["fw_id"])
    assert relax_after["queue_id"] == relax["queue_id"]  # the finished end points were not rerun
    stored = barriers(folder / "results.json")
    assert len(stored) == 2
    for key, doc in first.items():  # the first workflow's result is untouched
        assert stored[key] == doc
    (second,) = (d for k, d in stored.items() if k not in first)
    assert second["converged"] and len(second["energies"]) == 7
    assert second["forward_barrier"] == pytest.approx(second["reverse_barrier"], abs=0.02)
    logs = ionflow("logs", str(neb["fw_id"]), "--cluster", str(profile), cwd=folder).stdout
    assert ".out" in logs


def test_completed_job_is_not_rerun_without_force(cluster, first_run):
    folder, profile = cluster
    proc = ionflow("rerun", "1", "--cluster", str(profile), cwd=folder, check=False)
    assert proc.returncode == 2
    assert "COMPLETED" in proc.stderr and "--force" in proc.stderr


def test_failing_scheduler_command_submits_nothing(cluster, first_run):
    folder, profile = cluster
    bad = folder / "bad.yaml"
    bad.write_text(profile.read_text().replace("partition: debug", "partition: no-such-partition"))
    before = status(profile, folder)
    spec = write_spec(folder, images=1)
    proc = ionflow("submit", str(spec), "--cluster", str(bad), cwd=folder, check=False)
    assert proc.returncode == 2
    message = " ".join(proc.stderr.split())
    assert "sbatch refused" in message and "partition" in message and "fix:" in message
    assert status(profile, folder) == before  # no workflow added


def test_cancel_defuses_a_workflow(cluster, first_run):
    folder, profile = cluster
    spec = folder / "cancel.yaml"
    spec.write_text(write_spec(folder, images=2).read_text())
    ionflow("submit", str(spec), "--cluster", str(profile), cwd=folder)
    wf_id = max(r["wf_id"] for r in status(profile, folder))
    out = ionflow("cancel", str(wf_id), "--cluster", str(profile), cwd=folder).stdout
    assert "defused" in out
    rows = [r for r in status(profile, folder) if r["wf_id"] == wf_id]
    assert rows and {r["state"] for r in rows} <= {"DEFUSED", "COMPLETED"}
    assert any(r["state"] == "DEFUSED" for r in rows)
    ids = ",".join(r["queue_id"] for r in rows if r["queue_id"])
    if ids:  # the batch jobs are gone from the queue
        squeue = subprocess.run(["squeue", "-h", "-j", ids], capture_output=True, text=True).stdout
        assert squeue.strip() == ""
