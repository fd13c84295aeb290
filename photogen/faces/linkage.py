"""Average-linkage agglomeration of faces into groups, over the neighbour graph.

Small connected groups on a dense matrix, large ones on a heap of linked pairs; never two faces of
one photo together.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np

from photogen.faces.cluster_types import ClusterParams, FaceRecord
from photogen.faces.neighbours import neighbour_edges, searches_approximately

# A group of linked faces up to this size is agglomerated on a dense matrix of its cluster
# similarities; larger groups (one person with thousands of photos) on a heap of linked pairs.
_DENSE_GROUP = 300


def agglomerate(faces: Sequence[FaceRecord], matrix: np.ndarray, params: ClusterParams) -> list[np.ndarray]:
    """Average-linkage merging, best pair first, never two faces of one photo together.

    Returns groups of indices into `faces`. Two groups are never merged unless some pair of their
    faces is at or above the threshold (their mean would be below it), so the faces fall apart
    into connected groups of the neighbour graph that never interact, and each is agglomerated
    on its own: the search keeps no Python object per candidate pair.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(faces)
    if n == 0:
        return []
    rows, cols = neighbour_edges(matrix, params.link_threshold, params.neighbours)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    count, label = connected_components(graph, directed=True, connection="weak")
    del graph, rows, cols
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(count + 1))
    photos = np.array([f.photo_id for f in faces])
    groups: list[np.ndarray] = []
    for component in range(count):
        members = order[bounds[component] : bounds[component + 1]]
        if len(members) == 1:
            groups.append(members)
        elif len(members) <= _DENSE_GROUP:
            groups.extend(_link_dense(members, matrix, photos, params.link_threshold))
        else:
            groups.extend(_link_sparse(members, matrix, photos, params))
    if searches_approximately(n):
        groups = _join_split_groups(groups, matrix, photos, params.link_threshold)
    return groups


def _link_dense(members: np.ndarray, matrix: np.ndarray, photos: np.ndarray, threshold: float) -> list[np.ndarray]:
    """Average linkage of one small connected group of faces."""
    same_photo = photos[members][:, None] == photos[members][None, :]
    local = _link_weighted(matrix[members].astype(np.float64), np.ones(len(members)), same_photo, threshold)
    return [members[np.array(g)] for g in local]


def _link_weighted(totals: np.ndarray, sizes: np.ndarray, blocked: np.ndarray, threshold: float) -> list[list[int]]:
    """Average linkage of a few clusters (rows: summed unit embeddings, face counts) on the dense
    matrix of their mean similarities; `blocked` marks pairs that may never join (they share a
    photo), and a block only grows as clusters merge. Returns groups of row indices."""
    m = len(totals)
    totals = totals.copy()
    sizes = sizes.astype(np.float64).copy()
    blocked = blocked.copy()
    np.fill_diagonal(blocked, True)
    sims = (totals @ totals.T) / np.outer(sizes, sizes)
    sims[blocked] = -np.inf
    groups: list[list[int]] = [[i] for i in range(m)]
    alive = np.ones(m, dtype=bool)
    while True:
        a, b = divmod(int(np.argmax(sims)), m)
        if sims[a, b] < threshold:
            break
        totals[a] += totals[b]
        sizes[a] += sizes[b]
        groups[a] += groups[b]
        alive[b] = False
        blocked[a] |= blocked[b]
        blocked[:, a] = blocked[a]
        row = (totals @ totals[a]) / (sizes * sizes[a])
        row[blocked[a] | ~alive] = -np.inf
        sims[a, :] = row
        sims[:, a] = row
        sims[b, :] = -np.inf
        sims[:, b] = -np.inf
    return [g for g, live in zip(groups, alive, strict=True) if live]


