"""Analysing many photos at once: a few analyzers, one per worker thread, results in input order.

ONNX Runtime, OpenCV and Pillow's decoder all release the GIL, so worker threads overlap for real.
On a few cores, N single-threaded sessions working on N photos beat one N-threaded session on one
photo: the face graphs are small, and splitting one small convolution over threads spends much of
the time synchronising (measured with bench/faces_bench.py; see its docstring).
"""

from __future__ import annotations

import ctypes
import os
import queue
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

import cv2
import numpy as np

from photogen.errors import PhotogenError
from photogen.faces.analyzer import Face, FaceAnalyzer

T = TypeVar("T")
Extra = TypeVar("Extra")

# more workers than this buys little: each holds a photo batch and the activations of a run
MAX_WORKERS = 4


def worker_layout(workers: int = 0, onnx_threads: int = 0, cpus: int | None = None) -> tuple[int, int]:
    """(workers, ONNX Runtime threads per worker) for this machine; 0 means choose."""
    cpus = cpus or os.cpu_count() or 1
    workers = workers if workers > 0 else min(MAX_WORKERS, cpus)
    threads = onnx_threads if onnx_threads > 0 else max(1, cpus // workers)
    return workers, threads


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:  # musl and other C libraries: nothing to tune
        return None


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's per-thread malloc arenas (default: 8 per core), process-wide.

    Every worker thread otherwise gets its own arena, and the photo buffers freed in one are not
    reused by another: over shared/faces the faces step peaked 84 MiB higher with the default.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(-8, arenas)  # M_ARENA_MAX


def release_free_memory() -> None:
    """Give memory freed on the C heap back to the OS (glibc keeps it otherwise).

    Loading the face models goes through several copies of the graph (parse, fold the weights,
    serialize, the runtime's own): trimming afterwards lowered the faces step's peak by 62 MiB.
    """
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


@dataclass(frozen=True, slots=True)
class AnalysedPhoto(Generic[T, Extra]):
    """One input's outcome: its faces (in the loaded image's pixels), or why it could not be read."""

    item: T
    faces: list[Face]
    image: np.ndarray | None = None
    extra: Extra | None = None
    error: str | None = None


class FaceWorkers:
    """Runs `load` then `analyze_many` for many inputs on a pool of analyzers; yields in input order.

    Each task is `photos_per_run` consecutive inputs, so their faces share embedding batches (see
    `FaceAnalyzer.analyze_many`); a photo that fails to load is reported and the others go on.
    Measured on shared/faces (one core, photos decoded beforehand): 2.18 CPU-s one photo a task,
    2.03 two, 1.96 four.
    """

    def __init__(self, analyzers: list[FaceAnalyzer], *, photos_per_run: int = 4) -> None:
        if not analyzers:
            raise ValueError("FaceWorkers needs at least one analyzer")
        if photos_per_run < 1:
            raise ValueError("photos_per_run must be at least 1")
        self._idle: queue.Queue[FaceAnalyzer] = queue.Queue()
        for analyzer in analyzers:
            self._idle.put(analyzer)
        self.size = len(analyzers)
        self.photos_per_run = photos_per_run

    def _some(self, items: list[T], load: Callable[[T], tuple[np.ndarray, Extra]]) -> list[AnalysedPhoto[T, Extra]]:
        loaded: list[tuple[T, np.ndarray, Extra] | AnalysedPhoto[T, Extra]] = []
        for item in items:
            try:
                image, extra = load(item)
            except PhotogenError as exc:
                loaded.append(AnalysedPhoto(item, [], error=str(exc)))
            except (OSError, MemoryError) as exc:
                loaded.append(AnalysedPhoto(item, [], error=f"cannot read the photo ({exc})"))
            else:
                loaded.append((item, image, extra))
        images = [entry[1] for entry in loaded if not isinstance(entry, AnalysedPhoto)]
        found = iter(self._analyze(images) if images else [])
        return [
            entry if isinstance(entry, AnalysedPhoto) else AnalysedPhoto(entry[0], next(found), entry[1], entry[2])
            for entry in loaded
        ]

    def _analyze(self, images: list[np.ndarray]) -> list[list[Face]]:
        # a slot a worker; one analyzer may fill several slots (its sessions run from several threads)
        analyzer = self._idle.get()
        try:
            return analyzer.analyze_many(images)
        finally:
            self._idle.put(analyzer)

    def run(
        self, items: Iterable[T], load: Callable[[T], tuple[np.ndarray, Extra]]
    ) -> Iterator[AnalysedPhoto[T, Extra]]:
        """Analyse every item; a few are in flight at once, so memory stays flat on big libraries."""
        threads = cv2.getNumThreads()
        if self.size > 1:
            # the workers already keep the cores busy: OpenCV's own pool in each resize and warp
            # only adds threads that wait for each other (and their stacks: ~45 MiB peak measured)
            cv2.setNumThreads(1)
        try:
            yield from self._run(items, load)
        finally:
            cv2.setNumThreads(threads)

    def _run(
        self, items: Iterable[T], load: Callable[[T], tuple[np.ndarray, Extra]]
    ) -> Iterator[AnalysedPhoto[T, Extra]]:
        with ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="faces") as pool:
            window: list[Future[list[AnalysedPhoto[T, Extra]]]] = []
            # every worker busy and one task waiting: at most (size + 1) x photos_per_run photos decoded
            ahead = self.size + 1
            batch: list[T] = []
            for item in items:
                batch.append(item)
                if len(batch) < self.photos_per_run:
                    continue
                window.append(pool.submit(self._some, batch, load))
                batch = []
                if len(window) >= ahead:
                    yield from window.pop(0).result()
            if batch:
                window.append(pool.submit(self._some, batch, load))
            for future in window:
                yield from future.result()
