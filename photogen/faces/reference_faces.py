"""A person's identity from their faces: the centroid of their embeddings and their best reference faces."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from photogen.faces.cluster_types import FaceRecord, PhotoId


def person_centroid(embeddings: Iterable[np.ndarray], weights: Iterable[float] | None = None) -> np.ndarray:
    """A person's reference direction: the (optionally quality-weighted) mean of unit embeddings, unit length."""
    matrix = np.stack(list(embeddings)).astype(np.float64)
    if weights is not None:
        w = np.asarray(list(weights), dtype=np.float64)
        matrix = matrix * w[:, None]
    mean = matrix.sum(axis=0)
    norm = float(np.linalg.norm(mean))
    if norm < 1e-12:
        raise ValueError("the embeddings cancel out; a centroid needs at least one face with weight > 0")
    return (mean / norm).astype(np.float32)


def best_reference_faces(
    faces: Sequence[FaceRecord], limit: int = 5, *, min_similarity: float = 0.3
) -> list[FaceRecord]:
    """A person's best reference faces for generation: highest quality first, one per photo.

    Faces that sit far from the person's own centroid (below `min_similarity`) are left out even
    if sharp, as they are more likely to be a wrong assignment than a good likeness.
    """
    if not faces:
        return []
    centroid = person_centroid([f.embedding for f in faces], [max(f.quality, 1e-3) for f in faces])
    ranked = sorted(faces, key=lambda f: (-f.quality, f.face_id))
    chosen: list[FaceRecord] = []
    photos: set[PhotoId] = set()
    for face in ranked:
        if face.photo_id in photos or float(face.embedding @ centroid) < min_similarity:
            continue
        chosen.append(face)
        photos.add(face.photo_id)
        if len(chosen) == limit:
            break
    return chosen
