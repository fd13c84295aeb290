"""Grouping faces into people (a full re-cluster): pure functions over typed records, no I/O.

The algorithm is average-linkage agglomerative clustering on cosine similarity with cannot-link
constraints, run on the faces good enough to define a person, then settled against the user's
decisions, then the remaining faces attach to the person they resemble most:

1. Faces marked "nobody" sit out; faces with quality >= `min_quality` start as singletons.
2. Clusters merge best pair first while their mean pairwise cosine is >= `link_threshold`, never
   when that would put two faces of one photo together. With unit vectors the mean pairwise cosine
   of clusters A and B is sum(A) . sum(B) / (|A| |B|), so a merge costs O(dim) whatever the sizes.
   Two clusters never merge without a pair of faces at or above the threshold (the best pair
   bounds their mean), so the graph of each face's nearest neighbours above it (`neighbours`: numpy
   blocks up to 20,000 faces, an HNSW index above) falls apart into connected groups that are
   agglomerated one by one (`linkage`); groups the approximate search left apart are joined by
   their exact means. Memory stays linear in the faces, with no Python object per candidate pair.
3. Clusters smaller than `min_faces` dissolve. Each other cluster takes the person most of its
   faces were on: pinned faces vote for their person, other faces for the person they had in the
   previous run (merged people count as the person they were merged into). Clusters with no vote
   are new people. So ids stay stable across a full re-cluster, and one face moved by the user
   does not drag its look-alikes along.
4. Each person keeps every face the user pinned on it; an automatic face leaves it if the user said
   it is "not" this person or if the person already has a face from the same photo.
5. The faces left over and the low-quality ones join the person whose faces they are on average
   most similar to, if that is >= `attach_threshold`, under the same constraints; the rest stay
   unassigned rather than pollute a person.

As photos arrive, `incremental.recluster_around` runs the same steps on the new faces and the
people near them only, so the people do not depend on the order photos come in.

Thresholds were measured on the labelled DEV set in `shared/faces`; the numbers and the sweep
behind them are next to `DEFAULT_PARAMS` (`cluster_types`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from photogen.faces.cluster_types import (
    DEFAULT_PARAMS,
    ClusterParams,
    FaceId,
    FaceRecord,
    PeopleAssignment,
    PersonId,
    PhotoId,
    UserDecisions,
    embedding_matrix,
)
from photogen.faces.linkage import agglomerate

logger = logging.getLogger(__name__)


class _Cluster:
    """A group of faces under construction: the sums that make average linkage O(dim)."""

    __slots__ = ("faces", "total", "photos", "rejected", "person")

    def __init__(self, face: FaceRecord, rejected: frozenset[PersonId], person: PersonId | None) -> None:
        self.faces: list[FaceRecord] = [face]
        self.total: np.ndarray = face.embedding.astype(np.float64).copy()
        self.photos: set[PhotoId] = {face.photo_id}
        self.rejected: set[PersonId] = set(rejected)
        self.person = person  # set only for a pinned person's cluster

    def add(self, face: FaceRecord, rejected: frozenset[PersonId]) -> None:
        self.faces.append(face)
        self.total += face.embedding
        self.photos.add(face.photo_id)
        self.rejected |= rejected

    def absorb(self, other: _Cluster) -> None:
        self.faces.extend(other.faces)
        self.total += other.total
        self.photos |= other.photos
        self.rejected |= other.rejected
        self.person = self.person if self.person is not None else other.person

    def mean_similarity(self, other: _Cluster) -> float:
        return float(self.total @ other.total) / (len(self.faces) * len(other.faces))

    def can_join(self, other: _Cluster) -> bool:
        if self.person is not None and other.person is not None and self.person != other.person:
            return False
        if self.person is not None and self.person in other.rejected:
            return False
        if other.person is not None and other.person in self.rejected:
            return False
        small, large = sorted((self.photos, other.photos), key=len)
        return small.isdisjoint(large)

    def can_take(self, face: FaceRecord, rejected: frozenset[PersonId]) -> bool:
        if face.photo_id in self.photos:
            return False
        return self.person is None or self.person not in rejected



def _attach(
    clusters: list[_Cluster],
    faces: Sequence[FaceRecord],
    rejected: Mapping[FaceId, frozenset[PersonId]],
    threshold: float,
    block: int = 256,
) -> list[FaceRecord]:
    """Put each face on the cluster it is most similar to on average; return the faces left over.

    Best (face, cluster) pairs go first, so when two faces of one photo want the same person the
    more similar one gets it and the other tries its next choice.
    """
    if not clusters or not faces:
        return list(faces)
    totals = np.stack([c.total for c in clusters])
    sizes = np.array([len(c.faces) for c in clusters], dtype=np.float64)
    matrix = embedding_matrix(faces).astype(np.float64)
    # only the (face, cluster) pairs at or above the threshold are kept, a block of faces at a time
    found_sims, found_faces, found_clusters = [], [], []
    for start in range(0, len(faces), block):
        sims = (matrix[start : start + block] @ totals.T) / sizes
        rows, cols = np.nonzero(sims >= threshold)
        found_sims.append(sims[rows, cols])
        found_faces.append(rows + start)
        found_clusters.append(cols)
    pair_sims, pair_faces, pair_clusters = (np.concatenate(x) for x in (found_sims, found_faces, found_clusters))
    placed: set[int] = set()
    for k in np.lexsort((pair_clusters, pair_faces, -pair_sims)).tolist():
        fi, ci = int(pair_faces[k]), int(pair_clusters[k])
        if fi in placed:
            continue
        face = faces[fi]
        face_rejected = rejected.get(face.face_id, frozenset())
        if clusters[ci].can_take(face, face_rejected):
            # similarities are not refreshed: a face joining changes a person's mean only slightly
            clusters[ci].add(face, face_rejected)
            placed.add(fi)
    return [f for i, f in enumerate(faces) if i not in placed]


def _cluster_of(faces: Iterable[FaceRecord], decisions: UserDecisions, person: PersonId | None) -> _Cluster:
    iterator = iter(faces)
    first = next(iterator)
    cluster = _Cluster(first, decisions.rejected.get(first.face_id, frozenset()), person)
    for face in iterator:
        cluster.add(face, decisions.rejected.get(face.face_id, frozenset()))
    return cluster


def _votes(
    cluster: _Cluster, pinned: Mapping[FaceId, PersonId], previous: Mapping[FaceId, PersonId], decisions: UserDecisions
) -> tuple[dict[PersonId, int], dict[PersonId, int]]:
    """(pins, previous-run votes) of a cluster's faces, person -> count."""
    pins: dict[PersonId, int] = {}
    before: dict[PersonId, int] = {}
    for face in cluster.faces:
        if face.face_id in pinned:
            person = pinned[face.face_id]
            pins[person] = pins.get(person, 0) + 1
            continue
        last = previous.get(face.face_id)
        if last is None:
            continue
        person = decisions.resolve(last)
        if person not in decisions.rejected.get(face.face_id, frozenset()):
            before[person] = before.get(person, 0) + 1
    return pins, before


