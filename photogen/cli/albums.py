"""`photogen albums`: list albums, allow one, revoke one."""

from __future__ import annotations

import typer

from photogen.cli.output import JsonOpt, emit
from photogen.cli.session import in_library

group = typer.Typer(help="Albums and their grants.", no_args_is_help=True)


@group.command("list")
def albums_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Albums with their grant state and photo counts."""
    from photogen.library.grants import list_albums

    albums = in_library(ctx, list_albums)
    data = [{"id": a.id, "source": a.source, "name": a.name, "allowed": a.allowed, "photo_count": a.photo_count} for a in albums]
    emit(data, as_json, [f"{'allowed' if a.allowed else 'closed '}  {a.qualified_name}  ({a.photo_count} photos)" for a in albums] or ["No albums yet."])


@group.command("allow")
def albums_allow(ctx: typer.Context, name: str) -> None:
    """Allow photogen to use an album (name, or source/name)."""
    from photogen.library.grants import allow_album

    album = in_library(ctx, allow_album, name)
    typer.echo(f"Allowed {album.qualified_name}. Run `photogen index` to read it.")


@group.command("revoke")
def albums_revoke(ctx: typer.Context, name: str) -> None:
    """Revoke an album: its photos and everything derived from them are deleted."""
    from photogen.library.consent import revoke_album

    album = in_library(ctx, revoke_album, name)
    typer.echo(f"Revoked {album.qualified_name}; everything derived from its photos is deleted.")
