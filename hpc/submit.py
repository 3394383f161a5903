"""Submit a flow spec to a cluster through FireWorks, and queue the jobs that are ready.

``submit_spec``: spec -> jobflow Flow (the same builders as ``ionflow run``) ->
``flow_to_workflow`` -> LaunchPad -> one batch job per ready firework, through FireWorks'
queue launcher in reservation mode with its ``CommonAdapter`` (so every firework knows its
batch job id). Each batch job ends by queueing the fireworks its own finish made ready, so a
workflow walks itself through the scheduler. Nothing is half-submitted: a failure before or
during submission leaves the LaunchPad as it was and cancels any batch job already queued.

With ``pack`` N above 1 (the profile's field, ``--pack``), up to N ready fireworks of one
workflow are reserved for one batch job (FireWorks' reservation, the same batch job id on
each), which runs them one after another with FireWorks' rocket and goes on with the ones
they made ready (:mod:`ionflow.hpc.rocket`). Each keeps its own launch folder and row in
``ionflow status``; a dead pack makes its unfinished jobs LOST, each rerun on its own.
"""

from __future__ import annotations

import ast
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from fireworks import FWorker, LaunchPad
from fireworks.fw_config import QUEUE_JOBNAME_MAXLEN, SUBMIT_SCRIPT_NAME
from fireworks.queue.queue_launcher import launch_rocket_to_queue
from fireworks.user_objects.queue_adapters.common_adapter import CommonAdapter
from fireworks.utilities.fw_serializers import load_object
from fireworks.utilities.fw_utilities import create_datestamp_dir, get_slug
from jobflow import Flow
from jobflow.managers.fireworks import flow_to_workflow
from monty.os import cd

from ionflow.hpc.launchpad import launchpad_file, launchpad_session
from ionflow.hpc.monitor import job_rows, stranded
from ionflow.hpc.profiles import ClusterProfile, check_profile
from ionflow.hpc.queue import cancel_queue_jobs
from ionflow.hpc.schedulers import SCHEDULERS
from ionflow.inputs.errors import InputError
from ionflow.inputs.files import SECRET_MODE, atomic_write, exclusive_lock
from ionflow.inputs.locations import expand_secrets, is_mongodb
from ionflow.workflows.record import with_result_recording
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
    advice: list[str] = field(default_factory=list)


def resolved(profile: ClusterProfile) -> ClusterProfile:
    """The profile with every file location made absolute (batch jobs run elsewhere); MongoDB
    URIs keep their ``${VAR}`` references."""
    data = profile.model_dump()
    db_file = launchpad_file(profile)
    if db_file is not None:
        data["launchpad"] = f"file:{db_file}"
    if not is_mongodb(profile.results):
        data["results"] = str(Path(expand_secrets(profile.results)).expanduser().resolve())
    data["work_dir"] = str(Path(expand_secrets(profile.work_dir)).expanduser().resolve())
    return ClusterProfile(**data)


def _python(profile: ClusterProfile) -> str:
    """The batch job's Python: this environment's, unless the profile's pre-run sets one up."""
    return "python" if profile.pre_run else sys.executable


