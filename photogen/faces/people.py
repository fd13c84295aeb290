"""People in the catalog: faces stored per photo, grouped into people, and the user's say over both.

The clustering itself is pure (`photogen.faces.cluster`); this module maps it onto the catalog:

- `faces.assignment` is 'auto' (placed by clustering), 'user' (the user put the face on its person:
  a pin) or 'rejected' (the user said it is nobody); `faces.rejected_person_ids` lists the people a
  face was moved away from ("not this person"). Together they are `cluster.UserDecisions`.
- Person ids stay stable across a full re-cluster: each new cluster takes the person most of its
  faces were on before, so names, "me" and "hidden" (stored on the person) stick, and a merge (the
  merged person's faces are rewritten onto the survivor) holds.
- A person exists while it has faces: a person left with none is deleted, as a revoke does.

Every user action is one transaction and one audit-log entry.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from photogen.errors import PhotogenError
from photogen.faces.cluster import (
    ClusterParams,
    FaceRecord,
    PeopleAssignment,
    UserDecisions,
    best_reference_faces,
    cluster_faces,
    person_centroid,
    recluster_around,
)
from photogen.library.catalog import Catalog, utc_now
from photogen.library.library import Library
from photogen.settings import Settings

logger = logging.getLogger(__name__)

NOBODY = "none"
NEW_PERSON = "new"
MoveTarget = int | Literal["none", "new"] | None

_FACE_COLUMNS = (
    "id, photo_id, box_x, box_y, box_w, box_h, landmarks, score, quality, embedding, backend, person_id, "
    "assignment, rejected_person_ids, pinned_reference"
)


@dataclass(frozen=True, slots=True, eq=False)
class StoredFace:
    """A face as the catalog holds it. `box` is (x, y, w, h) in the photo's oriented pixels."""

    id: int
    photo_id: int
    box: tuple[float, float, float, float]
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
    box: tuple[int, int, int, int]
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


# ---- reading -----------------------------------------------------------------------------------


def encode_vector(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype=np.float32).tobytes()


