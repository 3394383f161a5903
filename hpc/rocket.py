"""The program of every batch job: one reserved job run by FireWorks' rocket, then its successors queued.

``python -m ionflow.hpc.rocket PROFILE singleshot --fw_id N`` (FireWorks' queue launcher adds
``--fw_id`` in reservation mode). It opens the profile's LaunchPad itself, so no file with the
database's URI is written for the batch job, runs :func:`fireworks.core.rocket_launcher.launch_rocket`
(FireWorks' own code: checkout, run, complete), with jobflow's job store made here from the
profile, and then queues every job its finish made ready. A file LaunchPad is locked only
around each of FireWorks' reads and writes, never for the run.
"""

from __future__ import annotations

import argparse
import sys

from fireworks import FWorker
from fireworks.core.rocket_launcher import launch_rocket
from jobflow import SETTINGS

from ionflow.hpc.launchpad import job_store, launchpad_session, open_launchpad
from ionflow.hpc.profiles import load_profile
from ionflow.hpc.submit import launch_ready, resolved, said_queued
from ionflow.inputs.errors import InputError


def run(profile_path: str, fw_id: int | None) -> list[tuple[int, str]]:
    """Run the reserved firework ``fw_id`` here, then queue the jobs that became ready."""
    profile = resolved(load_profile(profile_path))
    SETTINGS.JOB_STORE = job_store(profile)  # jobflow's JobFiretask takes it when its spec has none
    launch_rocket(open_launchpad(profile), FWorker(), fw_id=fw_id, strm_lvl="INFO")
    with launchpad_session(profile) as lp:
        return launch_ready(lp, profile)


def main(argv: list[str] | None = None) -> int:
    """Batch-job entry point; bad input or a failed chain step is one line and exit 2."""
    parser = argparse.ArgumentParser(prog="python -m ionflow.hpc.rocket")
    parser.add_argument("profile", help="the work folder's profile.yaml")
    parser.add_argument("mode", choices=["singleshot"])
    parser.add_argument("--fw_id", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        queued = run(args.profile, args.fw_id)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"queued: {said_queued(queued)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
