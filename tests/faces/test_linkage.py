"""Average linkage over the neighbour graph (`photogen.faces.linkage`, `photogen.faces.neighbours`)."""

from __future__ import annotations

import numpy as np
import pytest

from photogen.faces import linkage, neighbours
from photogen.faces.cluster import cluster_faces
from photogen.faces.cluster_types import DEFAULT_PARAMS, FaceRecord
from tests.faces.synthetic import groups_of, synthetic_people


def test_large_groups_and_the_approximate_search_give_the_same_people(monkeypatch: pytest.MonkeyPatch) -> None:
    """The paths a big library takes (heap linkage of a large group; HNSW search, then groups
    joined by their exact mean) give the people the small-library path gives."""
    data = synthetic_people(30, 8, seed=37, spread=0.5)
    faces = [FaceRecord(i, i if i % 11 else i - 1, emb, 0.9) for i, (_, emb) in enumerate(data)]
    expected = sorted(groups_of(cluster_faces(faces)), key=min)
    assert all(len({data[f][0] for f in g}) == 1 for g in expected) and len(expected) >= 30
    monkeypatch.setattr(linkage, "_DENSE_GROUP", 2)
    assert sorted(groups_of(cluster_faces(faces)), key=min) == expected
    monkeypatch.setattr(neighbours, "EXACT_SEARCH_LIMIT", 10)
    assert sorted(groups_of(cluster_faces(faces)), key=min) == expected
    # groups split by a search that found no edge between them are joined by their mean
    halves = [np.arange(0, 4), np.arange(4, 8), *(np.array([i]) for i in range(8, 16))]
    matrix = np.stack([f.embedding for f in faces[:16]])
    joined = linkage._join_split_groups(halves, matrix, np.arange(16), DEFAULT_PARAMS.link_threshold)
    assert sorted(sorted(g.tolist()) for g in joined)[0] == list(range(8))
