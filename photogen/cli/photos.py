"""`photogen photos`: list the photos in the allowed albums, exclude one."""

from __future__ import annotations

import typer

from photogen.cli.output import JsonOpt, emit
from photogen.cli.session import in_library

group = typer.Typer(help="Photos in the allowed albums.", no_args_is_help=True)


@group.command("list")
def photos_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Photos in allowed albums, with when, where and what they were taken with."""
    from photogen.library.photos import list_photos

    photos = in_library(ctx, list_photos)
    keys = ["id", "path", "album", "taken_at", "place", "camera", "width", "height"]
    data = [{k: getattr(p, k) for k in keys} | {"albums": p.albums, "people": p.people or []} for p in photos]
    emit(data, as_json, [f"{p.id:>6}  {p.taken_at or '?':<25}  {p.place or '':<30}  {p.camera or '':<20}  {p.path}" for p in photos] or ["No photos indexed yet."])


@group.command("exclude")
def photos_exclude(ctx: typer.Context, photo_id: int) -> None:
    """Keep one photo out of everything photogen does."""
    from photogen.library.consent import exclude_photo

    in_library(ctx, exclude_photo, photo_id)
    typer.echo(f"Excluded photo {photo_id}; what was derived from it is deleted.")
