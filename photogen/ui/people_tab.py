"""People tab: faces grouped by person; rename, mark "me", merge, move a face, hide."""

from __future__ import annotations

from typing import Any

import gradio as gr
from PIL import Image

from photogen.errors import PhotogenError
from photogen.faces import people
from photogen.faces.indexing import face_crop, index_faces
from photogen.library.library import Library
from photogen.ui import served
from photogen.ui.access import Capability
from photogen.ui.access import require as require_role
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
    label = people.get_person(library, int(person_id)).label
    faces = people.faces_of_person(library, int(person_id))
    tiles = [(face_crop(library, f.id), f"{label} · face {f.id} · photo {f.photo_id}") for f in faces]
    return tiles, [f.id for f in faces]


def no_one_faces(library: Library) -> tuple[list[tuple[Image.Image, str]], list[int]]:
    """Faces on no person, so none is out of sight: each can be named or added to someone."""
    faces = people.faces_on_no_one(library)
    return [(face_crop(library, f.id), f"no one yet · face {f.id} · photo {f.photo_id}") for f in faces], [f.id for f in faces]


def merge_preview(library: Library, person_id: Any, into: Any) -> str:
    """What a merge will do, said before it is done."""
    if person_id is None or into is None:
        return ""
    plan = people.plan_merge(library, int(person_id), int(into))
    source, target = people.get_person(library, int(person_id)), people.get_person(library, int(into))
    return plan.describe(source.label, target.label)


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
        raise PhotogenError("There is no suggested name for this person.")
    people.name_person(lib, person_id, suggestion)
    return f"Named {suggestion!r}.", person_id


def mark_me_action(lib: Library, person_id: int) -> tuple[str, int]:
    people.mark_me(lib, person_id)
    return "Marked as you.", person_id


def hide_action(lib: Library, person_id: int) -> tuple[str, int]:
    hidden = people.get_person(lib, person_id).hidden
    people.hide_person(lib, person_id, hidden=not hidden)
    return ("Shown again." if hidden else "Hidden."), person_id


def merge_action(lib: Library, person_id: int, into: Any, conflicts: str = "keep") -> tuple[str, int]:
    if into is None:
        raise PhotogenError("Choose the person to merge into.")
    source, target = people.get_person(lib, person_id).label, people.get_person(lib, int(into)).label
    plan = people.merge_people(lib, person_id, int(into), conflicts=conflicts or "keep")  # type: ignore[arg-type]
    message = f"Merged {source} into {target}: {len(plan.moving)} face(s) moved."
    if plan.conflicts:
        where = f"stay on {source}" if conflicts == "keep" else "are under Faces on no one"
        message += f" {len(plan.conflicts)} face(s) in photos where {target} already is {where}."
    return message + " *Undo* puts everything back.", int(into)


def undo_action(lib: Library, person_id: int | None) -> tuple[str, int | None]:
    return people.undo_last(lib), person_id


def name_face_action(lib: Library, face_id: Any, name: str) -> tuple[str, int]:
    """Name a face on no one: it joins the person of that name, or becomes a new person with it."""
    if face_id is None:
        raise PhotogenError("Select a face under Faces on no one first.")
    person, new = people.name_face(lib, int(face_id), name)
    label = people.get_person(lib, person).label
    return (f"Named the face {label!r}: a new person." if new else f"Added the face to {label}."), person


def move_action(lib: Library, person_id: int | None, face_id: Any, target: Any) -> tuple[str, int | None]:
    if face_id is None:
        raise PhotogenError("Select a face in the gallery first.")
    if target is None:
        raise PhotogenError("Choose where the face goes.")
    now = people.move_face(lib, int(face_id), target if target in (people.NOBODY, people.NEW_PERSON) else int(target))
    return (
        f"Moved face {int(face_id)} to person {now}." if now else f"Face {int(face_id)} is on nobody now."
    ), person_id


# ---- splitting a person, and "are these the same person?" (issue 15) ----


def split_choices(library: Library, person_id: Any) -> list[tuple[str, int]]:
    """The person's faces to tick as "someone else", best first (as their gallery shows them)."""
    if person_id is None:
        return []
    return [(f"face {f.id} · photo {f.photo_id}", f.id) for f in people.faces_of_person(library, int(person_id))]