def _face_from_row(row: Any) -> StoredFace:
    landmarks = (
        np.frombuffer(row["landmarks"], dtype=np.float32).reshape(5, 2)
        if row["landmarks"]
        else np.zeros((5, 2), np.float32)
    )
    return StoredFace(
        id=row["id"],
        photo_id=row["photo_id"],
        box=(row["box_x"], row["box_y"], row["box_w"], row["box_h"]),
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
    where, params = ["1 = 1"], []
    if usable_only:
        where.append("photo_id IN (SELECT id FROM photos WHERE excluded = 0)")
    if backend is not None:
        where.append("backend = ?")
        params.append(backend)
    if person_id is not None:
        where.append("person_id = ?")
        params.append(person_id)
    rows = library.catalog.query(f"SELECT {_FACE_COLUMNS} FROM faces WHERE {' AND '.join(where)} ORDER BY id", params)
    return [_face_from_row(r) for r in rows]


def get_face(library: Library, face_id: int) -> StoredFace:
    row = library.catalog.one(f"SELECT {_FACE_COLUMNS} FROM faces WHERE id = ?", (face_id,))
    if row is None:
        raise PhotogenError(f"No face with id {face_id}; see `photogen faces list`.")
    return _face_from_row(row)


def _require_person(cat: Catalog, person_id: int) -> Any:
    row = cat.one("SELECT * FROM people WHERE id = ?", (person_id,))
    if row is None:
        raise PhotogenError(f"No person with id {person_id}; see `photogen people list`.")
    return row


def decisions_of(faces: Iterable[StoredFace], merged: Mapping[int, int] | None = None) -> UserDecisions:
    """The user's decisions recorded on these faces (and the user's merges), as clustering takes them."""
    pinned: dict[int, int] = {}
    nobody: set[int] = set()
    rejected: dict[int, frozenset[int]] = {}
    for face in faces:
        if face.is_pinned:
            assert face.person_id is not None
            pinned[face.id] = face.person_id
        elif face.assignment == "rejected":
            nobody.add(face.id)
        if face.rejected_person_ids:
            rejected[face.id] = face.rejected_person_ids
    return UserDecisions(pinned=pinned, nobody=frozenset(nobody), rejected=rejected, merged=dict(merged or {}))


def user_merges(cat: Catalog) -> dict[int, int]:
    """person -> the person the user merged it into, from the audit log (the record of user actions).

    Clustering needs them: a person the user merged may span two clusters, while two clusters
    that an earlier automatic run happened to join are split again.
    """
    merges: dict[int, int] = {}
    existing = {r[0] for r in cat.query("SELECT id FROM people")}
    undone = {r[0] for r in cat.query("SELECT target FROM audit_log WHERE action = 'people.undo'")}
    for row in cat.query("SELECT id, target, detail FROM audit_log WHERE action = 'person.merge' ORDER BY id"):
        if str(row["id"]) in undone:
            continue
        into = json.loads(row["detail"] or "{}").get("into")
        if row["target"] is None or into is None:
            continue
        source = int(row["target"])
        if source in existing:  # SQLite reuses the highest id: that is a new person now, not the merged one
            merges.pop(source, None)
        else:
            merges[source] = int(into)
    return merges


def cluster_params(settings: Settings) -> ClusterParams:
    return ClusterParams(
        link_threshold=settings.face_link_threshold,
        attach_threshold=settings.face_attach_threshold,
        min_quality=settings.face_min_quality,
        min_faces=settings.face_min_faces,
    )


def suggested_names(library: Library) -> dict[int, str]:
    """Person -> a name from Takeout sidecars, where a person's photos and the names line up.

    For each person, the share of their named photos whose sidecar lists a name; best shares are
    matched first, one name a person and one person a name, so a name everyone stands next to goes
    to the person in every one of those photos. A share must be at least one half (two photos at
    least when the person has several), names the user already gave are not offered again, and
    people with a name get no suggestion.
    """
    cat = library.catalog
    rows = cat.query(
        """SELECT DISTINCT f.person_id, n.photo_id, n.name FROM faces f JOIN photo_names n ON n.photo_id = f.photo_id
           JOIN people p ON p.id = f.person_id WHERE p.name IS NULL"""
    )
    if not rows:
        return {}
    taken = {r[0].casefold() for r in cat.query("SELECT name FROM people WHERE name IS NOT NULL")}
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
    cat = library.catalog
    rows = cat.query(
        """SELECT p.id, p.name, p.is_me, p.hidden, f.photo_id FROM people p
           JOIN faces f ON f.person_id = p.id JOIN photos ph ON ph.id = f.photo_id AND ph.excluded = 0
           ORDER BY p.id, f.photo_id"""
    )
    people: dict[int, dict[str, Any]] = {}
    for r in rows:
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
    _require_person(library.catalog, person_id)
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
                box=(round(x), round(y), round(w), round(h)),
                score=face.score,
                quality=face.quality,
                person_id=face.person_id,
                assignment=face.assignment,
            )
        )
    return listings


# ---- clustering --------------------------------------------------------------------------------


def recluster(library: Library) -> ClusteringReport:
    """Full re-cluster of every face of the current backend, honouring the user's decisions."""
    settings = library.settings
    cat = library.catalog
    with cat.tx():
        faces = load_faces(library, backend=settings.face_backend)
        previous = {f.id: f.person_id for f in faces if f.person_id is not None}
        decisions = decisions_of(faces, user_merges(cat))
        result = cluster_faces([f.record for f in faces], decisions, previous, cluster_params(settings))
        report = _apply(cat, faces, result)
        upto = max((f.id for f in faces), default=0)
        cat.audit("people.recluster", None, actor="photogen", upto=upto, **report.as_dict())
    logger.info("re-clustered %d faces into %d people (%d new)", report.faces, report.people, report.new_people)
    return report


def _clustered_up_to(cat: Catalog) -> int:
    """The highest face id the last clustering run saw (faces above it are new), 0 if none did."""
    row = cat.one(
        "SELECT detail FROM audit_log WHERE action IN ('people.assign', 'people.recluster') ORDER BY id DESC LIMIT 1"
    )
    return int(json.loads(row["detail"] or "{}").get("upto", 0)) if row is not None else 0


