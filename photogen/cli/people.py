"""`photogen people`: list, name, merge, split, hide and regroup people; your say over who is who."""

from __future__ import annotations

from typing import Annotated

import typer

from photogen.cli.output import JsonOpt, emit
from photogen.cli.session import in_library, library

group = typer.Typer(help="People: faces grouped by who they are, and your say over it.", no_args_is_help=True)


@group.command("list")
def people_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """People with their faces and photos ("me" first)."""
    from photogen.faces.people import list_people

    people = in_library(ctx, list_people)
    lines = []
    for p in people:
        flags = " ".join(f for f, on in (("(me)", p.is_me), ("(hidden)", p.hidden)) if on)
        hint = f"  suggested name: {p.suggested_name}" if p.suggested_name else ""
        lines.append(f"{p.id:>6}  {p.label:<30} {p.face_count:>5} face(s) {flags}{hint}".rstrip())
    emit([p.as_dict() for p in people], as_json, lines or ["No people yet. Run `photogen index` after adding photos."])


@group.command("name")
def people_name(ctx: typer.Context, person_id: int, name: str) -> None:
    """Name a person ("" clears the name)."""
    from photogen.faces.people import name_person

    in_library(ctx, name_person, person_id, name)
    typer.echo(f"Person {person_id} is now named {name!r}." if name.strip() else f"Person {person_id} has no name now.")


@group.command("me")
def people_me(ctx: typer.Context, person_id: int) -> None:
    """Mark the person who is you."""
    from photogen.faces.people import mark_me

    in_library(ctx, mark_me, person_id)
    typer.echo(f"Person {person_id} is you.")


@group.command("merge")
def people_merge(
    ctx: typer.Context,
    person_id: int,
    into_id: int,
    conflicts: Annotated[
        str | None,
        typer.Option("--conflicts", help="Faces in photos where the other person already is: 'keep' (they stay a person of their own) or 'nobody'."),
    ] = None,
) -> None:
    """Merge a person into another: one person, the faces of both. Says first what happens to faces that conflict."""
    from photogen.faces.people import get_person, merge_people, plan_merge

    with library(ctx) as lib:
        plan = plan_merge(lib, person_id, into_id)
        if plan.conflicts and conflicts is None:
            labels = (get_person(lib, person_id).label, get_person(lib, into_id).label)
            typer.echo(plan.describe(*labels))
            typer.echo(f"Nothing merged yet. Run again with --conflicts keep or --conflicts nobody, e.g. `photogen people merge {person_id} {into_id} --conflicts keep`.")
            raise typer.Exit(2)
        done = merge_people(lib, person_id, into_id, conflicts=conflicts or "keep")  # type: ignore[arg-type]
    kept = f"; {len(done.conflicts)} conflicting face(s) {'stay on person ' + str(person_id) if (conflicts or 'keep') == 'keep' else 'are on no one'}" if done.conflicts else ""
    typer.echo(f"Merged person {person_id} into {into_id}: {len(done.moving)} face(s) moved{kept}. `photogen people undo` undoes it.")


@group.command("undo")
def people_undo(ctx: typer.Context) -> None:
    """Undo the latest merge or face move."""
    from photogen.faces.people import undo_last

    typer.echo(in_library(ctx, undo_last))


@group.command("split")
def people_split(
    ctx: typer.Context,
    person_id: int,
    face_ids: Annotated[list[int], typer.Argument(help="The faces of this person that are someone else (ids from `photogen faces list --person ID`).")],
) -> None:
    """These faces are someone else: they become a new person, and stay apart from this one."""
    from photogen.faces.people import split_person

    new = in_library(ctx, split_person, person_id, face_ids)
    typer.echo(f"{len(set(face_ids))} face(s) of person {person_id} are now person {new}. `photogen people undo` undoes it.")


@group.command("suggestions")
def people_suggestions(ctx: typer.Context, limit: Annotated[int, typer.Option(min=1, max=500)] = 20, as_json: JsonOpt = False) -> None:
    """Are these the same person? Pairs of people whose faces are almost alike, most alike first."""
    from photogen.faces.people import list_people, merge_suggestions

    with library(ctx) as lib:
        found = merge_suggestions(lib, limit=limit)
        labels = {p.id: p.label for p in list_people(lib)}
    lines = [
        f"{s.person_id:>6} {labels.get(s.person_id, s.person_id)!s:<24} {s.other_id:>6} {labels.get(s.other_id, s.other_id)!s:<24} "
        f"similarity {s.similarity:.2f}  (`photogen people merge {s.other_id} {s.person_id}` or `photogen people not-same {s.person_id} {s.other_id}`)"
        for s in found
    ]
    emit([s.as_dict() for s in found], as_json, lines or ["No suggestions: no two people look almost alike."])


@group.command("not-same")
def people_not_same(ctx: typer.Context, person_id: int, other_id: int) -> None:
    """Two people are not the same: stop suggesting them together."""
    from photogen.faces.people import dismiss_suggestion

    in_library(ctx, dismiss_suggestion, person_id, other_id)
    typer.echo(f"Persons {person_id} and {other_id} will not be suggested together again.")


@group.command("hide")
def people_hide(
    ctx: typer.Context, person_id: int, undo: Annotated[bool, typer.Option("--undo", help="Show the person again.")] = False
) -> None:
    """Hide a person from the People view (--undo shows them again)."""
    from photogen.faces.people import hide_person

    in_library(ctx, hide_person, person_id, hidden=not undo)
    typer.echo(f"Person {person_id} is {'shown again' if undo else 'hidden'}.")


@group.command("recluster")
def people_recluster(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Group all faces into people again from scratch; your names, moves and merges are kept."""
    from photogen.faces.people import recluster

    report = in_library(ctx, recluster)
    emit(report.as_dict(), as_json, [f"{report.people} people ({report.new_people} new), {report.unassigned} face(s) on nobody, {report.changed} face(s) moved."])


@group.command("references")
def people_references(ctx: typer.Context, person_id: int, limit: Annotated[int, typer.Option(min=1, max=50)] = 5, as_json: JsonOpt = False) -> None:
    """A person's best reference faces (pinned first, then by quality)."""
    from photogen.faces.people import reference_faces

    refs = in_library(ctx, reference_faces, person_id, limit)
    data = [{"id": f.id, "photo_id": f.photo_id, "quality": round(f.quality, 4), "pinned": f.pinned_reference == 1} for f in refs.faces]
    emit(data, as_json, [f"face {d['id']}  photo {d['photo_id']}  quality {d['quality']:.2f}{'  (pinned)' if d['pinned'] else ''}" for d in data])
