"""People tab actions: a merge says what it will do first, faces on no one stay in view and can be named."""

from __future__ import annotations

import pytest

from photogen.errors import PhotogenError
from photogen.faces import people
from photogen.library.library import Library
from photogen.ui import people_tab
from tests.faces import conftest as face_fixtures
from tests.faces.people.conftest import two_people_in_one_photo

# the faces tests' indexed DEV library (built once per session, copied per test)
faces_dir, indexed_home, indexed_library = face_fixtures.faces_dir, face_fixtures.indexed_home, face_fixtures.indexed_library


def test_merge_preview_then_merge_leaves_every_face_in_view(indexed_library: Library) -> None:
    lib = indexed_library
    source, target = two_people_in_one_photo(lib)
    preview = people_tab.merge_preview(lib, source, target)
    plan = people.plan_merge(lib, source, target)
    assert f"{len(plan.conflicts)} face(s) of Person {source} are in" in preview and "Choose" in preview

    message, shown = people_tab.merge_action(lib, source, target, "nobody")
    assert shown == target and f"{len(plan.conflicts)} face(s)" in message and "Undo" in message
    tiles, ids = people_tab.no_one_faces(lib)
    assert {c.face_id for c in plan.conflicts} <= set(ids) and len(tiles) == len(ids)

    face = plan.conflicts[0].face_id
    message, new_person = people_tab.name_face_action(lib, face, "Aunt May")
    assert people.get_person(lib, new_person).name == "Aunt May" and people.get_face(lib, face).person_id == new_person
    other = plan.conflicts[1].face_id if len(plan.conflicts) > 1 else None
    if other is not None:  # a second face with the same name joins that person: names are unique
        assert people_tab.name_face_action(lib, other, "aunt may")[1] == new_person

    assert people_tab.undo_action(lib, None)[0].startswith("Undid")
    with pytest.raises(PhotogenError, match="no suggested name"):
        people_tab.use_suggested_action(lib, target)


def test_face_tiles_carry_the_persons_name(indexed_library: Library) -> None:
    lib = indexed_library
    person = people.list_people(lib)[0]
    people.name_person(lib, person.id, "Grandpa Joe")
    tiles, ids = people_tab.person_faces(lib, person.id)
    assert tiles and all(caption.startswith("Grandpa Joe · face") for _, caption in tiles)
