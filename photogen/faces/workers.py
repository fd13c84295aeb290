"""Analysing many photos at once: a few analyzers, one per worker thread, results in input order.

ONNX Runtime, OpenCV and Pillow's decoder all release the GIL, so worker threads overlap for real.
On a few cores, N single-threaded sessions working on N photos beat one N-threaded session on one
photo: the face graphs are small, and splitting one small convolution over threads spends much of
the time synchronising (measured with bench/faces_bench.py; see its docstring).
"""

from __future__ import annotations

import os
import queue
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from photogen.errors import PhotogenError
from photogen.faces.analyzer import Face, FaceAnalyzer

T = TypeVar("T")
Extra = TypeVar("Extra")

# more workers than this buys little and costs a model copy (~100 MiB) each
MAX_WORKERS = 4


def worker_layout(workers: int = 0, onnx_threads: int = 0, cpus: int | None = None) -> tuple[int, int]:
    """(workers, ONNX Runtime threads per worker) for this machine; 0 means choose."""
    cpus = cpus or os.cpu_count() or 1
    workers = workers if workers > 0 else min(MAX_WORKERS, cpus)
    threads = onnx_threads if onnx_threads > 0 else max(1, cpus // workers)
    return workers, threads


@dataclass(frozen=True, slots=True)
class AnalysedPhoto(Generic[T, Extra]):
    """One input's outcome: its faces (in the loaded image's pixels), or why it could not be read."""

    item: T
    faces: list[Face]
    image: np.ndarray | None = None
    extra: Extra | None = None
    error: str | None = None


class FaceWorkers:
    """Runs `load` then `analyze` for many inputs on a pool of analyzers; yields in input order."""

    def __init__(self, analyzers: list[FaceAnalyzer]) -> None:
        if not analyzers:
            raise ValueError("FaceWorkers needs at least one analyzer")
        self._idle: queue.Queue[FaceAnalyzer] = queue.Queue()
        for analyzer in analyzers:
            self._idle.put(analyzer)
        self.size = len(analyzers)

    def _one(self, item: T, load: Callable[[T], tuple[np.ndarray, Extra]]) -> AnalysedPhoto[T, Extra]:
        try:
            image, extra = load(item)
        except PhotogenError as exc:
            return AnalysedPhoto(item, [], error=str(exc))
        except (OSError, MemoryError) as exc:
            return AnalysedPhoto(item, [], error=f"cannot read the photo ({exc})")
        analyzer = self._idle.get()  # each analyzer serves one thread at a time
        try:
            faces = analyzer.analyze(image)
        finally:
            self._idle.put(analyzer)
        return AnalysedPhoto(item, faces, image, extra)

    def run(
        self, items: Iterable[T], load: Callable[[T], tuple[np.ndarray, Extra]]
    ) -> Iterator[AnalysedPhoto[T, Extra]]:
        """Analyse every item; a few are in flight at once, so memory stays flat on big libraries."""
        with ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="faces") as pool:
            window: list[Future[AnalysedPhoto[T, Extra]]] = []
            ahead = 2 * self.size
            for item in items:
                window.append(pool.submit(self._one, item, load))
                if len(window) >= ahead:
                    yield window.pop(0).result()
            for future in window:
                yield future.result()
