from __future__ import annotations

from pathlib import Path

import pytest

from photogen.create.verify import verify_file
from photogen.errors import PhotogenError

from .conftest import synthetic_photo


def test_plain_photo_says_no(tmp_path: Path) -> None:
    from .conftest import faces_dir

    for path in [faces_dir() / "groups" / "bbt1.jpg", faces_dir() / "noface" / "landscape.jpg"]:
        result = verify_file(path)
        assert not result.made_by_photogen and not result.watermark_found and result.kind is None
        assert "No photogen provenance" in result.summary
    plain = tmp_path / "plain.png"
    synthetic_photo().save(plain)
    assert not verify_file(plain).made_by_photogen


def test_verify_rejects_non_images(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(PhotogenError, match="not an image"):
        verify_file(junk)
    with pytest.raises(PhotogenError, match="Cannot read"):
        verify_file(tmp_path / "missing.png")
