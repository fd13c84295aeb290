"""People tab: faces grouped by person; rename, mark "me", merge, move a face, hide."""

from __future__ import annotations

from typing import Any

import gradio as gr
from PIL import Image

from photogen.faces import people
from photogen.faces.indexing import face_crop, index_faces
from photogen.library.library import Library
from photogen.ui.common import readable_errors, require
from photogen.ui.session import UISession
from photogen.ui.views import TabView

NOBODY_LABEL = "Nobody (not this person)"
NEW_LABEL = "A new person"


def person_label(person: people.Person) -> str:
    flags = "".join(f" ({f})" for f, on in (("me", person.is_me), ("hidden", person.hidden)) if on)
    return f"{person.label}{flags} · {person.face_count} face(s)"


def person_choices(library: Library, show_hidden: bool = False) -> list[tuple[str, int]]:
    return [(person_label(p), p.id) for p in people.list_people(library, include_hidden=show_hidden)]


def move_choices(library: Library) -> list[tuple[str, Any]]:
    return [*person_choices(library, show_hidden=True), (NEW_LABEL, people.NEW_PERSON), (NOBODY_LABEL, people.NOBODY)]


def overview(library: Library, show_hidden: bool = False) -> list[tuple[Image.Image, str]]:
    """One face per person (their best reference), captioned with who it is."""
    tiles = []
    for person in people.list_people(library, include_hidden=show_hidden):
        refs = people.reference_faces(library, person.id, limit=1)
        if refs.faces:
            tiles.append((face_crop(library, refs.faces[0].id), person_label(person)))
    return tiles


def person_faces(library: Library, person_id: int | None) -> tuple[list[tuple[Image.Image, str]], list[int]]:
    """A person's faces as (crop, caption) tiles, and the face ids in the same order."""
    if person_id is None:
        return [], []
    faces = sorted(people.load_faces(library, person_id=int(person_id)), key=lambda f: (-f.quality, f.id))
    tiles = [(face_crop(library, f.id), f"face {f.id} · photo {f.photo_id}") for f in faces]
    return tiles, [f.id for f in faces]


def person_details(library: Library, person_id: int | None) -> dict[str, Any]:
    if person_id is None:
        return {}
    return people.get_person(library, int(person_id)).as_dict()


# ---- actions: (library, person, ...) -> (message, person to show next) ----


def rename_action(lib: Library, person_id: int, new_name: str) -> tuple[str, int]:
    people.name_person(lib, person_id, new_name)
    return f"Renamed to {new_name!r}.", person_id


def use_suggested_action(lib: Library, person_id: int) -> tuple[str, int]:
    suggestion = people.get_person(lib, person_id).suggested_name
    if not suggestion:
        raise gr.Error("There is no suggested name for this person.")
    people.name_person(lib, person_id, suggestion)
    return f"Named {suggestion!r}.", person_id


def mark_me_action(lib: Library, person_id: int) -> tuple[str, int]:
    people.mark_me(lib, person_id)
    return "Marked as you.", person_id


def hide_action(lib: Library, person_id: int) -> tuple[str, int]:
    hidden = people.get_person(lib, person_id).hidden
    people.hide_person(lib, person_id, hidden=not hidden)
    return ("Shown again." if hidden else "Hidden."), person_id


def merge_action(lib: Library, person_id: int, into: Any) -> tuple[str, int]:
    if into is None:
        raise gr.Error("Choose the person to merge into.")
    people.merge_people(lib, person_id, int(into))
    return f"Merged into person {into}.", int(into)


def move_action(lib: Library, person_id: int, face_id: Any, target: Any) -> tuple[str, int]:
    if face_id is None:
        raise gr.Error("Select a face in the gallery first.")
    if target is None:
        raise gr.Error("Choose where the face goes.")
    now = people.move_face(lib, int(face_id), target if target in (people.NOBODY, people.NEW_PERSON) else int(target))
    return (
        f"Moved face {int(face_id)} to person {now}." if now else f"Face {int(face_id)} is on nobody now."
    ), person_id


