"""``ionflow cluster``: list and check cluster profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ionflow.hpc.jfremote import project_name, submit_jf_remote
from ionflow.hpc.launchpad import launchpad_session
from ionflow.hpc.monitor import job_rows, select, stranded
from ionflow.hpc.profiles import (
    ClusterProfile,
    available_profiles,
    check_profile,
    load_profile,
    user_profile_dir,
)
from ionflow.hpc.rescue import cancel as cancel_target
from ionflow.hpc.rescue import job_logs
from ionflow.hpc.rescue import rerun as rerun_jobs
from ionflow.hpc.submit import launch_ready, resolved, said_queued, submit_spec
from ionflow.inputs.errors import InputError
from ionflow.workflows.specs import load_spec

app = typer.Typer(help="Cluster profiles (scheduler, account, resources, databases).", no_args_is_help=True)
console = Console()


@app.command("list")
def list_profiles() -> None:
    """The profiles ionflow knows: bundled examples and yours."""
    table = Table(title=f"Cluster profiles (yours in {user_profile_dir()})")
    for col in ("name", "scheduler", "partition", "walltime", "file"):
        table.add_column(col)
    for name, path in sorted(available_profiles().items()):
        try:
            p = load_profile(str(path))
            table.add_row(name, p.scheduler, p.partition, p.walltime, str(path))
        except InputError as exc:
            table.add_row(name, "[red]invalid[/]", "", "", str(exc))
    console.print(table)


@app.command("check")
def check(
    profile: Annotated[str, typer.Argument(help="Profile name or YAML file.")],
    offline: Annotated[
        bool, typer.Option(help="Only validate the file; do not look for the scheduler or databases.")
    ] = False,
) -> None:
    """Validate a profile, then check the scheduler command and the databases from this machine.

    Example: ionflow cluster check example-slurm
    """
    p = load_profile(profile)
    console.print(
        f"{p.name}: {p.scheduler}, account {p.account}, partition {p.partition}, "
        f"{p.nodes} node(s) x {p.ntasks_per_node} tasks, walltime {p.walltime}",
        highlight=False,
    )
    if offline:
        console.print("profile is valid")
        return
    problems = check_profile(p)
    if problems:
        raise InputError(
            f"profile {p.name} ({p.source})", "; ".join(problems), "fix the profile or run where it works"
        )
    console.print("profile is valid; scheduler and databases reachable")


ClusterOption = Annotated[
    str,
    typer.Option("--cluster", "-c", envvar="IONFLOW_CLUSTER", help="Cluster profile name or YAML file."),
]
PackOption = Annotated[
    int | None,
    typer.Option(
        "--pack",
        min=1,
        help="Run up to N ready jobs of a workflow in one batch job, which goes on with the jobs "
        "they make ready while its walltime has room (default: the profile's `pack`, 1).",
    ),
]


def cluster_profile(cluster: str, pack: int | None = None) -> ClusterProfile:
    """The named profile, with ``--pack`` when given (the batch jobs read it from the work folder)."""
    profile = load_profile(cluster)
    return profile if pack is None else profile.model_copy(update={"pack": pack})


def submit(
    spec: Annotated[Path, typer.Argument(help="Flow spec (YAML): flow: barriers|charges|demo and options.")],
    cluster: ClusterOption,
    backend: Annotated[str, typer.Option(help="fireworks (default) or jf-remote.")] = "fireworks",
    pack: PackOption = None,
) -> None:
    """Submit a flow spec to a cluster: FireWorks workflow, one batch job per ready job.

    Submitting the same spec again (same structures and settings) reports the existing workflow.
    Example: ionflow submit barriers.yaml --cluster local-slurm
    """
    if backend not in ("fireworks", "jf-remote"):
        raise InputError("--backend", f"unknown backend {backend!r}", "use fireworks or jf-remote")
    flow_spec = load_spec(spec)
    profile = cluster_profile(cluster, pack)
    if backend == "jf-remote":
        name, added = submit_jf_remote(flow_spec, profile)
        project = project_name(profile)
        said = "submitted" if added else "already submitted (nothing added)"
        console.print(
            f"{said}: {name} in jobflow-remote project {project}; run its runner "
            f"(`jf -p {project} runner start`) and watch with `jf -p {project} job list`",
            highlight=False,
        )
        return
    with console.status(f"building {flow_spec.label()} and submitting to {profile.name}"):
        done = submit_spec(flow_spec, profile)
    if not done.created:
        console.print(
            f"already submitted: workflow {done.wf_id} ({done.name}): {done.state}; nothing added; "
            f"next: {', '.join(done.advice)}",
            highlight=False,
        )
        return
    jobs = said_queued(done.queued, "none ready")
    console.print(f"workflow {done.wf_id} ({done.name}) added; batch jobs queued: {jobs}", highlight=False)


def launch(
    cluster: ClusterOption,
    quiet: Annotated[bool, typer.Option(help="Print nothing when nothing is ready.")] = False,
    pack: PackOption = None,
) -> None:
    """Queue one batch job for every job that is ready (what `qlaunch` does, in reservation mode),
    or for every pack of them with --pack."""
    profile = resolved(cluster_profile(cluster, pack))
    with launchpad_session(profile) as lp:
        queued = launch_ready(lp, profile)
    if queued or not quiet:
        console.print(f"queued: {said_queued(queued)}")


def status(
    cluster: ClusterOption,
    state: Annotated[str | None, typer.Option(help="Only these states (COMPLETED,FIZZLED,LOST,...).")] = None,
    flow: Annotated[str | None, typer.Option(help="Only this workflow (id or part of its name).")] = None,
    job: Annotated[str | None, typer.Option(help="Only jobs whose name contains this (a hop id).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
) -> None:
    """Workflows and their jobs: state (LOST: its batch job died), batch job, host, wall time, result."""
    import json

    rows = select(job_rows(resolved(load_profile(cluster))), state=state, flow=flow, job=job)
    if json_out:
        print(json.dumps(rows, default=str, indent=1))
        return
    table = Table(title=f"ionflow jobs on {cluster}")
    for col in ("wf", "job", "name", "state", "batch job", "host", "wall (s)", "result"):
        table.add_column(col, no_wrap=col in ("name", "state", "result"))
    colour = {"COMPLETED": "green", "FIZZLED": "red", "LOST": "red", "RUNNING": "cyan", "RESERVED": "cyan"}
    for r in rows:
        st = f"[{colour[r['state']]}]{r['state']}[/]" if r["state"] in colour else r["state"]
        if r["resumable_from_step"]:
            st += f" (resumes at step {r['resumable_from_step']})"
        batch = f"{r['queue_id']} ({r['queue_state']})" if r["queue_state"] else (r["queue_id"] or "")
        wall = f"{r['wall_time_s']:.0f}" if r["wall_time_s"] else ""
        table.add_row(
            str(r["wf_id"]), str(r["fw_id"]), r["job"], st, batch, r["host"] or "", wall, r["result"]
        )
    console.print(table)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    console.print(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no jobs", highlight=False)
    waiting = stranded(rows)
    if waiting:
        ids = ", ".join(str(r["fw_id"]) for r in waiting)
        console.print(
            f"{len(waiting)} ready job(s) without a batch job ({ids}): "
            f"`ionflow launch -c {cluster}` queues them",
            highlight=False,
        )


def logs(
    job: Annotated[str, typer.Argument(help="Job: firework id or name (from ionflow status).")],
    cluster: ClusterOption,
    lines: Annotated[int, typer.Option(help="Last lines of each file.")] = 40,
) -> None:
    """The batch job's output and error files of a job."""
    for path, text in job_logs(load_profile(cluster), job, lines):
        console.rule(str(path))
        console.print(text, highlight=False, markup=False)


