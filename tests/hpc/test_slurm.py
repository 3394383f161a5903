"""Submission, monitoring and rescue against a real SLURM on this machine, file LaunchPad.

`.ci/run` installs Debian's slurm-wlm and starts a one-node cluster on loopback
(`.ci/slurm-local-up`). A Cu vacancy hop in fcc Cu on EMT (end points relaxed, then a
3-image CI-NEB, then its result recorded: three jobs) goes through ``ionflow submit`` ->
FireWorks -> sbatch -> ``python -m ionflow.hpc.rocket``; one job of a second workflow is
killed with scancel, found LOST and rerun to completion, and the first workflow's stored
barrier is untouched throughout. Every batch job sleeps 3 s in its pre-run (the profile's
``pre_run``) so that a kill lands while the job is alive, whatever the machine's load.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.hpc.cluster import (
    all_completed,
    barriers,
    ionflow,
    require_slurm,
    scancel_when_running,
    status,
    wait_until,
    write_hop_spec,
)

require_slurm()
# one local SLURM node: its tests share one pytest-xdist worker, one after another
pytestmark = pytest.mark.xdist_group("slurm")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A profile for the local SLURM with a file LaunchPad and results file in a fresh folder."""
    folder = tmp_path_factory.mktemp("cluster")
    profile = folder / "local.yaml"
    profile.write_text(
        "scheduler: slurm\naccount: local\npartition: debug\nwalltime: '00:20:00'\npre_run: ['sleep 3']\n"
        f"launchpad: file:{folder}/launchpad.json\nresults: {folder}/results.json\nwork_dir: {folder}/runs\n"
    )
    return folder, profile


@pytest.fixture(scope="module")
def first_run(cluster):
    folder, profile = cluster
    spec = write_hop_spec(folder, "Cu", images=3)
    out = ionflow("submit", str(spec), "--cluster", str(profile), cwd=folder).stdout
    assert "added" in out and "batch jobs queued" in out
    rows = wait_until(profile, folder, all_completed(1), "the first workflow")
    return spec, rows


def test_submitted_flow_runs_through_slurm(cluster, first_run):
    folder, _ = cluster
    _, rows = first_run
    assert sorted(r["job"] for r in rows) == ["CI-NEB Cu-hop0", "record results", "relax end points Cu-hop0"]
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
    assert doc["forward_barrier"] == pytest.approx(doc["reverse_barrier"], abs=0.02)
    assert doc["saddle_image"] == 2
    # Cu vacancy migration: 0.70 eV measured (Ehrhart, Landolt-Börnstein III/25); EMT is a model
    assert 0.5 < doc["forward_barrier"] < 1.0
    assert doc["provenance"]["job_uuid"] and doc["provenance"]["flow_uuid"]
    assert "band" not in doc  # the band's images are in the data store beside the results
    blobs = json.loads((folder / "results-data.json").read_text())
    (band,) = (b["data"] for b in blobs if b["job_uuid"] == doc["provenance"]["job_uuid"])
    assert len(band["images"]) == 5 and band["energies"] == pytest.approx(doc["energies"])


def test_batch_jobs_hold_no_lock_and_no_database_file(cluster, first_run):
    """The batch script runs ionflow's rocket directly: no flock around it, no launchpad.yaml,
    and the LaunchPad and profile copy are readable by their owner alone."""
    folder, _ = cluster
    scripts = list((folder / "runs").rglob("FW_submit.script"))
    assert len(scripts) == 3
    for script in scripts:
        text = script.read_text()
        assert "-m ionflow.hpc.rocket" in text and "flock" not in text
    assert not list((folder / "runs").rglob("launchpad.yaml"))
    assert (folder / "launchpad.json").stat().st_mode & 0o777 == 0o600
    assert (folder / "runs" / "profile.yaml").stat().st_mode & 0o777 == 0o600
    assert not list(folder.rglob(".*.tmp"))  # no temporary left behind


def test_resubmitting_the_same_spec_adds_nothing(cluster, first_run):
    folder, profile = cluster
    spec, _ = first_run
    before = status(profile, folder)
    out = " ".join(ionflow("submit", str(spec), "--cluster", str(profile), cwd=folder).stdout.split())
    assert "already submitted" in out and "workflow 1" in out and "COMPLETED 3" in out
    assert status(profile, folder) == before


