"""The batch scheduler seen from ionflow: job states and cancelling, through qtoolkit."""

from __future__ import annotations

from qtoolkit.host.local import LocalHost
from qtoolkit.manager import QueueManager

from ionflow.hpc.profiles import ClusterProfile
from ionflow.hpc.schedulers import SCHEDULERS
from ionflow.inputs.errors import InputError

ALIVE = ("QUEUED", "QUEUED_HELD", "RUNNING", "SUSPENDED", "REQUEUED", "REQUEUED_HELD")
"""Scheduler states of a job that may still run its firework."""


def queue_manager(profile: ClusterProfile) -> QueueManager:
    """qtoolkit's manager for the profile's scheduler on this machine."""
    return QueueManager(SCHEDULERS[profile.scheduler].io(), LocalHost())


def queue_states(profile: ClusterProfile, job_ids: list[str]) -> dict[str, str]:
    """Scheduler state of each job id it still knows (``RUNNING``, ``QUEUED``, ``DONE``...).

    A job the scheduler has forgotten is absent from the answer.
    """
    if not job_ids:
        return {}
    try:
        jobs = queue_manager(profile).get_jobs_list(jobs=[str(j) for j in job_ids])
    except Exception as exc:  # qtoolkit raises its own CommandFailedError and OSError
        raise InputError(
            f"cluster {profile.name}",
            f"the scheduler could not be asked about jobs ({exc})",
            "run where the scheduler's commands work (the login node)",
        ) from None
    return {str(j.job_id): (j.state.name if j.state else "UNDETERMINED") for j in jobs}


def cancel_queue_jobs(profile: ClusterProfile, job_ids: list[str]) -> list[str]:
    """Cancel the batch jobs; the ids that could not be cancelled (already gone)."""
    manager = queue_manager(profile)
    failed = []
    for job_id in job_ids:
        try:
            result = manager.cancel(str(job_id))
            if result.status is not None and result.status.name != "SUCCESSFUL":
                failed.append(str(job_id))
        except Exception:  # the job already ended
            failed.append(str(job_id))
    return failed