def rerun(
    cluster: ClusterOption,
    jobs: Annotated[list[str] | None, typer.Argument(help="Jobs to rerun (firework ids or names).")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Rerun every FIZZLED job.")] = False,
    lost: Annotated[bool, typer.Option("--lost", help="Rerun every LOST job (batch job died).")] = False,
    force: Annotated[bool, typer.Option(help="Allow rerunning a COMPLETED job named explicitly.")] = False,
    pack: PackOption = None,
) -> None:
    """Put failed or lost jobs back in the queue; finished jobs and their results are kept."""
    if not (jobs or failed or lost):
        raise InputError("ionflow rerun", "nothing to rerun was named", "give job ids, --failed or --lost")
    reset, queued = rerun_jobs(cluster_profile(cluster, pack), jobs, failed=failed, lost=lost, force=force)
    console.print(
        f"reset: {', '.join(map(str, reset)) or 'nothing'}; queued: {said_queued(queued, 'nothing')}",
        highlight=False,
    )


def cancel(
    target: Annotated[str, typer.Argument(help="Workflow (id or name) or job (firework id or name).")],
    cluster: ClusterOption,
) -> None:
    """Cancel a workflow or job: its batch jobs are cancelled, what has not run is defused."""
    defused, cancelled = cancel_target(load_profile(cluster), target)
    console.print(
        f"batch jobs cancelled: {', '.join(cancelled) or 'none'}; jobs defused: "
        f"{', '.join(map(str, defused)) or 'none'}",
        highlight=False,
    )
