"""`photogen faces`: list faces, move one to another person, pin or drop a reference face."""

from __future__ import annotations

from typing import Annotated

import typer

from photogen.cli.output import JsonOpt, emit
from photogen.cli.session import in_library, library

group = typer.Typer(help="Faces found in the allowed photos.", no_args_is_help=True)


@group.command("list")
def faces_list(
    ctx: typer.Context,
    person: Annotated[int | None, typer.Option("--person", help="Only this person's faces.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Faces with their photo, box, detection score, quality and person."""
    from photogen.faces.people import list_faces

    faces = in_library(ctx, list_faces, person_id=person)
    data = [f.as_dict() for f in faces]
    lines = [
        f"{f.id:>6}  photo {f.photo_id:>5}  person {f.person_id if f.person_id is not None else '-':>5}  "
        f"score {f.score:.2f}  quality {f.quality:.2f}  box {list(f.box)}  {f.photo_path or ''}"
        for f in faces
    ]
    emit(data, as_json, lines or ["No faces yet. Run `photogen index` after adding photos."])


@group.command("move")
def faces_move(
    ctx: typer.Context, face_id: int, person: Annotated[str, typer.Argument(help="A person id, 'none' (not this person: nobody) or 'new'.")]
) -> None:
    """Move a face to another person, to a new person, or to nobody; it stays there."""
    from photogen.faces.people import move_face, parse_move_target

    with library(ctx) as lib:  # the library opens (and asks for its key) before the target is checked
        now = move_face(lib, face_id, parse_move_target(person))
    typer.echo(f"Face {face_id} is now on person {now}." if now is not None else f"Face {face_id} is now on nobody.")


@group.command("reference")
def faces_reference(
    ctx: typer.Context, face_id: int, state: Annotated[str, typer.Argument(help="'pin' (always a reference), 'drop' (never) or 'auto'.")]
) -> None:
    """Pin a face as a reference photo of its person, or drop it."""
    from photogen.faces.people import set_reference

    in_library(ctx, set_reference, face_id, state)
    typer.echo(f"Face {face_id}: reference {state}.")
