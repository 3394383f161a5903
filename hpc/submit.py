"""Submit a flow spec to a cluster through FireWorks, and queue the jobs that are ready.

``submit_spec``: spec -> jobflow Flow (the same builders as ``ionflow run``) ->
``flow_to_workflow`` -> LaunchPad -> one batch job per ready firework, through FireWorks'
queue launcher in reservation mode with its ``CommonAdapter`` (so every firework knows its
batch job id). Each batch job ends by queueing the fireworks its own finish made ready, so a
workflow walks itself through the scheduler. Nothing is half-submitted: a failure before or
during submission leaves the LaunchPad as it was and cancels any batch job already queued.
"""

from __future__ import annotations

import ast
import logging
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ionflow.hpc.launchpad import launchpad_file, launchpad_session, launchpad_yaml
from ionflow.hpc.profiles import ClusterProfile, check_profile
from ionflow.hpc.queue import cancel_queue_jobs
from ionflow.inputs.errors import InputError
from ionflow.workflows.specs import FlowSpec, build_flows, spec_fingerprint

FINGERPRINT = "ionflow_fingerprint"


@dataclass
class Submission:
    """What ``ionflow submit`` did."""

    wf_id: int
    name: str
    created: bool
    state: str = "READY"
    queued: list[tuple[int, str]] = field(default_factory=list)


def resolved(profile: ClusterProfile) -> ClusterProfile:
    """The profile with every file location made absolute (batch jobs run elsewhere)."""
    data = profile.model_dump()
    if profile.launchpad.startswith("file:"):
        data["launchpad"] = f"file:{launchpad_file(profile)}"
    if not profile.results.startswith(("mongodb://", "mongodb+srv://")):
        data["results"] = str(Path(profile.results).expanduser().resolve())
    data["work_dir"] = str(Path(profile.work_dir).expanduser().resolve())
    return ClusterProfile(**data)


def job_store(profile: ClusterProfile):
    """jobflow's store of job outputs: beside a file LaunchPad, or the LaunchPad's database."""
    from jobflow import JobStore

    db_file = launchpad_file(profile)
    if db_file is None:
        from maggma.stores import MongoURIStore

        return JobStore(MongoURIStore(profile.launchpad, collection_name="ionflow_outputs", key="uuid"))
    from ionflow.workflows.store import ResultsFileStore

    return JobStore(ResultsFileStore(db_file.with_name(f"{db_file.stem}-outputs.json"), key="uuid"))


def _bin(profile: ClusterProfile, program: str) -> str:
    """``program`` from this Python's environment, unless the profile's pre-run sets one up."""
    if profile.pre_run:
        return program
    return str(Path(sys.executable).parent / program)


def queue_adapter(profile: ClusterProfile):
    """FireWorks' CommonAdapter for the profile: resources, pre-run lines, ``rlaunch``, chaining."""
    from fireworks.user_objects.queue_adapters.common_adapter import CommonAdapter

    work = Path(profile.work_dir)
    lp_yaml = launchpad_yaml(profile, work)
    profile_file = work / "profile.yaml"
    profile_file.write_text(yaml.safe_dump(profile.model_dump(exclude={"name", "source"})))
    pre = list(profile.pre_run)
    rlaunch = f"{_bin(profile, 'rlaunch')} -l {lp_yaml} singleshot"
    db_file = launchpad_file(profile)
    if db_file is not None:
        pre.append(f"export MONGOMOCK_SERVERSTORE_FILE={db_file}")
        rlaunch = f"flock {db_file}.lock {rlaunch}"
    chain = f"{_bin(profile, 'ionflow')} launch --cluster {profile_file} --quiet"
    common = {
        "queue": profile.partition,
        "account": profile.account,
        "walltime": profile.walltime,
        "job_name": "ionflow",
        "pre_rocket": "\n".join(pre),
        "rocket_launch": rlaunch,
        "post_rocket": chain,
    }
    if profile.scheduler == "slurm":
        return CommonAdapter(
            q_type="SLURM", nodes=profile.nodes, ntasks_per_node=profile.ntasks_per_node, **common
        )
    return CommonAdapter(q_type="PBS", nnodes=profile.nodes, ppnode=profile.ntasks_per_node, **common)