def assign_unassigned(library: Library, fresh: Iterable[int] = ()) -> ClusteringReport:
    """Incremental step after indexing: faces on nobody join people, or form new ones.

    Faces no run has clustered yet are re-clustered together with the people they could change
    and the left-over faces near them (`cluster.recluster_around`), so the people come out as a
    full re-cluster would make them, whatever order the photos came in; the rest is not touched.
    New are the faces above the highest id the last run saw, and `fresh` (the faces the caller
    just stored: SQLite may give a new face the id of a deleted one).
    """
    settings = library.settings
    cat = library.catalog
    with cat.tx():
        faces = load_faces(library, backend=settings.face_backend)
        seen = _clustered_up_to(cat)
        fresh = set(fresh)
        members: dict[int, list[FaceRecord]] = {}
        new: list[FaceRecord] = []
        leftovers: list[FaceRecord] = []
        for face in faces:
            if face.person_id is not None:
                members.setdefault(face.person_id, []).append(face.record)
            elif face.assignment != "rejected":
                (new if face.id > seen or face.id in fresh else leftovers).append(face.record)
        if not new:
            return ClusteringReport(len(faces), len(members), 0, 0, 0)
        decisions = decisions_of(faces, user_merges(cat))
        result, scope = recluster_around(new, members, decisions, cluster_params(settings), leftovers)
        report = _apply(cat, [f for f in faces if f.id in scope], result, total=len(faces))
        cat.audit("people.assign", None, actor="photogen", upto=max(f.id for f in faces), **report.as_dict())
    return report


def _apply(
    cat: Catalog, faces: Sequence[StoredFace], result: PeopleAssignment, *, total: int | None = None
) -> ClusteringReport:
    """Write a clustering outcome for `faces`: new people get rows, faces move, people left with none go."""
    person_of = result.person_of()
    for group in result.new_people:
        person = int(cat.execute("INSERT INTO people (created_at) VALUES (?)", (utc_now(),)).lastrowid)
        person_of.update(dict.fromkeys(group, person))
    changed = 0
    for face in faces:
        if face.is_pinned or face.assignment == "rejected":
            continue  # the user's say is never rewritten by clustering
        target = person_of.get(face.id)
        if target != face.person_id:
            cat.execute("UPDATE faces SET person_id = ?, assignment = 'auto' WHERE id = ?", (target, face.id))
            changed += 1
    _drop_empty_people(cat)
    people = cat.scalar("SELECT count(*) FROM people")
    faces_count = len(faces) if total is None else total
    return ClusteringReport(faces_count, int(people), len(result.new_people), len(result.unassigned), changed)


def _drop_empty_people(cat: Catalog) -> None:
    cat.execute("DELETE FROM people WHERE id NOT IN (SELECT DISTINCT person_id FROM faces WHERE person_id IS NOT NULL)")


# ---- the user's actions ------------------------------------------------------------------------


def name_person(library: Library, person_id: int, name: str | None) -> None:
    """Name a person (an empty name clears it)."""
    cat = library.catalog
    clean = " ".join((name or "").split()) or None
    if clean is not None and len(clean) > 200:
        raise PhotogenError("That name is too long; keep it under 200 characters.")
    with cat.tx():
        _require_person(cat, person_id)
        _require_unique_name(cat, person_id, clean)
        cat.execute("UPDATE people SET name = ? WHERE id = ?", (clean, person_id))
        cat.audit("person.name", str(person_id), name=clean)


def _require_unique_name(cat: Catalog, person_id: int, name: str | None) -> None:
    """Names are unique (ignoring case), so "@Penny" always means one person."""
    if name is None:
        return
    for row in cat.query("SELECT id, name FROM people WHERE id != ? AND name IS NOT NULL", (person_id,)):
        if row["name"].casefold() == name.casefold():
            raise PhotogenError(
                f"Person {row['id']} is already named {row['name']!r}, and a name picks one person in a prompt. "
                f"Give this one a different name (e.g. {name + ' 2'!r}), or merge the two if they are the same person."
            )


