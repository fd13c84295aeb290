"""Reading people: who is in the library, their faces, suggested names and best reference faces."""

from __future__ import annotations

from collections import Counter
from typing import Any

from photogen.box import Box
from photogen.errors import PhotogenError
from photogen.faces.people.records import (
    FaceListing,
    Person,
    PersonReferences,
    StoredFace,
    load_faces,
    require_person,
)
from photogen.faces.reference_faces import best_reference_faces, person_centroid
from photogen.library import faces_store, people_store
from photogen.library.library import Library


def suggested_names(library: Library) -> dict[int, str]:
    """Person -> a name from Takeout sidecars, where a person's photos and the names line up.

    For each person, the share of their named photos whose sidecar lists a name; best shares are
    matched first, one name a person and one person a name, so a name everyone stands next to goes
    to the person in every one of those photos. A share must be at least one half (two photos at
    least when the person has several), names the user already gave are not offered again, and
    people with a name get no suggestion.
    """
    rows = faces_store.sidecar_names_of_unnamed_people(library)
    if not rows:
        return {}
    taken = {name.casefold() for name in people_store.given_names(library)}
    named_photos: dict[int, set[int]] = {}
    counts: dict[int, Counter[str]] = {}
    for person, photo, name in rows:
        named_photos.setdefault(person, set()).add(photo)
        counts.setdefault(person, Counter())[name] += 1
    candidates = []
    for person, counter in counts.items():
        total = len(named_photos[person])
        for name, count in counter.items():
            share = count / total
            if name.casefold() in taken or share < 0.5 or (total > 1 and count < 2):
                continue
            candidates.append((-share, -count, person, name))
    result: dict[int, str] = {}
    used: set[str] = set()
    for _, _, person, name in sorted(candidates):
        if person in result or name.casefold() in used:
            continue
        result[person] = name
        used.add(name.casefold())
    return result


def list_people(library: Library, *, include_hidden: bool = True) -> list[Person]:
    """People, "me" first, then by how many faces they have."""
    people: dict[int, dict[str, Any]] = {}
    for r in faces_store.people_photos(library):
        entry = people.setdefault(
            r["id"], {"name": r["name"], "is_me": bool(r["is_me"]), "hidden": bool(r["hidden"]), "photos": []}
        )
        entry["photos"].append(r["photo_id"])
    suggestions = suggested_names(library)
    result = [
        Person(
            id=pid,
            name=e["name"],
            is_me=e["is_me"],
            hidden=e["hidden"],
            face_count=len(e["photos"]),
            photo_ids=sorted(set(e["photos"])),
            suggested_name=suggestions.get(pid),
        )
        for pid, e in people.items()
        if include_hidden or not e["hidden"]
    ]
    return sorted(result, key=lambda p: (not p.is_me, p.name is None, -p.face_count, p.id))


def get_person(library: Library, person_id: int) -> Person:
    require_person(library, person_id)
    for person in list_people(library):
        if person.id == person_id:
            return person
    raise PhotogenError(f"Person {person_id} has no faces in allowed photos; see `photogen people list`.")


def list_faces(library: Library, *, person_id: int | None = None) -> list[FaceListing]:
    from photogen.library.photos import list_photos

    photos = {p.id: p for p in list_photos(library)}
    listings = []
    for face in load_faces(library, person_id=person_id):
        photo = photos.get(face.photo_id)
        x, y, w, h = face.box
        listings.append(
            FaceListing(
                id=face.id,
                photo_id=face.photo_id,
                photo_path=photo.path if photo else None,
                album=photo.album if photo else None,
                box=Box(round(x), round(y), round(w), round(h)),
                score=face.score,
                quality=face.quality,
                person_id=face.person_id,
                assignment=face.assignment,
            )
        )
    return listings


def best_faces_first(faces: list[StoredFace]) -> list[StoredFace]:
    """Faces by quality, best first (then by id), as galleries show them."""
    return sorted(faces, key=lambda f: (-f.quality, f.id))


def faces_of_person(library: Library, person_id: int) -> list[StoredFace]:
    """A person's faces in allowed photos, best first."""
    return best_faces_first(load_faces(library, person_id=person_id))


def faces_on_no_one(library: Library) -> list[StoredFace]:
    """Faces in allowed photos that are on no person (left out by grouping, or put there by the user),
    best first: People shows them so each can be named or added to someone."""
    return best_faces_first([f for f in load_faces(library) if f.person_id is None])


def reference_faces(library: Library, person_id: int, limit: int = 5) -> PersonReferences:
    """A person's best reference faces, pinned ones first, then by quality (one a photo)."""
    row = require_person(library, person_id)
    faces = [f for f in load_faces(library, person_id=person_id) if f.pinned_reference >= 0]
    if not faces:
        raise PhotogenError(f"Person {person_id} has no usable faces left to take references from.")
    by_id = {f.id: f for f in faces}
    pinned = best_faces_first([f for f in faces if f.pinned_reference > 0])
    chosen = pinned[:limit]
    photos = {f.photo_id for f in chosen}
    rest = [f.record for f in faces if f.pinned_reference == 0 and f.photo_id not in photos]
    for record in best_reference_faces(rest, limit=len(rest)):
        if len(chosen) >= limit:
            break
        if record.photo_id not in photos:
            chosen.append(by_id[record.face_id])
            photos.add(record.photo_id)
    centroid = person_centroid([f.embedding for f in faces], [max(f.quality, 1e-3) for f in faces])
    return PersonReferences(person_id=person_id, name=row["name"], faces=chosen, person_centroid=centroid)
