"""Finding the faces of the library's photos: the faces step of `photogen index`, also run by the UI.

Incremental and resumable like the metadata indexer: only photos with `faces_indexed = 0` are read,
each photo's faces, their encrypted crops and its `faces_indexed = 1` land in one transaction, so a
run killed at any moment loses at most the photo in flight. Only photos of allowed albums are read
(`read_original` refuses the rest). Afterwards the faces on nobody join people incrementally.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image

from photogen.box import Box
from photogen.faces.analyzer import Face, FaceAnalyzer
from photogen.faces.backend import create_backend
from photogen.faces.people.grouping import assign_unassigned
from photogen.faces.people.records import ClusteringReport
from photogen.faces.workers import FaceWorkers, limit_malloc_arenas, release_free_memory, worker_layout
from photogen.library import faces_store
from photogen.library.images import load_rgb
from photogen.library.library import Library
from photogen.library.photos import read_original

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]

# side of the square face crops kept (encrypted) for the People view
CROP_SIZE = 128
# the crop shows this much around the face box (hair, chin), as a factor of the box's longer side
CROP_CONTEXT = 1.6


@dataclass
class FaceIndexReport:
    photos: int = 0
    faces: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    clustering: ClusteringReport | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "photos": self.photos,
            "faces": self.faces,
            "skipped": [{"photo_id": p, "reason": r} for p, r in self.skipped],
            "clustering": self.clustering.as_dict() if self.clustering else None,
            "seconds": round(self.seconds, 3),
        }


_WORKERS_LOCK = "faces.workers.lock"


def shared_workers(library: Library) -> FaceWorkers:
    """The analyzers for the library's model configuration, built once and kept as long as the library.

    A cache of loaded models on `Library.cache`, not module state: every call for this library
    gets the same read-only models, so their ONNX sessions are built once, and they go with the
    library (closed, wiped, or a visitor's session ended). The workers share one analyzer: ONNX
    Runtime runs one session from several threads at once, and a copy of the models a worker cost
    ~100 MiB more peak memory each (measured with bench/faces_bench.py).
    """
    settings = library.settings
    workers, threads = worker_layout(settings.face_workers, settings.onnx_threads)
    key = (settings.face_backend, settings.face_score_threshold, settings.face_detect_max_side, workers, threads)
    name = f"faces.workers:{key!r}"
    with library.cache.setdefault(_WORKERS_LOCK, threading.Lock()):
        pool = library.cache.get(name)
        if pool is None:
            per_worker = settings.model_copy(update={"onnx_threads": threads})
            limit_malloc_arenas()
            analyzer = FaceAnalyzer(create_backend(settings.face_backend, settings=per_worker))
            analyzer.load()
            release_free_memory()
            pool = library.cache[name] = FaceWorkers([analyzer] * workers)
    return pool


def photos_to_index(library: Library) -> list[int]:
    """Usable photos whose faces have not been looked for yet."""
    return faces_store.photos_to_index(library)


def index_faces(
    library: Library, progress: Progress | None = None, *, analyzer: FaceAnalyzer | None = None
) -> FaceIndexReport:
    """Detect and embed the faces of new photos, then put them on people. Safe to run any time."""
    started = time.monotonic()
    report = FaceIndexReport()
    todo = photos_to_index(library)
    if progress:
        progress(0, len(todo), "faces")
    fresh: list[int] = []
    if todo:
        workers = FaceWorkers([analyzer]) if analyzer is not None else shared_workers(library)
        for done, photo in enumerate(workers.run(todo, lambda photo_id: _decode(library, photo_id)), start=1):
            if photo.error is not None or photo.image is None:
                report.skipped.append((photo.item, photo.error or "not decoded"))
            elif (stored := _store(library, photo.item, photo.faces, photo.image, photo.extra or 1.0)) is not None:
                fresh.extend(stored)
                report.photos += 1
                report.faces += len(photo.faces)
            if progress:
                progress(done, len(todo), f"photo {photo.item}")
    report.clustering = assign_unassigned(library, fresh)
    report.seconds = time.monotonic() - started
    if report.photos:
        library.catalog.audit("faces.index", None, actor="photogen", photos=report.photos, faces=report.faces)
    logger.info("faces: %d photos, %d faces, %d skipped", report.photos, report.faces, len(report.skipped))
    return report


def _decode(library: Library, photo_id: int) -> tuple[np.ndarray, float]:
    """The photo as an oriented RGB array at analysis size, and its scale to the photo's pixels."""
    settings = library.settings
    image = load_rgb(
        read_original(library, photo_id), settings.max_image_pixels, max_side=settings.face_decode_max_side
    )
    width = faces_store.photo_width(library, photo_id)
    return image, (image.shape[1] / width if width else 1.0)


def _store(library: Library, photo_id: int, faces: list[Face], image: np.ndarray, scale: float) -> list[int] | None:
    """One photo's faces, crops and done-mark in one transaction: the new face ids, or None if the
    photo went meanwhile."""
    with library.catalog.tx():
        # revoked or excluded while we were looking at it, or done by a run beside this one: store nothing
        if not faces_store.photo_awaits_faces(library, photo_id):
            return None
        stored = []
        for face in faces:
            box = Box(*(v / scale for v in face.box))  # in the photo's pixels, as indexed
            face_id = faces_store.insert_face(
                library, photo_id, box, face.landmarks / scale, face.score, face.quality, face.embedding, face.backend
            )
            library.put_blob(face_crop_blob_name(face_id), crop_face(image, face.box), "face", photo_id=photo_id)
            stored.append(face_id)
        faces_store.mark_faces_indexed(library, photo_id)
    return stored


def face_crop_blob_name(face_id: int) -> str:
    return f"face:{face_id}"


def crop_face(image: np.ndarray, box: Box, size: int = CROP_SIZE) -> bytes:
    """A square JPEG of the face with some context, edges padded by repeating the border."""
    height, width = image.shape[:2]
    box = Box.of(box)
    half = max(box.w, box.h) * CROP_CONTEXT / 2
    cx, cy = box.centre
    x0, y0, x1, y1 = (int(round(v)) for v in (cx - half, cy - half, cx + half, cy + half))
    region = image[max(0, y0) : max(0, min(height, y1)), max(0, x0) : max(0, min(width, x1))]
    if region.size == 0:
        region = np.zeros((size, size, 3), dtype=np.uint8)
    else:
        pads = (max(0, -y0), max(0, y1 - height), max(0, -x0), max(0, x1 - width))
        region = cv2.copyMakeBorder(region, *pads, borderType=cv2.BORDER_REPLICATE)
    shrink = region.shape[0] > size
    crop = cv2.resize(region, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    buffer = io.BytesIO()
    Image.fromarray(crop).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def face_crop(library: Library, face_id: int) -> Image.Image:
    """The stored crop of a face (decrypted), for the People view."""
    data = library.get_blob(face_crop_blob_name(face_id))
    crop = Image.open(io.BytesIO(data)).convert("RGB")
    # which photo it shows, so a served copy is deleted when that photo is revoked (photogen.ui.served)
    crop.info["photogen.photo_ids"] = faces_store.photo_ids_of_face(library, face_id)
    return crop
