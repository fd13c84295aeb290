"""How alike a generated image's faces are to the people asked for.

Each person is matched to at most one generated face and each face to at most one person, best
cosine first (greedy on the similarity matrix; exact for two people and plenty for a few), with the
default face embedder (SFace) against the person's reference centroid. A person whose face is not
found scores 0 and the reason says so. An image's likeness is the mean over its people: `--best-of`
ranks variants by it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from photogen.faces.analyzer import FaceAnalyzer
from photogen.generate.identity.references import PersonReference

# Below this cosine a face is not taken to be the person; it still reports its score, but "note" says so.
# Derived by `bench/likeness_threshold.py` from the labelled portraits of shared/faces (SFace, 15 people,
# 94 photos), scored the way a creation is: each photo's largest face against its own person's centroid
# built from their other photos (94 same-person scores: 0.611-0.940) and against every other person's
# centroid (1316 different-person scores: at most 0.461, p99 0.368). The threshold is the first step of
# 0.01 above the highest different-person score (`derive_threshold`): false matches 0 of 1316 (0%; 95%
# upper bound 3/1316 = 0.23% by the rule of three), false non-matches 0 of 94. The old 0.36 let 15 of
# 1316 (1.1%) different-person scores through.
MATCH_THRESHOLD = 0.47
MEASURED_FALSE_MATCHES = (0, 1316)  # (false matches, different-person comparisons) at MATCH_THRESHOLD


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


def centroid_scores(portraits: Mapping[str, Sequence[tuple[np.ndarray, float]]]) -> tuple[np.ndarray, np.ndarray]:
    """Same-person and different-person cosines, scored as a creation is scored.

    `portraits` maps a person to their faces (unit embedding, quality). Each face is compared with its
    own person's centroid built without it (leave one out) and with every other person's full centroid.
    People with a single face give only different-person scores.
    """
    from photogen.faces.reference_faces import person_centroid

    def centroid(items: Sequence[tuple[np.ndarray, float]]) -> np.ndarray:
        return person_centroid([e for e, _ in items], [max(q, 1e-3) for _, q in items])

    full = {who: centroid(items) for who, items in portraits.items()}
    same: list[float] = []
    different: list[float] = []
    for who, items in portraits.items():
        for i, (embedding, _quality) in enumerate(items):
            rest = [x for j, x in enumerate(items) if j != i]
            if rest:
                same.append(float(embedding @ centroid(rest)))
            different.extend(float(embedding @ c) for other, c in full.items() if other != who)
    return np.array(same), np.array(different)


def derive_threshold(different: np.ndarray, step: float = 0.01) -> float:
    """The first multiple of `step` above every different-person score: no false match on the measured set."""
    return round((np.floor(round(float(different.max()) / step, 9)) + 1) * step, 6)


def match_rates(same: np.ndarray, different: np.ndarray, threshold: float) -> tuple[float, float]:
    """(false-match rate, false-non-match rate) at `threshold`."""
    return float((different >= threshold).mean()), float((same < threshold).mean())


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
