"""People from the catalog as identity references: who they are, their best faces, their crops.

A thin adapter on the library's people and face rows (`library.people_store`, `faces_store`) so
that generation does not depend on the faces stage's internals. The rules are the faces stage's:

- Only faces of photos that are not excluded and sit in an allowed (granted) album count; a revoke
  deletes the derived rows anyway, this also covers an album revoked since.
- References: the faces the user pinned (best quality first), then the best automatic ones by quality
  (`faces.reference_faces.best_reference_faces`: one a photo, none far from the person's centroid);
  dropped faces never. At most `limit` (5).
- The likeness centroid is the quality-weighted mean of all the person's usable default-backend faces.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from photogen.errors import PhotogenError
from photogen.faces.backend import DEFAULT_BACKEND
from photogen.faces.cluster_types import FaceRecord
from photogen.faces.reference_faces import best_reference_faces, person_centroid
from photogen.library import faces_store, people_store
from photogen.library.library import Library

logger = logging.getLogger(__name__)

# aligned reference crops are kept at this side: the CLIP encoders take 224, ArcFace-style embedders
# take the same crop shrunk to 112 (the template scales with the side)
REFERENCE_CROP_SIZE = 224
DEFAULT_REFERENCE_LIMIT = 5
_MAX_PIXELS = 200_000_000

# photo id -> oriented RGB uint8 pixels (the frame the catalog's boxes and landmarks are in)
PhotoLoader = Callable[[int], np.ndarray]


@dataclass(frozen=True, eq=False)
class ReferenceFace:
    face_id: int
    photo_id: int
    box: tuple[float, float, float, float]  # x, y, w, h
    landmarks: np.ndarray | None  # (5, 2) float32
    quality: float
    embedding: np.ndarray
    backend: str
    pinned: bool


@dataclass(frozen=True, eq=False)
class PersonReference:
    """One person ready for identity generation (no model has run on them yet)."""

    person_id: int
    name: str
    faces: tuple[ReferenceFace, ...]  # the chosen references, best first
    centroid: np.ndarray  # unit, default face backend: the likeness score's reference
    # (R, REFERENCE_CROP_SIZE, REFERENCE_CROP_SIZE, 3) aligned crops of `faces`, when pixels were loaded
    crops: np.ndarray | None = field(default=None, repr=False)

    @property
    def photo_ids(self) -> tuple[int, ...]:
        return tuple(f.photo_id for f in self.faces)


def find_person(library: Library, who: str) -> tuple[int, str]:
    """A person by name (case-insensitive), by id, or "me"; hidden people are refused."""
    text = who.strip()
    if text.isdigit():
        rows = people_store.people_with_id(library, int(text))
    elif text.lower() == "me":
        rows = people_store.people_marked_me(library)
    else:
        rows = people_store.people_named(library, text)
    if not rows:
        raise PhotogenError(
            f"No person '{who}' in the library (people whose photos were revoked are removed with them). "
            "Name a person first (`photogen people list`, `photogen people name ID NAME`)."
        )
    if len(rows) > 1:
        ids = ", ".join(str(r["id"]) for r in rows)
        raise PhotogenError(f"Several people are named '{who}' (ids {ids}): pass the id instead.")
    row = rows[0]
    name = row["name"] or f"person {row['id']}"
    if row["hidden"]:
        raise PhotogenError(f"{name} is hidden, so photogen does not use them in creations: unhide them first.")
    return int(row["id"]), name


def _decode_vector(blob: bytes | None, shape: tuple[int, ...] | None = None) -> np.ndarray | None:
    if blob is None:
        return None
    vec = np.frombuffer(blob, dtype=np.float32).copy()
    return vec.reshape(shape) if shape else vec


def usable_faces(library: Library, person_id: int, name: str) -> list[ReferenceFace]:
    """The person's faces on allowed, non-excluded photos that the user did not drop or reject."""
    rows = faces_store.usable_faces_of_person(library, person_id)
    allowed = [r for r in rows if r["allowed"] and not r["excluded"] and r["assignment"] != "rejected"]
    if rows and not allowed:
        raise PhotogenError(
            f"All of {name}'s photos are in albums whose access was revoked or are excluded: allow an album "
            f"with {name} in it again, or choose someone else."
        )
    faces = [
        ReferenceFace(
            face_id=int(r["id"]),
            photo_id=int(r["photo_id"]),
            box=(r["box_x"], r["box_y"], r["box_w"], r["box_h"]),
            landmarks=_decode_vector(r["landmarks"], (5, 2)),
            quality=float(r["quality"]),
            embedding=_decode_vector(r["embedding"]),  # type: ignore[arg-type]
            backend=r["backend"],
            pinned=r["pinned_reference"] > 0,
        )
        for r in allowed
        if r["pinned_reference"] >= 0
    ]
    if not faces:
        raise PhotogenError(
            f"{name} has no usable face: every face was dropped as a reference or none was found. Pin a good "
            f"face of {name} as a reference, or add photos of {name} and index again."
        )
    return faces


