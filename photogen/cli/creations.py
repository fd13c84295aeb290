"""`photogen creations` (list, show, delete what you made) and `photogen verify` (was a file made here?)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from photogen.cli.output import JsonOpt, emit
from photogen.cli.session import in_library, library

group = typer.Typer(help="What you made: list, show (and save again) or delete past creations.", no_args_is_help=True)


def verify(file: Path, as_json: JsonOpt = False) -> None:
    """Say whether a file was made by photogen, and what it claims.

    Every PNG, JPEG and PDF photogen writes carries three signals: C2PA content credentials (signed on
    this device; validators call the signer untrusted, as it is on no public list), IPTC/XMP
    DigitalSourceType metadata, and an invisible watermark in the pixels. A copy that was re-saved,
    resized or screenshotted keeps the watermark only; the summary names any signal that is missing."""
    from photogen.create.verify import verify_file

    result = verify_file(file)
    data = result.to_dict()
    emit(data, as_json, [result.summary])
    if not result.made_by_photogen:
        raise typer.Exit(3)  # scripts can tell "not ours" from an error


@group.command("list")
def creations_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Past creations, newest first."""
    from photogen.create.creations import list_creations

    records = in_library(ctx, list_creations)
    lines = [f"{r.label}  ({r.kind}; {len(r.variants)} picture(s); people: {', '.join(r.people) or 'none'})" for r in records]
    emit([r.as_dict() for r in records], as_json, lines or ["Nothing made yet. Try `photogen generate --mode instant --photo ID`."])


@group.command("show")
def creations_show(
    ctx: typer.Context,
    creation_id: int,
    out: Annotated[Path | None, typer.Option("--out", help="Also write its pictures (PNG, with provenance) here.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """One creation: what it is, its sources; --out writes its pictures again."""
    from photogen.create.creations import get_creation, save_creation

    with library(ctx) as lib:
        record = get_creation(lib, creation_id)
        paths: list[Path] = []
        if out is not None:
            from photogen.create.studio import Studio

            paths = save_creation(lib, creation_id, out.resolve(), signer=Studio(lib.settings).signer(lib))
    lines = [
        record.label,
        f"  {'AI-generated' if record.kind != 'instant' else 'instant style (not AI-generated)'}" + (f", model {record.model}" if record.model else ""),
        f"  photos used: {record.photo_ids or 'none'}; people: {', '.join(record.people) or 'none'}",
        *[f"  wrote {p}" for p in paths],
    ]
    emit({**record.as_dict(), "files": [str(p) for p in paths]}, as_json, lines)


@group.command("delete")
def creations_delete(ctx: typer.Context, creation_id: int) -> None:
    """Delete a creation and its stored pictures (files you downloaded stay yours)."""
    from photogen.create.creations import delete_creation

    in_library(ctx, delete_creation, creation_id)
    typer.echo(f"Deleted creation #{creation_id}.")
