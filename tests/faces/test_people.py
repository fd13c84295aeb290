"""People in the catalog: the user's actions, re-clustering that keeps them, names, references, revoke."""

from __future__ import annotations

import numpy as np
import pytest

from photogen.errors import PhotogenError
from photogen.faces import people
from photogen.library.consent import exclude_photo, revoke_album
from photogen.library.library import Library
from tests.faces.conftest import people_by_identity


def _faces_of(lib: Library, person_id: int) -> list[people.StoredFace]:
    return people.load_faces(lib, person_id=person_id)


def _portrait_face(lib: Library, person_id: int) -> people.StoredFace:
    """The person's best face in a portrait (album people), where there is no one else to confuse."""
    portraits = {r[0] for r in lib.catalog.query(
        "SELECT f.photo_id FROM photo_files f JOIN albums a ON a.id = f.album_id WHERE a.name = 'people'"
    )}  # fmt: skip
    return max((f for f in _faces_of(lib, person_id) if f.photo_id in portraits), key=lambda f: f.quality)


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
    moved = _portrait_face(lib, sheldon)
    people.move_face(lib, moved.id, leonard)  # a (wrong) move: it must stick anyway
    gone = _faces_of(lib, salley)[0]
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
    face = _portrait_face(lib, amy)
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


def test_suggested_names_follow_the_sidecar_names_of_a_persons_photos(indexed_library: Library) -> None:
    lib = indexed_library
    who = people_by_identity(lib)
    cat = lib.catalog
    # Takeout-style sidecar names: every photo with Penny says "Penny"; photos with Sheldon also list
    # "Sheldon"; each group photo names everyone in it, so the names there do not line up alone
    with cat.tx():
        for identity, name in (("bbt_penny", "Penny"), ("bbt_sheldon", "Sheldon"), ("bbt_leonard", "Leonard")):
            for photo in people.get_person(lib, who[identity]).photo_ids:
                cat.execute("INSERT OR IGNORE INTO photo_names (photo_id, name) VALUES (?, ?)", (photo, name))
    suggested = {p.id: p.suggested_name for p in people.list_people(lib)}
    assert suggested[who["bbt_penny"]] == "Penny"
    assert suggested[who["bbt_sheldon"]] == "Sheldon"
    assert suggested[who["bbt_leonard"]] == "Leonard"
    assert suggested[who["john_salley"]] is None  # no names in their photos
    # a name the user gave is not offered again, and a named person gets no suggestion
    people.name_person(lib, who["bbt_penny"], "Penny")
    people.name_person(lib, who["bbt_leonard"], "Sheldon")
    suggested = {p.id: p.suggested_name for p in people.list_people(lib)}
    assert suggested[who["bbt_penny"]] is None and suggested[who["bbt_sheldon"]] is None


def test_reference_faces_rank_by_quality_and_honour_pins(indexed_library: Library) -> None:
    lib = indexed_library
    sheldon = people_by_identity(lib)["bbt_sheldon"]
    faces = _faces_of(lib, sheldon)
    refs = people.reference_faces(lib, sheldon, limit=3)
    assert len(refs.faces) == 3 and len({f.photo_id for f in refs.faces}) == 3
    qualities = [f.quality for f in refs.faces]
    assert qualities == sorted(qualities, reverse=True) and qualities[0] == max(f.quality for f in faces)
    assert abs(float(np.linalg.norm(refs.person_centroid)) - 1) < 1e-5
    assert all(float(f.embedding @ refs.person_centroid) > 0.5 for f in refs.faces)
    worst = min(faces, key=lambda f: f.quality)
    people.set_reference(lib, worst.id, "pin")
    people.set_reference(lib, refs.faces[0].id, "drop")
    again = people.reference_faces(lib, sheldon, limit=3)
    assert again.faces[0].id == worst.id and refs.faces[0].id not in {f.id for f in again.faces}
    assert again.faces[0].embedding.shape == (128,) and again.faces[0].landmarks.shape == (5, 2)


def test_revoke_removes_faces_embeddings_and_emptied_people_but_keeps_the_rest(indexed_library: Library) -> None:
    lib = indexed_library
    who = people_by_identity(lib)
    sheldon, leonard, salley = who["bbt_sheldon"], who["bbt_leonard"], who["john_salley"]
    people.name_person(lib, sheldon, "Sheldon")
    people.name_person(lib, salley, "John")
    people.mark_me(lib, leonard)
    portrait_faces = {f.id: f.embedding.tobytes() for f in people.load_faces(lib) if f.person_id == salley}

    revoke_album(lib, "people")  # sheldon and leonard are still in the group photos

    cat = lib.catalog
    left = people.list_people(lib)
    by_id = {p.id: p for p in left}
    assert salley not in by_id and cat.one("SELECT 1 FROM people WHERE id = ?", (salley,)) is None
    assert by_id[sheldon].name == "Sheldon" and by_id[leonard].is_me
    assert cat.scalar(
        "SELECT count(*) FROM faces WHERE photo_id NOT IN "
        "(SELECT f.photo_id FROM photo_files f JOIN albums a ON a.id = f.album_id WHERE a.name = 'groups')"
    ) == 0  # fmt: skip
    assert not set(portrait_faces) & {r[0] for r in cat.query("SELECT id FROM faces")}
    assert cat.scalar("SELECT count(*) FROM blobs WHERE kind = 'face'") == cat.scalar("SELECT count(*) FROM faces")
    cat.checkpoint()
    raw = b"".join(p.read_bytes() for p in lib.home.rglob("*") if p.is_file())
    assert not any(e[:32] in raw for e in portrait_faces.values())
    # excluding a photo takes its faces along too
    photo = by_id[sheldon].photo_ids[0]
    exclude_photo(lib, photo)
    assert cat.scalar("SELECT count(*) FROM faces WHERE photo_id = ?", (photo,)) == 0
    assert people.get_person(lib, sheldon).face_count == by_id[sheldon].face_count - 1


