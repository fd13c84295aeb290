"""A person's centroid and best reference faces (`photogen.faces.reference_faces`)."""

from __future__ import annotations

import numpy as np
import pytest

from photogen.faces.cluster_types import FaceRecord
from photogen.faces.reference_faces import best_reference_faces, person_centroid
from tests.faces.synthetic import synthetic_people


def test_centroid_and_reference_ranking() -> None:
    data = synthetic_people(1, 6, seed=17)
    faces = [
        FaceRecord(i, i // 2, emb, q)
        for i, ((_, emb), q) in enumerate(zip(data, [0.2, 0.9, 0.5, 0.8, 0.3, 0.7], strict=True))
    ]
    centroid = person_centroid([f.embedding for f in faces])
    assert abs(np.linalg.norm(centroid) - 1) < 1e-6 and all(float(f.embedding @ centroid) > 0.5 for f in faces)
    best = best_reference_faces(faces, limit=5)
    assert [f.face_id for f in best] == [1, 3, 5]  # quality order, one per photo (photos 0, 1, 2)
    impostor = FaceRecord(50, 50, -centroid, 1.0)
    assert impostor not in best_reference_faces([*faces, impostor])
    with pytest.raises(ValueError):
        person_centroid([centroid, -centroid])
