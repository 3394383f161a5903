"""jobflow-remote as a second backend: a project built from the cluster profile, flows submitted to it.

jobflow-remote keeps its queue in MongoDB (its queue store must be a maggma MongoStore), so
the profile's ``launchpad`` must be a ``mongodb://`` URI; jobs then run through its runner
(``jf runner start``, or :func:`run_jobs` in this process) on the profile's scheduler, and
``jf job list`` / ``jf job rerun`` watch and rescue them. Results reach ionflow's results
store through the same ``record results`` jobs as with FireWorks.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from ionflow.analysis.store import results_data_store
from ionflow.hpc.profiles import ClusterProfile
from ionflow.hpc.schedulers import SCHEDULERS
from ionflow.hpc.submit import resolved
from ionflow.inputs.errors import InputError
from ionflow.inputs.files import SECRET_MODE, atomic_write
from ionflow.inputs.locations import expand_secrets, is_mongodb, uri_database
from ionflow.workflows.record import with_result_recording
from ionflow.workflows.specs import FlowSpec, build_flows, spec_fingerprint


def project_name(profile: ClusterProfile) -> str:
    """The jobflow-remote project ionflow keeps for a profile."""
    return f"ionflow-{profile.name}"


def _mongo_store(uri: str, collection: str) -> dict:
    return {
        "@module": "maggma.stores.mongolike",
        "@class": "MongoStore",
        "uri": uri,
        "database": uri_database(uri),
        "collection_name": collection,
    }


def project_data(
    profile: ClusterProfile, queue_store: dict | None = None, docs_store: dict | None = None
) -> dict:
    """jobflow-remote project settings from a profile: one worker on its scheduler, queue and
    outputs in the LaunchPad's MongoDB (or the stores given, as serialized maggma stores)."""
    if queue_store is None and not is_mongodb(profile.launchpad):
        raise InputError(
            f"{profile.source}: field 'launchpad'",
            "jobflow-remote keeps its queue in MongoDB, and this profile has a file LaunchPad",
            "set launchpad: mongodb://... or use --backend fireworks",
        )
    work = Path(profile.work_dir).expanduser().resolve()
    resources = SCHEDULERS[profile.scheduler].jf_remote_resources(profile)
    return {
        "name": project_name(profile),
        "base_dir": str(work / "jf-remote"),
        "workers": {
            profile.name: {
                "type": "local",
                "scheduler_type": profile.scheduler,
                "work_dir": str(work / "jf-remote-jobs"),
                "pre_run": "\n".join(profile.pre_run),
                "resources": resources,
            }
        },
        "queue": {"store": queue_store or _mongo_store(expand_secrets(profile.launchpad), "jf_jobs")},
        "jobstore": {
            "@module": "jobflow.core.store",
            "@class": "JobStore",
            "docs_store": docs_store or _mongo_store(expand_secrets(profile.launchpad), "ionflow_outputs"),
            "additional_stores": {"data": results_data_store(profile.results).as_dict()},  # NEB bands
        },
        "runner": {"delay_checkout": 5, "delay_check_run_status": 5, "delay_advance_status": 5},
    }


def write_project(data: dict) -> Path:
    """Write the project into jobflow-remote's projects folder (``$JFREMOTE_PROJECTS_FOLDER``
    or ``~/.jfremote``), replacing an older one of the same name: atomically and readable by
    the owner alone (jobflow-remote needs the database URI, password included, in it)."""
    from jobflow_remote import SETTINGS

    folder = Path(os.environ.get("JFREMOTE_PROJECTS_FOLDER") or SETTINGS.projects_folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{data['name']}.yaml"
    atomic_write(path, yaml.safe_dump(data, sort_keys=False).encode(), SECRET_MODE)
    return path


def submit_jf_remote(spec: FlowSpec, profile: ClusterProfile, **stores) -> tuple[str, bool]:
    """Submit the spec's flows to the profile's jobflow-remote project.

    Returns the flow name and whether it was added (False: the same spec was there already).
    """
    from jobflow import Flow
    from jobflow_remote import submit_flow
    from jobflow_remote.jobs.jobcontroller import JobController

    profile = resolved(profile)
    data = project_data(profile, **stores)
    write_project(data)
    name = f"ionflow {spec.label()} [{spec_fingerprint(spec)}]"
    controller = JobController.from_project_name(data["name"])
    fresh = controller.auxiliary.find_one({"next_id": {"$exists": True}}) is None
    if fresh and controller.jobs.count_documents({}) == 0:  # a new, empty queue database
        controller.reset(reset_output=False)
    elif controller.flows.find_one({"name": name}, {"_id": 1}) is not None:
        return name, False
    flow = Flow([f for _, f in build_flows(spec)], name=name)
    with_result_recording(flow, profile.results)
    submit_flow(flow, worker=profile.name, project=data["name"])
    return name, True


def run_jobs(profile: ClusterProfile, max_seconds: int) -> None:
    """Run jobflow-remote's runner here until every job is done or ``max_seconds`` pass
    (what ``jf runner start`` does as a daemon)."""
    from jobflow_remote.jobs.runner import Runner

    Runner(project_name=project_name(profile)).run_all_jobs(max_seconds=max_seconds)
