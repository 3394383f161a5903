"""The batch schedulers ionflow submits to: one registry entry each.

An entry says how the scheduler is called (submit program), how FireWorks' ``CommonAdapter``
names its resources, which qtoolkit IO class reads its job states and cancels jobs, and how
jobflow-remote names its resources. Adding a scheduler (LSF, say) is one entry here: profiles
accept every name in :data:`SCHEDULERS` (their validator reads it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fireworks.user_objects.queue_adapters.common_adapter import CommonAdapter
from qtoolkit.io.base import BaseSchedulerIO
from qtoolkit.io.pbs import PBSIO
from qtoolkit.io.slurm import SlurmIO

if TYPE_CHECKING:
    from ionflow.hpc.profiles import ClusterProfile


@dataclass(frozen=True)
class Scheduler:
    """What ionflow needs to know of one batch scheduler."""

    name: str
    submit_command: str
    fireworks_type: str
    """``q_type`` of FireWorks' CommonAdapter."""
    adapter_resources: Callable[[ClusterProfile], dict[str, Any]]
    """The profile's nodes and tasks in the CommonAdapter's words."""
    io: Callable[[], BaseSchedulerIO]
    """qtoolkit's reader and writer of this scheduler's commands."""
    jf_remote_resources: Callable[[ClusterProfile], dict[str, Any]]
    """The profile's resources in jobflow-remote's (qtoolkit's) words."""
    job_id_variable: str
    """The environment variable holding a batch job's own id inside it (a pack reserves the
    jobs it goes on with under that id)."""

    def queue_adapter(self, profile: ClusterProfile, common: dict[str, Any]) -> CommonAdapter:
        """FireWorks' adapter for a batch job of ``profile`` with the ``common`` settings."""
        return CommonAdapter(q_type=self.fireworks_type, **self.adapter_resources(profile), **common)


SCHEDULERS: dict[str, Scheduler] = {
    "slurm": Scheduler(
        name="slurm",
        submit_command="sbatch",
        fireworks_type="SLURM",
        adapter_resources=lambda p: {"nodes": p.nodes, "ntasks_per_node": p.ntasks_per_node},
        io=SlurmIO,
        jf_remote_resources=lambda p: {
            "nodes": p.nodes,
            "ntasks_per_node": p.ntasks_per_node,
            "time": p.walltime,
            "partition": p.partition,
            "account": p.account,
        },
        job_id_variable="SLURM_JOB_ID",
    ),
    "pbs": Scheduler(
        name="pbs",
        submit_command="qsub",
        fireworks_type="PBS",
        adapter_resources=lambda p: {"nnodes": p.nodes, "ppnode": p.ntasks_per_node},
        io=PBSIO,
        jf_remote_resources=lambda p: {
            "select": p.nodes,
            "ncpus": p.ntasks_per_node,
            "walltime": p.walltime,
            "queue": p.partition,
            "account": p.account,
        },
        job_id_variable="PBS_JOBID",
    ),
}
