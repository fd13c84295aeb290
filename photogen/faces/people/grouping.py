"""The automatic grouping: clustering mapped onto the catalog's people, and "same person?" suggestions.

- Person ids stay stable across a full re-cluster: each new cluster takes the person most of its
  faces were on before, so names, "me" and "hidden" (stored on the person) stick, and a merge (the
  merged person's faces are rewritten onto the survivor) holds.
- The user's say (pins, "nobody", "not this person", merges: `decisions_of`, `user_merges`) is
  never rewritten by clustering.
- A person exists while it has faces: a person left with none is deleted, as a revoke does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from photogen.faces.cluster import cluster_faces
from photogen.faces.cluster_types import ClusterParams, FaceRecord, PeopleAssignment, UserDecisions
from photogen.faces.incremental import recluster_around
from photogen.faces.people.records import ClusteringReport, StoredFace, load_faces
from photogen.library import faces_store, people_store
from photogen.library.library import Library
from photogen.settings import Settings

logger = logging.getLogger(__name__)


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


def user_merges(library: Library) -> dict[int, int]:
    """person -> the person the user merged it into, from the audit log (the record of user actions).

    Clustering needs them: a person the user merged may span two clusters, while two clusters
    that an earlier automatic run happened to join are split again.
    """
    merges: dict[int, int] = {}
    existing = people_store.person_ids(library)
    undone = set(people_store.undone_targets(library))
    for row in people_store.merge_entries(library):
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


def recluster(library: Library) -> ClusteringReport:
    """Full re-cluster of every face of the current backend, honouring the user's decisions."""
    settings = library.settings
    cat = library.catalog
    with cat.tx():
        faces = load_faces(library, backend=settings.face_backend)
        previous = {f.id: f.person_id for f in faces if f.person_id is not None}
        decisions = decisions_of(faces, user_merges(library))
        result = cluster_faces([f.record for f in faces], decisions, previous, cluster_params(settings))
        report = _apply(library, faces, result)
        upto = max((f.id for f in faces), default=0)
        cat.audit("people.recluster", None, actor="photogen", upto=upto, **report.as_dict())
    logger.info("re-clustered %d faces into %d people (%d new)", report.faces, report.people, report.new_people)
    return report


def _clustered_up_to(library: Library) -> int:
    """The highest face id the last clustering run saw (faces above it are new), 0 if none did."""
    return int(json.loads(people_store.latest_clustering_detail(library) or "{}").get("upto", 0))


def assign_unassigned(library: Library, fresh: Iterable[int] = ()) -> ClusteringReport:
    """Incremental step after indexing: faces on nobody join people, or form new ones.

    Faces no run has clustered yet are re-clustered together with the people they could change
    and the left-over faces near them (`incremental.recluster_around`), so the people come out as
    a full re-cluster would make them, whatever order the photos came in; the rest is not touched.
    New are the faces above the highest id the last run saw, and `fresh` (the faces the caller
    just stored: SQLite may give a new face the id of a deleted one).
    """
    settings = library.settings
    cat = library.catalog
    with cat.tx():
        faces = load_faces(library, backend=settings.face_backend)
        seen = _clustered_up_to(library)
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
        decisions = decisions_of(faces, user_merges(library))
        result, scope = recluster_around(new, members, decisions, cluster_params(settings), leftovers)
        report = _apply(library, [f for f in faces if f.id in scope], result, total=len(faces))
        cat.audit("people.assign", None, actor="photogen", upto=max(f.id for f in faces), **report.as_dict())
    return report


def _apply(
    library: Library, faces: Sequence[StoredFace], result: PeopleAssignment, *, total: int | None = None
) -> ClusteringReport:
    """Write a clustering outcome for `faces`: new people get rows, faces move, people left with none go."""
    person_of = result.person_of()
    for group in result.new_people:
        person_of.update(dict.fromkeys(group, people_store.new_person(library)))
    changed = 0
    for face in faces:
        if face.is_pinned or face.assignment == "rejected":
            continue  # the user's say is never rewritten by clustering
        target = person_of.get(face.id)
        if target != face.person_id:
            faces_store.place_face(library, face.id, target, "auto")
            changed += 1
    people_store.drop_empty_people(library)
    faces_count = len(faces) if total is None else total
    return ClusteringReport(
        faces_count, people_store.count_people(library), len(result.new_people), len(result.unassigned), changed
    )


# ---- "are these the same person?" --------------------------------------------------------------


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
    never |= dismissed_suggestions(library)
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


def dismissed_suggestions(library: Library) -> set[tuple[int, int]]:
    """Pairs of people the user said are not the same, (smaller id, larger id)."""
    pairs = set()
    for row in people_store.not_same_entries(library):
        other = json.loads(row["detail"] or "{}").get("other")
        if row["target"] is not None and other is not None:
            a, b = int(row["target"]), int(other)
            pairs.add((min(a, b), max(a, b)))
    return pairs
