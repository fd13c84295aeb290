from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from photogen.create.print_page import ALBUM_8X8, CARD_5X7
from photogen.create.templates import (
    CARD_THEMES,
    card_layout,
    list_templates,
    parse_template_id,
    render_album_page,
    render_card,
    render_social_post,
)
from photogen.errors import PhotogenError

from .conftest import synthetic_photo


def test_list_templates_is_plain_data() -> None:
    templates = json.loads(json.dumps(list_templates()))
    ids = {t["id"] for t in templates}
    assert {"card:birthday", "card:holidays", "card:thank-you", "card:wedding", "card:new-baby", "card:blank"} <= ids
    assert {"post:1x1", "post:4x5", "post:9x16", "post:16x9", "album-page"} <= ids


def test_parse_template_id() -> None:
    assert parse_template_id("card:birthday").name == "birthday"
    assert parse_template_id("post:4:5").name == "4x5"
    assert parse_template_id("album-page").kind == "album-page"
    with pytest.raises(PhotogenError, match="card:birthday"):
        parse_template_id("card:bar-mitzvah")


@pytest.mark.parametrize("theme", [t.name for t in CARD_THEMES])
def test_card_size_dpi_and_text(theme: str) -> None:
    image = synthetic_photo((800, 600))
    card = render_card(image, theme, title="Happy Day, Zoë", message="With love from all of us.")
    assert card.size == (1575, 2175) and card.info["dpi"] == (300, 300)
    blank = render_card(image, theme, title="", message="")
    layout = card_layout(CARD_5X7)
    for rect in (layout.title_rect, layout.message_rect):
        x0, y0, x1, y1 = rect
        changed = np.abs(np.asarray(card, np.int16)[y0:y1, x0:x1] - np.asarray(blank, np.int16)[y0:y1, x0:x1]).max(axis=-1) > 40
        assert changed.sum() > 300, f"{theme}: no text in {rect}"


def test_card_keeps_subject_in_photo_area(portrait: tuple[Image.Image, tuple[int, int, int, int]]) -> None:
    image, box = portrait
    card = render_card(image, "card:birthday", subject_box=box)
    assert card.size == CARD_5X7.page_px


def test_album_page_keeps_photos_untouched() -> None:
    photos = [synthetic_photo((400, 300), seed=i) for i in range(3)]
    page = render_album_page(photos, background=synthetic_photo((500, 500), seed=9), title="Summer 2024")
    assert page.image.size == ALBUM_8X8.page_px == (2475, 2475)
    assert page.image.info["dpi"] == (300, 300)
    for photo, (x0, y0, x1, y1) in zip(photos, page.photo_rects, strict=True):
        placed = np.asarray(page.image.crop((x0, y0, x1, y1)), np.float64)
        expected = np.asarray(photo.resize((x1 - x0, y1 - y0), Image.LANCZOS), np.float64)
        assert np.abs(placed - expected).mean() < 1.0  # the photo's pixels, only rescaled
    with pytest.raises(PhotogenError):
        render_album_page([])


@pytest.mark.parametrize("fmt,size", [("1x1", (1080, 1080)), ("4x5", (1080, 1350)), ("9x16", (1080, 1920)), ("16x9", (1920, 1080))])
@pytest.mark.parametrize("box", [(30, 20, 60, 80), (900, 100, 80, 120), (400, 500, 200, 90), (100, 50, 800, 500)])
def test_social_post_subject_in_safe_area(fmt: str, size: tuple[int, int], box: tuple[int, int, int, int]) -> None:
    image = synthetic_photo((1000, 600))
    post = render_social_post(image, f"post:{fmt}", subject_box=box)
    assert post.image.size == size
    assert post.subject_rect is not None
    sx0, sy0, sx1, sy1 = post.safe_rect
    x0, y0, x1, y1 = post.subject_rect
    assert sx0 - 1 <= x0 and x1 <= sx1 + 1 and sy0 - 1 <= y0 and y1 <= sy1 + 1


def test_social_post_content_is_the_subject() -> None:
    # a red square subject must show up red where the post says it landed
    image = Image.new("RGB", (1200, 800), (30, 60, 30))
    image.paste((255, 0, 0), (1050, 50, 1150, 150))
    post = render_social_post(image, "9x16", subject_box=(1050, 50, 100, 100))
    x0, y0, x1, y1 = post.subject_rect  # type: ignore[misc]
    center = np.asarray(post.image)[(y0 + y1) // 2, (x0 + x1) // 2]
    assert center[0] > 200 and center[1] < 60
