"""The program of every batch job: reserved jobs run by FireWorks' rocket, then their successors queued.

``python -m ionflow.hpc.rocket PROFILE singleshot --fw_id N`` (FireWorks' queue launcher adds
``--fw_id`` in reservation mode). It opens the profile's LaunchPad itself, so no file with the
database's URI is written for the batch job, runs :func:`fireworks.core.rocket_launcher.launch_rocket`
(FireWorks' own code: checkout, run, complete), with jobflow's job store made here from the
profile, and then queues the ready jobs of its own workflow (never another workflow's: a pack
may be about to go on with those). A file LaunchPad is locked only
around each of FireWorks' reads and writes, never for the run.

``... PROFILE pack --fw_id N,M,...`` (a pack, ``pack`` above 1): the same rocket for each
reserved job in turn, each in its own launch folder; then, while the walltime leaves room for
one more job as long as the longest this batch job has run (with a margin), it reserves up to
``pack`` of the jobs its workflows made ready under its own batch job id and runs them too.
What is left of its own workflows is queued in new packs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from fireworks import FWorker, LaunchPad
from fireworks.core.rocket_launcher import launch_rocket
from jobflow import SETTINGS

from ionflow.hpc.launchpad import job_store, launchpad_session, open_launchpad
from ionflow.hpc.profiles import ClusterProfile, load_profile
from ionflow.hpc.schedulers import SCHEDULERS
from ionflow.hpc.submit import launch_ready, pack_member_dir, ready_fireworks, resolved, said_queued
from ionflow.inputs.errors import InputError
from ionflow.workflows.checkpoint import CHECKPOINTS_ENV
from ionflow.workflows.neb_handlers import WALLTIME_ENV

WALLTIME_MARGIN = 1.5
"""A pack starts another job only when the walltime left exceeds this many times the longest
job it has run, plus :data:`WALLTIME_SLACK_S`."""
WALLTIME_SLACK_S = 60


def _prepared(profile_path: str) -> ClusterProfile:
    """The profile, with jobflow's job store made from it (jobflow's JobFiretask takes it when
    its spec has none) and NEB checkpoints kept in its work folder (a rerun resumes from them)."""
    profile = resolved(load_profile(profile_path))
    SETTINGS.JOB_STORE = job_store(profile)
    os.environ[CHECKPOINTS_ENV] = str(Path(profile.work_dir) / "checkpoints")
    os.environ[WALLTIME_ENV] = str(profile.walltime_s)  # a VASP NEB stops cleanly before it
    return profile


def run(profile_path: str, fw_id: int | None) -> list[tuple[int, str]]:
    """Run the reserved firework ``fw_id`` here, then queue the ready jobs of its workflow."""
    profile = _prepared(profile_path)
    launch_rocket(open_launchpad(profile), FWorker(), fw_id=fw_id, strm_lvl="INFO")
    with launchpad_session(profile) as lp:
        return launch_ready(lp, profile, of=None if fw_id is None else [fw_id])


def _reserve_successors(profile: ClusterProfile, batch_job: str, ran: list[int], folder: Path) -> list[int]:
    """Reserve, under this batch job's id, up to ``pack`` ready jobs of the workflows of ``ran``,
    each in its own folder in the pack's ``folder``."""
    taken: list[int] = []
    with launchpad_session(profile) as lp:
        for fw_id in ready_fireworks(lp, ran)[: profile.pack]:
            fw, launch_id = lp.reserve_fw(FWorker(), str(pack_member_dir(folder, fw_id)), fw_id=fw_id)
            if fw is not None:
                lp.set_reservation_id(launch_id, batch_job)
                taken.append(fw_id)
    return taken


def run_pack(profile_path: str, fw_ids: list[int]) -> list[tuple[int, str]]:
    """Run the reserved fireworks one after another, go on with their workflows' ready jobs
    while the walltime has room, then queue what is still ready."""
    profile = _prepared(profile_path)
    lp: LaunchPad = open_launchpad(profile)
    batch_job = os.environ.get(SCHEDULERS[profile.scheduler].job_id_variable, "")
    pack_dir, started, longest = Path.cwd(), time.monotonic(), 0.0
    todo, ran = list(fw_ids), []
    while todo:
        for fw_id in todo:
            t0 = time.monotonic()
            os.chdir(pack_member_dir(pack_dir, fw_id))  # FireWorks' rocket runs in the current folder
            launch_rocket(lp, FWorker(), fw_id=fw_id, strm_lvl="INFO")
            os.chdir(pack_dir)
            longest = max(longest, time.monotonic() - t0)
            ran.append(fw_id)
        left = profile.walltime_s - (time.monotonic() - started)
        room = left > WALLTIME_MARGIN * longest + WALLTIME_SLACK_S
        todo = _reserve_successors(profile, batch_job, ran, pack_dir) if room and batch_job else []
        if todo:
            print(
                f"pack goes on with {', '.join(map(str, todo))} ({left:.0f} s of walltime left)", flush=True
            )
    with launchpad_session(profile) as lp_session:
        return launch_ready(lp_session, profile, of=ran)


def _fw_ids(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    """Batch-job entry point; bad input or a failed chain step is one line and exit 2."""
    parser = argparse.ArgumentParser(prog="python -m ionflow.hpc.rocket")
    parser.add_argument("profile", help="the work folder's profile.yaml")
    parser.add_argument("mode", choices=["singleshot", "pack"])
    parser.add_argument(
        "--fw_id", type=_fw_ids, default=None, help="a firework id (a pack: ids, comma-separated)"
    )
    args = parser.parse_args(argv)
    try:
        if args.mode == "pack":
            queued = run_pack(args.profile, args.fw_id or [])
        else:
            queued = run(args.profile, args.fw_id[0] if args.fw_id else None)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"queued: {said_queued(queued)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
