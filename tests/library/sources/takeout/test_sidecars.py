"""Takeout sidecars: the names observed in real exports, matched to their photos, and the length rule."""

from __future__ import annotations

from pathlib import Path

from photogen.library.sources import AlbumRef
from photogen.library.sources.takeout import (
    TakeoutSource,
    sidecar_candidates,
    utf16_cut,
)
from tests.library.sources.conftest import (
    PHOTOS,
    sidecar,
    write_zip,
)

YEAR = f"{PHOTOS}/Photos from 2023"

# (media, sidecar) pairs observed in real exports (reference §2)


NAME_PAIRS = [
    ("PXL_20211013_220651983.jpg", "PXL_20211013_220651983.jpg.json"),
    ("20161105_170829.jpg", "20161105_170829.jpg.supplemental-metadata.json"),
    ("Screenshot_20231027_123303_Facebook.jpg", "Screenshot_20231027_123303_Facebook.jpg.supple.json"),
    ("MVIMG_20191230_232926.jpg", "MVIMG_20191230_232926.jpg.supplemental-metadat.json"),
    ("Screenshot_2024-08-31-00-53-48-647_com.snapchat.jpg", "Screenshot_2024-08-31-00-53-48-647_com.snapcha.json"),
    ("05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jpg", "05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jp.json"),
    ("DSC_0101(1).JPG", "DSC_0101.JPG(1).json"),
    ("Scan35(1).jpg", "Scan35.jpg.supplemental-metadata(1).json"),
    ("Screenshot_20231027_123303_Facebook(1).jpg", "Screenshot_20231027_123303_Facebook.jpg.supple(1).json"),
    ("13039_327707840323_537645323_9470255_27214_n(1).jpg", "13039_327707840323_537645323_9470255_27214_n.j(1).json"),
    ("skytree (2).jpg", "skytree (2).jpg.supplemental-metadata.json"),
    ("IMG_2367(1).HEIC", "IMG_2367.HEIC(1).supplemental-metadata.json"),
    ("PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINA.jpg", "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGIN.json"),
    ("abcdefghijklmnopqrstuvwxyz0123456789abcdefg.jpg", "abcdefghijklmnopqrstuvwxyz0123456789abcdefg.jpg..json"),
    ("IMG_5555.jpg", "IMG_5555.json"),  # uploaded without an extension
]


def _facts(source: TakeoutSource, album_key: str) -> dict[str, dict]:
    return {ref.rel_path.rsplit("/", 1)[-1]: ref.sidecar for ref in source.files(AlbumRef(album_key, album_key)) if not ref.skip_reason}


def test_every_observed_sidecar_name_is_matched_to_its_photo(tmp_path: Path) -> None:
    entries: dict[str, bytes] = {}
    for media, side in NAME_PAIRS:
        entries[f"{YEAR}/{media}"] = b"not decoded here"
        entries[f"{YEAR}/{side}"] = sidecar(media, description=f"caption of {media}")
    # the edited copy has no sidecar of its own: it takes the original's
    entries[f"{YEAR}/IMAG0061.JPG"] = b"x"
    entries[f"{YEAR}/IMAG0061-edited.JPG"] = b"y"
    entries[f"{YEAR}/IMAG0061.JPG.supplemental-metadata.json"] = sidecar("IMAG0061.JPG", description="original")
    # (n) is another photo: a sidecar without the counter must not be matched to it, nor the reverse
    entries[f"{YEAR}/DSC_0104(1).JPG"] = b"x"
    entries[f"{YEAR}/DSC_0104.JPG.json"] = sidecar("DSC_0104.JPG", description="plain")
    entries[f"{YEAR}/X.JPG"] = b"x"
    entries[f"{YEAR}/X.JPG(1).json"] = sidecar("X.JPG", description="numbered")
    # a sidecar with an unrelated name, found by its title
    entries[f"{YEAR}/renamed-by-google.jpg"] = b"x"
    entries[f"{YEAR}/something else.json"] = sidecar("renamed-by-google.jpg", description="by title")
    source = TakeoutSource([write_zip(tmp_path / "takeout-001.zip", entries)], "T")
    facts = _facts(source, "Photos from 2023")
    for media, _side in NAME_PAIRS:
        assert facts[media].get("description") == f"caption of {media}", media
    assert facts["IMAG0061-edited.JPG"]["description"] == "original"
    assert facts["IMAG0061.JPG"]["description"] == "original"
    assert "description" not in facts["DSC_0104(1).JPG"]
    assert "description" not in facts["X.JPG"]
    assert facts["renamed-by-google.jpg"]["description"] == "by title"


def test_length_rule_counts_utf16_units() -> None:
    emoji = "".join(chr(0x1F600 + i) for i in range(24))  # 24 code points, 48 UTF-16 units
    assert utf16_cut(emoji + ".jpg") == emoji[:23]
    assert utf16_cut(emoji + ".jpg") + ".json" in sidecar_candidates(emoji + ".jpg")
    assert len(utf16_cut("a" * 100)) == 46
