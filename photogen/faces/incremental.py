"""Clustering as photos arrive: only the people the new faces can change are re-clustered.

So the people come out as a full re-cluster would make them, whatever order the photos came in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from photogen.faces.cluster import PeopleAssignment, cluster_faces
from photogen.faces.cluster_types import (
    DEFAULT_PARAMS,
    ClusterParams,
    FaceId,
    FaceRecord,
    PersonId,
    UserDecisions,
    embedding_matrix,
)

# How far below a threshold a person still counts as near the new faces when choosing what to
# re-cluster: the margin covers what a few new faces can move a person's mean by.
_SCOPE_MARGIN = 0.05


def _person_totals(owner: np.ndarray, matrix: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Per person: the sum of its unit embeddings and its number of faces."""
    totals = np.zeros((count, matrix.shape[1]), dtype=np.float64)
    np.add.at(totals, owner, matrix)
    sizes = np.bincount(owner, minlength=count).astype(np.float64)
    return totals, np.maximum(sizes, 1.0)


def people_near(
    faces: Sequence[FaceRecord],
    people: Mapping[PersonId, Sequence[FaceRecord]],
    params: ClusterParams = DEFAULT_PARAMS,
    block: int = 128,
) -> set[PersonId]:
    """The people a full re-cluster could change by adding `faces` to the library.

    Average linkage never joins two groups without a pair of faces at or above the link threshold
    (their mean would be below it), and a weak face only attaches to a person whose mean it
    reaches. So a new face can only change the people that own a face linked to it, or whose mean
    it nearly reaches; and those people, once changed, only the people whose mean similarity to
    them is near the link threshold (they may now merge). Everything else clusters as before.
    """
    ids = list(people)
    if not ids or not faces:
        return set()
    members = [f for person in ids for f in people[person]]
    owner = np.repeat(np.arange(len(ids)), [len(people[p]) for p in ids])
    matrix = embedding_matrix(members)
    new = embedding_matrix(faces)
    if new.shape[1] != matrix.shape[1]:
        raise ValueError("faces from different embedding spaces cannot be clustered together")
    totals, sizes = _person_totals(owner, matrix, len(ids))
    near = np.zeros(len(ids), dtype=bool)
    for start in range(0, len(new), block):
        rows = new[start : start + block]
        linked = np.flatnonzero(((rows @ matrix.T) >= params.link_threshold - _SCOPE_MARGIN).any(axis=0))
        near[owner[linked]] = True
        means = (rows.astype(np.float64) @ totals.T) / sizes
        near |= (means >= min(params.attach_threshold, params.link_threshold) - _SCOPE_MARGIN).any(axis=0)
    # 2. People close enough to the changed ones to merge with them now
    chosen = np.flatnonzero(near)
    if len(chosen):
        means = (totals[chosen] @ totals.T) / np.outer(sizes[chosen], sizes)
        near |= (means >= params.link_threshold - _SCOPE_MARGIN).any(axis=0)
    return {ids[i] for i in np.flatnonzero(near)}


def _faces_near(
    candidates: Sequence[FaceRecord], anchors: Sequence[FaceRecord], params: ClusterParams, block: int = 128
) -> list[FaceRecord]:
    """The candidates with a face among `anchors` they could link to (within the scope margin)."""
    if not candidates or not anchors:
        return []
    targets = embedding_matrix(anchors)
    matrix = embedding_matrix(candidates)
    floor = min(params.link_threshold, params.attach_threshold) - 2 * _SCOPE_MARGIN
    near: list[FaceRecord] = []
    for start in range(0, len(candidates), block):
        hit = ((matrix[start : start + block] @ targets.T) >= floor).any(axis=1)
        near.extend(candidates[start + i] for i in np.flatnonzero(hit))
    return near


def recluster_around(
    new_faces: Sequence[FaceRecord],
    people: Mapping[PersonId, Sequence[FaceRecord]],
    decisions: UserDecisions | None = None,
    params: ClusterParams = DEFAULT_PARAMS,
    leftovers: Sequence[FaceRecord] = (),
) -> tuple[PeopleAssignment, frozenset[FaceId]]:
    """The incremental step as photos arrive, giving what a full re-cluster would give.

    `new_faces` are faces no clustering has seen yet; `leftovers` the faces on nobody that an
    earlier run already saw; `people` the current people with all their faces. Only the people
    the new faces can change (`people_near`) are re-clustered, with the new faces and the
    leftovers that could link to any of them, by `cluster_faces`; everything else stays as it
    is (a leftover far from every change would be left over again). Returns the outcome for the
    faces in that scope, and the scope: the ids of every face the outcome covers (one not on a
    person in it is on nobody).

    Attaching new faces to people as they stand instead (the earlier way) made the people depend
    on the order photos arrive in: the first two faces of a small batch could form a wrong person
    that later faces kept growing, and two people of one identity started in different batches
    never met again.
    """
    decisions = decisions or UserDecisions()
    near = people_near(new_faces, people, params)
    members = [f for person in sorted(near) for f in people[person]]
    woken = _faces_near(leftovers, [*new_faces, *members], params)
    scope_faces = [*new_faces, *woken, *members]
    previous = {f.face_id: person for person in near for f in people[person]}
    result = cluster_faces(scope_faces, decisions, previous, params)
    return result, frozenset(f.face_id for f in scope_faces)

