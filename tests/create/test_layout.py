from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from photogen.create.layout import (
    SafeInsets,
    draw_text,
    fit_text,
    font_files,
    grid_cells,
    load_font,
    smart_crop,
)
from photogen.errors import PhotogenError


def test_fonts_cover_accented_names() -> None:
    font = load_font("serif", 40, "Zoë José Noël")
    from photogen.create.layout import covers

    if font_files("serif") and "DejaVu" in str(font_files("serif")[0]):
        assert covers(font, "Zoë José Noël")


def test_fit_text_shrinks_to_fit() -> None:
    short = fit_text("Hi", (800, 200), "sans", max_size=150)
    long = fit_text("A much longer message that has to wrap over several lines to fit the box", (800, 200), "sans", max_size=150)
    assert short.size > long.size and len(long.lines) > 1
    assert long.block[0] <= 800 and long.block[1] <= 200
    with pytest.raises(PhotogenError, match="Shorten"):
        fit_text("word " * 400, (200, 50), "sans", max_size=40, min_size=20)


def test_text_is_drawn_inside_its_box() -> None:
    page = Image.new("RGB", (600, 400), "white")
    rect = (50, 100, 550, 300)
    drawn = draw_text(page, "Happy Birthday, Zoë!", rect, family="serif-bold", color=(200, 0, 0))
    arr = np.asarray(page)
    ink = np.argwhere((arr != 255).any(axis=-1))
    assert drawn is not None and len(ink) > 500
    assert ink[:, 0].min() >= rect[1] - 2 and ink[:, 0].max() <= rect[3] + 2
    assert ink[:, 1].min() >= rect[0] - 2 and ink[:, 1].max() <= rect[2] + 2


box_strategy = st.tuples(st.integers(0, 1900), st.integers(0, 1400), st.integers(1, 1000), st.integers(1, 1000))


@settings(max_examples=200, deadline=None)
@given(box=box_strategy, fmt=st.sampled_from([(1080, 1080), (1080, 1350), (1080, 1920), (1920, 1080)]))
def test_smart_crop_keeps_subject_in_safe_area(box: tuple[int, int, int, int], fmt: tuple[int, int]) -> None:
    width, height = 2000, 1500
    x, y, w, h = box
    w, h = min(w, width - x), min(h, height - y)
    if w <= 0 or h <= 0:
        return
    safe = SafeInsets(0.06, 0.14, 0.06, 0.2)
    x0, y0, x1, y1 = smart_crop((width, height), fmt, (x, y, w, h), safe)
    assert (x1 - x0) / (y1 - y0) == pytest.approx(fmt[0] / fmt[1], rel=1e-6)
    cw, ch = x1 - x0, y1 - y0
    tol = 1e-6 * max(cw, ch)
    assert x >= x0 + safe.left * cw - tol and x + w <= x1 - safe.right * cw + tol
    assert y >= y0 + safe.top * ch - tol and y + h <= y1 - safe.bottom * ch + tol


def test_grid_cells_do_not_overlap() -> None:
    for n in range(1, 10):
        cells = grid_cells(n, (0, 0, 2000, 2000), 20)
        assert len(cells) == n
        for i, a in enumerate(cells):
            for b in cells[i + 1 :]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
