"""A corpus of hostile and odd files, built by the test: each is indexed or skipped with a reason,
nothing crashes, nothing is written outside the data directory, and a full disk is a clear error."""

from __future__ import annotations

import errno
import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import piexif
import pytest
from PIL import Image

from photogen.errors import PhotogenError
from photogen.library import blobs as blobs_module
from photogen.library.consent import add_folder_source
from photogen.library.indexer import index_library
from photogen.library.photos import list_photos
from tests.conftest import write_photo


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def build_corpus(root: Path) -> dict[str, str]:
    """Files, and what must happen to each: 'photo' (indexed) or a word the skip reason contains."""
    root.mkdir(parents=True)
    expect: dict[str, str] = {}
    good = write_photo(root / "good.jpg", seed=1)
    data = good.read_bytes()
    expect["good.jpg"] = "photo"

    (root / "zero.jpg").write_bytes(b"")
    expect["zero.jpg"] = "empty"
    (root / "truncated.jpg").write_bytes(data[: len(data) // 2])
    expect["truncated.jpg"] = "corrupt"
    (root / "text-as.png").write_text("hello, not a png")
    expect["text-as.png"] = "not an image"
    # a bomb: a PNG header claiming 50,000 x 50,000 pixels
    ihdr = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    (root / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _png_chunk(b"IEND", b""))
    expect["bomb.png"] = "bomb"
    # polyglot: a valid JPEG with a zip archive appended (still a photo)
    (root / "polyglot.jpg").write_bytes(data + b"PK\x03\x04" + os.urandom(200))
    expect["polyglot.jpg"] = "photo"
    # wrong extension: a PNG named .jpg is read by content
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (9, 90, 200)).save(buf, "PNG")
    (root / "really-a-png.jpg").write_bytes(buf.getvalue())
    expect["really-a-png.jpg"] = "photo"
    # 16-bit grayscale and CMYK
    Image.fromarray(np.arange(50 * 40, dtype=np.uint16).reshape(40, 50) * 30).save(root / "gray16.png")
    expect["gray16.png"] = "photo"
    Image.new("CMYK", (40, 30), (0, 128, 255, 10)).save(root / "cmyk.jpg")
    expect["cmyk.jpg"] = "photo"
    # animated WebP: the first frame is the photo
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(root / "animated.webp", save_all=True, append_images=frames[1:], duration=100)
    expect["animated.webp"] = "photo"
    # giant EXIF comment and malformed EXIF bytes
    exif = piexif.dump({"Exif": {piexif.ExifIFD.UserComment: b"ASCII\0\0\0" + b"A" * 60_000}})
    Image.new("RGB", (30, 30), (1, 2, 3)).save(root / "giant-exif.jpg", exif=exif)
    expect["giant-exif.jpg"] = "photo"
    Image.new("RGB", (30, 30), (4, 5, 6)).save(root / "bad-exif.jpg", exif=b"Exif\0\0MM\0*" + os.urandom(64))
    expect["bad-exif.jpg"] = "photo"
    # names with control characters and invalid UTF-8
    write_photo(root / "tmp1.jpg", seed=2)
    os.rename(root / "tmp1.jpg", root / "ctrl\x07\x1bname.jpg")
    expect["ctrl\x07\x1bname.jpg"] = "photo"
    write_photo(root / "tmp2.jpg", seed=3)
    os.rename(os.fsencode(root / "tmp2.jpg"), os.fsencode(root) + b"/bad-\xff\xfe.jpg")
    expect["bad-\\xff\\xfe.jpg"] = "photo"
    # a symlink leading out of the folder
    outside = write_photo(root.parent.parent / "outside-secret.jpg", seed=4)
    os.symlink(outside, root / "escape.jpg")
    expect["escape.jpg"] = "symlink"
    # a GIF and a PDF: not formats photogen reads
    Image.new("P", (10, 10)).save(root / "anim.gif")
    expect["anim.gif"] = "unsupported"
    (root / "doc.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    expect["doc.pdf"] = "not an image"
    return expect


def _printable(name: str) -> str:
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in name)


def test_hostile_corpus_is_indexed_or_skipped_with_reasons(library, settings, tmp_path: Path) -> None:
    corpus = tmp_path / "lib" / "Hostile"
    expect = build_corpus(corpus)
    outside_before = {p for p in tmp_path.rglob("*") if settings.home not in p.parents}
    add_folder_source(library, tmp_path / "lib", ["all"])
    report = index_library(library)

    indexed = {Path(p.path).name for p in list_photos(library)}
    skipped = {Path(s.path).name: s.reason for s in report.skipped}
    for name, outcome in expect.items():
        shown = _printable(name)
        if outcome == "photo":
            assert shown in indexed, f"{shown} should be indexed; skipped: {skipped.get(shown)}"
        else:
            assert shown in skipped, f"{shown} should be skipped"
            assert outcome in skipped[shown].lower(), f"{shown}: {skipped[shown]}"
    # nothing was written outside the data directory
    outside_after = {p for p in tmp_path.rglob("*") if settings.home not in p.parents}
    assert outside_after == outside_before
    # a second run reads nothing again and reaches the same verdicts
    again = index_library(library)
    assert again.added == 0 and {Path(s.path).name for s in again.skipped} == set(skipped)


def test_full_disk_is_a_clear_error_and_the_catalog_stays_consistent(library, tmp_path: Path, monkeypatch) -> None:
    for i in range(6):
        write_photo(tmp_path / "lib" / "A" / f"{i}.jpg", seed=i)
    add_folder_source(library, tmp_path / "lib", ["all"])
    real_put = blobs_module.BlobStore.put
    calls = {"n": 0}

    def put(self, logical: str, data: bytes, durable: bool = True):  # the disk fills up after three thumbnails
        calls["n"] += 1
        if calls["n"] > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_put(self, logical, data, durable)

    monkeypatch.setattr(blobs_module.BlobStore, "put", put)
    with pytest.raises(PhotogenError, match="disk .* is full"):
        index_library(library)
    cat = library.catalog
    landed = cat.scalar("SELECT count(*) FROM photos")
    assert landed == 3
    # every photo row has its thumbnail row and file; no half-recorded photo
    assert cat.scalar("SELECT count(*) FROM blobs WHERE kind = 'thumbnail'") == landed
    assert all(library.blobs.exists(r[0]) for r in cat.query("SELECT name FROM blobs"))
    monkeypatch.setattr(blobs_module.BlobStore, "put", real_put)
    report = index_library(library)
    assert report.added == 3 and cat.scalar("SELECT count(*) FROM photos") == 6
