"""The catalog's face rows: storing the faces found in a photo, reading them back, putting them on people.

The faces stage (`photogen.faces`) decides; these functions are the only place its face rows are
read or written. A face's "not these people" list is stored as a sorted JSON list of person ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from photogen.box import Box
from photogen.library.library import Library

FACE_COLUMNS = (
    "id, photo_id, box_x, box_y, box_w, box_h, landmarks, score, quality, embedding, backend, person_id, "
    "assignment, rejected_person_ids, pinned_reference"
)


def encode_vector(values: np.ndarray) -> bytes:
    """A float32 vector (an embedding, landmarks) as the catalog stores it."""
    return np.ascontiguousarray(values, dtype=np.float32).tobytes()


def encode_rejected(person_ids: Iterable[int]) -> str:
    return json.dumps(sorted(person_ids))


# ---- indexing: the faces of one photo ----------------------------------------------------------


def photos_to_index(library: Library) -> list[int]:
    """Usable photos whose faces have not been looked for yet."""
    rows = library.catalog.query(
        """SELECT id FROM photos WHERE excluded = 0 AND faces_indexed = 0
           AND id IN (SELECT photo_id FROM photo_files) ORDER BY id"""
    )
    return [r[0] for r in rows]


def photo_width(library: Library, photo_id: int) -> int | None:
    """The photo's width in its oriented pixels, as indexed (the frame faces are stored in)."""
    return library.catalog.scalar("SELECT width FROM photos WHERE id = ?", (photo_id,))


def photo_awaits_faces(library: Library, photo_id: int) -> bool:
    """The photo is still usable and its faces are not stored yet (by this run or one beside it)."""
    row = library.catalog.one("SELECT 1 FROM photos WHERE id = ? AND excluded = 0 AND faces_indexed = 0", (photo_id,))
    return row is not None


def insert_face(
    library: Library,
    photo_id: int,
    box: Box,
    landmarks: np.ndarray,
    score: float,
    quality: float,
    embedding: np.ndarray,
    backend: str,
) -> int:
    """Store one face (on nobody yet); returns its id."""
    x, y, w, h = box
    cursor = library.catalog.execute(
        """INSERT INTO faces (photo_id, box_x, box_y, box_w, box_h, landmarks, score, quality, embedding, backend)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (photo_id, x, y, w, h, encode_vector(landmarks), score, quality, encode_vector(embedding), backend),
    )
    return int(cursor.lastrowid)


def mark_faces_indexed(library: Library, photo_id: int) -> None:
    library.catalog.execute("UPDATE photos SET faces_indexed = 1 WHERE id = ?", (photo_id,))


def photo_ids_of_face(library: Library, face_id: int) -> list[int]:
    """The photo a face was found in (none once it is gone)."""
    return [r[0] for r in library.catalog.query("SELECT photo_id FROM faces WHERE id = ?", (face_id,))]


# ---- reading -----------------------------------------------------------------------------------


def face_rows(
    library: Library, *, backend: str | None = None, person_id: int | None = None, usable_only: bool = True
) -> list[Any]:
    """Face rows (`FACE_COLUMNS`) by id, of usable photos only unless asked, optionally of one backend or person."""
    where, params = ["1 = 1"], []
    if usable_only:
        where.append("photo_id IN (SELECT id FROM photos WHERE excluded = 0)")
    if backend is not None:
        where.append("backend = ?")
        params.append(backend)
    if person_id is not None:
        where.append("person_id = ?")
        params.append(person_id)
    return library.catalog.query(f"SELECT {FACE_COLUMNS} FROM faces WHERE {' AND '.join(where)} ORDER BY id", params)


def face_row(library: Library, face_id: int) -> Any | None:
    return library.catalog.one(f"SELECT {FACE_COLUMNS} FROM faces WHERE id = ?", (face_id,))


def face_ids_in_photo(library: Library, photo_id: int) -> list[int]:
    return [r[0] for r in library.catalog.query("SELECT id FROM faces WHERE photo_id = ?", (photo_id,))]


def other_face_of_person_in_photo(library: Library, photo_id: int, person_id: int, face_id: int) -> Any | None:
    """Another face (id, assignment) of the photo already on the person, if any."""
    return library.catalog.one(
        "SELECT id, assignment FROM faces WHERE photo_id = ? AND person_id = ? AND id != ?", (photo_id, person_id, face_id)
    )


def faces_with_rejections(library: Library) -> list[Any]:
    """(id, rejected_person_ids) of the faces the user said are "not" someone."""
    return library.catalog.query("SELECT id, rejected_person_ids FROM faces WHERE rejected_person_ids != '[]'")


def usable_faces_of_person(library: Library, person_id: int) -> list[Any]:
    """A person's face rows with `excluded` (their photo's) and `allowed` (in a granted album), by id."""
    return library.catalog.query(
        """SELECT f.id, f.photo_id, f.box_x, f.box_y, f.box_w, f.box_h, f.landmarks, f.quality, f.embedding,
                  f.backend, f.pinned_reference, f.assignment, p.excluded,
                  EXISTS (SELECT 1 FROM photo_files pf JOIN grants g ON g.album_id = pf.album_id
                          WHERE pf.photo_id = f.photo_id) AS allowed
           FROM faces f JOIN photos p ON p.id = f.photo_id
           WHERE f.person_id = ? ORDER BY f.id""",
        (person_id,),
    )


def people_photos(library: Library) -> list[Any]:
    """(id, name, is_me, hidden, photo_id): each person with each face in a usable photo, by person and photo."""
    return library.catalog.query(
        """SELECT p.id, p.name, p.is_me, p.hidden, f.photo_id FROM people p
           JOIN faces f ON f.person_id = p.id JOIN photos ph ON ph.id = f.photo_id AND ph.excluded = 0
           ORDER BY p.id, f.photo_id"""
    )


def sidecar_names_of_unnamed_people(library: Library) -> list[Any]:
    """Distinct (person_id, photo_id, name): the names a photo's sidecar lists, for people without a name."""
    return library.catalog.query(
        """SELECT DISTINCT f.person_id, n.photo_id, n.name FROM faces f JOIN photo_names n ON n.photo_id = f.photo_id
           JOIN people p ON p.id = f.person_id WHERE p.name IS NULL"""
    )


# ---- placing faces on people -------------------------------------------------------------------


def place_face(
    library: Library,
    face_id: int,
    person_id: int | None,
    assignment: str | None = None,
    rejected: Iterable[int] | None = None,
) -> None:
    """Put a face on a person (None: on nobody); its assignment and "not" list change only when given."""
    sets, params = ["person_id = ?"], [person_id]
    if assignment is not None:
        sets.append("assignment = ?")
        params.append(assignment)
    if rejected is not None:
        sets.append("rejected_person_ids = ?")
        params.append(encode_rejected(rejected))
    library.catalog.execute(f"UPDATE faces SET {', '.join(sets)} WHERE id = ?", [*params, face_id])


def set_rejected(library: Library, face_id: int, rejected: Iterable[int]) -> None:
    library.catalog.execute(
        "UPDATE faces SET rejected_person_ids = ? WHERE id = ?", (encode_rejected(rejected), face_id)
    )


def set_pinned_reference(library: Library, face_id: int, value: int) -> None:
    """1 pinned as a reference of its person, -1 dropped from the references, 0 left to ranking."""
    library.catalog.execute("UPDATE faces SET pinned_reference = ? WHERE id = ?", (value, face_id))