def build(session: gr.State) -> TabView:
    with gr.Tab("People", id="people") as tab:
        gr.Markdown(
            "Who is in your photos. Name people, say which one is you, merge two that are the same person, "
            "and move a face that landed on the wrong person. Your choices stay when faces are grouped again."
        )
        with gr.Row():
            find = gr.Button("Find faces in new photos", variant="primary", size="sm")
            regroup = gr.Button("Group all faces again", size="sm")
            show_hidden = gr.Checkbox(label="Show hidden people", value=False)
        status = gr.Markdown()
        everyone = gr.Gallery(label="People", columns=8, height=260, allow_preview=False)
        with gr.Row():
            with gr.Column(scale=3):
                chosen = gr.Dropdown(label="Person", choices=[], interactive=True)
                faces = gr.Gallery(
                    label="Their faces (select one to move it)", columns=6, height=320, allow_preview=False
                )
                face_ids = gr.State([])
                picked_face = gr.Number(label="Selected face", precision=0, interactive=False)
            with gr.Column(scale=2):
                details = gr.JSON(label="Details")
                name = gr.Textbox(label="Name", placeholder="Who is this?")
                with gr.Row():
                    rename = gr.Button("Rename", size="sm")
                    suggested = gr.Button("Use suggested name", size="sm")
                    me = gr.Button("This is me", size="sm")
                    hide = gr.Button("Hide / show", size="sm")
                merge_into = gr.Dropdown(label="Merge this person into", choices=[], interactive=True)
                merge = gr.Button("Merge", size="sm")
                move_to = gr.Dropdown(label="Move the selected face to", choices=[], interactive=True)
                move = gr.Button("Move face", size="sm")

        def _view(lib: Library, hidden: bool, person_id: Any) -> tuple[Any, ...]:
            choices = person_choices(lib, hidden)
            ids = [c[1] for c in choices]
            current = person_id if person_id in ids else (ids[0] if ids else None)
            tiles, order = person_faces(lib, current)
            info = person_details(lib, current)
            return (
                overview(lib, hidden),
                gr.update(choices=choices, value=current),
                tiles,
                order,
                None,
                info,
                info.get("name") or "",
                gr.update(choices=[c for c in person_choices(lib, True) if c[1] != current], value=None),
                gr.update(choices=move_choices(lib), value=None),
            )

        outputs = [everyone, chosen, faces, face_ids, picked_face, details, name, merge_into, move_to]

        @readable_errors
        def _refresh(s: UISession, hidden: bool = False, person_id: Any = None) -> tuple[Any, ...]:
            return _view(require(s).library, hidden, person_id)

        @readable_errors
        def _find(s: UISession, hidden: bool, person_id: Any, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
            lib = require(s).library

            def report(done: int, total: int, _what: str) -> None:
                if total:
                    progress(done / total, desc=f"Looking for faces: {done}/{total} photos")

            result = index_faces(lib, report)
            return (f"Found {result.faces} face(s) in {result.photos} new photo(s).", *_view(lib, hidden, person_id))

        @readable_errors
        def _regroup(s: UISession, hidden: bool, person_id: Any) -> tuple[Any, ...]:
            lib = require(s).library
            result = people.recluster(lib)
            return (f"{result.people} people; {result.changed} face(s) moved.", *_view(lib, hidden, person_id))

        def _action(fn: Any) -> Any:
            @readable_errors
            def handler(s: UISession, hidden: bool, person_id: Any, *args: Any) -> tuple[Any, ...]:
                lib = require(s).library
                if person_id is None:
                    raise gr.Error("Choose a person first.")
                message, next_person = fn(lib, int(person_id), *args)
                return (message, *_view(lib, hidden, next_person))

            return handler

        def _select_face(order: list[int], evt: gr.SelectData) -> Any:
            index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
            return order[index] if index is not None and 0 <= index < len(order) else None

        def _select_person(s: UISession, hidden: bool, evt: gr.SelectData) -> tuple[Any, ...]:
            lib = require(s).library
            index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
            ids = [c[1] for c in person_choices(lib, hidden)]
            return _view(lib, hidden, ids[index] if index is not None and index < len(ids) else None)

        base = [session, show_hidden, chosen]
        with_status = [status, *outputs]
        find.click(_find, inputs=base, outputs=with_status)
        regroup.click(_regroup, inputs=base, outputs=with_status)
        show_hidden.change(_refresh, inputs=base, outputs=outputs)
        chosen.input(_refresh, inputs=base, outputs=outputs)
        everyone.select(readable_errors(_select_person), inputs=[session, show_hidden], outputs=outputs)
        faces.select(_select_face, inputs=face_ids, outputs=picked_face)
        rename.click(_action(rename_action), inputs=[*base, name], outputs=with_status)
        suggested.click(_action(use_suggested_action), inputs=base, outputs=with_status)
        me.click(_action(mark_me_action), inputs=base, outputs=with_status)
        hide.click(_action(hide_action), inputs=base, outputs=with_status)
        merge.click(_action(merge_action), inputs=[*base, merge_into], outputs=with_status)
        move.click(_action(move_action), inputs=[*base, picked_face, move_to], outputs=with_status)
    return TabView(tab, _refresh, outputs, [show_hidden, chosen])
