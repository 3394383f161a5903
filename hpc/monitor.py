"""What the submitted workflows are doing: one row per job, lost runs found through the scheduler.

A job is **lost** when its firework is RESERVED or RUNNING but its batch job is no longer
alive in the scheduler (killed at the walltime, by ``scancel``, or by a node failure; a lost
NEB whose band was checkpointed says from which step a rerun resumes): the
batch job is asked about first and the LaunchPad read after, so a job that finished in
between is never called lost. All rows come from a handful of bulk queries, so thousands
of jobs take one LaunchPad read and one scheduler call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ionflow.analysis.store import ResultsFileStore, results_store
from ionflow.hpc.launchpad import job_store, launchpad_session
from ionflow.hpc.profiles import ClusterProfile
from ionflow.hpc.queue import ALIVE, queue_states
from ionflow.inputs.locations import expand_secrets, is_mongodb
from ionflow.workflows.checkpoint import resumable_steps

ACTIVE = ("RESERVED", "RUNNING")
FW_FIELDS = {"fw_id": 1, "name": 1, "state": 1, "launches": 1, "spec._tasks.job.uuid": 1}
LAUNCH_FIELDS = {
    "launch_id": 1,
    "fw_id": 1,
    "host": 1,
    "launch_dir": 1,
    "runtime_secs": 1,
    "state_history": 1,
}


def _reservation(launch: dict) -> str | None:
    for entry in launch.get("state_history", []):
        if entry.get("reservation_id"):
            return str(entry["reservation_id"])
    return None


def _snapshot(profile: ClusterProfile) -> list[dict[str, Any]]:
    """Every firework with its workflow and its latest launch, from one LaunchPad read."""
    with launchpad_session(profile, write=False) as lp:
        workflows = list(lp.workflows.find({}, {"nodes": 1, "name": 1}))
        fireworks = list(lp.fireworks.find({}, FW_FIELDS))
        launches = {d["launch_id"]: d for d in lp.launches.find({}, LAUNCH_FIELDS)}
    wf_of = {}
    for wf in workflows:
        wf_id = min(wf["nodes"]) if wf["nodes"] else 0
        for fw_id in wf["nodes"]:
            wf_of[fw_id] = (wf_id, wf["name"])
    rows = []
    for fw in sorted(fireworks, key=lambda d: d["fw_id"]):
        launch = launches.get(fw["launches"][-1], {}) if fw.get("launches") else {}
        tasks = fw.get("spec", {}).get("_tasks", [{}])
        wf_id, wf_name = wf_of.get(fw["fw_id"], (0, ""))
        rows.append(
            {
                "wf_id": wf_id,
                "workflow": wf_name,
                "fw_id": fw["fw_id"],
                "job": fw["name"],
                "state": fw["state"],
                "queue_id": _reservation(launch) if launch else None,
                "queue_state": None,
                "host": launch.get("host"),
                "wall_time_s": launch.get("runtime_secs"),
                "launch_id": launch.get("launch_id"),
                "launch_dir": launch.get("launch_dir"),
                "job_uuid": (tasks[0].get("job") or {}).get("uuid") if tasks else None,
                "result": "",
                "resumable_from_step": 0,
            }
        )
    return rows


def job_rows(profile: ClusterProfile, results: bool = True) -> list[dict[str, Any]]:
    """One dict per job: workflow, job, state (LOST for lost runs), batch job id and state,
    host, wall time, and the barrier or charge transfer once stored."""
    rows = _snapshot(profile)
    active = [r for r in rows if r["state"] in ACTIVE and r["queue_id"]]
    if active:
        states = queue_states(profile, [r["queue_id"] for r in active])
        suspects = set()
        for row in active:
            row["queue_state"] = states.get(row["queue_id"], "GONE")
            if row["queue_state"] not in ALIVE:
                suspects.add((row["fw_id"], row["launch_id"]))
        if suspects:  # read again: a job that finished before the scheduler was asked has written
            again = {(r["fw_id"], r["launch_id"]): r for r in _snapshot(profile)}
            for row in rows:
                key = (row["fw_id"], row["launch_id"])
                if key in suspects:
                    fresh = again.get(key)
                    if fresh is not None and fresh["state"] in ACTIVE:
                        row["state"] = "LOST"
                        row["resumable_from_step"] = resumable_steps(row["launch_dir"])
                    elif fresh is not None:
                        row.update(state=fresh["state"], wall_time_s=fresh["wall_time_s"], host=fresh["host"])
    if results:
        _add_results(rows, profile)
        _add_energies(rows, profile)
    return rows


def _add_energies(rows: list[dict[str, Any]], profile: ClusterProfile) -> None:
    """Final energies of finished jobs that output them (end-point relaxations), one query."""
    wanted = {
        r["job_uuid"]: r for r in rows if r["state"] == "COMPLETED" and not r["result"] and r["job_uuid"]
    }
    store = job_store(profile).docs_store
    if not wanted or (isinstance(store, ResultsFileStore) and not store.path.exists()):  # no outputs file yet
        return
    store.connect()
    try:
        criteria = {"uuid": {"$in": list(wanted)}}
        for doc in store.query(criteria=criteria, properties=["uuid", "output.energies", "output.energy"]):
            output = doc.get("output") if isinstance(doc.get("output"), dict) else {}
            energies = output.get("energies") or (
                [output["energy"]] if output.get("energy") is not None else []
            )
            if energies:
                wanted[doc["uuid"]]["result"] = "E " + "/".join(f"{e:.3f}" for e in energies) + " eV"
    finally:
        store.close()


def _add_results(rows: list[dict[str, Any]], profile: ClusterProfile) -> None:
    """The stored result of each finished job that produced one (barrier, charge transfer)."""
    where = profile.results
    if not is_mongodb(where) and not Path(where).exists():
        return
    store = results_store(expand_secrets(where))
    store.connect()
    try:
        by_job: dict[str, str] = {}
        fields = [
            "doc_type",
            "provenance.job_uuid",
            "forward_barrier",
            "reverse_barrier",
            "electrons_to_carbon",
        ]
        for doc in store.query(properties=fields):
            uuid = (doc.get("provenance") or {}).get("job_uuid")
            if doc.get("doc_type") == "MigrationBarrierDoc":
                by_job[uuid] = f"Ea {doc['forward_barrier']:.3f}/{doc['reverse_barrier']:.3f} eV"
            elif doc.get("doc_type") == "InterfaceChargeTransferDoc":
                by_job[uuid] = f"e⁻ AP→C {doc['electrons_to_carbon']:+.3f}"
    finally:
        store.close()
    for row in rows:
        row["result"] = by_job.get(row["job_uuid"], "")


def stranded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """READY jobs with no batch job coming: nothing of their workflow is reserved or running,
    so no finishing job will queue them (a chain step that failed, or compute nodes that
    cannot submit). ``ionflow launch`` queues them."""
    busy = {r["wf_id"] for r in rows if r["state"] in ACTIVE}
    return [r for r in rows if r["state"] == "READY" and r["wf_id"] not in busy]


def select(
    rows: list[dict[str, Any]], state: str | None = None, flow: str | None = None, job: str | None = None
) -> list[dict[str, Any]]:
    """Rows filtered by state (comma-separated), workflow (id or part of its name), job name part."""
    if state:
        wanted = {s.strip().upper() for s in state.split(",")}
        rows = [r for r in rows if r["state"] in wanted]
    if flow:
        rows = [r for r in rows if flow == str(r["wf_id"]) or flow.lower() in r["workflow"].lower()]
    if job:
        rows = [r for r in rows if job == str(r["fw_id"]) or job.lower() in r["job"].lower()]
    return rows
