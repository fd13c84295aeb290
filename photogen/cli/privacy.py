"""`photogen privacy`: what is stored and where; deleting all of it."""

from __future__ import annotations

from typing import Annotated

import typer

from photogen.cli.output import JsonOpt, emit
from photogen.cli.session import in_library, settings

group = typer.Typer(help="What is stored, and deleting it.", no_args_is_help=True)


@group.command("report")
def privacy_report(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """What is stored, where, how big, and whether it is encrypted."""
    from photogen.library.privacy import privacy_report as build

    report = in_library(ctx, build)
    lines = [f"Data directory: {report.home} (key kept by: {report.key_method})"]
    lines += [f"  {'encrypted' if i.encrypted else 'plain    '}  {i.bytes:>12,} B  {i.what}  ({i.how})" for i in report.items]
    lines.append("Rows: " + ", ".join(f"{k} {v}" for k, v in report.rows.items()))
    emit(report.as_dict(), as_json, lines)


@group.command("delete-all")
def privacy_delete_all(ctx: typer.Context, yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False) -> None:
    """Delete everything photogen stored: catalog, faces, thumbnails, creations and the key."""
    from photogen.library.library import delete_everything

    s = settings(ctx)
    if not yes and not typer.confirm(f"Delete everything photogen stored in {s.home}? Your original photos are not touched."):
        raise typer.Exit(1)
    removed = delete_everything(s)
    typer.echo(f"Deleted {removed:,} bytes from {s.home}. Your original photos were not touched.")
