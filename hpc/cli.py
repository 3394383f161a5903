"""The ``ionflow`` program: one command in front of every layer.

It mounts the ``build`` commands of :mod:`ionflow.inputs`, the table, plot and parse commands
of :mod:`ionflow.analysis`, the ``run`` commands of :mod:`ionflow.workflows`, and this layer's
cluster commands. Bad input ends in one line on stderr and exit code 2; an unexpected error in
one line and exit code 1 (``IONFLOW_DEBUG=1`` shows its traceback).
"""

from __future__ import annotations

import os
import sys
import warnings

import click
import typer
from rich.console import Console
from rich.markup import escape

from ionflow.analysis.cli import (
    barriers,
    charges,
    parse_charges_command,
    parse_neb_command,
    plot_arrhenius_command,
    plot_neb_command,
    plot_potential_command,
    transport_command,
)
from ionflow.hpc import cluster_cli
from ionflow.inputs.cli import app as build_app
from ionflow.inputs.errors import InputError
from ionflow.workflows.cli import run_app

app = typer.Typer(
    help="ionflow: first-principles workflows for ion transport in solid electrolytes and interfaces.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(build_app, name="build")
app.add_typer(run_app, name="run")
app.add_typer(cluster_cli.app, name="cluster")
for _name in ("submit", "status", "logs", "rerun", "cancel", "launch"):
    app.command(_name)(getattr(cluster_cli, _name))
app.command("barriers")(barriers)
app.command("charges")(charges)
app.command("transport")(transport_command)
plot_app = typer.Typer(help="Plot stored results to PNG.", no_args_is_help=True)
plot_app.command("neb")(plot_neb_command)
plot_app.command("potential")(plot_potential_command)
plot_app.command("arrhenius")(plot_arrhenius_command)
app.add_typer(plot_app, name="plot")
parse_app = typer.Typer(help="Read finished VASP runs into the results store.", no_args_is_help=True)
parse_app.command("neb")(parse_neb_command)
parse_app.command("charges")(parse_charges_command)
app.add_typer(parse_app, name="parse")


def _quiet_libraries() -> None:
    """Keep the screen for progress and tables: silence the libraries' own chatter."""
    warnings.filterwarnings("ignore", category=FutureWarning, module="jobflow")
    warnings.filterwarnings("ignore", category=FutureWarning, module="fireworks")
    warnings.filterwarnings("ignore", message="Some jobs are not connected")
    warnings.filterwarnings("ignore", category=UserWarning, module="chgnet")


def main() -> None:
    """Console entry point: bad input ends in one line on stderr and exit code 2."""
    _quiet_libraries()
    try:
        app(standalone_mode=False)
    except InputError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except Exception as exc:  # click usage errors, and bugs
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if os.environ.get("IONFLOW_DEBUG"):
            raise
        said = escape(" ".join(str(exc).split())[:300])
        Console(stderr=True).print(
            f"[bold red]error:[/] {type(exc).__name__}: {said}; this is a bug in ionflow, not your input: "
            "rerun with IONFLOW_DEBUG=1 for the traceback and report it",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
