"""Five-point face alignment onto the standard 112x112 ArcFace template."""

from __future__ import annotations

import cv2
import numpy as np

ALIGNED_SIZE = 112

# Where the eyes, nose tip and mouth corners sit in a 112x112 ArcFace/SFace crop
# (image-left eye first, the same order as the detector's landmarks).
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 similarity (rotation, uniform scale, translation) that best maps `src` onto `dst`.

    Least squares in closed form (Umeyama 1991); reflections are excluded because a mirrored face
    is a different face to the embedder.
    """
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, sigma, vt = np.linalg.svd(covariance)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1] = -1.0
    rotation = u @ np.diag(sign) @ vt
    src_var = (src_c**2).sum() / len(src)
    scale = float(sigma @ sign / src_var) if src_var > 1e-12 else 1.0
    matrix = np.empty((2, 3), dtype=np.float64)
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = ALIGNED_SIZE) -> np.ndarray:
    """Warp the face with these landmarks onto a `size`x`size` crop in the template's pose."""
    landmarks = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    template = ARCFACE_TEMPLATE * (size / ALIGNED_SIZE)
    matrix = similarity_transform(landmarks, template)
    shrink = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if shrink < 0.5:
        # A bilinear warp that shrinks more than 2x aliases (it samples, it does not average), so
        # shrink the face's neighbourhood with area averaging first, then warp the rest of the way.
        image, landmarks = _area_downscale_around(image, landmarks, factor=2 * shrink)
        matrix = similarity_transform(landmarks, template)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _area_downscale_around(image: np.ndarray, landmarks: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Crop a generous window around the landmarks and shrink it by `factor` with area averaging."""
    height, width = image.shape[:2]
    span = float(np.ptp(landmarks, axis=0).max())
    centre = landmarks.mean(axis=0)
    half = 2.0 * span + 4  # the template's crop is about 2x the landmark spread
    x0, y0 = (max(0, int(c - half)) for c in centre)
    x1, y1 = min(width, int(centre[0] + half) + 1), min(height, int(centre[1] + half) + 1)
    if x1 <= x0 or y1 <= y0:
        return image, landmarks
    crop = image[y0:y1, x0:x1]
    new_size = (max(1, round((x1 - x0) * factor)), max(1, round((y1 - y0) * factor)))
    small = cv2.resize(crop, new_size, interpolation=cv2.INTER_AREA)
    fx, fy = new_size[0] / (x1 - x0), new_size[1] / (y1 - y0)
    moved = (landmarks - [x0, y0]) * [fx, fy]
    return small, moved