def mark_me(library: Library, person_id: int) -> None:
    """Mark the one person who is the user (any earlier "me" is unmarked)."""
    cat = library.catalog
    with cat.tx():
        _require_person(cat, person_id)
        cat.execute("UPDATE people SET is_me = (id = ?)", (person_id,))
        cat.audit("person.me", str(person_id))


def hide_person(library: Library, person_id: int, hidden: bool = True) -> None:
    cat = library.catalog
    with cat.tx():
        _require_person(cat, person_id)
        cat.execute("UPDATE people SET hidden = ? WHERE id = ?", (int(hidden), person_id))
        cat.audit("person.hide" if hidden else "person.unhide", str(person_id))


ConflictChoice = Literal["keep", "nobody"]
CONFLICT_CHOICES: tuple[ConflictChoice, ...] = ("keep", "nobody")
UNDOABLE = ("person.merge", "face.move", "person.split")


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
    cat = library.catalog
    if person_id == into_id:
        raise PhotogenError(f"Person {person_id} cannot be merged into itself; give two different ids.")
    _require_person(cat, person_id)
    _require_person(cat, into_id)
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


def _snapshot(cat: Catalog, person_ids: Iterable[int], face_ids: Iterable[int] = ()) -> dict[str, Any]:
    """What an undo needs: the people rows, and the faces on them (or named) as they are now."""
    pids = sorted({int(p) for p in person_ids})
    marks = ",".join("?" * len(pids)) or "NULL"
    people_rows = [dict(r) for r in cat.query(f"SELECT id, name, is_me, hidden, created_at FROM people WHERE id IN ({marks})", pids)]
    face_rows = cat.query(
        f"""SELECT id, person_id, assignment, rejected_person_ids FROM faces WHERE person_id IN ({marks})
            OR id IN ({",".join("?" * len(list(face_ids))) or "NULL"})""",
        [*pids, *face_ids],
    )
    me = cat.scalar("SELECT id FROM people WHERE is_me = 1")
    return {"people": people_rows, "faces": [dict(r) for r in face_rows], "me": me}


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
    cat = library.catalog
    with cat.tx():
        plan = plan_merge(library, person_id, into_id)
        source, target = _require_person(cat, person_id), _require_person(cat, into_id)
        undo = _snapshot(cat, [person_id, into_id], [r["id"] for r in cat.query("SELECT id FROM faces WHERE rejected_person_ids != '[]'")])
        for face_id in plan.moving:
            cat.execute("UPDATE faces SET person_id = ? WHERE id = ?", (into_id, face_id))
        if conflicts == "nobody":
            for conflict in plan.conflicts:
                face = get_face(library, conflict.face_id)
                rejected = json.dumps(sorted(face.rejected_person_ids | {into_id}))
                cat.execute(
                    "UPDATE faces SET person_id = NULL, assignment = 'rejected', rejected_person_ids = ? WHERE id = ?",
                    (rejected, conflict.face_id),
                )
        source_left = conflicts == "keep" and bool(plan.conflicts)
        for row in cat.query("SELECT id, rejected_person_ids FROM faces WHERE rejected_person_ids != '[]'"):
            rejected = set(json.loads(row["rejected_person_ids"]))
            if person_id in rejected and not source_left:
                rejected = (rejected - {person_id}) | {into_id}
                cat.execute(
                    "UPDATE faces SET rejected_person_ids = ? WHERE id = ?", (json.dumps(sorted(rejected)), row["id"])
                )
        cat.execute(
            "UPDATE people SET name = ?, is_me = ?, hidden = ? WHERE id = ?",
            (
                target["name"] or (None if source_left else source["name"]),
                int(bool(target["is_me"] or (source["is_me"] and not source_left))),
                int(bool(target["hidden"] and source["hidden"])),
                into_id,
            ),
        )
        if not source_left:
            cat.execute("DELETE FROM people WHERE id = ?", (person_id,))
        cat.audit(
            "person.merge", str(person_id), into=into_id, moved=len(plan.moving), conflicts=len(plan.conflicts),
            conflict_choice=conflicts, undo=undo,
        )
    return plan