def select_references(faces: Sequence[ReferenceFace], limit: int = DEFAULT_REFERENCE_LIMIT) -> list[ReferenceFace]:
    """Pinned faces first (best quality first), then the best automatic ones, one a photo, at most `limit`."""
    pinned = sorted((f for f in faces if f.pinned), key=lambda f: (-f.quality, f.face_id))[:limit]
    photos = {f.photo_id for f in pinned}
    by_id = {f.face_id: f for f in faces}
    auto = [FaceRecord(f.face_id, f.photo_id, f.embedding, f.quality) for f in faces
            if not f.pinned and f.photo_id not in photos and f.backend == DEFAULT_BACKEND]  # fmt: skip
    chosen = list(pinned)
    for record in best_reference_faces(auto, limit=max(0, limit - len(chosen))):
        chosen.append(by_id[record.face_id])
    return chosen


def library_photo_loader(library: Library) -> PhotoLoader:
    def load(photo_id: int) -> np.ndarray:
        from photogen.library.images import load_rgb
        from photogen.library.photos import read_original

        return load_rgb(read_original(library, photo_id), _MAX_PIXELS)

    return load


def aligned_crops(faces: Sequence[ReferenceFace], load_photo: PhotoLoader,
                  size: int = REFERENCE_CROP_SIZE) -> tuple[list[ReferenceFace], np.ndarray]:  # fmt: skip
    """Aligned crops of the faces whose photo can be read; faces that cannot are left out (and logged)."""
    from photogen.faces.alignment import align_face

    kept, crops = [], []
    for face in faces:
        if face.landmarks is None:
            continue
        try:
            pixels = load_photo(face.photo_id)
        except PhotogenError as e:
            logger.warning("reference face %d left out: %s", face.face_id, e)
            continue
        crops.append(align_face(pixels, face.landmarks, size))
        kept.append(face)
    return kept, (np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8))


def person_reference(library: Library, who: str, *, limit: int = DEFAULT_REFERENCE_LIMIT,
                     load_photo: PhotoLoader | None = None, with_crops: bool = True) -> PersonReference:  # fmt: skip
    """Resolve `who` to a person with chosen references (and their aligned crops when `with_crops`)."""
    person_id, name = find_person(library, who)
    faces = usable_faces(library, person_id, name)
    default = [f for f in faces if f.backend == DEFAULT_BACKEND]
    if not default:
        raise PhotogenError(f"{name} has no face embedded by the default face model: re-index the library.")
    centroid = person_centroid([f.embedding for f in default], [max(f.quality, 1e-3) for f in default])
    chosen = select_references(faces, limit)
    crops = None
    if with_crops:
        chosen, crops = aligned_crops(chosen, load_photo or library_photo_loader(library))
        if not chosen:
            raise PhotogenError(
                f"None of {name}'s reference photos can be read from its source right now: reconnect the "
                "source (e.g. the external drive) or re-index."
            )
    return PersonReference(person_id, name, tuple(chosen), centroid, crops)


def people_references(library: Library, who: Sequence[str], **kwargs: object) -> list[PersonReference]:
    """Each `--person`, in order; the same person twice is an error (one identity, one region)."""
    people = [person_reference(library, w, **kwargs) for w in who]  # type: ignore[arg-type]
    seen: set[int] = set()
    for p in people:
        if p.person_id in seen:
            raise PhotogenError(f"{p.name} is named twice: list each person once.")
        seen.add(p.person_id)
    return people