def test_killed_job_is_lost_then_rerun_without_losing_results(cluster, first_run):
    folder, profile = cluster
    first = barriers(folder / "results.json")
    # a band long enough (about 20 s of EMT on 107 atoms) to be caught running
    spec = write_hop_spec(folder, "Cu", images=9, min_length=10.0, fmax=0.001)
    ionflow("submit", str(spec), "--cluster", str(profile), cwd=folder)
    neb = scancel_when_running(
        profile,
        folder,
        lambda r: r["wf_id"] > 1 and r["job"].startswith("CI-NEB"),
        "the second CI-NEB's batch job",
    )
    rows = wait_until(profile, folder, lambda rows: any(r["state"] == "LOST" for r in rows), "the lost run")
    lost = [r for r in rows if r["state"] == "LOST"]
    assert [r["fw_id"] for r in lost] == [neb["fw_id"]]
    relax = next(r for r in rows if r["wf_id"] == neb["wf_id"] and r["job"].startswith("relax"))
    assert relax["state"] == "COMPLETED"
    table = ionflow("status", "--cluster", str(profile), "--state", "LOST", cwd=folder).stdout
    assert "LOST" in table and "CI-NEB" in table
    # submitting the spec again says what happened and the command that rescues it
    again = " ".join(ionflow("submit", str(spec), "--cluster", str(profile), cwd=folder).stdout.split())
    assert "already submitted" in again and "LOST 1" in again and "rerun --lost" in again

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
    assert second["converged"] and len(second["energies"]) == 11
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
    spec = write_hop_spec(folder, "Ag", images=1)
    proc = ionflow("submit", str(spec), "--cluster", str(bad), cwd=folder, check=False)
    assert proc.returncode == 2
    message = " ".join(proc.stderr.split())
    assert "sbatch refused" in message and "partition" in message and "fix:" in message
    assert status(profile, folder) == before  # no workflow added


def test_cancel_defuses_a_workflow(cluster, first_run):
    folder, profile = cluster
    spec = write_hop_spec(folder, "Ag", images=2)
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


@pytest.mark.slow  # ~1 min; keeps the default suite under 30 min (29:13 with it on 9c3910a)
def test_a_stranded_ready_job_is_shown_with_its_fix(cluster, first_run):
    """A workflow added without queueing (as when a batch job's chain step could not submit):
    status says which jobs wait and the command that queues them; submitting another workflow
    leaves them alone; that command queues them."""
    from ionflow.hpc.profiles import load_profile
    from ionflow.hpc.submit import submit_spec
    from ionflow.workflows.specs import load_spec

    folder, profile = cluster
    spec = load_spec(write_hop_spec(folder, "Ag", images=3))
    added = submit_spec(spec, load_profile(str(profile)), launch=False)
    assert added.created and added.queued == []
    table = " ".join(ionflow("status", "--cluster", str(profile), cwd=folder).stdout.split())
    assert "ready job(s) without a batch job" in table and "ionflow launch" in table
    # submitting another workflow queues that workflow's jobs only: another workflow's ready
    # jobs may be the ones its pack is about to go on with
    other_spec = write_hop_spec(folder, "Cu", images=2)
    other = ionflow("submit", str(other_spec), "--cluster", str(profile), cwd=folder)
    assert "queued" in other.stdout
    stranded = [r for r in status(profile, folder) if r["wf_id"] == added.wf_id]
    assert stranded and {r["state"] for r in stranded} <= {"READY", "WAITING"}, stranded
    out = ionflow("launch", "--cluster", str(profile), cwd=folder).stdout
    assert "queued:" in out and "->" in out
    wait_until(profile, folder, all_completed(added.wf_id), "the launched workflow")


def test_status_of_a_mistyped_launchpad_creates_nothing(tmp_path):
    profile = tmp_path / "typo.yaml"
    profile.write_text(
        "scheduler: slurm\naccount: local\npartition: debug\nwalltime: '00:20:00'\n"
        f"launchpad: file:{tmp_path}/nowhere/lp.json\nresults: {tmp_path}/nowhere/r.json\n"
        f"work_dir: {tmp_path}/nowhere/runs\n"
    )
    proc = ionflow("status", "--cluster", str(profile), cwd=tmp_path, check=False)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "does not exist" in proc.stderr and "fix:" in proc.stderr
    assert not (tmp_path / "nowhere").exists()
