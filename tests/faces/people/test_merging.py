"""Merging two people (`photogen.faces.people.merging`): conflicts shown first, no face lost (issue 16 items 2 and 4)."""

from __future__ import annotations

from photogen.faces import people
from photogen.library.library import Library
from tests.faces.people.conftest import face_state, faces_of, two_people_in_one_photo


def test_merge_shows_conflicts_first_and_loses_no_face(indexed_library: Library) -> None:
    lib = indexed_library
    source, target = two_people_in_one_photo(lib)
    before, on_no_one = face_state(lib), len(people.faces_on_no_one(lib))
    n_source, n_target = len(faces_of(lib, source)), len(faces_of(lib, target))

    plan = people.plan_merge(lib, source, target)
    assert plan.conflicts and len(plan.moving) + len(plan.conflicts) == n_source
    assert face_state(lib) == before  # a plan changes nothing
    assert f"{len(plan.conflicts)} face(s) of A are in" in plan.describe("A", "B")

    people.merge_people(lib, source, target, conflicts="keep")
    assert len(faces_of(lib, target)) == n_target + len(plan.moving)
    assert {f.id for f in faces_of(lib, source)} == {c.face_id for c in plan.conflicts}  # still a person, in view
    assert len(people.faces_on_no_one(lib)) == on_no_one

    assert people.undo_last(lib) == "Undid the merge."
    assert face_state(lib) == before

    people.merge_people(lib, source, target, conflicts="nobody")
    assert source not in {p.id for p in people.list_people(lib)}
    shown = {f.id for f in people.faces_on_no_one(lib)}
    assert {c.face_id for c in plan.conflicts} <= shown  # on no one, and listed where People shows them
    assert len(faces_of(lib, target)) == n_target + len(plan.moving)
    people.recluster(lib)  # grouping again does not push them back onto the survivor
    assert all(people.get_face(lib, c.face_id).person_id != target for c in plan.conflicts)
    people.undo_last(lib)
    assert {k: v for k, v in face_state(lib).items() if k in before} == before
