"""The `petset` command (placeholder until the CLI lands)."""

from __future__ import annotations

import typer

from petset import __version__

app = typer.Typer(no_args_is_help=True, help="Stateful services, the StatefulSet way.")


@app.command()
def version() -> None:
    """Print petset's version."""
    typer.echo(f"petset {__version__}")


def main() -> None:
    app()
