"""Faces and people as the faces stage hands them out: typed records read from the catalog."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from photogen.box import Box
from photogen.errors import PhotogenError
from photogen.faces.cluster_types import FaceRecord
from photogen.library import faces_store, people_store
from photogen.library.library import Library


@dataclass(frozen=True, slots=True, eq=False)
class StoredFace:
    """A face as the catalog holds it. `box` is in the photo's oriented pixels."""

    id: int
    photo_id: int
    box: Box
    landmarks: np.ndarray  # (5, 2) float32, same pixels as `box`
    score: float
    quality: float
    embedding: np.ndarray  # unit float32 vector in the space of `backend`
    backend: str
    person_id: int | None
    assignment: str  # auto | user | rejected
    rejected_person_ids: frozenset[int]
    pinned_reference: int  # 1 pinned, -1 dropped, 0 automatic

    @property
    def record(self) -> FaceRecord:
        return FaceRecord(self.id, self.photo_id, self.embedding, self.quality)

    @property
    def is_pinned(self) -> bool:
        return self.assignment == "user" and self.person_id is not None


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str | None
    is_me: bool
    hidden: bool
    face_count: int
    photo_ids: list[int]
    suggested_name: str | None

    @property
    def label(self) -> str:
        return self.name or f"Person {self.id}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "is_me": self.is_me,
            "face_count": self.face_count,
            "photo_ids": self.photo_ids,
            "suggested_name": self.suggested_name,
            "hidden": self.hidden,
        }


@dataclass(frozen=True, slots=True)
class FaceListing:
    """A face with where it is, for listings (`photogen faces list`)."""

    id: int
    photo_id: int
    photo_path: str | None
    album: str | None
    box: Box  # whole pixels
    score: float
    quality: float
    person_id: int | None
    assignment: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "photo_id": self.photo_id,
            "photo_path": self.photo_path,
            "album": self.album,
            "box": list(self.box),
            "score": round(self.score, 4),
            "quality": round(self.quality, 4),
            "person_id": self.person_id,
            "assignment": self.assignment,
        }


@dataclass(frozen=True, slots=True)
class PersonReferences:
    """A person's best reference faces for generation and the direction of their identity."""

    person_id: int
    name: str | None
    faces: list[StoredFace]
    person_centroid: np.ndarray  # unit vector, quality-weighted mean of the person's faces


@dataclass(frozen=True, slots=True)
class ClusteringReport:
    faces: int
    people: int
    new_people: int
    unassigned: int
    changed: int

    def as_dict(self) -> dict[str, int]:
        return {
            "faces": self.faces,
            "people": self.people,
            "new_people": self.new_people,
            "unassigned": self.unassigned,
            "changed": self.changed,
        }


def _face_from_row(row: Any) -> StoredFace:
    landmarks = (
        np.frombuffer(row["landmarks"], dtype=np.float32).reshape(5, 2)
        if row["landmarks"]
        else np.zeros((5, 2), np.float32)
    )
    return StoredFace(
        id=row["id"],
        photo_id=row["photo_id"],
        box=Box(row["box_x"], row["box_y"], row["box_w"], row["box_h"]),
        landmarks=landmarks,
        score=row["score"],
        quality=row["quality"],
        embedding=np.frombuffer(row["embedding"], dtype=np.float32),
        backend=row["backend"],
        person_id=row["person_id"],
        assignment=row["assignment"],
        rejected_person_ids=frozenset(int(p) for p in json.loads(row["rejected_person_ids"] or "[]")),
        pinned_reference=row["pinned_reference"],
    )


def load_faces(
    library: Library, *, backend: str | None = None, person_id: int | None = None, usable_only: bool = True
) -> list[StoredFace]:
    """Faces in the catalog (of usable photos only, unless asked), optionally of one backend or person."""
    rows = faces_store.face_rows(library, backend=backend, person_id=person_id, usable_only=usable_only)
    return [_face_from_row(r) for r in rows]


def get_face(library: Library, face_id: int) -> StoredFace:
    row = faces_store.face_row(library, face_id)
    if row is None:
        raise PhotogenError(f"No face with id {face_id}; see `photogen faces list`.")
    return _face_from_row(row)


def require_person(library: Library, person_id: int) -> Any:
    """The person's catalog row; a `PhotogenError` that says where to look when there is none."""
    row = people_store.person_row(library, person_id)
    if row is None:
        raise PhotogenError(f"No person with id {person_id}; see `photogen people list`.")
    return row
