"""One call from a decoded photo to its faces: detect, align, score quality, embed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from photogen.box import Box
from photogen.faces.alignment import ALIGNED_SIZE, align_face
from photogen.faces.backend import FaceBackend, create_backend
from photogen.faces.detection import as_rgb
from photogen.faces.quality import FaceQuality, face_quality
from photogen.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, eq=False)
class Face:
    """One face found in a photo.

    `box` is in the photo's whole pixels, clipped to the photo; `landmarks` (5x2, float32)
    are not clipped, so a face cut by the border keeps its true geometry. `embedding` is a unit
    float32 vector in the space of the backend named by `backend`.
    """

    box: Box
    landmarks: np.ndarray
    score: float
    quality: float
    quality_parts: FaceQuality
    embedding: np.ndarray
    backend: str


class FaceAnalyzer:
    """Finds and describes the faces of RGB photos. Build once and reuse: its models load once."""

    def __init__(
        self,
        backend: FaceBackend | None = None,
        *,
        settings: Settings | None = None,
        min_face_px: int = 12,
    ) -> None:
        self.backend = backend or create_backend(settings=settings)
        # below this box side YuNet's landmarks (and so the alignment) are noise
        self.min_face_px = min_face_px

    def load(self) -> None:
        self.backend.load()

    def analyze(self, image: np.ndarray) -> list[Face]:
        """Faces in an RGB uint8 photo (EXIF orientation already applied), best detection first.

        Grayscale and RGBA arrays are accepted; any other array raises `PhotogenError`.
        """
        return self.analyze_many([image])[0]

    def analyze_many(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        """`analyze` for a few photos at once: their faces are embedded together, in shared batches.

        Most photos hold one face, and the embedder costs ~8% less a face in batches of 2-4 than
        one at a time (it reads its 26 MB of final-layer weights once a batch).
        """
        # 1. Check inputs
        rgbs = [as_rgb(image) for image in images]

        # 2. Detect (the backend works on a resized copy and maps results back to these pixels)
        found = [[d for d in self.backend.detect(rgb) if min(d.box.w, d.box.h) >= self.min_face_px] for rgb in rgbs]
        if not any(found):
            return [[] for _ in rgbs]

        # 3. Align each face from its full-resolution photo and score its quality
        aligned, qualities = [], []
        for rgb, detections in zip(rgbs, found, strict=True):
            for d in detections:
                crop = align_face(rgb, d.landmarks, ALIGNED_SIZE)
                aligned.append(crop)
                qualities.append(face_quality(d.box, d.landmarks, crop, rgb.shape[:2]))
        crops = np.stack(aligned)

        # 4. Embed the faces of all the photos in shared batches
        embeddings = self.backend.embed(crops)

        # 5. Records in each photo's pixels
        results: list[list[Face]] = []
        position = 0
        for rgb, detections in zip(rgbs, found, strict=True):
            height, width = rgb.shape[:2]
            faces = []
            for detection in detections:
                faces.append(
                    Face(
                        box=_clip_box(detection.box, width, height),
                        landmarks=np.asarray(detection.landmarks, dtype=np.float32),
                        score=detection.score,
                        quality=qualities[position].overall,
                        quality_parts=qualities[position],
                        embedding=np.asarray(embeddings[position], dtype=np.float32),
                        backend=self.backend.name,
                    )
                )
                position += 1
            logger.debug("found %d faces in a %dx%d photo", len(faces), width, height)
            results.append(faces)
        return results


def _clip_box(box: Box, width: int, height: int) -> Box:
    """The box in whole pixels (corners rounded), cut to a `width` x `height` photo."""
    x0, y0, x1, y1 = (int(round(v)) for v in box.corners())
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0))
