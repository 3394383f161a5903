"""jobflow-remote backend against the real local SLURM.

Its queue must live in MongoDB, which cannot be had here, so the queue and output stores are
one in-process mongomock server (``jfr_stores``) and the runner runs in this process; the
jobs themselves go through sbatch and run ``jf execution run`` in real batch jobs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pymatgen.core import Lattice, Structure

pytest.importorskip("jobflow_remote")
if shutil.which("sbatch") is None:
    pytest.skip(
        "SLURM (sbatch) is not installed here; .ci/slurm-local-up starts one", allow_module_level=True
    )

HERE = Path(__file__).parent


def store(collection: str) -> dict:
    return {"@module": "tests.hpc.jfr_stores", "@class": "SharedMemoryStore", "collection_name": collection}


def test_flow_runs_through_jobflow_remote_on_slurm(tmp_path, monkeypatch):
    monkeypatch.setenv("JFREMOTE_PROJECTS_FOLDER", str(tmp_path / "projects"))
    from jobflow_remote import SETTINGS

    monkeypatch.setattr(SETTINGS, "projects_folder", str(tmp_path / "projects"))
    from jobflow_remote.jobs.jobcontroller import JobController

    from ionflow.hpc.jfremote import project_name, run_jobs, submit_jf_remote
    from ionflow.hpc.profiles import ClusterProfile
    from ionflow.workflows.specs import load_spec

    host = Structure(
        Lattice.cubic(3.91),
        ["O", "Cl", "Li", "Li", "Li"],
        [[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
    )
    host.to(filename=str(tmp_path / "Li3OCl.cif"))
    (tmp_path / "hop.yaml").write_text("flow: barriers\nstructure: Li3OCl.cif\nspecies: Li\nimages: 3\n")
    spec = load_spec(tmp_path / "hop.yaml")
    profile = ClusterProfile(
        name="local",
        source=str(tmp_path / "local.yaml"),
        scheduler="slurm",
        account="local",
        partition="debug",
        walltime="00:20:00",
        pre_run=[f"export PYTHONPATH={HERE.parent.parent}:$PYTHONPATH"],
        launchpad=f"file:{tmp_path}/unused.json",
        results=str(tmp_path / "results.json"),
        work_dir=str(tmp_path / "work"),
    )
    stores = {"queue_store": store("jobs"), "docs_store": store("outputs")}
    name, added = submit_jf_remote(spec, profile, **stores)
    assert added
    run_jobs(profile, max_seconds=400)
    jobs = JobController.from_project_name(project_name(profile)).get_jobs_info()
    assert sorted(j.name for j in jobs) == ["CI-NEB Li-hop0", "record results", "relax end points Li-hop0"]
    assert {j.state.value for j in jobs} == {"COMPLETED"}
    assert len({j.remote.process_id for j in jobs}) == 3  # three SLURM batch jobs
    (doc,) = json.loads((tmp_path / "results.json").read_text())
    assert doc["converged"] and doc["forward_barrier"] > 0.05
    assert doc["forward_barrier"] == pytest.approx(doc["reverse_barrier"], abs=0.02)
    assert submit_jf_remote(spec, profile, **stores) == (name, False)  # the same spec: nothing added


def test_file_launchpad_is_refused_for_jobflow_remote(tmp_path):
    from ionflow.hpc.jfremote import project_data
    from ionflow.hpc.profiles import load_profile
    from ionflow.inputs.errors import InputError

    with pytest.raises(InputError, match=r"launchpad.*MongoDB.*mongodb://"):
        project_data(load_profile("local-slurm"))
