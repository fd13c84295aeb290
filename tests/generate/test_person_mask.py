from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from photogen.box import Box
from photogen.errors import PhotogenError
from photogen.generate.person_mask import grabcut_person_mask


def _portrait(width: int = 320, height: int = 400) -> tuple[Image.Image, np.ndarray, Box]:
    """A head-and-shoulders figure on a textured background, with its true mask and face box."""
    rng = np.random.default_rng(0)
    background = np.clip(rng.normal((70, 130, 200), 18, (height, width, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(background)
    truth = Image.new("L", (width, height), 0)
    for layer, (skin, shirt) in (
        (ImageDraw.Draw(image), ((225, 180, 150), (180, 40, 40))),
        (ImageDraw.Draw(truth), (255, 255)),
    ):
        layer.ellipse((120, 60, 200, 160), fill=skin)  # head
        layer.rectangle((148, 150, 172, 190), fill=skin)  # neck
        layer.rounded_rectangle((70, 180, 250, height + 20), radius=40, fill=shirt)  # shoulders and chest
    return image, np.asarray(truth) > 127, Box.from_corners(128, 80, 192, 150)


def test_grabcut_finds_the_person_from_a_face_box() -> None:
    image, truth, face = _portrait()
    mask = grabcut_person_mask(image, [face])
    iou = (mask & truth).sum() / (mask | truth).sum()
    assert iou > 0.85, iou
    assert mask.shape == truth.shape


def test_large_photo_is_masked_at_full_resolution() -> None:
    image, truth, face = _portrait()
    x0, y0, x1, y1 = face.corners()
    big = image.resize((960, 1200))
    mask = grabcut_person_mask(big, [Box.from_corners(x0 * 3, y0 * 3, x1 * 3, y1 * 3)])
    big_truth = np.asarray(Image.fromarray(truth).resize((960, 1200)))
    assert mask.shape == (1200, 960)
    assert (mask & big_truth).sum() / (mask | big_truth).sum() > 0.8


def test_no_faces_is_a_clear_error() -> None:
    image, _, _ = _portrait()
    with pytest.raises(PhotogenError, match="No face"):
        grabcut_person_mask(image, [])
