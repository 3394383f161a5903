"""jobflow-remote backend against the real local SLURM, its queue on the MongoDB path.

jobflow-remote keeps its queue in MongoDB, which cannot be had here: the project ionflow
writes names maggma MongoStores with the profile's ``mongodb://`` URI (as on a cluster), and
``pymongo.MongoClient`` is replaced by the file-backed stand-in of ``mongo_standin.py`` in
this process, where the runner runs. The jobs themselves go through sbatch and run
``jf execution run`` in real batch jobs. Untested: jobflow-remote's ``jf`` CLI and runner
daemon in other processes against a real server.
"""

from __future__ import annotations

import json

import pytest

from tests.hpc import mongo_standin
from tests.hpc.cluster import REPO, require_slurm, write_hop_spec

pytest.importorskip("jobflow_remote")
require_slurm()
# one local SLURM node: its tests share one pytest-xdist worker, one after another
pytestmark = pytest.mark.xdist_group("slurm")

PASSWORD = "jf-S3cret"


@pytest.fixture()
def standin(tmp_path, monkeypatch):
    monkeypatch.setenv(mongo_standin.ENV_FOLDER, str(tmp_path / "server"))
    monkeypatch.setenv(mongo_standin.ENV_AUTH, f"jf:{PASSWORD}")
    monkeypatch.setenv("IONFLOW_TEST_JF_PASSWORD", PASSWORD)
    (tmp_path / "server").mkdir()
    mongo_standin.install()
    yield
    mongo_standin.uninstall()


def test_flow_runs_through_jobflow_remote_on_slurm(tmp_path, monkeypatch, standin):
    monkeypatch.setenv("JFREMOTE_PROJECTS_FOLDER", str(tmp_path / "projects"))
    from jobflow_remote import SETTINGS

    monkeypatch.setattr(SETTINGS, "projects_folder", str(tmp_path / "projects"))
    from jobflow_remote.jobs.jobcontroller import JobController

    from ionflow.hpc.jfremote import project_name, run_jobs, submit_jf_remote
    from ionflow.hpc.profiles import ClusterProfile
    from ionflow.workflows.specs import load_spec

    spec = load_spec(write_hop_spec(tmp_path, "Cu", images=3))
    profile = ClusterProfile(
        name="local",
        source=str(tmp_path / "local.yaml"),
        scheduler="slurm",
        account="local",
        partition="debug",
        walltime="00:20:00",
        pre_run=[f"export PYTHONPATH={REPO}:$PYTHONPATH"],
        launchpad="mongodb://jf:${IONFLOW_TEST_JF_PASSWORD}@db.example.org:27017/jfremote",
        results=str(tmp_path / "results.json"),
        work_dir=str(tmp_path / "work"),
    )
    name, added = submit_jf_remote(spec, profile)
    assert added
    project_file = tmp_path / "projects" / f"{project_name(profile)}.yaml"
    assert project_file.stat().st_mode & 0o777 == 0o600  # it holds the URI with its password
    assert "maggma.stores.mongolike" in project_file.read_text()
    run_jobs(profile, max_seconds=240)
    jobs = JobController.from_project_name(project_name(profile)).get_jobs_info()
    assert sorted(j.name for j in jobs) == ["CI-NEB Cu-hop0", "record results", "relax end points Cu-hop0"]
    assert {j.state.value for j in jobs} == {"COMPLETED"}
    assert len({j.remote.process_id for j in jobs}) == 3  # three SLURM batch jobs
    (doc,) = json.loads((tmp_path / "results.json").read_text())
    assert doc["converged"] and doc["forward_barrier"] > 0.3
    assert doc["forward_barrier"] == pytest.approx(doc["reverse_barrier"], abs=0.02)
    assert submit_jf_remote(spec, profile) == (name, False)  # the same spec: nothing added
    (server,) = (tmp_path / "server").glob("*.json")
    assert PASSWORD.encode() not in server.read_bytes()


def test_file_launchpad_is_refused_for_jobflow_remote(tmp_path):
    from ionflow.hpc.jfremote import project_data
    from ionflow.hpc.profiles import load_profile
    from ionflow.inputs.errors import InputError

    with pytest.raises(InputError, match=r"launchpad.*MongoDB.*mongodb://"):
        project_data(load_profile("local-slurm"))
