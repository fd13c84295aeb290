from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from photogen.create.print_page import CARD_5X7, write_print_pdf
from photogen.errors import PhotogenError


def test_card_spec_pixels() -> None:
    assert CARD_5X7.page_px == (1575, 2175)
    assert CARD_5X7.trim_rect == (38, 38, 1537, 2137)


def test_print_pdf_has_exact_page_and_trim(tmp_path: Path) -> None:
    page = Image.new("RGB", CARD_5X7.page_px, (200, 100, 50))
    path = tmp_path / "card.pdf"
    write_print_pdf(page, path, CARD_5X7, xmp=b"<x:xmpmeta>hello</x:xmpmeta>")
    data = path.read_bytes()
    assert re.search(rb"/MediaBox \[0 0 378\.000 522\.000\]", data)  # 5.25 x 7.25 in
    assert re.search(rb"/TrimBox \[9\.000 9\.000 369\.000 513\.000\]", data)  # 5 x 7 in, 1/8 in bleed
    assert b"/Width 1575 /Height 2175" in data
    with pytest.raises(PhotogenError, match="1575x2175"):
        write_print_pdf(Image.new("RGB", (100, 100)), path, CARD_5X7)


def test_pillow_pdf_writer_sets_page_size_from_resolution(tmp_path: Path) -> None:
    # why we could use Pillow for the page size, and why we still write our own (no TrimBox)
    path = tmp_path / "pillow.pdf"
    Image.new("RGB", CARD_5X7.page_px).save(path, resolution=300)
    data = path.read_bytes()
    assert re.search(rb"/MediaBox \[\s*0 0 378(\.0+)? 522(\.0+)?\s*\]", data)
    assert b"/TrimBox" not in data