# ---- merge with conflicts shown first, undo, unique names (issue 16 items 2 and 4) ----


def _state(lib: Library) -> dict[int, tuple[int | None, str, frozenset[int]]]:
    return {f.id: (f.person_id, f.assignment, f.rejected_person_ids) for f in people.load_faces(lib, usable_only=False)}


def _two_people_in_one_photo(lib: Library) -> tuple[int, int]:
    for a in people.list_people(lib):
        for b in people.list_people(lib):
            if a.id != b.id and set(a.photo_ids) & set(b.photo_ids):
                return a.id, b.id
    raise AssertionError("the DEV set has group photos: two people share one")


def test_merge_shows_conflicts_first_and_loses_no_face(indexed_library: Library) -> None:
    lib = indexed_library
    source, target = _two_people_in_one_photo(lib)
    before, on_no_one = _state(lib), len(people.faces_on_no_one(lib))
    n_source, n_target = len(_faces_of(lib, source)), len(_faces_of(lib, target))

    plan = people.plan_merge(lib, source, target)
    assert plan.conflicts and len(plan.moving) + len(plan.conflicts) == n_source
    assert _state(lib) == before  # a plan changes nothing
    assert f"{len(plan.conflicts)} face(s) of A are in" in plan.describe("A", "B")

    people.merge_people(lib, source, target, conflicts="keep")
    assert len(_faces_of(lib, target)) == n_target + len(plan.moving)
    assert {f.id for f in _faces_of(lib, source)} == {c.face_id for c in plan.conflicts}  # still a person, in view
    assert len(people.faces_on_no_one(lib)) == on_no_one

    assert people.undo_last(lib) == "Undid the merge."
    assert _state(lib) == before

    people.merge_people(lib, source, target, conflicts="nobody")
    assert source not in {p.id for p in people.list_people(lib)}
    shown = {f.id for f in people.faces_on_no_one(lib)}
    assert {c.face_id for c in plan.conflicts} <= shown  # on no one, and listed where People shows them
    assert len(_faces_of(lib, target)) == n_target + len(plan.moving)
    people.recluster(lib)  # grouping again does not push them back onto the survivor
    assert all(people.get_face(lib, c.face_id).person_id != target for c in plan.conflicts)
    people.undo_last(lib)
    assert {k: v for k, v in _state(lib).items() if k in before} == before


def test_a_move_can_be_undone(indexed_library: Library) -> None:
    lib = indexed_library
    source, target = _two_people_in_one_photo(lib)
    before = _state(lib)
    face = _faces_of(lib, source)[0]
    people.move_face(lib, face.id, people.NEW_PERSON)
    assert people.undo_last(lib) == "Undid the move."
    assert _state(lib) == before
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
    faces = _faces_of(lib, sheldon)
    chosen = [faces[0].id, faces[1].id]
    new = people.split_person(lib, sheldon, chosen)
    assert {f.id for f in _faces_of(lib, new)} == set(chosen)
    assert {f.id for f in _faces_of(lib, sheldon)} == {f.id for f in faces} - set(chosen)
    assert all(sheldon in people.get_face(lib, f).rejected_person_ids for f in chosen)
    people.recluster(lib)  # the user's split holds
    assert {f.id for f in _faces_of(lib, new)} == set(chosen)
    assert people.undo_last(lib) == "Undid the split."
    assert {f.id for f in _faces_of(lib, sheldon)} == {f.id for f in faces}
    assert lib.catalog.scalar("SELECT count(*) FROM people WHERE id = ?", (new,)) == 0
    with pytest.raises(PhotogenError, match="Choose the faces"):
        people.split_person(lib, sheldon, [])
    with pytest.raises(PhotogenError, match="not on person"):
        people.split_person(lib, sheldon, [_faces_of(lib, people_by_identity(lib)["bbt_amy"])[0].id])
    with pytest.raises(PhotogenError, match="all of this person's faces"):
        people.split_person(lib, sheldon, [f.id for f in faces])


def test_merge_suggestions_offer_near_pairs_most_alike_first(indexed_library: Library) -> None:
    lib = indexed_library
    who = people_by_identity(lib)
    # an identity the clustering split in two: half of Salley's faces on a person of their own
    salley_faces = _faces_of(lib, who["john_salley"])
    with lib.catalog.tx():
        half = int(lib.catalog.execute("INSERT INTO people (created_at) VALUES ('2026-01-01')").lastrowid)
        for face in salley_faces[::2]:
            lib.catalog.execute("UPDATE faces SET person_id = ? WHERE id = ?", (half, face.id))
    found = people.merge_suggestions(lib, limit=50)
    assert found and {found[0].person_id, found[0].other_id} == {who["john_salley"], half}
    assert found[0].similarity > 0.6  # the same man
    assert [s.similarity for s in found] == sorted((s.similarity for s in found), reverse=True)
    floor = lib.settings.face_link_threshold - 0.1
    assert all(s.similarity >= floor for s in found)
    # labelled people in group photos together are never suggested
    photos = {p.id: set(p.photo_ids) for p in people.list_people(lib)}
    assert all(not photos[s.person_id] & photos[s.other_id] for s in found)
    people.dismiss_suggestion(lib, half, who["john_salley"])
    assert all({s.person_id, s.other_id} != {who["john_salley"], half} for s in people.merge_suggestions(lib))
    with pytest.raises(PhotogenError):
        people.dismiss_suggestion(lib, half, half)
