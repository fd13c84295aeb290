from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from photogen.create.instant import (
    INSTANT_LABEL,
    INSTANT_STYLES,
    apply_instant_style,
    face_mask,
    get_instant_style,
    list_instant_styles,
    person_mask_from_faces,
)
from photogen.errors import PhotogenError

from .conftest import synthetic_photo


def _inside_outside(a: Image.Image, b: Image.Image, box: tuple[int, int, int, int]) -> tuple[float, float]:
    x, y, w, h = box
    # the inner 60% of the box: where the feathered mask is fully on
    ix0, iy0, ix1, iy1 = x + int(0.2 * w), y + int(0.2 * h), x + int(0.8 * w), y + int(0.8 * h)
    diff = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).mean(axis=-1)
    inside = np.zeros(diff.shape, bool)
    inside[iy0:iy1, ix0:ix1] = True
    far = np.ones(diff.shape, bool)
    far[max(0, y - h) : y + 2 * h, max(0, x - w) : x + 2 * w] = False
    return float(diff[inside].mean()), float(diff[far].mean())


def test_styles_are_plain_data() -> None:
    styles = {s["name"] for s in list_instant_styles()}
    assert {"watercolor", "pencil-sketch", "cartoon", "oil-painting"} <= styles
    with pytest.raises(PhotogenError, match="Choose one of"):
        get_instant_style("vaporwave")


@pytest.mark.parametrize("style", [s.name for s in INSTANT_STYLES if s.face_mode == "color"])
def test_face_stays_close_to_the_original(portrait: tuple[Image.Image, tuple[int, int, int, int]], style: str) -> None:
    image, box = portrait
    result = apply_instant_style(image, style, [box], max_side=700)
    assert result.label == INSTANT_LABEL
    original = image.resize(result.image.size, Image.LANCZOS)
    inside, outside = _inside_outside(original, result.image, result.face_boxes[0])
    assert inside < 6.0, f"{style}: face changed by {inside:.1f} levels"
    assert outside > 2.5 * inside, f"{style}: the filter barely changed the rest ({outside:.1f} vs {inside:.1f})"


def test_without_face_boxes_the_face_is_restyled(portrait: tuple[Image.Image, tuple[int, int, int, int]]) -> None:
    image, box = portrait
    kept = apply_instant_style(image, "cartoon", [box], max_side=700)
    lost = apply_instant_style(image, "cartoon", [], max_side=700)
    original = image.resize(kept.image.size, Image.LANCZOS)
    assert _inside_outside(original, lost.image, kept.face_boxes[0])[0] > 2 * _inside_outside(original, kept.image, kept.face_boxes[0])[0]


def test_face_mask_is_feathered() -> None:
    mask = face_mask((200, 200), [(70, 60, 60, 80)])
    assert mask[100, 100] == pytest.approx(1.0, abs=0.01)
    assert mask[5, 5] == 0.0
    assert ((mask > 0.05) & (mask < 0.95)).sum() > 500  # a soft edge, not a hard cut


def test_background_blur_keeps_the_person(portrait: tuple[Image.Image, tuple[int, int, int, int]]) -> None:
    image, box = portrait
    plain = apply_instant_style(image, "watercolor", [box], max_side=600)
    blurred = apply_instant_style(image, "watercolor", [box], max_side=600, background="blur", blur_strength=0.03)
    inside, _ = _inside_outside(plain.image, blurred.image, blurred.face_boxes[0])
    person = person_mask_from_faces(plain.image, blurred.face_boxes)
    diff = np.abs(np.asarray(plain.image, np.float64) - np.asarray(blurred.image, np.float64)).mean(axis=-1)
    background = float(diff[person < 0.05].mean())
    assert (person < 0.05).mean() > 0.1  # the mask left some background
    assert inside < 1.0 and background > 3 * inside + 2.0


def test_background_replacement_with_a_given_mask() -> None:
    image = synthetic_photo((320, 240))
    mask = np.zeros((240, 320), np.float32)
    mask[60:200, 100:220] = 1.0
    result = apply_instant_style(image, "cartoon", [(130, 70, 60, 60)], background="replace", person_mask=mask, background_image=(0, 0, 255))
    out = np.asarray(result.image)
    assert (out[5:40, 5:60] == (0, 0, 255)).all()
    assert not (out[100:180, 120:200] == (0, 0, 255)).all(axis=-1).any()


def test_grabcut_person_mask_covers_the_person(group_photo: tuple[Image.Image, list[tuple[int, int, int, int]]]) -> None:
    image, boxes = group_photo
    assert len(boxes) >= 4
    mask = person_mask_from_faces(image, boxes)
    assert mask.shape == (image.height, image.width)
    for x, y, w, h in boxes:
        assert mask[y + h // 2, x + w // 2] > 0.9  # faces are in
        assert mask[min(image.height - 1, y + 2 * h), x + w // 2] > 0.5  # and the chest under them
    assert mask[:10, :].mean() < 0.3  # the top strip is background
    with pytest.raises(PhotogenError, match="no face"):
        person_mask_from_faces(image, [])


def test_replace_needs_a_background() -> None:
    with pytest.raises(PhotogenError, match="background"):
        apply_instant_style(synthetic_photo(), "cartoon", [(10, 10, 40, 40)], background="replace")