def profile_file(profile: ClusterProfile) -> Path:
    """The profile as the batch jobs read it, in the work folder: written atomically, owner
    only (0600), only when it changed, with ``${VAR}`` references, never their values."""
    work = Path(profile.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    path = work / "profile.yaml"
    text = yaml.safe_dump(profile.model_dump(exclude={"source"})).encode()
    if not path.exists() or path.read_bytes() != text or path.stat().st_mode & 0o077:
        with exclusive_lock(work / ".profile.lock", "the work folder's profile"):
            atomic_write(path, text, SECRET_MODE)
    return path


def queue_adapter(profile: ClusterProfile) -> CommonAdapter:
    """FireWorks' CommonAdapter for the profile: resources, pre-run lines, and the batch job's
    program (:mod:`ionflow.hpc.rocket`: FireWorks' rocket, then the successors queued)."""
    mode = "pack" if profile.pack > 1 else "singleshot"
    rocket = f"{_python(profile)} -m ionflow.hpc.rocket {profile_file(profile)} {mode}"
    common = {
        "queue": profile.partition,
        "account": profile.account,
        "walltime": profile.walltime,
        "job_name": "ionflow",
        "pre_rocket": "\n".join(profile.pre_run),
        "rocket_launch": rocket,  # FireWorks appends --fw_id N in reservation mode
    }
    return SCHEDULERS[profile.scheduler].queue_adapter(profile, common)


def said_queued(queued: list[tuple[int, str]], none: str = "nothing ready") -> str:
    """``fw_id->batch job`` pairs as the commands print them."""
    return ", ".join(f"{fw}->{q}" for fw, q in queued) or none


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


def launch_ready(
    lp: LaunchPad, profile: ClusterProfile, limit: int = 1000, of: list[int] | None = None
) -> list[tuple[int, str]]:
    """Reserve each ready firework and queue a batch job for it (with ``pack`` above 1: for up
    to ``pack`` of them of one workflow): ``[(fw_id, job id)]``. With ``of`` (firework ids),
    only the ready fireworks of their workflows (a pack queues what its own workflows made
    ready, never the jobs another pack is about to go on with).

    A submission that fails cancels the jobs this call queued and raises, so the caller's
    LaunchPad session is dropped and nothing is half-submitted.
    """
    adapter = queue_adapter(profile)
    queued: list[tuple[int, str]] = []
    logger = f"qadapter.{adapter.q_name}"
    said = _SchedulerErrors(logger)
    ready = ready_fireworks(lp, of)[:limit]
    try:
        if profile.pack > 1:
            for pack in ready_packs(lp, ready, profile.pack):
                _queue_pack(lp, profile, adapter, pack, queued, said)
        else:
            _queue_each(lp, profile, adapter, ready, queued, said)
    finally:
        said.detach(logger)
    return queued


def ready_fireworks(lp: LaunchPad, of: list[int] | None = None) -> list[int]:
    """The READY fireworks, sorted; with ``of`` (firework ids), only those of their workflows."""
    criteria: dict = {"state": "READY"}
    if of is not None:
        criteria["fw_id"] = {"$in": workflow_nodes(lp, of)}
    return sorted(d["fw_id"] for d in lp.fireworks.find(criteria, {"fw_id": 1}))


def workflow_nodes(lp: LaunchPad, fw_ids: list[int]) -> list[int]:
    """Every firework of the workflows holding ``fw_ids``."""
    nodes: set[int] = set()
    for wf in lp.workflows.find({"nodes": {"$in": list(fw_ids)}}, {"nodes": 1}):
        nodes.update(wf["nodes"])
    return sorted(nodes)


def ready_packs(lp: LaunchPad, fw_ids: list[int], size: int) -> list[list[int]]:
    """The fireworks in packs of at most ``size``, each pack from one workflow (cancelling a
    workflow then stops no other workflow's jobs)."""
    by_workflow: dict[int, list[int]] = {}
    for wf in lp.workflows.find({"nodes": {"$in": fw_ids}}, {"nodes": 1}):
        members = sorted(set(wf["nodes"]) & set(fw_ids))
        by_workflow[min(wf["nodes"])] = members
    return [ids[i : i + size] for _, ids in sorted(by_workflow.items()) for i in range(0, len(ids), size)]


def pack_member_dir(folder: Path, fw_id: int) -> Path:
    """The launch folder of one job of a pack, inside the pack's folder."""
    path = folder / f"fw_{fw_id}"
    path.mkdir(exist_ok=True)
    return path


def _queue_pack(
    lp: LaunchPad,
    profile: ClusterProfile,
    adapter: CommonAdapter,
    fw_ids: list[int],
    queued: list[tuple[int, str]],
    said: _SchedulerErrors,
) -> None:
    """One batch job for the fireworks ``fw_ids``, as FireWorks' queue launcher does it for
    one in reservation mode: reserve (each in its own folder of the pack's launcher folder),
    write the script, submit, put the batch job's id on every reservation."""
    folder = Path(create_datestamp_dir(str(Path(profile.work_dir)), logging.getLogger(__name__), "launcher_"))
    reserved: list[tuple[int, int]] = []
    job_id = None
    try:
        for fw_id in fw_ids:
            fw, launch_id = lp.reserve_fw(FWorker(), str(pack_member_dir(folder, fw_id)), fw_id=fw_id)
            if fw is not None:
                reserved.append((fw_id, launch_id))
        if not reserved:
            return
        script = load_object(adapter.to_dict())  # a copy, as FireWorks' queue launcher makes
        script.update(
            job_name=get_slug(f"ionflow pack {reserved[0][0]}")[:QUEUE_JOBNAME_MAXLEN],
            rocket_launch=f"{adapter['rocket_launch']} --fw_id {','.join(str(i) for i, _ in reserved)}",
        )
        with cd(str(folder)):  # the scheduler writes the batch job's output here
            Path(SUBMIT_SCRIPT_NAME).write_text(script.get_script_str(str(folder)))
            job_id = script.submit_to_queue(SUBMIT_SCRIPT_NAME)
    except Exception as exc:  # FireWorks raises RuntimeError (and others) when the submit fails
        said.messages.append(str(exc))
    if not job_id:
        for _, launch_id in reserved:
            lp.cancel_reservation(launch_id)
        _refused(profile, fw_ids[0], said.last(), queued)
    for fw_id, launch_id in reserved:
        lp.set_reservation_id(launch_id, job_id)
        queued.append((fw_id, str(job_id)))


def _queue_each(
    lp: LaunchPad,
    profile: ClusterProfile,
    adapter: CommonAdapter,
    fw_ids: list[int],
    queued: list[tuple[int, str]],
    said: _SchedulerErrors,
) -> None:
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
            _refused(profile, fw_id, reason, queued)
        queued.append((fw_id, str(job_id)))


def _refused(profile: ClusterProfile, fw_id: int, reason: str, queued: list[tuple[int, str]]) -> None:
    """A submission failed: cancel the batch jobs this call queued, then say why."""
    cancel_queue_jobs(profile, sorted({q for _, q in queued}))
    raise InputError(
        f"cluster {profile.name} ({profile.source})",
        f"{profile.submit_command} refused firework {fw_id}: "
        f"{reason or 'the submit command failed (see the launcher folder)'}",
        "check partition, account and walltime with `ionflow cluster check`",
    )


def _existing(profile: ClusterProfile, fingerprint: str) -> tuple[int, str] | None:
    with launchpad_session(profile, write=False) as lp:
        found = lp.workflows.find_one({f"metadata.{FINGERPRINT}": fingerprint}, {"nodes": 1, "name": 1})
    return (min(found["nodes"]), found["name"]) if found is not None else None


def _already_submitted(profile: ClusterProfile, wf_id: int, name: str) -> Submission:
    """The existing workflow's state as ``ionflow status`` sees it (LOST found through the
    scheduler), with the command that rescues it."""
    rows = [r for r in job_rows(profile, results=False) if r["wf_id"] == wf_id]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    state = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "empty"
    advice = []
    if counts.get("LOST"):
        advice.append("`ionflow rerun --lost` (its batch job died)")
    if counts.get("FIZZLED"):
        advice.append("`ionflow rerun --failed`")
    if stranded(rows):
        advice.append("`ionflow launch` (ready jobs without a batch job)")
    advice = advice or ["`ionflow status`"]
    return Submission(wf_id=wf_id, name=name, created=False, state=state, advice=advice)


def submit_spec(spec: FlowSpec, profile: ClusterProfile, launch: bool = True) -> Submission:
    """Add the spec's workflow to the LaunchPad (once) and queue its ready jobs (its own only:
    another workflow's ready jobs may be the ones its pack is about to go on with).

    The flows are built before the LaunchPad is taken (building can relax a host); the
    LaunchPad is then held for the few seconds it takes to add the workflow and queue it.
    """
    profile = resolved(profile)
    problems = check_profile(profile) if launch else []
    if problems:
        raise InputError(f"cluster {profile.name} ({profile.source})", "; ".join(problems), "fix the profile")
    fingerprint = spec_fingerprint(spec)
    db_file = launchpad_file(profile)
    if db_file is None or db_file.exists():  # a file LaunchPad not yet made holds no workflow
        found = _existing(profile, fingerprint)
        if found is not None:
            return _already_submitted(profile, *found)
    flow = Flow([flow for _, flow in build_flows(spec)], name=f"ionflow {spec.label()}")
    with_result_recording(flow, profile.results)
    wf = flow_to_workflow(flow)  # no store: the batch job makes it (no URI in the LaunchPad)
    wf.metadata.update({FINGERPRINT: fingerprint, "ionflow_spec": spec.model_dump()})
    with launchpad_session(profile) as lp:
        found = lp.workflows.find_one({f"metadata.{FINGERPRINT}": fingerprint}, {"nodes": 1, "name": 1})
        if found is not None:  # submitted by another process meanwhile
            wf_id, name = min(found["nodes"]), found["name"]
        else:
            wf_id = min(lp.add_wf(wf).values())
            try:
                queued = launch_ready(lp, profile, of=[wf_id]) if launch else []
            except BaseException:
                if db_file is None:  # MongoDB: take the workflow out again
                    lp.delete_wf(wf_id)
                raise  # a file LaunchPad drops the whole session
            return Submission(wf_id=wf_id, name=wf.name, created=True, queued=queued)
    return _already_submitted(profile, wf_id, name)
