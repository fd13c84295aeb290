"""The user's say over people (`photogen.faces.people.actions`): it sticks across re-clustering, errors say what to do."""

from __future__ import annotations

import pytest

from photogen.errors import PhotogenError
from photogen.faces import people
from photogen.library.library import Library
from tests.faces.conftest import people_by_identity
from tests.faces.people.conftest import face_state, faces_of, portrait_face, two_people_in_one_photo


def test_user_actions_stick_across_reclustering(indexed_library: Library) -> None:
    lib = indexed_library
    who = people_by_identity(lib)
    sheldon, leonard, salley, savage, stuart = (
        who[k] for k in ("bbt_sheldon", "bbt_leonard", "john_salley", "john_savage", "bbt_stuart")
    )
    people.name_person(lib, sheldon, "  Sheldon   Cooper ")
    people.mark_me(lib, leonard)
    people.hide_person(lib, stuart)
    people.merge_people(lib, savage, salley)  # the user says both Johns are one person
    moved = portrait_face(lib, sheldon)
    people.move_face(lib, moved.id, leonard)  # a (wrong) move: it must stick anyway
    gone = faces_of(lib, salley)[0]
    people.move_face(lib, gone.id, people.NOBODY)

    before = {p.id: p for p in people.list_people(lib)}
    report = people.recluster(lib)
    after = {p.id: p for p in people.list_people(lib)}

    assert set(after) == set(before) and report.new_people == 0
    assert after[sheldon].name == "Sheldon Cooper" and after[leonard].is_me and after[stuart].hidden
    assert sum(p.is_me for p in after.values()) == 1
    assert savage not in after and after[salley].face_count == 11 + 11 - 1
    assert people.get_face(lib, moved.id).person_id == leonard
    assert sheldon in people.get_face(lib, moved.id).rejected_person_ids
    assert people.get_face(lib, gone.id).person_id is None
    assert people.get_face(lib, gone.id).assignment == "rejected"
    # and the faces nobody touched stay where they were
    assert {p: (a.face_count, a.photo_ids) for p, a in after.items()} == {
        p: (b.face_count, b.photo_ids) for p, b in before.items()
    }
    actions = [
        r[0]
        for r in lib.catalog.query(
            "SELECT action FROM audit_log WHERE actor = 'user' AND action GLOB '[pf]*.*' ORDER BY id"
        )
    ]
    assert actions == ["person.name", "person.me", "person.hide", "person.merge", "face.move", "face.move"]


def test_moving_a_face_to_a_new_person_and_back(indexed_library: Library) -> None:
    lib = indexed_library
    amy = people_by_identity(lib)["bbt_amy"]
    face = portrait_face(lib, amy)
    new = people.move_face(lib, face.id, people.NEW_PERSON)
    assert new is not None and new != amy and people.get_person(lib, new).face_count == 1
    people.recluster(lib)
    assert people.get_face(lib, face.id).person_id == new
    # moving it back pins it to Amy again; the one-face person it left is gone
    assert people.move_face(lib, face.id, amy) == amy
    assert new not in {p.id for p in people.list_people(lib)}
    assert amy not in people.get_face(lib, face.id).rejected_person_ids


def test_one_person_appears_once_per_photo(indexed_library: Library) -> None:
    lib = indexed_library
    group_photo = lib.catalog.scalar(
        "SELECT photo_id FROM faces WHERE person_id IS NOT NULL GROUP BY photo_id HAVING count(*) >= 3 LIMIT 1"
    )
    first, second = [f for f in people.load_faces(lib) if f.photo_id == group_photo and f.person_id is not None][:2]
    assert first.person_id is not None and second.person_id is not None
    # moving an automatic face onto a person who is already in the photo takes that person's place
    people.move_face(lib, first.id, second.person_id)
    assert people.get_face(lib, second.id).person_id is None
    # but two faces the user put there themselves cannot both be one person
    with pytest.raises(PhotogenError, match="Move face"):
        people.move_face(lib, second.id, second.person_id)


