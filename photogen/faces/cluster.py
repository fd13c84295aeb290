"""Grouping faces into people: pure functions over typed records, no I/O.

The algorithm is average-linkage agglomerative clustering on cosine similarity with cannot-link
constraints, run on the faces good enough to define a person, then settled against the user's
decisions, then the remaining faces attach to the person they resemble most:

1. Faces marked "nobody" sit out; faces with quality >= `min_quality` start as singletons.
2. Clusters merge best pair first while their mean pairwise cosine is >= `link_threshold`, never
   when that would put two faces of one photo together. With unit vectors the mean pairwise cosine
   of clusters A and B is sum(A) . sum(B) / (|A| |B|), so a merge costs O(dim) whatever the sizes.
   Two clusters never merge without a pair of faces at or above the threshold (the best pair
   bounds their mean), so the graph of each face's nearest neighbours above it (numpy blocks up
   to 20,000 faces, an HNSW index above) falls apart into connected groups that are agglomerated
   one by one; groups the approximate search left apart are joined by their exact means. Memory
   stays linear in the faces, with no Python object per candidate pair.
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

As photos arrive, `recluster_around` runs the same steps on the new faces and the people near
them only, so the people do not depend on the order photos come in.

Thresholds were measured on the labelled DEV set in `shared/faces`; the numbers and the sweep
behind them are next to `DEFAULT_PARAMS` below.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger(__name__)

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

    def similarity_to(self, embedding: np.ndarray) -> float:
        return float(self.total @ embedding) / len(self.faces)

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


def _embedding_matrix(faces: Sequence[FaceRecord]) -> np.ndarray:
    if not faces:
        return np.zeros((0, 0), dtype=np.float32)
    dims = {f.embedding.shape for f in faces}
    if len(dims) != 1:
        raise ValueError(f"faces from different embedding spaces cannot be clustered together: {sorted(dims)}")
    return np.stack([f.embedding for f in faces]).astype(np.float32)


# Up to this many faces the neighbour search compares every pair (exact, in numpy blocks); above
# it an HNSW graph (faiss) finds them in far fewer operations. All pairs of 100,000 faces cost ~80
# CPU-seconds on a 2-core EPYC, the HNSW search ~15; see bench/cluster_bench.py. The graph only has
# to connect each person's faces: similarities inside a group are computed exactly afterwards.
EXACT_SEARCH_LIMIT = 20_000
# HNSW shape: links per node, candidate list while building and while searching
_HNSW_LINKS, _HNSW_BUILD, _HNSW_SEARCH = 12, 24, 24
# A group of linked faces up to this size is agglomerated on a dense matrix of its cluster
# similarities; larger groups (one person with thousands of photos) on a heap of linked pairs.
_DENSE_GROUP = 300


def _neighbour_edges(matrix: np.ndarray, threshold: float, k: int, block: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Edges (rows, cols) from each face to its up-to-k nearest faces with similarity >= threshold.

    Arrays only: memory is O(block * n) for the similarities of a block and O(n * k) for the edges.
    """
    n = len(matrix)
    k = min(k, n - 1)
    if k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if n > EXACT_SEARCH_LIMIT:
        edges = _hnsw_edges(matrix, threshold, k)
        if edges is not None:
            return edges
    rows_out, cols_out = [], []
    for start in range(0, n, block):
        sims = matrix[start : start + block] @ matrix.T
        local = np.arange(len(sims))
        sims[local, local + start] = -np.inf  # a face is not its own neighbour
        rows, cols = np.nonzero(sims >= threshold)
        crowded = np.flatnonzero(np.bincount(rows, minlength=len(sims)) > k)
        if len(crowded):  # more than k above the threshold: keep the k nearest
            keep = ~np.isin(rows, crowded)
            nearest = np.argpartition(-sims[crowded], k - 1, axis=1)[:, :k]
            rows = np.concatenate([rows[keep], np.repeat(crowded, k)])
            cols = np.concatenate([cols[keep], nearest.ravel()])
        rows_out.append(rows + start)
        cols_out.append(cols)
    return np.concatenate(rows_out), np.concatenate(cols_out)


