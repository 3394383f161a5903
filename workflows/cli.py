"""The ``ionflow`` command line: one program in front of builders, flows, clusters and results."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from ionflow.inputs.cli import app as build_app
from ionflow.inputs.errors import InputError

app = typer.Typer(
    help="ionflow: first-principles workflows for ion transport in solid electrolytes and interfaces.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(build_app, name="build")


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