class _SchedulerErrors(logging.Handler):
    """Keeps what the scheduler said when FireWorks' queue adapter could not submit."""

    def __init__(self, logger: str) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []
        logging.getLogger(logger).addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def last(self) -> str:
        """The scheduler's own error lines from the last failed submission."""
        for message in reversed(self.messages):
            if "error response reads:" in message:
                said = message.split("error response reads:", 1)[-1].strip()
                if said.startswith(("b'", 'b"')):
                    said = ast.literal_eval(said).decode(errors="replace")
                return "; ".join(line.strip() for line in said.splitlines() if line.strip())
        return " ".join(self.messages[-1].split()) if self.messages else ""

    def detach(self, logger: str) -> None:
        logging.getLogger(logger).removeHandler(self)


def launch_ready(lp, profile: ClusterProfile, limit: int = 1000) -> list[tuple[int, str]]:
    """Reserve each ready firework and queue one batch job for it: ``[(fw_id, job id)]``.

    A submission that fails cancels the jobs this call queued and raises, so the caller's
    LaunchPad session is dropped and nothing is half-submitted.
    """
    adapter = queue_adapter(profile)
    queued: list[tuple[int, str]] = []
    logger = f"qadapter.{adapter.q_name}"
    said = _SchedulerErrors(logger)
    ready = [d["fw_id"] for d in lp.fireworks.find({"state": "READY"}, {"fw_id": 1})][:limit]
    try:
        _queue_each(lp, profile, adapter, sorted(ready), queued, said)
    finally:
        said.detach(logger)
    return queued


def _queue_each(lp, profile: ClusterProfile, adapter, fw_ids: list[int], queued: list, said) -> None:
    from fireworks import FWorker
    from fireworks.queue.queue_launcher import launch_rocket_to_queue

    work = Path(profile.work_dir)
    for fw_id in fw_ids:
        try:
            job_id = launch_rocket_to_queue(
                lp,
                FWorker(),
                adapter,
                launcher_dir=str(work),
                reserve=True,
                strm_lvl="CRITICAL",
                create_launcher_dir=True,
                fw_id=fw_id,
            )
        except Exception as exc:  # FireWorks raises RuntimeError (and others) when the submit fails
            job_id, reason = None, str(exc)
        else:
            reason = said.last() or "the submit command failed (see the launcher folder's FW_submit.script)"
        if not job_id:
            cancel_queue_jobs(profile, [q for _, q in queued])
            raise InputError(
                f"cluster {profile.name} ({profile.source})",
                f"{profile.submit_command} refused firework {fw_id}: {reason}",
                "check partition, account and walltime with `ionflow cluster check`",
            )
        queued.append((fw_id, str(job_id)))


def submit_spec(spec: FlowSpec, profile: ClusterProfile, launch: bool = True) -> Submission:
    """Add the spec's workflow to the LaunchPad (once) and queue its ready jobs."""
    from jobflow import Flow
    from jobflow.managers.fireworks import flow_to_workflow

    from ionflow.workflows.record import with_result_recording

    profile = resolved(profile)
    problems = check_profile(profile) if launch else []
    if problems:
        raise InputError(f"cluster {profile.name} ({profile.source})", "; ".join(problems), "fix the profile")
    if launch and shutil.which("flock") is None and launchpad_file(profile) is not None:
        raise InputError("flock", "is not on PATH", "install util-linux (it provides flock)")
    fingerprint = spec_fingerprint(spec)
    with launchpad_session(profile) as lp:
        existing = lp.workflows.find_one({f"metadata.{FINGERPRINT}": fingerprint}, {"nodes": 1, "name": 1})
        if existing is not None:
            wf_id = min(existing["nodes"])
            state = lp.get_wf_summary_dict(wf_id, mode="less")["state"]
            return Submission(wf_id=wf_id, name=existing["name"], created=False, state=state)
        flows = [flow for _, flow in build_flows(spec)]
        flow = Flow(flows, name=f"ionflow {spec.label()}")
        with_result_recording(flow, profile.results)
        wf = flow_to_workflow(flow, store=job_store(profile))
        wf.metadata.update({FINGERPRINT: fingerprint, "ionflow_spec": spec.model_dump()})
        id_map = lp.add_wf(wf)
        wf_id = min(id_map.values())
        try:
            queued = launch_ready(lp, profile) if launch else []
        except BaseException:
            if launchpad_file(profile) is None:  # MongoDB: take the workflow out again
                lp.delete_wf(wf_id)
            raise
    return Submission(wf_id=wf_id, name=wf.name, created=True, queued=queued)
