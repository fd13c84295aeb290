"""The neighbour graph clustering starts from: each face's nearest faces above a similarity.

Exact (numpy blocks) for a few thousand faces, approximate (an HNSW index, faiss) for a large library.
"""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)

# Up to this many faces the neighbour search compares every pair (exact, in numpy blocks); above
# it an HNSW graph (faiss) finds them in far fewer operations. All pairs of 100,000 faces cost ~80
# CPU-seconds on a 2-core EPYC, the HNSW search ~15; see bench/cluster_bench.py. The graph only has
# to connect each person's faces: similarities inside a group are computed exactly afterwards.
EXACT_SEARCH_LIMIT = 20_000
# HNSW shape: links per node, candidate list while building and while searching
_HNSW_LINKS, _HNSW_BUILD, _HNSW_SEARCH = 12, 24, 24


def searches_approximately(faces: int) -> bool:
    """Whether `neighbour_edges` takes the HNSW index for this many faces (when faiss is installed)."""
    return faces > EXACT_SEARCH_LIMIT


def neighbour_edges(matrix: np.ndarray, threshold: float, k: int, block: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Edges (rows, cols) from each face to its up-to-k nearest faces with similarity >= threshold.

    Arrays only: memory is O(block * n) for the similarities of a block and O(n * k) for the edges.
    """
    n = len(matrix)
    k = min(k, n - 1)
    if k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if searches_approximately(n):
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
    """`neighbour_edges` through an approximate HNSW index; None when faiss is not installed."""
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

