"""Synthetic face embeddings for the clustering tests: identities are random directions."""

from __future__ import annotations

import numpy as np

from photogen.faces.cluster_types import FaceRecord, PeopleAssignment


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def synthetic_people(n_people: int, per_person: int, seed: int = 0, spread: float = 0.35) -> list[tuple[int, np.ndarray]]:
    """(identity, embedding): identities are random directions, faces scatter around them."""
    rng = np.random.default_rng(seed)
    centres = [unit(rng.normal(size=128)) for _ in range(n_people)]
    out = []
    for who, centre in enumerate(centres):
        for _ in range(per_person):
            out.append((who, unit(centre + spread * unit(rng.normal(size=128)))))
    return out


def groups_of(result: PeopleAssignment) -> list[set[int]]:
    return [set(f) for f in result.people.values()] + [set(f) for f in result.new_people]


def two_look_alikes() -> tuple[list[FaceRecord], dict[int, int]]:
    """Two people 5 faces each, plus one face of each that resembles the other (cosine 0.47 between them)."""
    rng = np.random.default_rng(23)
    a, b = unit(rng.normal(size=128)), unit(rng.normal(size=128))
    b = unit(b - (b @ a) * a)  # orthogonal identities
    identity, vectors = {}, []
    for who, centre in ((0, a), (1, b)):
        for _ in range(5):
            identity[len(vectors)] = who
            vectors.append(unit(centre + 0.25 * unit(rng.normal(size=128))))
    identity[10], identity[11] = 0, 1
    vectors += [unit(a + 0.25 * b), unit(b + 0.25 * a)]
    return [FaceRecord(i, i, v, 0.9) for i, v in enumerate(vectors)], identity