def _join_split_groups(
    groups: list[np.ndarray], matrix: np.ndarray, photos: np.ndarray, threshold: float, block: int = 512
) -> list[np.ndarray]:
    """Average linkage once more over whole groups, compared exactly by their summed embeddings.

    The approximate search can miss every edge between two halves of one person; their mean
    similarity does not miss them. Groups are compared in blocks, and only the pairs at or above
    the threshold are kept, as arrays.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    count = len(groups)
    owner = np.empty(len(matrix), dtype=np.int64)
    for k, group in enumerate(groups):
        owner[group] = k
    totals = np.zeros((count, matrix.shape[1]), dtype=np.float64)
    np.add.at(totals, owner, matrix)
    sizes = np.bincount(owner, minlength=count).astype(np.float64)
    # candidates in float32 (half the time and memory), a hair under the threshold: the linkage
    # below decides in float64
    means = (totals / sizes[:, None]).astype(np.float32)
    rows_out, cols_out = [], []
    for start in range(0, count, block):
        sims = means[start : start + block] @ means.T
        rows, cols = np.nonzero(sims >= threshold - 1e-4)
        keep = rows + start < cols
        rows_out.append(rows[keep] + start)
        cols_out.append(cols[keep])
    rows, cols = np.concatenate(rows_out), np.concatenate(cols_out)
    if not len(rows):
        return groups
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(count, count))
    parts, label = connected_components(graph, directed=False)
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(parts + 1))
    joined: list[np.ndarray] = []
    for part in range(parts):
        members = order[bounds[part] : bounds[part + 1]]
        if len(members) == 1:
            joined.append(groups[members[0]])
            continue
        photo_sets = [set(photos[groups[k]].tolist()) for k in members]
        blocked = np.array([[not a.isdisjoint(b) for b in photo_sets] for a in photo_sets])
        for local in _link_weighted(totals[members], sizes[members], blocked, threshold):
            joined.append(np.concatenate([groups[members[i]] for i in local]))
    return joined


def _link_sparse(
    members: np.ndarray, matrix: np.ndarray, photos: np.ndarray, params: ClusterParams
) -> list[np.ndarray]:
    """Average linkage of one large connected group on a heap of its linked cluster pairs."""
    m = len(members)
    local = matrix[members]
    rows, cols = neighbour_edges(local, params.link_threshold, params.neighbours)
    # a merged cluster gets a new id (m, m + 1, ...), so heap entries naming an old one are dead
    totals = np.zeros((2 * m, local.shape[1]), dtype=np.float64)
    totals[:m] = local
    sizes = np.ones(2 * m)
    groups: dict[int, list[int]] = {i: [i] for i in range(m)}
    photo_sets: dict[int, set[int]] = {i: {int(photos[members[i]])} for i in range(m)}
    neighbours: dict[int, set[int]] = {i: set() for i in range(m)}
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        neighbours[i].add(j)
        neighbours[j].add(i)
    heap = [(-float(totals[a] @ totals[b]), a, b) for a, linked in neighbours.items() for b in linked if a < b]
    heapq.heapify(heap)
    next_id = m
    while heap:
        neg_sim, a, b = heapq.heappop(heap)
        if -neg_sim < params.link_threshold:
            break
        if a not in groups or b not in groups or not photo_sets[a].isdisjoint(photo_sets[b]):
            continue
        new = next_id
        next_id += 1
        totals[new] = totals[a] + totals[b]
        sizes[new] = sizes[a] + sizes[b]
        groups[new] = groups.pop(a) + groups.pop(b)
        photo_sets[new] = photo_sets.pop(a) | photo_sets.pop(b)
        linked = (neighbours.pop(a) | neighbours.pop(b)) - {a, b}
        neighbours[new] = linked
        for other in linked:
            neighbours[other] -= {a, b}
            neighbours[other].add(new)
        if linked:
            others = np.fromiter(linked, dtype=np.int64, count=len(linked))
            means = (totals[others] @ totals[new]) / (sizes[others] * sizes[new])
            for other, sim in zip(others.tolist(), means.tolist(), strict=True):
                if sim >= params.link_threshold:
                    heapq.heappush(heap, (-sim, other, new))
    return [members[np.array(g)] for g in groups.values()]