def _name_clusters(
    clusters: Sequence[_Cluster],
    pinned: Mapping[FaceId, PersonId],
    previous: Mapping[FaceId, PersonId],
    decisions: UserDecisions,
) -> list[PersonId | None]:
    """The person each cluster is, or None for a new person.

    A cluster's faces vote: a pinned face for its person, another face for the person it was on
    in the previous run. Best offers go first, and each person goes to one cluster only, so a
    person an earlier run got wrong (two people joined because they were seen in an unlucky
    order, e.g. one face of each in a first batch) splits again instead of staying joined by
    history. Only the user can put two clusters on one person: a cluster holding pins for a
    person may share it, and so may any cluster a person the user merged others into.
    """
    names: list[PersonId | None] = [None] * len(clusters)
    shared = {decisions.resolve(p) for p in decisions.merged}
    taken: set[PersonId] = set()
    offers: list[tuple[int, PersonId, int, bool]] = []
    for index, cluster in enumerate(clusters):
        pins, before = _votes(cluster, pinned, previous, decisions)
        for person in pins.keys() | before.keys():
            offers.append((-(pins.get(person, 0) + before.get(person, 0)), person, index, person in pins))
    for _, person, index, pinned_here in sorted(offers):
        if names[index] is None and (person not in taken or pinned_here or person in shared):
            names[index] = person
            taken.add(person)
    return names


def _settle_person(
    person: PersonId, pinned_faces: list[FaceRecord], auto_faces: list[FaceRecord], decisions: UserDecisions
) -> tuple[_Cluster, list[FaceRecord]]:
    """One person from the user's faces and the automatic ones; returns it and the faces it must give up.

    Pinned faces always stay. An automatic face leaves if the user said it is not this person, or
    if the person already has a face from its photo (the one closer to the person stays).
    """
    everyone = pinned_faces + auto_faces
    centre = np.sum([f.embedding for f in everyone], axis=0)
    ranked = sorted(auto_faces, key=lambda f: -float(f.embedding @ centre))
    photos = {f.photo_id for f in pinned_faces}
    kept, evicted = list(pinned_faces), []
    for face in ranked:
        if face.photo_id in photos or person in decisions.rejected.get(face.face_id, frozenset()):
            evicted.append(face)
        else:
            kept.append(face)
            photos.add(face.photo_id)
    return _cluster_of(kept, decisions, person), evicted