def split_action(lib: Library, person_id: int, face_ids: Any) -> tuple[str, int]:
    chosen = [int(f) for f in face_ids or []]
    new = people.split_person(lib, person_id, chosen)
    return f"{len(chosen)} face(s) are now a new person ({people.get_person(lib, new).label}). *Undo* puts them back.", new


def suggestion_choices(library: Library) -> list[tuple[str, str]]:
    """Pairs of people that may be one, most alike first, as (label, "a:b")."""
    labels = {p.id: p.label for p in people.list_people(library)}
    return [
        (f"{labels.get(s.person_id, s.person_id)} and {labels.get(s.other_id, s.other_id)} · {s.similarity:.2f}", f"{s.person_id}:{s.other_id}")
        for s in people.merge_suggestions(library)
    ]


def _pair(pick: Any) -> tuple[int, int]:
    if not pick:
        raise PhotogenError("Choose a pair under *Are these the same person?* first.")
    first, second = str(pick).split(":")
    return int(first), int(second)


def suggestion_faces(library: Library, pick: Any) -> list[tuple[Image.Image, str]]:
    """Up to three best faces of each person of a suggested pair, side by side."""
    if not pick:
        return []
    tiles = []
    for person_id in _pair(pick):
        label = people.get_person(library, person_id).label
        tiles += [(face_crop(library, f.id), label) for f in people.reference_faces(library, person_id, limit=3).faces]
    return tiles


def same_person_action(lib: Library, person_id: int | None, pick: Any) -> tuple[str, int]:
    """The pair is one person: the smaller joins the larger (faces in a shared photo stay apart)."""
    first, second = _pair(pick)
    big, small = sorted((first, second), key=lambda p: -people.get_person(lib, p).face_count)
    message, survivor = merge_action(lib, small, big)
    return message, survivor


def not_same_action(lib: Library, person_id: int | None, pick: Any) -> tuple[str, int | None]:
    first, second = _pair(pick)
    people.dismiss_suggestion(lib, first, second)
    return "They will not be suggested together again.", person_id


