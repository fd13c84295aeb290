from __future__ import annotations

import cv2
import numpy as np

from photogen.faces.alignment import ARCFACE_TEMPLATE
from photogen.faces.quality import FaceQuality, frontalness_score, sharpness_score, size_score


def test_template_face_is_fully_frontal_and_a_turned_one_is_not() -> None:
    assert frontalness_score(ARCFACE_TEMPLATE) > 0.97
    turned = ARCFACE_TEMPLATE.copy()
    turned[2, 0] += 20  # nose towards one eye: about 45 degrees of yaw
    assert frontalness_score(turned) < 0.5
    tilted = ARCFACE_TEMPLATE.copy()
    tilted[2, 1] = 52  # nose at eye level: head thrown back
    assert frontalness_score(tilted) < 0.1


def test_size_score_grows_with_the_visible_face() -> None:
    hw = (1000, 1000)
    assert size_score((0, 0, 10, 10), hw) == 0.0
    assert size_score((0, 0, 60, 60), hw) < size_score((0, 0, 90, 90), hw) < 1.0
    assert size_score((0, 0, 200, 200), hw) == 1.0
    # a 200 px face with only 40 px inside the photo counts as a 40 px face
    assert size_score((-160, 0, 200, 200), hw) == size_score((0, 0, 40, 40), hw)


def test_blur_lowers_sharpness() -> None:
    rng = np.random.default_rng(1)
    crop = (rng.random((112, 112)) * 255).astype(np.uint8)
    blurred = cv2.GaussianBlur(crop, (0, 0), 3)
    assert sharpness_score(crop) > 0.9 > 0.2 > sharpness_score(blurred)


def test_overall_is_a_geometric_mean() -> None:
    assert FaceQuality(1.0, 1.0, 1.0).overall == 1.0
    assert FaceQuality(1.0, 1.0, 0.0).overall == 0.0
    assert abs(FaceQuality(0.5, 0.5, 0.5).overall - 0.5) < 1e-9