def cluster_faces(
    faces: Sequence[FaceRecord],
    decisions: UserDecisions | None = None,
    previous: Mapping[FaceId, PersonId] | None = None,
    params: ClusterParams = DEFAULT_PARAMS,
) -> PeopleAssignment:
    """Full re-cluster of all faces into people, honouring `decisions`.

    `previous` (face -> person of the last run) keeps person ids stable: a cluster takes the person
    most of its faces were on (pinned faces vote for their person too). It never forces a face.
    """
    decisions = decisions or UserDecisions()
    previous = previous or {}
    # 1. User decisions: "nobody" faces sit out, pins are resolved through merges
    pinned = {f: decisions.resolve(p) for f, p in decisions.pinned.items()}
    unassigned: list[FaceId] = [f.face_id for f in faces if f.face_id in decisions.nobody]
    candidates = [f for f in faces if f.face_id not in decisions.nobody]
    good = [f for f in candidates if f.quality >= params.min_quality]
    weak = [f for f in candidates if f.quality < params.min_quality and f.face_id not in pinned]

    # 2. Agglomerate the good faces, pinned ones included: they show where their person's faces are
    groups = agglomerate(good, embedding_matrix(good), params)

    # 3. Name clusters by vote; groups too small to be a person dissolve
    pinned_faces: dict[PersonId, list[FaceRecord]] = {}
    for face in candidates:
        if face.face_id in pinned:
            pinned_faces.setdefault(pinned[face.face_id], []).append(face)
    auto_faces: dict[PersonId, list[FaceRecord]] = {}
    new_groups: list[_Cluster] = []
    loose: list[FaceRecord] = []
    clusters: list[_Cluster] = []
    for group in groups:
        members = [good[i] for i in group.tolist()]
        if len(members) < params.min_faces:
            loose.extend(f for f in members if f.face_id not in pinned)
        elif any(f.face_id not in pinned for f in members):
            clusters.append(_cluster_of(members, decisions, None))
    for cluster, person in zip(clusters, _name_clusters(clusters, pinned, previous, decisions), strict=True):
        auto = [f for f in cluster.faces if f.face_id not in pinned]
        if person is None:
            new_groups.append(_cluster_of(auto, decisions, None))
        else:
            auto_faces.setdefault(person, []).extend(auto)

    # 4. Settle each known person: the user's faces stay, conflicting automatic faces leave
    people: dict[PersonId, _Cluster] = {}
    for person in sorted(set(pinned_faces) | set(auto_faces)):
        people[person], evicted = _settle_person(
            person, pinned_faces.get(person, []), auto_faces.get(person, []), decisions
        )
        loose.extend(evicted)

    # 5. Attach the leftovers and the weak faces where they clearly belong
    left = _attach([*people.values(), *new_groups], loose + weak, decisions.rejected, params.attach_threshold)
    unassigned.extend(f.face_id for f in left)
    logger.info(
        "clustered %d faces: %d known people, %d new, %d unassigned",
        len(faces), len(people), len(new_groups), len(unassigned),
    )  # fmt: skip
    return PeopleAssignment(
        people={p: tuple(f.face_id for f in c.faces) for p, c in people.items()},
        new_people=tuple(tuple(f.face_id for f in c.faces) for c in new_groups),
        unassigned=tuple(unassigned),
    )


def assign_new_faces(
    new_faces: Sequence[FaceRecord],
    people: Mapping[PersonId, Sequence[FaceRecord]],
    unassigned: Sequence[FaceRecord] = (),
    decisions: UserDecisions | None = None,
    params: ClusterParams = DEFAULT_PARAMS,
) -> PeopleAssignment:
    """Incremental step as photos arrive: existing people keep their faces and may gain new ones.

    New faces join the existing person they match best (same rules as attaching in a full run).
    Those left over are clustered with the faces that were already unassigned, and groups of at
    least `min_faces` become new people. Returned `people` lists only the faces added to each.
    """
    decisions = decisions or UserDecisions()
    # 1. Existing people as fixed clusters (merged people pooled under the surviving id)
    clusters: dict[PersonId, _Cluster] = {}
    for person, members in people.items():
        target = decisions.resolve(person)
        for face in members:
            rejected = decisions.rejected.get(face.face_id, frozenset())
            if target in clusters:
                clusters[target].add(face, rejected)
            else:
                clusters[target] = _Cluster(face, rejected, target)
    existing = {f.face_id for c in clusters.values() for f in c.faces}

    # 2. New faces: user decisions first, then the best matching person
    added: dict[PersonId, list[FaceId]] = {}
    pending: list[FaceRecord] = []
    left_out: list[FaceId] = []
    for face in new_faces:
        if face.face_id in existing:
            continue
        if face.face_id in decisions.nobody:
            left_out.append(face.face_id)
        elif face.face_id in decisions.pinned:
            person = decisions.resolve(decisions.pinned[face.face_id])
            added.setdefault(person, []).append(face.face_id)
            if person in clusters:
                clusters[person].add(face, decisions.rejected.get(face.face_id, frozenset()))
        else:
            pending.append(face)
    targets = list(clusters.values())
    before = {id(c): len(c.faces) for c in targets}
    left = _attach(targets, pending, decisions.rejected, params.attach_threshold)
    for cluster in targets:
        for face in cluster.faces[before[id(cluster)] :]:
            assert cluster.person is not None
            added.setdefault(cluster.person, []).append(face.face_id)

    # 3. What is left, with the faces nobody claimed before, may form new people
    rest = cluster_faces(
        [*left, *(f for f in unassigned if f.face_id not in existing)],
        UserDecisions(nobody=decisions.nobody, rejected=decisions.rejected),
        params=params,
    )
    return PeopleAssignment(
        people={person: tuple(faces) for person, faces in added.items()},
        new_people=rest.new_people,
        unassigned=tuple(left_out) + rest.unassigned,
    )

