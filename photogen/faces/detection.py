"""Face detection with YuNet: boxes, five landmarks and a score per face."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from photogen.box import Box
from photogen.errors import PhotogenError
from photogen.faces.model import FaceModel, RuntimeFactory
from photogen.faces.model_files import YUNET, load_model
from photogen.faces.runtime import ModelRuntime

logger = logging.getLogger(__name__)

_STRIDES = (8, 16, 32)


@dataclass(frozen=True, slots=True, eq=False)
class Detection:
    """One detected face in the coordinates of the image it was found in.

    `box` may reach past the image border for a face the border cuts.
    `landmarks` is 5x2 (x, y): the eye on the image's left, the other eye, nose tip, mouth corner
    on the image's left, the other mouth corner.
    """

    box: Box
    landmarks: np.ndarray
    score: float


def as_rgb(image: np.ndarray) -> np.ndarray:
    """A 3-channel uint8 view of a grayscale, RGB or RGBA image; anything else is refused."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise PhotogenError("A photo must be an 8-bit image array (numpy uint8); decode it with Pillow first.")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        return np.ascontiguousarray(image[:, :, :3])
    raise PhotogenError(f"A photo must be grayscale, RGB or RGBA; this one has shape {image.shape}.")


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of the boxes (x, y, w, h) kept by greedy non-maximum suppression, best first."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    areas = np.maximum(boxes[:, 2], 0) * np.maximum(boxes[:, 3], 0)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]))
        inter = w * h
        iou = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def decode_yunet(
    outputs: dict[str, np.ndarray], input_hw: tuple[int, int], score_threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn YuNet's per-stride heads into boxes (N,4 x,y,w,h), landmarks (N,5,2) and scores (N,).

    Each stride has a grid of anchor-free cells; a cell's score is the geometric mean of its class
    and objectness outputs, its box centre and landmarks are offsets in cell units, and its box size
    is log-encoded in cell units.
    """
    height, width = input_hw
    all_boxes, all_marks, all_scores = [], [], []
    for stride in _STRIDES:
        rows, cols = height // stride, width // stride
        cls = np.clip(outputs[f"cls_{stride}"].reshape(-1), 0.0, 1.0)
        obj = np.clip(outputs[f"obj_{stride}"].reshape(-1), 0.0, 1.0)
        scores = np.sqrt(cls * obj)
        hit = np.flatnonzero(scores >= score_threshold)
        if hit.size == 0:
            continue
        bbox = outputs[f"bbox_{stride}"].reshape(rows * cols, 4)[hit]
        kps = outputs[f"kps_{stride}"].reshape(rows * cols, 5, 2)[hit]
        cell = np.stack([hit % cols, hit // cols], axis=1).astype(np.float32)
        centre = (cell + bbox[:, :2]) * stride
        size = np.exp(bbox[:, 2:4]) * stride
        all_boxes.append(np.concatenate([centre - size / 2, size], axis=1))
        all_marks.append((kps + cell[:, None, :]) * stride)
        all_scores.append(scores[hit])
    if not all_scores:
        return np.zeros((0, 4), np.float32), np.zeros((0, 5, 2), np.float32), np.zeros(0, np.float32)
    return (
        np.concatenate(all_boxes).astype(np.float32),
        np.concatenate(all_marks).astype(np.float32),
        np.concatenate(all_scores).astype(np.float32),
    )


def _bgr_blob(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """The RGB image as a contiguous (1, 3, height, width) float32 BGR blob, zero-padded bottom and right.

    YuNet was trained on OpenCV's BGR order with raw 0..255 values. Filling each channel plane from
    its own contiguous copy costs ~0.7 ms at 1280x1024, against ~5 ms for an interleaved float
    canvas that then has to be transposed (and copied again by ONNX Runtime, which needs it contiguous).
    """
    rows, cols = image.shape[:2]
    blob = np.zeros((1, 3, height, width), dtype=np.float32)
    for channel, plane in enumerate(reversed(cv2.split(image))):
        blob[0, channel, :rows, :cols] = plane
    return blob


class YuNetDetector(FaceModel[np.ndarray, list[Detection]]):
    """YuNet (OpenCV Zoo, 2023mar, int8) in ONNX Runtime.

    The photo is detected on a copy whose longer side is at most `max_side` (large photos) and at
    least `min_side` (tiny crops: a 16-48 px face is found once enlarged), then results
    are mapped back to the caller's pixels.

    Defaults measured on shared/faces at max_side 1280: real faces score 0.75-0.96 (0.75 being a
    3/4 profile shrunk to 90 px), non-faces at most 0.62 (a galaxy in the Hubble deep field), so
    the threshold sits at 0.72. Detection at 1280 costs ~40 ms a photo on 2 cores (960: ~20 ms)
    and finds small faces 960 misses.
    """

    def __init__(
        self,
        runtime_factory: RuntimeFactory | None = None,
        *,
        score_threshold: float = 0.72,
        nms_threshold: float = 0.3,
        max_side: int = 1280,
        min_side: int = 160,
        max_faces: int = 200,
    ) -> None:
        super().__init__(runtime_factory)
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.max_side = max_side
        self.min_side = min_side
        self.max_faces = max_faces
        self._output_names: list[str] = []

    def _load(self) -> ModelRuntime:
        runtime = self._runtime_factory(load_model(YUNET))
        self._input_name = runtime.get_inputs()[0].name
        self._output_names = [o.name for o in runtime.get_outputs()]
        return runtime

    def _predict(self, inputs: np.ndarray) -> list[Detection]:
        # 1. Check inputs
        image = as_rgb(inputs)
        height, width = image.shape[:2]
        if min(height, width) < 8:
            return []

        # 2. Scale: shrink large photos, enlarge tiny crops
        longest = max(height, width)
        scale = min(self.max_side / longest, max(1.0, self.min_side / longest))
        work = image
        if scale != 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            work = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)

        # 3. Pad bottom and right up to the coarsest stride. No margin around the photo: measured
        # on a face cut by the border, black padding lowered its score from 0.84 to 0.63.
        pad_h = -(-work.shape[0] // 32) * 32
        pad_w = -(-work.shape[1] // 32) * 32
        blob = _bgr_blob(work, pad_h, pad_w)

        # 4. Run and decode
        outputs = self.runtime.run(self._output_names, {self._input_name: blob})
        named = dict(zip(self._output_names, outputs, strict=True))
        boxes, marks, scores = decode_yunet(named, (pad_h, pad_w), self.score_threshold)
        keep = nms(boxes, scores, self.nms_threshold)[: self.max_faces]

        # 5. Map back to the caller's pixels
        detections = []
        for i in keep:
            x, y, w, h = (boxes[i] / scale).tolist()
            if x >= width or y >= height:
                continue  # found in the padding only
            landmarks = (marks[i] / scale).astype(np.float32)
            detections.append(Detection(box=Box(x, y, w, h), landmarks=landmarks, score=float(scores[i])))
        return detections
