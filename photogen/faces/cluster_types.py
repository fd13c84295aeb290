"""What clustering takes and gives: face records, the user's decisions, its knobs and its outcome."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

FaceId = int
PhotoId = int
PersonId = int


@dataclass(frozen=True, slots=True, eq=False)
class FaceRecord:
    """What clustering needs of a face. `embedding` must be unit length (as `FaceAnalyzer` gives)."""

    face_id: FaceId
    photo_id: PhotoId
    embedding: np.ndarray
    quality: float


@dataclass(frozen=True, slots=True)
class UserDecisions:
    """Choices the user made that every clustering run must honour.

    - `pinned`: face -> the person the user put it on (moved there or confirmed).
    - `nobody`: faces the user said belong to no person; never assigned.
    - `rejected`: face -> people it is "not"; it is never assigned to any of them.
    - `merged`: person -> the person it was merged into (chains are followed).
    """

    pinned: Mapping[FaceId, PersonId] = field(default_factory=dict)
    nobody: frozenset[FaceId] = frozenset()
    rejected: Mapping[FaceId, frozenset[PersonId]] = field(default_factory=dict)
    merged: Mapping[PersonId, PersonId] = field(default_factory=dict)

    def resolve(self, person: PersonId) -> PersonId:
        """The person `person` lives on as after merges."""
        seen = {person}
        while person in self.merged:
            person = self.merged[person]
            if person in seen:  # a merge cycle would be a catalog bug; stop rather than loop
                break
            seen.add(person)
        return person


@dataclass(frozen=True, slots=True)
class ClusterParams:
    """Knobs of the clustering, cosine similarities for unit SFace embeddings."""

    link_threshold: float
    attach_threshold: float
    min_quality: float
    min_faces: int
    neighbours: int = 30


# Measured on shared/faces with SFace (94 labelled faces of 15 people plus 55 faces of group
# photos as distractors): same-person pairs 0.42-0.98 (5th percentile 0.51, median 0.76),
# different-person pairs at most 0.44 (99th percentile 0.34). Sweeping the link threshold, pairwise
# F1 on the labelled faces is 1.00 with no mixed person and no group-photo stranger on a labelled
# person for every value in 0.30-0.45; at 0.25 five strangers join labelled people, at 0.50 recall
# starts to drop. 0.38 sits inside that plateau, next to SFace's published same-identity cosine of
# 0.363. Attaching a single face asks a little more (0.40), as weak faces land closer to everyone.
DEFAULT_PARAMS = ClusterParams(link_threshold=0.38, attach_threshold=0.40, min_quality=0.35, min_faces=2)


@dataclass(frozen=True, slots=True)
class PeopleAssignment:
    """The outcome of a clustering run.

    `people` holds the people that keep an id the caller gave (pinned, or matched to the previous
    run); `new_people` the groups that need a new person; `unassigned` the faces on nobody.
    """

    people: dict[PersonId, tuple[FaceId, ...]]
    new_people: tuple[tuple[FaceId, ...], ...]
    unassigned: tuple[FaceId, ...]

    def person_of(self) -> dict[FaceId, PersonId]:
        """Face -> person for the faces on an existing person."""
        return {face: person for person, faces in self.people.items() for face in faces}


def embedding_matrix(faces: Sequence[FaceRecord]) -> np.ndarray:
    if not faces:
        return np.zeros((0, 0), dtype=np.float32)
    dims = {f.embedding.shape for f in faces}
    if len(dims) != 1:
        raise ValueError(f"faces from different embedding spaces cannot be clustered together: {sorted(dims)}")
    return np.stack([f.embedding for f in faces]).astype(np.float32)

