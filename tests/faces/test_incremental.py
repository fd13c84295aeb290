"""Clustering as photos arrive (`photogen.faces.incremental`): the people do not depend on the order."""

from __future__ import annotations

import random

import numpy as np
import pytest

from photogen.faces.cluster import assign_new_faces, cluster_faces
from photogen.faces.cluster_types import DEFAULT_PARAMS, FaceRecord
from photogen.faces.incremental import people_near, recluster_around
from tests.faces.synthetic import groups_of, synthetic_people, two_look_alikes, unit


def _index_in_batches(faces: list[FaceRecord], batches: list[list[FaceRecord]]) -> list[set[int]]:
    """What the library path does as photos arrive: each batch is re-clustered with the people near it."""
    person: dict[int, int] = {}
    next_id = 1000
    seen: list[FaceRecord] = []
    for batch in batches:
        seen += batch
        members: dict[int, list[FaceRecord]] = {}
        waiting = []
        for face in seen:
            (members.setdefault(person[face.face_id], []) if face.face_id in person else waiting).append(face)
        result, scope = recluster_around(waiting, members)
        for face_id in scope:
            person.pop(face_id, None)
        person.update(result.person_of())
        for group in result.new_people:
            next_id += 1
            person.update(dict.fromkeys(group, next_id))
    groups: dict[int, set[int]] = {}
    for face_id, who in person.items():
        groups.setdefault(who, set()).add(face_id)
    return sorted(groups.values(), key=min)


def test_the_old_incremental_step_merged_look_alikes_seen_first() -> None:
    """Why the library path lost to the full clustering: the first batch decides for good."""
    faces, identity = two_look_alikes()
    assert float(faces[10].embedding @ faces[11].embedding) >= DEFAULT_PARAMS.link_threshold
    first = cluster_faces(faces[10:])  # only the two look-alikes so far: one (wrong) person
    assert len(first.new_people) == 1 and len({identity[f] for f in first.new_people[0]}) == 2
    grown = assign_new_faces(faces[:10], {1: faces[10:]})  # the others attach to it, on average
    wrong = set(grown.people.get(1, ())) | {10, 11}
    assert {identity[f] for f in wrong} == {0, 1} and len(wrong) >= 8
    # the full clustering keeps them apart, and so does the new incremental step
    full = groups_of(cluster_faces(faces))
    assert all(len({identity[f] for f in g}) == 1 for g in full)
    assert _index_in_batches(faces, [faces[10:], faces[:10]]) == sorted(full, key=min)


@pytest.mark.parametrize("batch", [1, 3, 10])
def test_incremental_people_do_not_depend_on_arrival_order(batch: int) -> None:
    data = synthetic_people(6, 6, seed=29, spread=0.6)
    faces = [FaceRecord(i, i, emb, 0.9 if i % 7 else 0.2) for i, (_, emb) in enumerate(data)]
    look_alikes, _ = two_look_alikes()
    faces += [FaceRecord(100 + f.face_id, 100 + f.photo_id, f.embedding, f.quality) for f in look_alikes]
    faces.append(FaceRecord(500, 0, data[1][1], 0.9))  # same photo as face 0, same identity as face 1
    full = sorted(groups_of(cluster_faces(faces)), key=min)
    for seed in range(4):
        order = faces[:]
        random.Random(seed).shuffle(order)
        batches = [order[i : i + batch] for i in range(0, len(order), batch)]
        assert _index_in_batches(faces, batches) == full, f"order {seed}, batches of {batch}"


def test_only_people_near_new_faces_are_reclustered() -> None:
    data = synthetic_people(40, 5, seed=31)
    faces = [FaceRecord(i, i, emb, 0.9) for i, (_, emb) in enumerate(data)]
    people = {who: [faces[i] for i, (w, _) in enumerate(data) if w == who] for who in range(40)}
    newcomer = FaceRecord(999, 999, unit(people[7][0].embedding + 0.1 * unit(np.ones(128))), 0.9)
    assert people_near([newcomer], people) == {7}
    result, scope = recluster_around([newcomer], people)
    assert scope == {999} | {f.face_id for f in people[7]}
    assert set(result.people) == {7} and 999 in result.people[7]
    # faces left over by earlier runs come back only if they are near what changes
    stranger = unit(np.random.default_rng(5).normal(size=128))
    twin = FaceRecord(1001, 1001, stranger, 0.9)
    far = FaceRecord(1002, 1002, unit(np.random.default_rng(6).normal(size=128)), 0.9)
    _, scope = recluster_around([newcomer], people, leftovers=[twin, far])
    assert 1001 not in scope and 1002 not in scope
    result, scope = recluster_around([FaceRecord(1003, 1003, stranger, 0.9)], people, leftovers=[twin, far])
    assert 1001 in scope and 1002 not in scope and {1001, 1003} in [set(g) for g in result.new_people]
