"""insightface `buffalo_l` (SCRFD detection + ArcFace R50 512-d) as an optional backend.

Never the default: its weights are licensed for non-commercial research only, so the license is
shown and must be accepted before first use. Nothing here downloads: the `insightface` package and
the unpacked `buffalo_l` folder must already be on disk.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

from photogen.box import Box
from photogen.errors import PhotogenError
from photogen.faces.detection import Detection, as_rgb
from photogen.faces.runtime import preferred_providers

logger = logging.getLogger(__name__)

INSIGHTFACE_LICENSE = (
    "insightface buffalo_l face models\n"
    "The insightface code is MIT-licensed, but its pretrained models, including buffalo_l, are "
    "available for non-commercial research purposes only (see "
    "https://github.com/deepinsight/insightface#license). Using them in a commercial product or "
    "service is not allowed without a separate license from the insightface authors. The training "
    "data behind them (e.g. WebFace600K, MS1M) carries its own restrictions. By accepting, you "
    "confirm your use is personal and non-commercial."
)

DEFAULT_MODEL_DIR = Path("~/.insightface/models/buffalo_l").expanduser()
DETECTOR_FILE = "det_10g.onnx"
RECOGNIZER_FILE = "w600k_r50.onnx"


def require_license_acceptance(accepted: bool) -> None:
    """Refuse to go on until the user has explicitly accepted `INSIGHTFACE_LICENSE`."""
    if not accepted:
        raise PhotogenError(
            "The insightface backend uses models licensed for non-commercial research only. Read the "
            "license below and accept it explicitly to use this backend, or keep the default "
            "'yunet-sface' backend.\n\n" + INSIGHTFACE_LICENSE
        )


class InsightFaceBackend:
    """SCRFD-10G detector and ArcFace R50 embedder from an existing `buffalo_l` folder."""

    name = "insightface-buffalo_l"
    embedding_dim = 512

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        license_accepted: bool = False,
        score_threshold: float = 0.5,
        detect_size: int = 640,
        intra_op_threads: int = 0,
    ) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
        self.license_accepted = license_accepted
        self.score_threshold = score_threshold
        self.detect_size = detect_size
        self.intra_op_threads = intra_op_threads
        self._detector: Any = None
        self._recognizer: Any = None

    def load(self) -> None:
        if self._detector is not None:
            return
        # 1. License first: nothing is read before the user agreed
        require_license_acceptance(self.license_accepted)
        # 2. The optional package
        try:
            model_zoo = importlib.import_module("insightface.model_zoo")
        except ImportError as exc:
            raise PhotogenError(
                "The insightface backend needs the optional 'insightface' package. Install it with "
                "`pip install insightface`, or use the default 'yunet-sface' backend."
            ) from exc
        # 3. The weights, which we never download
        missing = [f for f in (DETECTOR_FILE, RECOGNIZER_FILE) if not (self.model_dir / f).is_file()]
        if missing:
            raise PhotogenError(
                f"The insightface buffalo_l weights are not in {self.model_dir} (missing: {', '.join(missing)}). "
                "photogen does not download them; unpack buffalo_l.zip from the insightface releases into "
                "that folder, or use the default 'yunet-sface' backend."
            )
        import onnxruntime as ort

        options = ort.SessionOptions()
        # same knob as the default backend: 0 lets ONNX Runtime use one thread per physical core
        options.intra_op_num_threads = max(0, self.intra_op_threads)
        providers = preferred_providers()
        detector = model_zoo.get_model(
            str(self.model_dir / DETECTOR_FILE), providers=providers, session_options=options
        )
        recognizer = model_zoo.get_model(
            str(self.model_dir / RECOGNIZER_FILE), providers=providers, session_options=options
        )
        detector.prepare(0, input_size=(self.detect_size, self.detect_size), det_thresh=self.score_threshold)
        recognizer.prepare(0)
        self._detector, self._recognizer = detector, recognizer

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.load()
        bgr = np.ascontiguousarray(as_rgb(image)[:, :, ::-1])  # insightface models take OpenCV's BGR
        boxes, landmarks = self._detector.detect(bgr)
        detections = []
        for (x1, y1, x2, y2, score), marks in zip(boxes, landmarks, strict=True):
            detections.append(
                Detection(
                    box=Box(float(x1), float(y1), float(x2 - x1), float(y2 - y1)),
                    landmarks=np.asarray(marks, dtype=np.float32).reshape(5, 2),
                    score=float(score),
                )
            )
        return detections

    def embed(self, aligned: np.ndarray) -> np.ndarray:
        self.load()
        if len(aligned) == 0:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        crops = [np.ascontiguousarray(crop[:, :, ::-1]) for crop in aligned]
        features = np.asarray(self._recognizer.get_feat(crops), dtype=np.float32).reshape(len(crops), -1)
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        return (features / np.maximum(norms, 1e-12)).astype(np.float32)