@pytest.mark.parametrize(
    "action, message",
    [
        (lambda lib: people.name_person(lib, 9999, "x"), "No person with id 9999"),
        (lambda lib: people.mark_me(lib, 9999), "No person with id 9999"),
        (lambda lib: people.hide_person(lib, 9999), "No person with id 9999"),
        (lambda lib: people.merge_people(lib, 1, 1), "cannot be merged into itself"),
        (lambda lib: people.merge_people(lib, 1, 9999), "No person with id 9999"),
        (lambda lib: people.move_face(lib, 999999, 1), "No face with id 999999"),
        (lambda lib: people.move_face(lib, 1, 9999), "No person with id 9999"),
        (lambda lib: people.parse_move_target("bob"), "not a person id"),
        (lambda lib: people.set_reference(lib, 1, "maybe"), "'pin', 'drop' or 'auto'"),
        (lambda lib: people.reference_faces(lib, 9999), "No person with id 9999"),
    ],
)
def test_user_errors_say_what_to_do(indexed_library: Library, action, message: str) -> None:
    with pytest.raises(PhotogenError, match=message):
        action(indexed_library)


def test_a_move_can_be_undone(indexed_library: Library) -> None:
    lib = indexed_library
    source, target = two_people_in_one_photo(lib)
    before = face_state(lib)
    face = faces_of(lib, source)[0]
    people.move_face(lib, face.id, people.NEW_PERSON)
    assert people.undo_last(lib) == "Undid the move."
    assert face_state(lib) == before
    with pytest.raises(PhotogenError, match="no merge or move to undo"):
        people.undo_last(lib)


def test_names_are_unique_and_a_shared_name_asks_which_one(indexed_library: Library) -> None:
    from photogen.create.context import known_people
    from photogen.create.prompt import parse_prompt

    lib = indexed_library
    first, second = (p.id for p in people.list_people(lib)[:2])
    people.name_person(lib, first, "Penny")
    with pytest.raises(PhotogenError, match=f"Person {first} is already named 'Penny'"):
        people.name_person(lib, second, " penny ")
    people.name_person(lib, first, "Penny")  # renaming a person to its own name is fine
    # a library named before names were unique: "@Penny" asks, never picks one
    lib.catalog.execute("UPDATE people SET name = 'Penny' WHERE id = ?", (second,))
    with pytest.raises(PhotogenError, match=f"@Penny could be person {min(first, second)} and person {max(first, second)}"):
        parse_prompt("@Penny at the beach", known_people(lib))


def test_split_faces_into_someone_else_sticks_and_undoes(indexed_library: Library) -> None:
    lib = indexed_library
    sheldon = people_by_identity(lib)["bbt_sheldon"]
    faces = faces_of(lib, sheldon)
    chosen = [faces[0].id, faces[1].id]
    new = people.split_person(lib, sheldon, chosen)
    assert {f.id for f in faces_of(lib, new)} == set(chosen)
    assert {f.id for f in faces_of(lib, sheldon)} == {f.id for f in faces} - set(chosen)
    assert all(sheldon in people.get_face(lib, f).rejected_person_ids for f in chosen)
    people.recluster(lib)  # the user's split holds
    assert {f.id for f in faces_of(lib, new)} == set(chosen)
    assert people.undo_last(lib) == "Undid the split."
    assert {f.id for f in faces_of(lib, sheldon)} == {f.id for f in faces}
    assert lib.catalog.scalar("SELECT count(*) FROM people WHERE id = ?", (new,)) == 0
    with pytest.raises(PhotogenError, match="Choose the faces"):
        people.split_person(lib, sheldon, [])
    with pytest.raises(PhotogenError, match="not on person"):
        people.split_person(lib, sheldon, [faces_of(lib, people_by_identity(lib)["bbt_amy"])[0].id])
    with pytest.raises(PhotogenError, match="all of this person's faces"):
        people.split_person(lib, sheldon, [f.id for f in faces])
