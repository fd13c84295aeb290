"""What the tests of the people package share: the people and faces of the indexed DEV library."""

from __future__ import annotations

from photogen.faces import people
from photogen.library.library import Library


def faces_of(lib: Library, person_id: int) -> list[people.StoredFace]:
    return people.load_faces(lib, person_id=person_id)


def portrait_face(lib: Library, person_id: int) -> people.StoredFace:
    """The person's best face in a portrait (album people), where there is no one else to confuse."""
    portraits = {r[0] for r in lib.catalog.query(
        "SELECT f.photo_id FROM photo_files f JOIN albums a ON a.id = f.album_id WHERE a.name = 'people'"
    )}  # fmt: skip
    return max((f for f in faces_of(lib, person_id) if f.photo_id in portraits), key=lambda f: f.quality)


def face_state(lib: Library) -> dict[int, tuple[int | None, str, frozenset[int]]]:
    return {f.id: (f.person_id, f.assignment, f.rejected_person_ids) for f in people.load_faces(lib, usable_only=False)}


def two_people_in_one_photo(lib: Library) -> tuple[int, int]:
    for a in people.list_people(lib):
        for b in people.list_people(lib):
            if a.id != b.id and set(a.photo_ids) & set(b.photo_ids):
                return a.id, b.id
    raise AssertionError("the DEV set has group photos: two people share one")
