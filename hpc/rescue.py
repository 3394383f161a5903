"""Rescue submitted work: rerun failed or lost jobs, cancel workflows, read a job's logs.

Finished jobs are never rerun unless asked by name with ``force``; their stored results
stay where they are (the results store only ever adds or replaces the same result).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fireworks import LaunchPad

from ionflow.hpc.launchpad import launchpad_session
from ionflow.hpc.monitor import ACTIVE, job_rows, select
from ionflow.hpc.profiles import ClusterProfile
from ionflow.hpc.queue import ALIVE, cancel_queue_jobs
from ionflow.hpc.submit import launch_ready, resolved
from ionflow.inputs.errors import InputError


def _find(rows: list[dict[str, Any]], job: str) -> list[dict[str, Any]]:
    found = select(rows, job=job)
    if not found:
        raise InputError(
            f"job {job!r}", "matches no submitted job", "use a firework id or name from `ionflow status`"
        )
    return found


def release_reservation(lp: LaunchPad, fw_id: int) -> bool:
    """Give a RESERVED firework's queue slot back (its firework READY again); False if it is
    not RESERVED (any more).

    The reservation is read inside the caller's session, not from an earlier listing: a
    batch job killed while checking its firework out can leave the launch RUNNING with the
    firework still RESERVED, and FireWorks' ``cancel_reservation`` of such a launch inserts
    it a second time (a duplicate launch id). That firework is rerun instead.
    """
    fw = lp.get_fw_by_id(fw_id)
    if fw.state != "RESERVED":
        return False
    reserved = [launch.launch_id for launch in fw.launches if launch.state == "RESERVED"]
    for launch_id in reserved:
        lp.cancel_reservation(launch_id)
    if not reserved:
        lp.rerun_fw(fw_id, rerun_duplicates=False)
    return True


def rerun(
    profile: ClusterProfile,
    jobs: list[str] | None = None,
    failed: bool = False,
    lost: bool = False,
    force: bool = False,
    launch: bool = True,
) -> tuple[list[int], list[tuple[int, str]]]:
    """Put failed (FIZZLED), lost or named jobs back to READY and queue them again.

    Returns the firework ids reset and the ``(fw_id, batch job id)`` pairs queued.
    """
    profile = resolved(profile)
    rows = job_rows(profile, results=False)
    chosen: list[dict[str, Any]] = []
    for name in jobs or []:
        for row in _find(rows, name):
            if row["state"] == "COMPLETED" and not force:
                raise InputError(
                    f"job {row['fw_id']} ({row['job']})",
                    "is COMPLETED and its result is stored",
                    "add --force to run it again (its children run again too)",
                )
            if row["state"] in ACTIVE:
                raise InputError(
                    f"job {row['fw_id']} ({row['job']})",
                    f"is {row['state']} in batch job {row['queue_id']}",
                    "wait for it, or `ionflow cancel` it first",
                )
            chosen.append(row)
    chosen += [r for r in rows if (failed and r["state"] == "FIZZLED") or (lost and r["state"] == "LOST")]
    reset: list[int] = []
    with launchpad_session(profile) as lp:
        for row in {r["fw_id"]: r for r in chosen}.values():
            if not (row["state"] == "LOST" and release_reservation(lp, row["fw_id"])):
                lp.rerun_fw(row["fw_id"])
            reset.append(row["fw_id"])
        queued = launch_ready(lp, profile) if launch else []
    return reset, queued


def cancel(profile: ClusterProfile, target: str) -> tuple[list[int], list[str]]:
    """Stop a workflow (id or name) or one job: cancel its batch jobs, defuse what has not run.

    Finished jobs keep their state and results. Returns the defused firework ids and the
    batch jobs cancelled.
    """
    profile = resolved(profile)
    rows = job_rows(profile, results=False)
    targets = select(rows, flow=target) or _find(rows, target)
    alive = sorted({r["queue_id"] for r in targets if r["queue_state"] in ALIVE})  # LOST ones are dead
    cancel_queue_jobs(profile, alive)
    defused: set[int] = set()
    with launchpad_session(profile) as lp:  # waits for a cancelled job to let go of a file LaunchPad
        for row in targets:  # reservations first: cancelling one refreshes its children
            release_reservation(lp, row["fw_id"])
        # defusing a job that is still RUNNING reruns it and its children first (FireWorks'
        # defuse_fw), which can send a child defused just before back to WAITING: repeat
        # until every target is finished or defused, whatever order the rows come in
        settled = ("COMPLETED", "DEFUSED")
        for _ in range(len(targets) + 1):
            pending = [r for r in targets if lp.get_fw_by_id(r["fw_id"]).state not in settled]
            if not pending:
                break
            for row in pending:
                lp.defuse_fw(row["fw_id"])
                defused.add(row["fw_id"])
    return sorted(defused), alive


def job_logs(profile: ClusterProfile, job: str, lines: int = 40) -> list[tuple[Path, str]]:
    """The batch script's output and error files of a job (newest launch), last ``lines`` each."""
    profile = resolved(profile)
    row = _find(job_rows(profile, results=False), job)[-1]
    if not row["launch_dir"]:
        raise InputError(
            f"job {row['fw_id']} ({row['job']})", f"has not been launched ({row['state']})", "wait"
        )
    folder = Path(row["launch_dir"])
    # a packed job runs in its own folder inside the pack's, where the batch job writes its output
    folders = [folder, folder.parent] if folder.name.startswith("fw_") else [folder]
    files = [f for where in folders for pattern in ("*.out", "*.error") for f in sorted(where.glob(pattern))]
    if row["queue_id"]:
        files = [f for f in files if row["queue_id"] in f.name] or files
    out = []
    for path in files:
        text = path.read_text(errors="replace").splitlines()
        out.append((path, "\n".join(text[-lines:])))
    return out or [(folder, "(no output files yet)")]
