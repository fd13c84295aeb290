"""How alike a generated image's faces are to the people asked for.

Each person is matched to at most one generated face and each face to at most one person, best
cosine first (greedy on the similarity matrix; exact for two people and plenty for a few), with the
default face embedder (SFace) against the person's reference centroid. A person whose face is not
found scores 0 and the reason says so. An image's likeness is the mean over its people: `--best-of`
ranks variants by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from photogen.faces.analyzer import FaceAnalyzer
from photogen.generate.identity.references import PersonReference

# Below this cosine a face is not taken to be the person (SFace: different people measured at most
# 0.34 on shared/faces, same person 0.70-0.93); it still reports its score, but "note" says so.
MATCH_THRESHOLD = 0.36


@dataclass(frozen=True)
class PersonLikeness:
    person_id: int
    name: str
    score: float  # cosine with the person's centroid, clamped at 0; 0 when no face was found
    found: bool
    box: tuple[int, int, int, int] | None  # (x, y, w, h) of the matched face
    note: str


@dataclass(frozen=True)
class ImageLikeness:
    people: tuple[PersonLikeness, ...]
    faces_found: int

    @property
    def score(self) -> float:
        return float(np.mean([p.score for p in self.people])) if self.people else 0.0

    def to_json(self) -> dict[str, object]:
        return {"score": round(self.score, 4), "faces_found": self.faces_found,
                "people": [asdict(p) | {"score": round(p.score, 4)} for p in self.people]}  # fmt: skip


def score_likeness(image: np.ndarray, people: Sequence[PersonReference], analyzer: FaceAnalyzer) -> ImageLikeness:
    """Likeness of each person in `image` (RGB uint8)."""
    faces = analyzer.analyze(np.asarray(image))
    if not faces:
        return ImageLikeness(
            tuple(PersonLikeness(p.person_id, p.name, 0.0, False, None, "no face found in the image") for p in people),
            0,
        )
    sims = np.array([[float(f.embedding @ p.centroid) for f in faces] for p in people])
    result: dict[int, PersonLikeness] = {}
    free_faces = set(range(len(faces)))
    for flat in np.argsort(-sims, axis=None):
        pi, fi = divmod(int(flat), len(faces))
        if pi in result or fi not in free_faces:
            continue
        p, score = people[pi], max(0.0, sims[pi, fi])
        note = "matched" if score >= MATCH_THRESHOLD else "best face found does not look like them"
        result[pi] = PersonLikeness(p.person_id, p.name, score, True, faces[fi].box, note)
        free_faces.discard(fi)
    for pi, p in enumerate(people):
        if pi not in result:
            result[pi] = PersonLikeness(p.person_id, p.name, 0.0, False, None, "no face left for them in the image")
    return ImageLikeness(tuple(result[i] for i in range(len(people))), len(faces))
