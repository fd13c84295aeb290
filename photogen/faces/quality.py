"""How useful a face is for identity: its size, its sharpness and how squarely it faces the camera.

Each part is a score in [0, 1]; the overall quality is their geometric mean, so one bad part (a
tiny face, motion blur, a profile) is enough to pull a face down.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from photogen.box import Box

# Face box short side (pixels in the photo) scoring 0 and 1: below ~20 px SFace has nothing to
# work with; from ~100 px on, the 112x112 crop gets every detail it can hold.
SIZE_ZERO_PX = 20.0
SIZE_FULL_PX = 100.0
# Laplacian variance of the aligned 112x112 gray crop that scores 0.5 (see `sharpness_score`).
SHARPNESS_HALF = 150.0
# Nose offset from the eye midpoint, in half eye-distances, that scores 0 (about 56 degrees of yaw).
YAW_ZERO_OFFSET = 1.5
# In the ArcFace template the nose tip sits at 0.49 of the way from the eye line to the mouth line.
_TEMPLATE_NOSE_DEPTH = 0.49


@dataclass(frozen=True, slots=True)
class FaceQuality:
    size: float
    sharpness: float
    frontalness: float

    @property
    def overall(self) -> float:
        parts = np.array([self.size, self.sharpness, self.frontalness], dtype=np.float64)
        return float(np.prod(np.clip(parts, 0.0, 1.0)) ** (1.0 / 3.0))


def size_score(box: Box, image_hw: tuple[int, int]) -> float:
    """From the visible part of the box: a face cut in half by the border has less to offer."""
    height, width = image_hw
    visible = Box.of(box).clipped(width, height)
    short = max(0.0, min(visible.w, visible.h))
    return float(np.clip((short - SIZE_ZERO_PX) / (SIZE_FULL_PX - SIZE_ZERO_PX), 0.0, 1.0))


def sharpness_score(aligned: np.ndarray) -> float:
    """Variance of the Laplacian on the aligned crop, squashed to [0, 1) as v / (v + SHARPNESS_HALF).

    Measured on the aligned crop rather than the photo, so faces of any size are compared at one scale.
    """
    gray = aligned if aligned.ndim == 2 else cv2.cvtColor(aligned, cv2.COLOR_RGB2GRAY)
    variance = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    return variance / (variance + SHARPNESS_HALF)


def frontalness_score(landmarks: np.ndarray) -> float:
    """Landmark symmetry: 1 for a face looking into the camera, towards 0 for a profile or a steep tilt.

    In the face's own frame (eye line horizontal), yaw moves the nose sideways from the midpoint of
    the eyes by about tan(yaw) half eye-distances, so 45 degrees scores about 1/3; pitch moves the
    nose along the eye-to-mouth line away from where it sits in a frontal face.
    """
    eye_a, eye_b, nose, mouth_a, mouth_b = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    across = eye_b - eye_a
    half_eyes = float(np.linalg.norm(across)) / 2
    eye_mid, mouth_mid = (eye_a + eye_b) / 2, (mouth_a + mouth_b) / 2
    down = mouth_mid - eye_mid
    depth_len = float(np.linalg.norm(down))
    if half_eyes < 1e-6 or depth_len < 1e-6:
        return 0.0
    sideways = abs(float((nose - eye_mid) @ across)) / (2 * half_eyes) / half_eyes
    yaw = float(np.clip(1.0 - sideways / YAW_ZERO_OFFSET, 0.0, 1.0))
    depth = float((nose - eye_mid) @ down) / depth_len**2
    pitch = float(np.clip(1.0 - abs(depth - _TEMPLATE_NOSE_DEPTH) / 0.4, 0.0, 1.0))
    return yaw * pitch


def face_quality(
    box: Box,
    landmarks: np.ndarray,
    aligned: np.ndarray,
    image_hw: tuple[int, int],
) -> FaceQuality:
    return FaceQuality(
        size=size_score(box, image_hw),
        sharpness=sharpness_score(aligned),
        frontalness=frontalness_score(landmarks),
    )
