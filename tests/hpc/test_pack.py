"""Job packing (``--pack N``) against the real local SLURM, file LaunchPad.

Four workflows of six small jobs each (the Cu and Ag vacancy hops of L1_2 CuAg3 on ASE's
EMT: end points, CI-NEB and the record job per hop), 24 jobs, submitted with ``--pack 4``:
every job runs, each keeps its own row, batch job and launch folder in ``ionflow status``,
and all 24 take at most 5 batch jobs (one job per batch job would take 24).
A pack killed with scancel before its jobs ran leaves each of them LOST, and ``ionflow rerun
--lost`` finishes them (marked slow).
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest
from pymatgen.core import Lattice, Structure

from tests.hpc.cluster import all_completed, barriers, ionflow, require_slurm, status, wait_until

require_slurm()
# one local SLURM node: its tests share one pytest-xdist worker, one after another
pytestmark = pytest.mark.xdist_group("slurm")

A_CUAG3 = 3.95
"""Å: between fcc Cu (3.61) and Ag (4.09) by Vegard's rule at 75 % Ag."""


def write_cuag3_spec(folder: Path, images: int) -> Path:
    """A barriers spec of CuAg3's Cu and Ag vacancy hops on EMT (two hops: six jobs)."""
    host = Structure(
        Lattice.cubic(A_CUAG3),
        ["Cu", "Ag", "Ag", "Ag"],
        [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
    )
    host.to(filename=str(folder / "CuAg3.cif"))
    spec = folder / f"cuag3-{images}.yaml"
    spec.write_text(
        f"flow: barriers\nstructure: CuAg3.cif\nspecies: Cu,Ag\nimages: {images}\n"
        "model: EMT\nwarm_start: false\n"
    )
    return spec


def write_profile(folder: Path, pre_run: str = "") -> Path:
    profile = folder / "local.yaml"
    profile.write_text(
        f"scheduler: slurm\naccount: local\npartition: debug\nwalltime: '00:20:00'\npre_run: [{pre_run}]\n"
        f"launchpad: file:{folder}/launchpad.json\nresults: {folder}/results.json\nwork_dir: {folder}/runs\n"
    )
    return profile


def test_24_jobs_packed_by_four_take_at_most_five_batch_jobs(tmp_path):
    profile = write_profile(tmp_path)
    for images in (2, 3, 4, 5):
        out = ionflow(
            "submit",
            str(write_cuag3_spec(tmp_path, images)),
            "--cluster",
            str(profile),
            "--pack",
            "4",
            cwd=tmp_path,
        )
        assert "added" in out.stdout
    rows = wait_until(
        profile,
        tmp_path,
        lambda rows: len(rows) == 24 and all(all_completed(wf)(rows) for wf in {r["wf_id"] for r in rows}),
        "the 24 packed jobs",
    )
    for row in rows:  # each job visible on its own: its batch job, host and launch folder
        assert row["queue_id"] and row["host"] and row["launch_dir"], row
    per_batch_job = Counter(r["queue_id"] for r in rows)
    assert len(per_batch_job) <= 5, per_batch_job
    assert len({r["launch_dir"] for r in rows}) == 24  # no two jobs share a folder
    for queue_id in per_batch_job:  # a batch job runs the jobs of one workflow only
        assert len({r["wf_id"] for r in rows if r["queue_id"] == queue_id}) == 1
    scripts = list((tmp_path / "runs").rglob("FW_submit.script"))
    assert len(scripts) == len(per_batch_job)
    assert all(" pack --fw_id " in s.read_text() for s in scripts)
    stored = barriers(tmp_path / "results.json")
    assert len(stored) == 8
    by_species: dict[str, list[float]] = {}
    for doc in stored.values():
        assert doc["converged"] and 0 < doc["saddle_image"] < len(doc["energies"]) - 1
        assert 0.2 < doc["forward_barrier"] < 1.5
        by_species.setdefault(doc["species"], []).append(doc["forward_barrier"])
        if doc["species"] == "Ag":  # its end points relax to one energy: a symmetric band
            assert doc["forward_barrier"] == pytest.approx(doc["reverse_barrier"], abs=0.02)
    for found in by_species.values():  # 2 to 5 images: one saddle, the same barrier
        assert len(found) == 4 and max(found) - min(found) < 0.02
    # the log of a job that ran after the first of its pack is its pack's batch output
    later = max(rows, key=lambda r: r["fw_id"])
    logs = ionflow("logs", str(later["fw_id"]), "--cluster", str(profile), cwd=tmp_path).stdout
    assert f"-{later['queue_id']}.out" in logs and "pack goes on with" in logs


@pytest.mark.slow  # ~45 s; status finds a pack's jobs by the batch job id each row carries (tested above)
def test_a_killed_pack_leaves_its_jobs_lost_and_each_is_rerun(tmp_path):
    profile = write_profile(tmp_path, pre_run="'sleep 30'")
    ionflow(
        "submit", str(write_cuag3_spec(tmp_path, 2)), "--cluster", str(profile), "--pack", "4", cwd=tmp_path
    )
    rows = status(profile, tmp_path)
    reserved = [r for r in rows if r["state"] == "RESERVED"]
    assert len(reserved) == 2 and len({r["queue_id"] for r in reserved}) == 1  # both end-point jobs, one pack
    subprocess.run(["scancel", reserved[0]["queue_id"]], check=True)
    rows = wait_until(
        profile, tmp_path, lambda rows: sum(r["state"] == "LOST" for r in rows) == 2, "the killed pack's jobs"
    )
    assert {r["fw_id"] for r in rows if r["state"] == "LOST"} == {r["fw_id"] for r in reserved}
    (tmp_path / "fast.yaml").write_text(profile.read_text().replace("pre_run: ['sleep 30']", "pre_run: []"))
    out = ionflow(
        "rerun", "--lost", "--cluster", str(tmp_path / "fast.yaml"), "--pack", "4", cwd=tmp_path
    ).stdout
    assert "reset: " in out
    rows = wait_until(tmp_path / "fast.yaml", tmp_path, all_completed(rows[0]["wf_id"]), "the rerun pack")
    assert len(rows) == 6
    assert len(barriers(tmp_path / "results.json")) == 2