def faces_on_no_one(library: Library) -> list[StoredFace]:
    """Faces in allowed photos that are on no person (left out by grouping, or put there by the user),
    best first: People shows them so each can be named or added to someone."""
    faces = [f for f in load_faces(library) if f.person_id is None]
    return sorted(faces, key=lambda f: (-f.quality, f.id))


def last_undoable(library: Library) -> tuple[int, str, dict[str, Any]] | None:
    """The latest merge or move that can still be undone: (audit id, action, detail), or None."""
    undone = {int(r[0]) for r in library.catalog.query("SELECT target FROM audit_log WHERE action = 'people.undo'")}
    marks = ",".join("?" * len(UNDOABLE))
    for row in library.catalog.query(
        f"SELECT id, action, detail FROM audit_log WHERE action IN ({marks}) ORDER BY id DESC LIMIT 50", UNDOABLE
    ):
        detail = json.loads(row["detail"] or "{}")
        if row["id"] not in undone and "undo" in detail:
            return int(row["id"]), row["action"], detail
    return None


def undo_last(library: Library) -> str:
    """Undo the latest merge or face move: the people and faces it changed go back as they were.

    Faces deleted since (a revoke) stay deleted. Returns what was undone, in words.
    """
    cat = library.catalog
    with cat.tx():
        found = last_undoable(library)
        if found is None:
            raise PhotogenError("There is no merge or move to undo.")
        audit_id, action, detail = found
        snap = detail["undo"]
        for p in snap["people"]:
            cat.execute(
                "INSERT OR REPLACE INTO people (id, name, is_me, hidden, created_at) VALUES (?, ?, ?, ?, ?)",
                (p["id"], p["name"], p["is_me"], p["hidden"], p["created_at"]),
            )
        if snap.get("me") is not None:
            cat.execute("UPDATE people SET is_me = (id = ?)", (snap["me"],))
        for f in snap["faces"]:
            cat.execute(
                "UPDATE faces SET person_id = ?, assignment = ?, rejected_person_ids = ? WHERE id = ?",
                (f["person_id"], f["assignment"], f["rejected_person_ids"], f["id"]),
            )
        _drop_empty_people(cat)
        cat.audit("people.undo", str(audit_id), undid=action)
    return {"person.merge": "Undid the merge.", "person.split": "Undid the split."}.get(action, "Undid the move.")


def _settle_person(library: Library, person_id: int) -> None:
    """Automatic faces that break a rule (same photo as another face, or "not" this person) leave."""
    cat = library.catalog
    faces = load_faces(library, person_id=person_id, usable_only=False)
    if not faces:
        return
    centre = np.sum([f.embedding for f in faces], axis=0)
    ranked = sorted(faces, key=lambda f: (not f.is_pinned, -float(f.embedding @ centre)))
    photos: set[int] = set()
    for face in ranked:
        if not face.is_pinned and (face.photo_id in photos or person_id in face.rejected_person_ids):
            cat.execute("UPDATE faces SET person_id = NULL, assignment = 'auto' WHERE id = ?", (face.id,))
        else:
            photos.add(face.photo_id)


