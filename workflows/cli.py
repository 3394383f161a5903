"""The ``ionflow`` command line: one program in front of builders, flows, clusters and results."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ionflow.analysis.cli import Results, barriers, console, plot_neb_command, print_frame
from ionflow.inputs.cli import app as build_app
from ionflow.inputs.errors import InputError
from ionflow.workflows.schemas import MigrationBarrierDoc

app = typer.Typer(
    help="ionflow: first-principles workflows for ion transport in solid electrolytes and interfaces.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(build_app, name="build")
app.command("barriers")(barriers)
plot_app = typer.Typer(help="Plot stored results to PNG.", no_args_is_help=True)
plot_app.command("neb")(plot_neb_command)
app.add_typer(plot_app, name="plot")
run_app = typer.Typer(help="Run flows on the embedded engine and store the results.", no_args_is_help=True)
app.add_typer(run_app, name="run")


@run_app.command("barriers")
def run_barriers(
    structure: Annotated[str, typer.Argument(help="Host: structure file (CIF/POSCAR/JSON) or bundled name.")],
    species: Annotated[str, typer.Option(help="Mobile species, comma-separated (Li,Cu).")] = "Li",
    max_hops: Annotated[int, typer.Option(help="Hops per species, shortest first.")] = 1,
    min_length: Annotated[float, typer.Option(help="Smallest NEB-cell edge (Å).")] = 7.0,
    fmax: Annotated[float, typer.Option(help="CI-NEB force criterion (eV/Å).")] = 0.05,
    images: Annotated[int, typer.Option(help="Images between the end points.")] = 5,
    results: Results = None,
    work_dir: Annotated[
        Path, typer.Option(help="Folder for the jobs' own files (one sub-folder per job).")
    ] = Path("ionflow-runs"),
) -> None:
    """CI-NEB barriers of the nearest-neighbour hops of each species on the embedded engine.

    Example: ionflow run barriers Li6PS5Cl --species Li --max-hops 1
    """
    from jobflow import run_locally
    from rich.progress import Progress

    from ionflow.analysis.barriers import barrier_frame
    from ionflow.inputs.conductor import load_host
    from ionflow.inputs.hops import find_hops
    from ionflow.workflows.migration import MigrationBarrierMaker
    from ionflow.workflows.store import results_store, save_results

    host = load_host(structure)
    name = Path(structure).stem
    store = results_store(results)
    hops = []
    for sp in species.split(","):
        hops += find_hops(
            host, sp, host_name=name, n_images=images, min_length=min_length, min_atoms=1, max_hops=max_hops
        )
    maker = MigrationBarrierMaker(settings={"fmax": fmax, "n_images": images})
    work_dir.mkdir(parents=True, exist_ok=True)
    with Progress(console=console) as progress:
        task = progress.add_task("CI-NEB", total=len(hops))
        for hop in hops:
            progress.update(task, description=f"CI-NEB {hop.species} {hop.hop_id} ({len(hop.initial)} atoms)")
            flow = maker.make(hop)
            responses = run_locally(
                flow, create_folders=True, root_dir=work_dir, log=False, ensure_success=True
            )
            docs = [r[1].output for r in responses.values() if isinstance(r[1].output, MigrationBarrierDoc)]
            for doc in docs:
                doc.provenance.flow_uuid = flow.uuid
            save_results(store, docs)
            progress.advance(task)
    print_frame(barrier_frame(store, host=name), "table", f"Migration barriers in {name}")


def main() -> None:
    """Console entry point: bad input ends in one line on stderr and exit code 2."""
    try:
        app(standalone_mode=False)
    except InputError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
