"""`photogen sources`: add a folder, a Google Takeout export or a Google Photos pick; list and revoke sources."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from photogen.cli.output import JsonOpt, emit
from photogen.cli.session import in_library, library

group = typer.Typer(help="Where photos come from, and what each grants.", no_args_is_help=True)


@group.command("add-folder")
def sources_add_folder(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The folder; each sub-folder is an album.")],
    allow: Annotated[list[str], typer.Option("--allow", help="'all', or an album name (repeat for several).")],
    name: Annotated[str | None, typer.Option("--name", help="A name for this source (default: the folder's name).")] = None,
) -> None:
    """Add a local folder, allowing the albums you name."""
    from photogen.library.consent import add_folder_source
    from photogen.library.grants import list_albums

    with library(ctx) as lib:
        add_folder_source(lib, path, allow, name)
        albums = [a for a in list_albums(lib) if a.source == (name or path.resolve().name)]
    allowed = [a.name for a in albums if a.allowed]
    typer.echo(f"Added {path} with {len(albums)} album(s); allowed: {', '.join(allowed) or 'none'}. Run `photogen index` next.")


@group.command("list")
def sources_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Sources with their kind, location and how many albums each grants."""
    from photogen.library.overview import source_summaries

    data = [{k: v for k, v in asdict(s).items() if k != "photos"} for s in in_library(ctx, source_summaries)]
    emit(data, as_json, [f"{r['name']}  [{r['kind']}]  {r['location']}  albums allowed: {r['allowed']}/{r['albums']}" for r in data] or ["No sources yet. Add one with `photogen sources add-folder PATH --allow all`."])


@group.command("revoke")
def sources_revoke(ctx: typer.Context, name: str) -> None:
    """Revoke a source: everything derived from its photos is deleted."""
    from photogen.library.consent import revoke_source

    removed = in_library(ctx, revoke_source, name)
    typer.echo(f"Revoked {name}: {removed} photo(s) and everything derived from them deleted.")


# ---- google: Takeout and the Photos Picker ----------------------------------------------------


@group.command("add-takeout")
def sources_add_takeout(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="The Takeout .zip part(s) (-001 finds its siblings), or the extracted folder.")],
    allow: Annotated[list[str] | None, typer.Option("--allow", help="'all', or an album name (repeat for several).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name for this source (default: 'Google Takeout').")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a Google Takeout export of Google Photos (or re-point an existing one at a newer export)."""
    from photogen.library.sources.takeout import add_takeout

    added = in_library(ctx, add_takeout, paths, allow or [], name)
    verb = "Updated" if added.updated else "Added"
    lines = [
        f"{verb} {added.source} from {len(added.parts)} part(s): {added.scan.media} photos and videos, {added.scan.sidecars} sidecars.",
        f"Allowed: {', '.join(added.allowed) or 'none'}.",
    ]
    if added.not_allowed:
        lines.append(f"Not allowed (use `photogen albums allow`): {', '.join(added.not_allowed)}.")
    lines += [f"  skipped {path}: {reason}" for path, reason in added.scan.skipped]
    lines.append("Run `photogen index` next.")
    emit(added.as_dict(), as_json, lines)


@group.command("add-google-picker")
def sources_add_google_picker(
    ctx: typer.Context,
    album: Annotated[str, typer.Option("--album", help="The album the photos you pick go into.")],
    client_file: Annotated[Path | None, typer.Option("--client-file", help="Your OAuth client file (first time, or to reconnect); see docs/google-photos.md.")] = None,
    name: Annotated[str, typer.Option("--name", help="A name for this Google account's source.")] = "Google Photos",
    max_items: Annotated[int | None, typer.Option("--max-items", min=1, max=2000, help="The most photos you may pick.")] = None,
    open_browser: Annotated[bool, typer.Option("--browser/--no-browser", help="Open the picker in your browser.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Pick photos in Google Photos; photogen downloads them, encrypted, into ALBUM."""
    from photogen.library.sources.picker import pick_photos, qr_text

    def show(uri: str) -> None:
        # the link goes to stderr so --json output stays one JSON document on stdout
        typer.echo(f"Pick your photos in Google Photos, then press Done:\n  {uri}", err=True)
        if sys.stderr.isatty():
            typer.echo("Or scan this with your phone:\n" + qr_text(uri), err=True)
        if open_browser:
            import webbrowser

            webbrowser.open(uri)
        typer.echo("Waiting for your pick (Ctrl-C stops; running the command again resumes)...", err=True)

    result = in_library(ctx, pick_photos, album=album, source_name=name, client_file=client_file, show=show, max_items=max_items)
    lines = [f"{result.downloaded} photo(s) downloaded into {result.source}/{result.album}"
             + (f" ({result.already_had} already here)" if result.already_had else "") + "."]
    lines += [f"  skipped {f}: {r}" for f, r in result.skipped]
    lines.append("Run `photogen index` next.")
    emit(result.as_dict(), as_json, lines)