def move_face(library: Library, face_id: int, target: MoveTarget) -> int | None:
    """Put a face on a person (an id, or "new" for a new person), or on nobody ("none" or None).

    The move sticks across re-clustering, and the face is marked "not" the person it left. Returns
    the person the face is now on.
    """
    cat = library.catalog
    with cat.tx():
        face = get_face(library, face_id)
        old = face.person_id
        same_photo = [r[0] for r in cat.query("SELECT id FROM faces WHERE photo_id = ?", (face.photo_id,))]
        undo = _snapshot(cat, [p for p in (old, target) if isinstance(p, int)], same_photo)
        rejected = set(face.rejected_person_ids)
        if old is not None and old != target:
            rejected.add(old)
        if target is None or target == NOBODY:
            person = None
            cat.execute(
                "UPDATE faces SET person_id = NULL, assignment = 'rejected', rejected_person_ids = ? WHERE id = ?",
                (json.dumps(sorted(rejected)), face_id),
            )
        else:
            if target == NEW_PERSON:
                person = int(cat.execute("INSERT INTO people (created_at) VALUES (?)", (utc_now(),)).lastrowid)
            else:
                person = int(target)
                _require_person(cat, person)
            clash = cat.one(
                "SELECT id, assignment FROM faces WHERE photo_id = ? AND person_id = ? AND id != ?",
                (face.photo_id, person, face_id),
            )
            if clash is not None and clash["assignment"] == "user":
                raise PhotogenError(
                    f"Face {clash['id']} of the same photo is already on person {person}, and one person appears "
                    f"once in a photo. Move face {clash['id']} elsewhere first."
                )
            if clash is not None:
                cat.execute("UPDATE faces SET person_id = NULL, assignment = 'auto' WHERE id = ?", (clash["id"],))
            rejected.discard(person)
            cat.execute(
                "UPDATE faces SET person_id = ?, assignment = 'user', rejected_person_ids = ? WHERE id = ?",
                (person, json.dumps(sorted(rejected)), face_id),
            )
        _drop_empty_people(cat)
        cat.audit("face.move", str(face_id), from_person=old, to_person=person, undo=undo)
    return person


def parse_move_target(text: str) -> MoveTarget:
    """A move target as typed: a person id, 'none' (nobody) or 'new' (a new person)."""
    value = text.strip().lower()
    if value in (NOBODY, "nobody"):
        return NOBODY
    if value == NEW_PERSON:
        return NEW_PERSON
    try:
        return int(value)
    except ValueError:
        raise PhotogenError(
            f"'{text}' is not a person id; give a number from `photogen people list`, 'none' or 'new'."
        ) from None


def set_reference(library: Library, face_id: int, state: Literal["pin", "drop", "auto"]) -> None:
    """Pin a face as a reference of its person, drop it from the references, or leave it to ranking."""
    values = {"pin": 1, "drop": -1, "auto": 0}
    if state not in values:
        raise PhotogenError(f"A reference is 'pin', 'drop' or 'auto', not '{state}'.")
    cat = library.catalog
    with cat.tx():
        get_face(library, face_id)
        cat.execute("UPDATE faces SET pinned_reference = ? WHERE id = ?", (values[state], face_id))
        cat.audit("face.reference", str(face_id), state=state)


def reference_faces(library: Library, person_id: int, limit: int = 5) -> PersonReferences:
    """A person's best reference faces, pinned ones first, then by quality (one a photo)."""
    row = _require_person(library.catalog, person_id)
    faces = [f for f in load_faces(library, person_id=person_id) if f.pinned_reference >= 0]
    if not faces:
        raise PhotogenError(f"Person {person_id} has no usable faces left to take references from.")
    by_id = {f.id: f for f in faces}
    pinned = sorted((f for f in faces if f.pinned_reference > 0), key=lambda f: (-f.quality, f.id))
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


# ---- splitting and merge suggestions (at library scale) ----------------------------------------


def split_person(library: Library, person_id: int, face_ids: Sequence[int]) -> int:
    """'These are someone else': the chosen faces of a person become a new person of their own.

    The faces are pinned there and marked "not" `person_id`, so no re-cluster puts them back; the
    person keeps the rest. `undo_last` undoes it. Returns the new person's id.
    """
    chosen = sorted(set(face_ids))
    if not chosen:
        raise PhotogenError("Choose the faces that are someone else first.")
    cat = library.catalog
    with cat.tx():
        _require_person(cat, person_id)
        own = {f.id for f in load_faces(library, person_id=person_id, usable_only=False)}
        strangers = [f for f in chosen if f not in own]
        if strangers:
            raise PhotogenError(
                f"Face(s) {', '.join(map(str, strangers))} are not on person {person_id}; "
                f"see `photogen faces list --person {person_id}`."
            )
        if len(chosen) == len(own):
            raise PhotogenError(
                "Those are all of this person's faces: nothing is left to split them from. "
                "To say they are nobody, move them to 'none'."
            )
        undo = _snapshot(cat, [person_id], chosen)
        new = int(cat.execute("INSERT INTO people (created_at) VALUES (?)", (utc_now(),)).lastrowid)
        for face_id in chosen:
            rejected = json.dumps(sorted(get_face(library, face_id).rejected_person_ids | {person_id}))
            cat.execute(
                "UPDATE faces SET person_id = ?, assignment = 'user', rejected_person_ids = ? WHERE id = ?",
                (new, rejected, face_id),
            )
        cat.audit("person.split", str(person_id), into=new, faces=chosen, undo=undo)
    logger.info("split %d face(s) of person %d into person %d", len(chosen), person_id, new)
    return new


