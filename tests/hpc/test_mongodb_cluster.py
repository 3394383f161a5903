"""The production path: a ``mongodb://`` LaunchPad and results store, on the real local SLURM.

No MongoDB server can be had here, so ``pymongo.MongoClient`` is replaced by the stand-in of
``tests/hpc/mongo_standin.py`` (mongomock, one file per host shared between processes, with
a credential check) in this process, in every ``ionflow`` command and in every SLURM batch
job (``standin_site/sitecustomize.py`` on PYTHONPATH). Everything above the client is what
runs on a cluster: FireWorks' LaunchPad in URI mode, maggma's MongoStore for job outputs and
results, the batch jobs' rocket. The password is planted in an environment variable that the
profile names as ``${IONFLOW_TEST_DB_PASSWORD}``; after the whole cycle it must appear in no
file, no LaunchPad or results document, no batch script or log and no command's output.
Untested here: the MongoDB wire protocol, real authentication, TLS.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.hpc.cluster import (
    REPO,
    all_completed,
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

PASSWORD = "pl4nted-S3cret"
USER = "ionflow-user"
URI = "mongodb://ionflow-user:${IONFLOW_TEST_DB_PASSWORD}@db.example.org:27017"


@pytest.fixture(scope="module")
def mongo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mongo")
    (folder / "server").mkdir()
    env = {
        "IONFLOW_MONGO_STANDIN": str(folder / "server"),
        "IONFLOW_MONGO_STANDIN_AUTH": f"{USER}:{PASSWORD}",
        "IONFLOW_TEST_DB_PASSWORD": PASSWORD,
        "PYTHONPATH": os.pathsep.join(
            [str(REPO / "tests" / "hpc" / "standin_site"), str(REPO), os.environ.get("PYTHONPATH", "")]
        ),
    }
    profile = folder / "cluster.yaml"
    profile.write_text(
        "scheduler: slurm\naccount: local\npartition: debug\nwalltime: '00:20:00'\npre_run: ['sleep 3']\n"
        f"launchpad: {URI}/fireworks\nresults: {URI}/ionflow\nwork_dir: {folder}/runs\n"
    )
    outputs: list[str] = []

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = ionflow(*args, cwd=folder, check=check, env=env)
        outputs.append(proc.stdout + proc.stderr)
        return proc

    return folder, profile, env, run, outputs


@pytest.fixture(scope="module")
def cycle(mongo):
    """cluster check -> submit -> batch jobs -> status -> a kill -> rerun -> results table."""
    folder, profile, env, run, _ = mongo
    assert "reachable" in run("cluster", "check", str(profile)).stdout
    first = write_hop_spec(folder, "Cu", images=3)
    assert "batch jobs queued" in run("submit", str(first), "--cluster", str(profile)).stdout
    # its jobs long enough (a band of about 20 s of EMT on 107 atoms) to be caught running
    second = write_hop_spec(folder, "Ag", images=9, min_length=10.0, fmax=0.001)
    run("submit", str(second), "--cluster", str(profile))
    # the band, not the record job (under a second of work): a status snapshot a few seconds
    # old, on a loaded machine, once named a record job that finished as it was killed
    victim = scancel_when_running(
        profile,
        folder,
        lambda r: r["wf_id"] > 1 and r["job"].startswith("CI-NEB"),
        "the second workflow's CI-NEB batch job",
        env,
    )
    rows = wait_until(
        profile, folder, lambda rows: any(r["state"] == "LOST" for r in rows), "the lost job", env
    )
    assert f"reset: {victim['fw_id']}" in run("rerun", "--lost", "--cluster", str(profile)).stdout
    for wf_id in {r["wf_id"] for r in rows}:
        rows = wait_until(profile, folder, all_completed(wf_id), f"workflow {wf_id}", env)
    table = run("barriers", "--results", f"{URI}/ionflow", "--format", "csv").stdout
    return rows, table


def test_mongodb_workflow_runs_through_slurm(cycle):
    rows, table = cycle
    assert {r["state"] for r in rows} == {"COMPLETED"} and len(rows) == 6
    assert all(r["queue_id"] and r["host"] for r in rows)
    neb = [r for r in rows if r["job"].startswith("CI-NEB")]
    assert len(neb) == 2 and all(r["result"].startswith("Ea ") for r in neb)
    lines = table.splitlines()
    assert lines[0].startswith("host,species,hop") and len(lines) == 3
    by_host = {line.split(",")[0]: line.split(",") for line in lines[1:]}
    header = lines[0].split(",")
    for host in ("Cu", "Ag"):
        row = dict(zip(header, by_host[host], strict=True))
        forward, reverse = float(row["Ea fwd (eV)"]), float(row["Ea rev (eV)"])
        assert forward == pytest.approx(reverse, abs=0.02)  # a symmetric vacancy hop
        assert 0.3 < forward < 1.2  # measured: Cu 0.70, Ag 0.66 eV; EMT is a model of both


def test_password_appears_nowhere(mongo, cycle):
    folder, _, _, _, outputs = mongo
    leaks = [str(p) for p in folder.rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()]
    assert leaks == []  # profile copy, batch scripts, job logs, the LaunchPad and results documents
    assert not any(PASSWORD in text for text in outputs)
    (server,) = (folder / "server").glob("*.json")
    # the jobs that record results carry the reference and expand it when they run
    assert b"${IONFLOW_TEST_DB_PASSWORD}" in server.read_bytes()


def test_profile_copy_keeps_the_reference_readable_by_owner_only(mongo, cycle):
    folder, *_ = mongo
    copy = folder / "runs" / "profile.yaml"
    assert "${IONFLOW_TEST_DB_PASSWORD}" in copy.read_text()
    assert copy.stat().st_mode & 0o777 == 0o600


def test_wrong_password_is_one_line_naming_the_host(mongo, cycle):
    _, profile, env, _, _ = mongo
    wrong = {**env, "IONFLOW_TEST_DB_PASSWORD": "not-the-password"}
    folder = profile.parent
    proc = ionflow("status", "--cluster", str(profile), cwd=folder, check=False, env=wrong)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "db.example.org:27017" in proc.stderr and "not-the-password" not in proc.stderr
    checked = ionflow("cluster", "check", str(profile), cwd=folder, check=False, env=wrong)
    assert checked.returncode == 2 and "not reachable" in checked.stderr
    assert status(profile, folder, env)  # the right password still works
