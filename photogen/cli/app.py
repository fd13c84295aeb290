"""The `photogen` command: its global options, and every command and group put in its place."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from photogen.cli.albums import group as albums_group
from photogen.cli.creations import group as creations_group
from photogen.cli.creations import verify
from photogen.cli.faces import group as faces_group
from photogen.cli.generate import generate
from photogen.cli.index import index
from photogen.cli.models import group as models_group
from photogen.cli.output import run
from photogen.cli.people import group as people_group
from photogen.cli.photos import group as photos_group
from photogen.cli.privacy import group as privacy_group
from photogen.cli.serve import doctor, serve
from photogen.cli.session import GlobalOptions
from photogen.cli.sources import group as sources_group
from photogen.cli.templates import group as templates_group

app = typer.Typer(help="photogen: a private studio for personalized images from your own photos.", no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
def _global_options(
    ctx: typer.Context,
    home: Annotated[Path | None, typer.Option("--home", help="Data directory (default: PHOTOGEN_HOME or your user data folder).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:  # the ML libraries' own chatter is not for users
        import os

        os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    ctx.obj = GlobalOptions(home=home)


# the order here is the order `photogen --help` lists them in
app.command("index")(index)
app.command("generate")(generate)
app.command("verify")(verify)
app.command("doctor")(doctor)
app.command("serve")(serve)
app.add_typer(sources_group, name="sources")
app.add_typer(albums_group, name="albums")
app.add_typer(photos_group, name="photos")
app.add_typer(privacy_group, name="privacy")
app.add_typer(people_group, name="people")
app.add_typer(faces_group, name="faces")
app.add_typer(models_group, name="models")
app.add_typer(templates_group, name="templates")
app.add_typer(creations_group, name="creations")


def main() -> None:
    run(app)
