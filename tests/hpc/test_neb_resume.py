"""A CI-NEB killed with scancel mid-band resumes from its checkpoint when rerun (real local SLURM).

The hop: a vacancy in fcc Cu (3x3x3 conventional cells, 107 atoms) on ASE's EMT, five images,
CI-NEB to 0.001 eV/Å: about a hundred optimizer steps, long enough to kill the batch job once
the band has taken ten. ``ionflow status`` shows the lost job and the step it resumes from;
``ionflow rerun --lost`` finishes it with fewer force calls of its own than the same hop run
fresh (``ionflow run``, same settings) and the same barrier within 0.01 eV.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from ase.io import Trajectory

from tests.hpc.cluster import (
    TIMEOUT_S,
    all_completed,
    barriers,
    ionflow,
    require_slurm,
    wait_until,
    write_hop_spec,
)

require_slurm()
# one local SLURM node: its tests share one pytest-xdist worker, one after another
pytestmark = pytest.mark.xdist_group("slurm")

SETTINGS = ["--species", "Cu", "--model", "EMT", "--images", "5", "--fmax", "0.001", "--min-length", "10"]


def bands_written(work_dir) -> int:
    """Whole bands in the NEB checkpoint's trajectory (0 before it exists)."""
    for path in work_dir.glob("checkpoints/*/band.traj"):
        try:
            with Trajectory(str(path)) as frames:
                return len(frames) // 7
        except Exception:  # being written
            return 0
    return 0


def test_a_killed_neb_resumes_from_its_band(tmp_path):
    profile = tmp_path / "local.yaml"
    profile.write_text(
        "scheduler: slurm\naccount: local\npartition: debug\nwalltime: '00:20:00'\npre_run: []\n"
        f"launchpad: file:{tmp_path}/launchpad.json\nresults: {tmp_path}/results.json\n"
        f"work_dir: {tmp_path}/runs\n"
    )
    spec = write_hop_spec(tmp_path, "Cu", images=5)
    spec.write_text(spec.read_text() + "fmax: 0.001\nmin_length: 10\n")
    ionflow("submit", str(spec), "--cluster", str(profile), cwd=tmp_path)
    t0 = time.time()
    while bands_written(tmp_path / "runs") < 10:
        assert time.time() - t0 < TIMEOUT_S, "the CI-NEB never wrote ten bands"
        time.sleep(0.05)
    # the NEB's batch job: its id is in the name of the output file beside the job's folder
    (marker,) = (tmp_path / "runs").rglob("neb-checkpoint.json")
    (out,) = marker.parent.glob("*.out")
    subprocess.run(["scancel", out.stem.rsplit("-", 1)[-1]], check=True)

    rows = wait_until(profile, tmp_path, lambda rows: any(r["state"] == "LOST" for r in rows), "the lost NEB")
    (lost,) = (r for r in rows if r["state"] == "LOST")
    assert lost["job"].startswith("CI-NEB") and lost["resumable_from_step"] >= 9
    table = " ".join(ionflow("status", "--cluster", str(profile), cwd=tmp_path).stdout.split())
    assert "resumes at step" in table

    ionflow("rerun", "--lost", "--cluster", str(profile), cwd=tmp_path)
    wait_until(profile, tmp_path, all_completed(lost["wf_id"]), "the resumed NEB")
    (resumed,) = barriers(tmp_path / "results.json").values()
    assert resumed["converged"] and resumed["resumed_at_step"] >= lost["resumable_from_step"]
    assert resumed["force_calls_before_resume"] >= 5 * lost["resumable_from_step"]

    # the same hop, same settings, run fresh on this machine
    fresh_run = ["run", "barriers", "Cu.cif", *SETTINGS, "--no-warm-start", "--results", "fresh.json"]
    ionflow(*fresh_run, cwd=tmp_path)
    (fresh,) = barriers(tmp_path / "fresh.json").values()
    assert fresh["resumed_at_step"] == 0 and fresh["converged"]
    assert resumed["force_calls"] - resumed["force_calls_before_resume"] < fresh["force_calls"]
    assert resumed["forward_barrier"] == pytest.approx(fresh["forward_barrier"], abs=0.01)
    assert resumed["forward_barrier"] == pytest.approx(resumed["reverse_barrier"], abs=0.01)  # symmetric hop
    assert not list((tmp_path / "runs").glob("checkpoints/*/band.traj"))  # removed once the band finished
