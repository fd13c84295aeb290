"""The user's say over people: name, "me", hide, move a face, split, reference pins, "not the same", undo.

- `faces.assignment` is 'auto' (placed by clustering), 'user' (the user put the face on its person:
  a pin) or 'rejected' (the user said it is nobody); `faces.rejected_person_ids` lists the people a
  face was moved away from ("not this person"). Clustering never rewrites them.
- Every action is one transaction and one audit-log entry; merges, moves and splits keep what
  `undo_last` needs to put them back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any, Literal

from photogen.errors import PhotogenError
from photogen.faces.people.reading import list_people
from photogen.faces.people.records import get_face, load_faces, require_person
from photogen.library import faces_store, people_store
from photogen.library.library import Library

logger = logging.getLogger(__name__)

NOBODY = "none"
NEW_PERSON = "new"
MoveTarget = int | Literal["none", "new"] | None
UNDOABLE = ("person.merge", "face.move", "person.split")


def name_person(library: Library, person_id: int, name: str | None) -> None:
    """Name a person (an empty name clears it)."""
    clean = " ".join((name or "").split()) or None
    if clean is not None and len(clean) > 200:
        raise PhotogenError("That name is too long; keep it under 200 characters.")
    with library.catalog.tx():
        require_person(library, person_id)
        _require_unique_name(library, person_id, clean)
        people_store.set_person_name(library, person_id, clean)
        library.catalog.audit("person.name", str(person_id), name=clean)


def _require_unique_name(library: Library, person_id: int, name: str | None) -> None:
    """Names are unique (ignoring case), so "@Penny" always means one person."""
    if name is None:
        return
    for row in people_store.other_named_people(library, person_id):
        if row["name"].casefold() == name.casefold():
            raise PhotogenError(
                f"Person {row['id']} is already named {row['name']!r}, and a name picks one person in a prompt. "
                f"Give this one a different name (e.g. {name + ' 2'!r}), or merge the two if they are the same person."
            )


def mark_me(library: Library, person_id: int) -> None:
    """Mark the one person who is the user (any earlier "me" is unmarked)."""
    with library.catalog.tx():
        require_person(library, person_id)
        people_store.set_me(library, person_id)
        library.catalog.audit("person.me", str(person_id))


def hide_person(library: Library, person_id: int, hidden: bool = True) -> None:
    with library.catalog.tx():
        require_person(library, person_id)
        people_store.set_hidden(library, person_id, hidden)
        library.catalog.audit("person.hide" if hidden else "person.unhide", str(person_id))


def move_face(library: Library, face_id: int, target: MoveTarget) -> int | None:
    """Put a face on a person (an id, or "new" for a new person), or on nobody ("none" or None).

    The move sticks across re-clustering, and the face is marked "not" the person it left. Returns
    the person the face is now on.
    """
    with library.catalog.tx():
        face = get_face(library, face_id)
        old = face.person_id
        same_photo = faces_store.face_ids_in_photo(library, face.photo_id)
        undo = people_store.undo_snapshot(library, [p for p in (old, target) if isinstance(p, int)], same_photo)
        rejected = set(face.rejected_person_ids)
        if old is not None and old != target:
            rejected.add(old)
        if target is None or target == NOBODY:
            person = None
            faces_store.place_face(library, face_id, None, "rejected", rejected)
        else:
            if target == NEW_PERSON:
                person = people_store.new_person(library)
            else:
                person = int(target)
                require_person(library, person)
            clash = faces_store.other_face_of_person_in_photo(library, face.photo_id, person, face_id)
            if clash is not None and clash["assignment"] == "user":
                raise PhotogenError(
                    f"Face {clash['id']} of the same photo is already on person {person}, and one person appears "
                    f"once in a photo. Move face {clash['id']} elsewhere first."
                )
            if clash is not None:
                faces_store.place_face(library, clash["id"], None, "auto")
            rejected.discard(person)
            faces_store.place_face(library, face_id, person, "user", rejected)
        people_store.drop_empty_people(library)
        library.catalog.audit("face.move", str(face_id), from_person=old, to_person=person, undo=undo)
    return person


def parse_move_target(text: str) -> MoveTarget:
    """A move target as typed: a person id, 'none' (nobody) or 'new' (a new person)."""
    value = text.strip().lower()
    if value in (NOBODY, "nobody"):
        return NOBODY
    if value == NEW_PERSON:
        return NEW_PERSON
    try:
        return int(value)
    except ValueError:
        raise PhotogenError(
            f"'{text}' is not a person id; give a number from `photogen people list`, 'none' or 'new'."
        ) from None


def name_face(library: Library, face_id: int, name: str) -> tuple[int, bool]:
    """Name a face on no one: it joins the person of that name, or becomes a new person with it.

    Returns the person it is on now, and whether that person is new.
    """
    clean = " ".join((name or "").split())
    if not clean:
        raise PhotogenError("Type a name for the face first.")
    same = [p for p in list_people(library) if p.name and p.name.casefold() == clean.casefold()]
    if same:
        move_face(library, face_id, same[0].id)
        return same[0].id, False
    person = move_face(library, face_id, NEW_PERSON)
    assert person is not None
    name_person(library, person, clean)
    return person, True


def set_reference(library: Library, face_id: int, state: Literal["pin", "drop", "auto"]) -> None:
    """Pin a face as a reference of its person, drop it from the references, or leave it to ranking."""
    values = {"pin": 1, "drop": -1, "auto": 0}
    if state not in values:
        raise PhotogenError(f"A reference is 'pin', 'drop' or 'auto', not '{state}'.")
    with library.catalog.tx():
        get_face(library, face_id)
        faces_store.set_pinned_reference(library, face_id, values[state])
        library.catalog.audit("face.reference", str(face_id), state=state)


def split_person(library: Library, person_id: int, face_ids: Sequence[int]) -> int:
    """'These are someone else': the chosen faces of a person become a new person of their own.

    The faces are pinned there and marked "not" `person_id`, so no re-cluster puts them back; the
    person keeps the rest. `undo_last` undoes it. Returns the new person's id.
    """
    chosen = sorted(set(face_ids))
    if not chosen:
        raise PhotogenError("Choose the faces that are someone else first.")
    with library.catalog.tx():
        require_person(library, person_id)
        own = {f.id for f in load_faces(library, person_id=person_id, usable_only=False)}
        strangers = [f for f in chosen if f not in own]
        if strangers:
            raise PhotogenError(
                f"Face(s) {', '.join(map(str, strangers))} are not on person {person_id}; "
                f"see `photogen faces list --person {person_id}`."
            )
        if len(chosen) == len(own):
            raise PhotogenError(
                "Those are all of this person's faces: nothing is left to split them from. "
                "To say they are nobody, move them to 'none'."
            )
        undo = people_store.undo_snapshot(library, [person_id], chosen)
        new = people_store.new_person(library)
        for face_id in chosen:
            rejected = get_face(library, face_id).rejected_person_ids | {person_id}
            faces_store.place_face(library, face_id, new, "user", rejected)
        library.catalog.audit("person.split", str(person_id), into=new, faces=chosen, undo=undo)
    logger.info("split %d face(s) of person %d into person %d", len(chosen), person_id, new)
    return new


def dismiss_suggestion(library: Library, person_id: int, other_id: int) -> None:
    """The user says two people are not the same: they are not suggested together again."""
    if person_id == other_id:
        raise PhotogenError("Give two different people.")
    with library.catalog.tx():
        require_person(library, person_id)
        require_person(library, other_id)
        library.catalog.audit("people.not_same", str(min(person_id, other_id)), other=max(person_id, other_id))


def last_undoable(library: Library) -> tuple[int, str, dict[str, Any]] | None:
    """The latest merge or move that can still be undone: (audit id, action, detail), or None."""
    undone = {int(target) for target in people_store.undone_targets(library)}
    for row in people_store.latest_entries(library, UNDOABLE, limit=50):
        detail = json.loads(row["detail"] or "{}")
        if row["id"] not in undone and "undo" in detail:
            return int(row["id"]), row["action"], detail
    return None


def undo_last(library: Library) -> str:
    """Undo the latest merge or face move: the people and faces it changed go back as they were.

    Faces deleted since (a revoke) stay deleted. Returns what was undone, in words.
    """
    with library.catalog.tx():
        found = last_undoable(library)
        if found is None:
            raise PhotogenError("There is no merge or move to undo.")
        audit_id, action, detail = found
        people_store.restore_snapshot(library, detail["undo"])
        people_store.drop_empty_people(library)
        library.catalog.audit("people.undo", str(audit_id), undid=action)
    return {"person.merge": "Undid the merge.", "person.split": "Undid the split."}.get(action, "Undid the move.")
