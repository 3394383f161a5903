"""``ionflow cluster``: list and check cluster profiles."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ionflow.hpc.profiles import available_profiles, check_profile, load_profile, user_profile_dir
from ionflow.inputs.errors import InputError

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
