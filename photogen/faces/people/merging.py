"""Merging two people: the plan shown first (which faces join, which conflict), then the merge itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from photogen.errors import PhotogenError
from photogen.faces.people.records import get_face, load_faces, require_person
from photogen.library import faces_store, people_store
from photogen.library.library import Library

ConflictChoice = Literal["keep", "nobody"]
CONFLICT_CHOICES: tuple[ConflictChoice, ...] = ("keep", "nobody")


@dataclass(frozen=True, slots=True)
class MergeConflict:
    """A face of the merged person that cannot join the survivor: the survivor is in the same photo
    (`other_face_id`), or the user said this face is not the survivor (`other_face_id` None)."""

    face_id: int
    photo_id: int
    other_face_id: int | None


@dataclass(frozen=True, slots=True)
class MergePlan:
    """What a merge will do, shown before it is done."""

    person_id: int
    into_id: int
    moving: list[int]  # face ids that join the survivor
    conflicts: list[MergeConflict]

    def describe(self, source_label: str, target_label: str) -> str:
        text = f"{len(self.moving)} face(s) of {source_label} join {target_label}."
        if self.conflicts:
            photos = len({c.photo_id for c in self.conflicts})
            text += (
                f" {len(self.conflicts)} face(s) of {source_label} are in {photos} photo(s) where {target_label} "
                "already is (one person appears once in a photo), or you said they are not them. Choose: "
                f"keep them as {source_label} ('keep'), or put them on no one ('nobody'; they stay in view under "
                "People → Faces on no one, where you can name them or add them to someone)."
            )
        return text


def plan_merge(library: Library, person_id: int, into_id: int) -> MergePlan:
    """Which faces of `person_id` would join `into_id`, and which conflict, without changing anything."""
    if person_id == into_id:
        raise PhotogenError(f"Person {person_id} cannot be merged into itself; give two different ids.")
    require_person(library, person_id)
    require_person(library, into_id)
    target_by_photo = {f.photo_id: f.id for f in load_faces(library, person_id=into_id, usable_only=False)}
    moving, conflicts = [], []
    for face in load_faces(library, person_id=person_id, usable_only=False):
        if face.photo_id in target_by_photo:
            conflicts.append(MergeConflict(face.id, face.photo_id, target_by_photo[face.photo_id]))
        elif into_id in face.rejected_person_ids:
            conflicts.append(MergeConflict(face.id, face.photo_id, None))
        else:
            moving.append(face.id)
    return MergePlan(person_id, into_id, moving, conflicts)


def merge_people(library: Library, person_id: int, into_id: int, *, conflicts: ConflictChoice = "keep") -> MergePlan:
    """Merge `person_id` into `into_id`: its faces and "not this person" marks move to the survivor.

    Faces that conflict (`plan_merge`: the survivor is already in their photo, or the user said they
    are not the survivor) never vanish: with "keep" they stay on `person_id`, which then remains a
    person of its own; with "nobody" they go on no one and show under People → Faces on no one.
    The survivor keeps its name (or takes the merged one's when the merged person is gone), and is
    "me" if either was. `undo_last` undoes it. Returns the plan that was carried out.
    """
    if conflicts not in CONFLICT_CHOICES:
        raise PhotogenError(f"Conflicting faces are either 'keep' or 'nobody', not {conflicts!r}.")
    with library.catalog.tx():
        plan = plan_merge(library, person_id, into_id)
        source, target = require_person(library, person_id), require_person(library, into_id)
        marked = [r["id"] for r in faces_store.faces_with_rejections(library)]
        undo = people_store.undo_snapshot(library, [person_id, into_id], marked)
        for face_id in plan.moving:
            faces_store.place_face(library, face_id, into_id)
        if conflicts == "nobody":
            for conflict in plan.conflicts:
                face = get_face(library, conflict.face_id)
                faces_store.place_face(library, conflict.face_id, None, "rejected", face.rejected_person_ids | {into_id})
        source_left = conflicts == "keep" and bool(plan.conflicts)
        for row in faces_store.faces_with_rejections(library):
            rejected = set(json.loads(row["rejected_person_ids"]))
            if person_id in rejected and not source_left:
                faces_store.set_rejected(library, row["id"], (rejected - {person_id}) | {into_id})
        people_store.set_person(
            library,
            into_id,
            name=target["name"] or (None if source_left else source["name"]),
            is_me=bool(target["is_me"] or (source["is_me"] and not source_left)),
            hidden=bool(target["hidden"] and source["hidden"]),
        )
        if not source_left:
            people_store.delete_person(library, person_id)
        library.catalog.audit(
            "person.merge", str(person_id), into=into_id, moved=len(plan.moving), conflicts=len(plan.conflicts),
            conflict_choice=conflicts, undo=undo,
        )
    return plan
