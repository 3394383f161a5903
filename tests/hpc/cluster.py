"""Helpers of the tests that run flows through the real local SLURM (``.ci/slurm-local-up``).

The hop they submit is a vacancy hop in fcc metal on ASE's EMT (31 atoms): its three jobs
(end points, CI-NEB, record) compute for about a second each on an idle 2-core machine; a
batch job's wall time is mostly Python starting (about 8 s). Nothing here depends on load:
waits are long and only end early.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pymatgen.core import Lattice, Structure

from ionflow.hpc.profiles import ClusterProfile
from tests.cli import CLI

TIMEOUT_S = 600
EMT_METALS = {"Cu": 3.61, "Ag": 4.09}
"""fcc lattice constants (Å, experiment) of metals that EMT describes and ionflow moves."""
REPO = Path(__file__).resolve().parents[2]


def file_profile(launchpad: Path, results: Path) -> ClusterProfile:
    """A SLURM profile whose LaunchPad is the file ``launchpad`` (no scheduler is asked)."""
    return ClusterProfile(
        scheduler="slurm",
        account="a",
        partition="p",
        walltime="00:10:00",
        launchpad=f"file:{launchpad}",
        results=str(results),
    )


def require_slurm() -> None:
    """Skip (fail in CI) when the local SLURM is not installed."""
    if shutil.which("sbatch") is None:
        if os.environ.get("CI"):
            pytest.fail("SLURM is not installed: .ci/run must run .ci/slurm-local-up", pytrace=False)
        pytest.skip(
            "SLURM (sbatch) is not installed here; .ci/slurm-local-up starts one", allow_module_level=True
        )


def ionflow(
    *args: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the ionflow program as a user would, in ``cwd``."""
    cmd = [*CLI, *args]
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=TIMEOUT_S, env=full_env)
    if check:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def status(cluster: Path, cwd: Path, env: dict[str, str] | None = None) -> list[dict]:
    """``ionflow status --json`` rows."""
    return json.loads(ionflow("status", "--cluster", str(cluster), "--json", cwd=cwd, env=env).stdout)


def wait_until(
    cluster: Path, cwd: Path, done: Callable[[list[dict]], bool], what: str, env: dict[str, str] | None = None
) -> list[dict]:
    """Poll ``ionflow status`` until ``done(rows)``; a failed job stops the wait with its log."""
    t0 = time.time()
    rows: list[dict] = []
    while time.time() - t0 < TIMEOUT_S:
        rows = status(cluster, cwd, env)
        if done(rows):
            return rows
        failed = [r for r in rows if r["state"] == "FIZZLED"]
        if failed:
            logs = ionflow("logs", str(failed[0]["fw_id"]), "--cluster", str(cluster), cwd=cwd, env=env)
            raise AssertionError(f"job failed while waiting for {what}:\n{logs.stdout[-3000:]}")
        time.sleep(2)  # each status call is a Python start: leave the CPUs to the batch jobs
    raise AssertionError(f"timed out waiting for {what}: {rows}")


def scancel_when_running(
    cluster: Path,
    cwd: Path,
    victim: Callable[[dict], bool],
    what: str,
    env: dict[str, str] | None = None,
) -> dict:
    """Kill a batch job while it runs: wait (``ionflow status``) for a job that ``victim``
    picks among the queued or running ones, then poll ``squeue`` for its batch job, cheap next
    to a status call, and scancel it as soon as it runs. A batch job that finishes in between
    sends the wait back for the next one. Returns the killed job's row."""
    t0 = time.time()

    def alive(row: dict) -> bool:
        return row["state"] in ("RESERVED", "RUNNING") and row["queue_state"] in ("QUEUED", "RUNNING")

    while time.time() - t0 < TIMEOUT_S:
        rows = wait_until(cluster, cwd, lambda rows: any(victim(r) and alive(r) for r in rows), what, env)
        for row in (r for r in rows if victim(r) and alive(r)):
            if _scancel_once_running(row["queue_id"]):
                _assert_killed_before_it_finished(cluster, cwd, row, what, env)
                return row
    raise AssertionError(f"timed out waiting to kill {what}")


def _assert_killed_before_it_finished(
    cluster: Path, cwd: Path, row: dict, what: str, env: dict[str, str] | None
) -> None:
    """The killed job is lost, not finished: a kill that reached it only as it finished (the
    status snapshot that chose it too old) says so at once instead of a wait for LOST."""

    def settled(rows: list[dict]) -> bool:
        return any(r["fw_id"] == row["fw_id"] and r["state"] in ("LOST", "COMPLETED") for r in rows)

    rows = wait_until(cluster, cwd, settled, f"{what} to be lost", env)
    state = next(r["state"] for r in rows if r["fw_id"] == row["fw_id"])
    assert state == "LOST", f"{what} (job {row['fw_id']}) finished before scancel reached it: {row}"


def _scancel_once_running(queue_id: str) -> bool:
    """scancel the batch job once squeue says it runs; False if it leaves the queue first."""
    t0 = time.time()
    while time.time() - t0 < TIMEOUT_S:
        state = subprocess.run(
            ["squeue", "-h", "-j", queue_id, "-o", "%T"], capture_output=True, text=True
        ).stdout.strip()
        if state == "RUNNING":
            subprocess.run(["scancel", queue_id], check=True)
            return True
        if state not in ("PENDING", "CONFIGURING"):  # finished (or gone) before it was seen running
            return False
        time.sleep(0.1)
    return False


def all_completed(wf_id: int) -> Callable[[list[dict]], bool]:
    """Whether every job of workflow ``wf_id`` is COMPLETED."""
    return lambda rows: (
        any(r["wf_id"] == wf_id for r in rows)
        and all(r["state"] == "COMPLETED" for r in rows if r["wf_id"] == wf_id)
    )


def write_hop_spec(
    folder: Path, metal: str = "Cu", images: int = 3, min_length: float = 7.0, fmax: float | None = None
) -> Path:
    """A spec for the nearest vacancy hop in fcc ``metal`` on EMT, with its structure file;
    ``min_length`` (Å) sizes the supercell and ``fmax`` (eV/Å) tightens the band."""
    a = EMT_METALS[metal]
    host = Structure(Lattice.cubic(a), [metal] * 4, [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    host.to(filename=str(folder / f"{metal}.cif"))
    spec = folder / f"hop-{metal}-{images}.yaml"
    spec.write_text(
        f"flow: barriers\nstructure: {metal}.cif\nspecies: {metal}\nimages: {images}\n"
        f"min_length: {min_length}\nmodel: EMT\nwarm_start: false\n" + (f"fmax: {fmax}\n" if fmax else "")
    )
    return spec


def barriers(results: Path) -> dict[str, dict]:
    """The migration-barrier documents of a results file, by result id."""
    return {
        d["result_id"]: d for d in json.loads(results.read_text()) if d["doc_type"] == "MigrationBarrierDoc"
    }