def build(session: gr.State) -> TabView:
    with gr.Tab("People", id="people") as tab:
        gr.Markdown(
            "Who is in your photos. Name people, say which one is you, merge two that are the same person, "
            "and move a face that landed on the wrong person. Your choices stay when faces are grouped again; "
            "a merge or a move can be undone."
        )
        with gr.Row():
            find = gr.Button("Find faces in new photos", variant="primary", size="sm")
            regroup = gr.Button("Group all faces again", size="sm")
            show_hidden = gr.Checkbox(label="Show hidden people", value=False)
        status = gr.Markdown(elem_id="people-status")
        everyone = gr.Gallery(label="People", columns=8, height=260, allow_preview=False, object_fit="contain", elem_id="people-everyone")
        with gr.Row():
            with gr.Column(scale=3):
                chosen = gr.Dropdown(label="Person", choices=[], interactive=True, elem_id="people-person")
                faces = gr.Gallery(
                    label="Their faces (select one to move it)", columns=6, height=320, allow_preview=False, object_fit="contain", elem_id="people-faces"
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
                merge_into = gr.Dropdown(label="Merge this person into", choices=[], interactive=True, elem_id="people-merge-into")
                merge_plan = gr.Markdown(elem_id="people-merge-plan")
                conflicts = gr.Radio(
                    [("Keep them as this person", "keep"), ("Put them on no one (shown below)", "nobody")],
                    value="keep",
                    label="Faces in photos where the other person already is",
                )
                merge = gr.Button("Merge", size="sm")
                move_to = gr.Dropdown(label="Move the selected face to", choices=[], interactive=True)
                move = gr.Button("Move face", size="sm")
                split_pick = gr.CheckboxGroup(label="Faces that are someone else (tick, or select them in the gallery)", choices=[], elem_id="people-split-pick")
                split = gr.Button("These are someone else", size="sm")
                undo = gr.Button("Undo the last merge or move", size="sm")
                action_status = gr.Markdown(elem_id="people-action-status")  # the result, next to the buttons
        with gr.Accordion("Are these the same person?", open=False):
            gr.Markdown("Pairs of people whose faces are almost alike, most alike first. Say whether they are one person.")
            suggest = gr.Button("Show suggestions", size="sm")
            suggestion = gr.Radio(label="Pairs", choices=[], elem_id="people-suggestions")
            suggestion_tiles = gr.Gallery(label="Their faces", columns=6, height=160, allow_preview=False, object_fit="contain")
            with gr.Row():
                same = gr.Button("Same person: merge them", size="sm")
                not_same = gr.Button("Not the same", size="sm")
        with gr.Accordion("Faces on no one", open=True):
            gr.Markdown("Faces that are on no person yet (someone who appears once, or faces you took off a person). Select one to name it, or move it to someone with *Move the selected face to*.")
            loose = gr.Gallery(label="Faces on no one", columns=8, height=200, allow_preview=False, object_fit="contain", elem_id="people-no-one")
            loose_ids = gr.State([])
            with gr.Row():
                loose_name = gr.Textbox(label="Name for the selected face", placeholder="Aunt May")
                name_face = gr.Button("Name this face", size="sm")

        def _view(lib: Library, hidden: bool, person_id: Any) -> tuple[Any, ...]:
            choices = person_choices(lib, hidden)
            ids = [c[1] for c in choices]
            current = person_id if person_id in ids else (ids[0] if ids else None)
            tiles, order = person_faces(lib, current)
            info = person_details(lib, current)
            shown = [p.id for p in people.list_people(lib, include_hidden=hidden)]
            tiles_all = overview(lib, hidden)
            highlight = shown.index(current) if current in shown and len(tiles_all) == len(shown) else None
            loose_tiles, loose_order = no_one_faces(lib)
            # face crops are shown as files of the private served folder, deleted with their photos
            tiles, tiles_all, loose_tiles = served.show(lib, tiles), served.show(lib, tiles_all), served.show(lib, loose_tiles)
            return (
                gr.update(value=tiles_all, selected_index=highlight),
                gr.update(choices=choices, value=current),
                tiles,
                order,
                None,
                info,
                info.get("name") or "",
                gr.update(choices=[c for c in person_choices(lib, True) if c[1] != current], value=None),
                "",
                gr.update(choices=move_choices(lib), value=None),
                loose_tiles,
                loose_order,
            )

        outputs = [everyone, chosen, faces, face_ids, picked_face, details, name, merge_into, merge_plan, move_to, loose, loose_ids]

        @readable_errors
        def _refresh(s: UISession, hidden: bool = False, person_id: Any = None) -> tuple[Any, ...]:
            return _view(require(s).library, hidden, person_id)

        @readable_errors
        def _on_select(s: UISession, hidden: bool = False, person_id: Any = None) -> tuple[Any, ...]:
            """Coming back to the tab: the library as it is now, and no message about what may be gone since."""
            return (*_view(require(s).library, hidden, person_id), "", "")

        @readable_errors
        def _find(request: gr.Request, s: UISession, hidden: bool, person_id: Any, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
            require_role(request, Capability.PEOPLE)
            lib = require(s).library

            def report(done: int, total: int, _what: str) -> None:
                if total:
                    progress(done / total, desc=f"Looking for faces: {done}/{total} photos")

            result = index_faces(lib, report)
            return (f"Found {result.faces} face(s) in {result.photos} new photo(s).", *_view(lib, hidden, person_id))

        @readable_errors
        def _regroup(request: gr.Request, s: UISession, hidden: bool, person_id: Any) -> tuple[Any, ...]:
            require_role(request, Capability.PEOPLE)
            lib = require(s).library
            result = people.recluster(lib)
            return (f"{result.people} people; {result.changed} face(s) moved.", *_view(lib, hidden, person_id))

        def _action(fn: Any, needs_person: bool = True) -> Any:
            @readable_errors
            def handler(request: gr.Request, s: UISession, hidden: bool, person_id: Any, *args: Any) -> tuple[Any, ...]:
                require_role(request, Capability.PEOPLE)  # a share-link guest only looks
                lib = require(s).library
                if needs_person and person_id is None:
                    raise PhotogenError("Choose a person first.")
                message, next_person = fn(lib, int(person_id) if person_id is not None else None, *args)
                return (message, *_view(lib, hidden, next_person))

            return handler

        @readable_errors
        def _name_face(request: gr.Request, s: UISession, hidden: bool, face_id: Any, text: str) -> tuple[Any, ...]:
            require_role(request, Capability.PEOPLE)
            lib = require(s).library
            message, person = name_face_action(lib, face_id, text)
            return (message, *_view(lib, hidden, person), "")

        @readable_errors
        def _preview(s: UISession, person_id: Any, into: Any) -> str:
            return merge_preview(require(s).library, person_id, into)

        def _select_face(order: list[int], evt: gr.SelectData) -> Any:
            index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
            return order[index] if index is not None and 0 <= index < len(order) else None

        def _select_person(s: UISession, hidden: bool, evt: gr.SelectData) -> tuple[Any, ...]:
            lib = require(s).library
            index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
            ids = [p.id for p in people.list_people(lib, include_hidden=hidden)]
            return _view(lib, hidden, ids[index] if index is not None and index < len(ids) else None)

        base = [session, show_hidden, chosen]
        with_status = [status, *outputs]
        with_action_status = [action_status, *outputs]
        find.click(_find, inputs=base, outputs=with_status)
        regroup.click(_regroup, inputs=base, outputs=with_status)
        show_hidden.change(_refresh, inputs=base, outputs=outputs)
        chosen.input(_refresh, inputs=base, outputs=outputs)
        everyone.select(readable_errors(_select_person), inputs=[session, show_hidden], outputs=outputs)
        faces.select(_select_face, inputs=face_ids, outputs=picked_face)
        loose.select(_select_face, inputs=loose_ids, outputs=picked_face)
        rename.click(_action(rename_action), inputs=[*base, name], outputs=with_action_status)
        suggested.click(_action(use_suggested_action), inputs=base, outputs=with_action_status)
        me.click(_action(mark_me_action), inputs=base, outputs=with_action_status)
        hide.click(_action(hide_action), inputs=base, outputs=with_action_status)
        merge_into.input(_preview, inputs=[session, chosen, merge_into], outputs=merge_plan)
        merge.click(_action(merge_action), inputs=[*base, merge_into, conflicts], outputs=with_action_status)
        move.click(_action(move_action, needs_person=False), inputs=[*base, picked_face, move_to], outputs=with_action_status)
        undo.click(_action(undo_action, needs_person=False), inputs=base, outputs=with_action_status)
        @readable_errors
        def _split_choices(s: UISession, person_id: Any) -> Any:
            return gr.update(choices=split_choices(require(s).library, person_id), value=[])

        def _tick_face(order: list[int], ticked: list[int] | None, evt: gr.SelectData) -> list[int]:
            face = _select_face(order, evt)  # selecting a face in the gallery ticks (or unticks) it
            return sorted(set(ticked or []) ^ {face}) if face is not None else list(ticked or [])

        chosen.change(_split_choices, inputs=[session, chosen], outputs=split_pick)
        faces.select(_tick_face, inputs=[face_ids, split_pick], outputs=split_pick)
        split.click(_action(split_action), inputs=[*base, split_pick], outputs=with_action_status)

        @readable_errors
        def _suggestions(request: gr.Request, s: UISession) -> Any:
            require_role(request, Capability.PEOPLE)
            choices = suggestion_choices(require(s).library)
            return gr.update(choices=choices, value=None), "" if choices else "No two people look almost alike."

        @readable_errors
        def _suggestion_tiles(s: UISession, pick: Any) -> Any:
            lib = require(s).library
            return served.show(lib, suggestion_faces(lib, pick))

        suggest.click(_suggestions, inputs=session, outputs=[suggestion, action_status])
        suggestion.change(_suggestion_tiles, inputs=[session, suggestion], outputs=suggestion_tiles)
        same.click(_action(same_person_action, needs_person=False), inputs=[*base, suggestion], outputs=with_action_status)
        not_same.click(_action(not_same_action, needs_person=False), inputs=[*base, suggestion], outputs=with_action_status)
        name_face.click(_name_face, inputs=[session, show_hidden, picked_face, loose_name], outputs=[action_status, *outputs, loose_name])
    return TabView(tab, _on_select, [*outputs, status, action_status], [show_hidden, chosen], needs=[(c, Capability.PEOPLE) for c in (find, regroup, name, rename, suggested, me, hide, merge_into, merge_plan, conflicts, merge, move_to, move, undo, loose_name, name_face, split_pick, split, suggest, same, not_same)])