@dataclass(frozen=True, slots=True)
class MergeSuggestion:
    """Two people that may be one: their mean face similarity is just under the link threshold."""

    person_id: int
    other_id: int
    similarity: float  # mean cosine over every pair of their faces, as the clustering measures it

    def as_dict(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "other_id": self.other_id, "similarity": round(self.similarity, 4)}


def merge_suggestions(
    library: Library, *, limit: int = 20, margin: float = 0.1, block: int = 1024
) -> list[MergeSuggestion]:
    """'Are these the same person?': pairs of people whose faces are, on average, almost similar
    enough for the clustering to have joined them (within `margin` under its link threshold),
    most similar first.

    Pairs that cannot be one person are left out: both in one photo, a face the user said is not
    the other, or a pair the user already answered "not the same" (`dismiss_suggestion`). People
    are compared in blocks of their summed embeddings, so memory stays linear in the people.
    """
    settings = library.settings
    cat = library.catalog
    faces = [f for f in load_faces(library, backend=settings.face_backend) if f.person_id is not None]
    ids = sorted({f.person_id for f in faces if f.person_id is not None})
    if len(ids) < 2:
        return []
    index = {p: i for i, p in enumerate(ids)}
    owner = np.array([index[f.person_id] for f in faces if f.person_id is not None])
    totals = np.zeros((len(ids), len(faces[0].embedding)), dtype=np.float64)
    np.add.at(totals, owner, np.stack([f.embedding for f in faces]).astype(np.float64))
    sizes = np.bincount(owner, minlength=len(ids)).astype(np.float64)
    # 1. Pairs that cannot be one person
    never: set[tuple[int, int]] = set()
    photos: dict[int, set[int]] = {}
    for face in faces:
        assert face.person_id is not None
        photos.setdefault(face.photo_id, set()).add(face.person_id)
        for other in face.rejected_person_ids:
            never.add((min(face.person_id, other), max(face.person_id, other)))
    for together in photos.values():
        never.update((a, b) for a in together for b in together if a < b)
    never |= dismissed_suggestions(cat)
    # 2. Mean similarity of every pair, a block of people at a time
    floor = settings.face_link_threshold - margin
    found: list[MergeSuggestion] = []
    for start in range(0, len(ids), block):
        sims = (totals[start : start + block] @ totals.T) / np.outer(sizes[start : start + block], sizes)
        rows, cols = np.nonzero(sims >= floor)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            a, b = ids[start + r], ids[c]
            if a < b and (a, b) not in never:
                found.append(MergeSuggestion(a, b, float(sims[r, c])))
    found.sort(key=lambda s: (-s.similarity, s.person_id, s.other_id))
    return found[:limit]


def dismissed_suggestions(cat: Catalog) -> set[tuple[int, int]]:
    """Pairs of people the user said are not the same, (smaller id, larger id)."""
    pairs = set()
    for row in cat.query("SELECT target, detail FROM audit_log WHERE action = 'people.not_same'"):
        other = json.loads(row["detail"] or "{}").get("other")
        if row["target"] is not None and other is not None:
            a, b = int(row["target"]), int(other)
            pairs.add((min(a, b), max(a, b)))
    return pairs


def dismiss_suggestion(library: Library, person_id: int, other_id: int) -> None:
    """The user says two people are not the same: they are not suggested together again."""
    if person_id == other_id:
        raise PhotogenError("Give two different people.")
    cat = library.catalog
    with cat.tx():
        _require_person(cat, person_id)
        _require_person(cat, other_id)
        cat.audit("people.not_same", str(min(person_id, other_id)), other=max(person_id, other_id))