def _hnsw_edges(matrix: np.ndarray, threshold: float, k: int) -> tuple[np.ndarray, np.ndarray] | None:
    """`_neighbour_edges` through an approximate HNSW index; None when faiss is not installed."""
    try:
        import faiss
    except ImportError:
        logger.warning("faiss-cpu is not installed: comparing all %d faces pairwise (slow)", len(matrix))
        return None
    index = faiss.IndexHNSWFlat(matrix.shape[1], _HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = _HNSW_BUILD
    data = np.ascontiguousarray(matrix, dtype=np.float32)
    index.add(data)
    index.hnsw.efSearch = max(_HNSW_SEARCH, k + 1)
    sims, found = index.search(data, k + 1)
    del index
    rows = np.repeat(np.arange(len(matrix)), k + 1).reshape(len(matrix), k + 1)
    keep = (found >= 0) & (found != rows) & (sims >= threshold)
    return rows[keep], found[keep].astype(np.int64)


def _agglomerate(faces: Sequence[FaceRecord], matrix: np.ndarray, params: ClusterParams) -> list[np.ndarray]:
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
    rows, cols = _neighbour_edges(matrix, params.link_threshold, params.neighbours)
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
    if n > EXACT_SEARCH_LIMIT:
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
    rows, cols = _neighbour_edges(local, params.link_threshold, params.neighbours)
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
    matrix = _embedding_matrix(faces).astype(np.float64)
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
    groups = _agglomerate(good, _embedding_matrix(good), params)

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


# How far below a threshold a person still counts as near the new faces when choosing what to
# re-cluster: the margin covers what a few new faces can move a person's mean by.
_SCOPE_MARGIN = 0.05


def _person_totals(owner: np.ndarray, matrix: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Per person: the sum of its unit embeddings and its number of faces."""
    totals = np.zeros((count, matrix.shape[1]), dtype=np.float64)
    np.add.at(totals, owner, matrix)
    sizes = np.bincount(owner, minlength=count).astype(np.float64)
    return totals, np.maximum(sizes, 1.0)


def people_near(
    faces: Sequence[FaceRecord],
    people: Mapping[PersonId, Sequence[FaceRecord]],
    params: ClusterParams = DEFAULT_PARAMS,
    block: int = 128,
) -> set[PersonId]:
    """The people a full re-cluster could change by adding `faces` to the library.

    Average linkage never joins two groups without a pair of faces at or above the link threshold
    (their mean would be below it), and a weak face only attaches to a person whose mean it
    reaches. So a new face can only change the people that own a face linked to it, or whose mean
    it nearly reaches; and those people, once changed, only the people whose mean similarity to
    them is near the link threshold (they may now merge). Everything else clusters as before.
    """
    ids = list(people)
    if not ids or not faces:
        return set()
    members = [f for person in ids for f in people[person]]
    owner = np.repeat(np.arange(len(ids)), [len(people[p]) for p in ids])
    matrix = _embedding_matrix(members)
    new = _embedding_matrix(faces)
    if new.shape[1] != matrix.shape[1]:
        raise ValueError("faces from different embedding spaces cannot be clustered together")
    totals, sizes = _person_totals(owner, matrix, len(ids))
    near = np.zeros(len(ids), dtype=bool)
    for start in range(0, len(new), block):
        rows = new[start : start + block]
        linked = np.flatnonzero(((rows @ matrix.T) >= params.link_threshold - _SCOPE_MARGIN).any(axis=0))
        near[owner[linked]] = True
        means = (rows.astype(np.float64) @ totals.T) / sizes
        near |= (means >= min(params.attach_threshold, params.link_threshold) - _SCOPE_MARGIN).any(axis=0)
    # 2. People close enough to the changed ones to merge with them now
    chosen = np.flatnonzero(near)
    if len(chosen):
        means = (totals[chosen] @ totals.T) / np.outer(sizes[chosen], sizes)
        near |= (means >= params.link_threshold - _SCOPE_MARGIN).any(axis=0)
    return {ids[i] for i in np.flatnonzero(near)}


def _faces_near(
    candidates: Sequence[FaceRecord], anchors: Sequence[FaceRecord], params: ClusterParams, block: int = 128
) -> list[FaceRecord]:
    """The candidates with a face among `anchors` they could link to (within the scope margin)."""
    if not candidates or not anchors:
        return []
    targets = _embedding_matrix(anchors)
    matrix = _embedding_matrix(candidates)
    floor = min(params.link_threshold, params.attach_threshold) - 2 * _SCOPE_MARGIN
    near: list[FaceRecord] = []
    for start in range(0, len(candidates), block):
        hit = ((matrix[start : start + block] @ targets.T) >= floor).any(axis=1)
        near.extend(candidates[start + i] for i in np.flatnonzero(hit))
    return near


def recluster_around(
    new_faces: Sequence[FaceRecord],
    people: Mapping[PersonId, Sequence[FaceRecord]],
    decisions: UserDecisions | None = None,
    params: ClusterParams = DEFAULT_PARAMS,
    leftovers: Sequence[FaceRecord] = (),
) -> tuple[PeopleAssignment, frozenset[FaceId]]:
    """The incremental step as photos arrive, giving what a full re-cluster would give.

    `new_faces` are faces no clustering has seen yet; `leftovers` the faces on nobody that an
    earlier run already saw; `people` the current people with all their faces. Only the people
    the new faces can change (`people_near`) are re-clustered, with the new faces and the
    leftovers that could link to any of them, by `cluster_faces`; everything else stays as it
    is (a leftover far from every change would be left over again). Returns the outcome for the
    faces in that scope, and the scope: the ids of every face the outcome covers (one not on a
    person in it is on nobody).

    Attaching new faces to people as they stand instead (the earlier way) made the people depend
    on the order photos arrive in: the first two faces of a small batch could form a wrong person
    that later faces kept growing, and two people of one identity started in different batches
    never met again.
    """
    decisions = decisions or UserDecisions()
    near = people_near(new_faces, people, params)
    members = [f for person in sorted(near) for f in people[person]]
    woken = _faces_near(leftovers, [*new_faces, *members], params)
    scope_faces = [*new_faces, *woken, *members]
    previous = {f.face_id: person for person in near for f in people[person]}
    result = cluster_faces(scope_faces, decisions, previous, params)
    return result, frozenset(f.face_id for f in scope_faces)


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
