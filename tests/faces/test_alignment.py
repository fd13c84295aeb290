from __future__ import annotations

import numpy as np

from photogen.faces.alignment import ARCFACE_TEMPLATE, align_face, similarity_transform


def test_similarity_transform_recovers_a_known_one() -> None:
    angle, scale, shift = np.deg2rad(17), 2.5, np.array([30.0, -12.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = ARCFACE_TEMPLATE
    dst = src @ rot.T + shift
    matrix = similarity_transform(src, dst)
    np.testing.assert_allclose(matrix[:, :2], rot, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_similarity_transform_never_mirrors() -> None:
    mirrored = ARCFACE_TEMPLATE * [-1, 1]
    matrix = similarity_transform(mirrored, ARCFACE_TEMPLATE)
    assert np.linalg.det(matrix[:, :2]) > 0


def _marked_face(scale: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic face: bright dots at the template landmarks, scaled into a bigger canvas."""
    rng = np.random.default_rng(0)
    image = (rng.random((size, size, 3)) * 40).astype(np.uint8)
    landmarks = ARCFACE_TEMPLATE * scale + 10
    for x, y in landmarks:
        r = max(1, int(2 * scale))
        image[int(y) - r : int(y) + r + 1, int(x) - r : int(x) + r + 1] = 255
    return image, landmarks


def test_aligned_landmarks_land_on_the_template() -> None:
    for scale in (1.0, 6.0):  # 6x takes the area-averaged shrink path
        image, landmarks = _marked_face(scale, int(112 * scale) + 20)
        crop = align_face(image, landmarks)
        assert crop.shape == (112, 112, 3)
        for x, y in ARCFACE_TEMPLATE:
            assert crop[int(round(y)), int(round(x))].mean() > 150, (scale, x, y)
