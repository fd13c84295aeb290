from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photogen.library.consent import add_folder_source
from photogen.library.indexer import index_library
from photogen.library.photos import list_photos, thumbnail_bytes
from tests.conftest import write_photo


def add_and_index(library, root: Path):
    add_folder_source(library, root, ["all"])
    return index_library(library)


def test_incremental_rescan_moves_changes_and_deletes(library, tmp_path: Path) -> None:
    root = tmp_path / "lib"
    for i in range(4):
        write_photo(root / "A" / f"{i}.jpg", seed=i)
    first = add_and_index(library, root)
    assert (first.added, first.unchanged) == (4, 0)
    ids = {Path(p.path).name: p.id for p in list_photos(library)}

    again = index_library(library)
    assert (again.added, again.updated, again.unchanged, again.removed) == (0, 0, 4, 0)

    (root / "A" / "sub").mkdir()
    shutil.move(root / "A" / "0.jpg", root / "A" / "sub" / "moved.jpg")  # moved: same photo
    (root / "A" / "1.jpg").unlink()  # deleted
    write_photo(root / "A" / "2.jpg", seed=77, color=(1, 2, 3))  # changed in place
    os.utime(root / "A" / "2.jpg", ns=(1, 10**18))
    third = index_library(library)
    assert (third.added, third.updated, third.removed) == (1, 1, 2)  # move = add new path + remove old
    after = {Path(p.path).name: p.id for p in list_photos(library)}
    assert after["moved.jpg"] == ids["0.jpg"]
    assert "1.jpg" not in after and after["2.jpg"] != ids["2.jpg"]
    assert library.catalog.scalar("SELECT count(*) FROM photos") == 3
    assert len(library.blobs.all_paths()) == 3  # the old thumbnails went with their photos


def _png_with_size(path: Path, width: int, height: int) -> None:
    """A PNG header claiming a size, with a tiny body: a decompression bomb's calling card."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b""))


def test_bad_files_are_skipped_with_reasons_and_never_stop_a_run(library, tmp_path: Path) -> None:
    root = tmp_path / "lib" / "Mixed"
    write_photo(root / "good.jpg", seed=1)
    (root / "empty.jpg").parent.mkdir(parents=True, exist_ok=True)
    (root / "empty.jpg").write_bytes(b"")
    (root / "notes.jpg").write_text("this is not a photo")
    good = (root / "good.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(good[: len(good) // 3])
    _png_with_size(root / "bomb.png", 40_000, 40_000)
    _png_with_size(root / "absurd.png", 1, 100_000)
    (root / "doc.pdf").write_bytes(b"%PDF-1.4\n")
    Image.new("RGB", (32, 32)).save(root / "anim.gif")
    write_photo(root / "brokenexif.jpg", taken="9999:99:99 99:99:99", offset="garbage", seed=5)
    report = add_and_index(library, tmp_path / "lib")
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == {"empty.jpg", "notes.jpg", "truncated.jpg", "bomb.png", "absurd.png", "doc.pdf", "anim.gif"}
    assert reasons["empty.jpg"] == "empty file"
    assert "bomb" in reasons["bomb.png"]
    assert "absurd" in reasons["absurd.png"]
    assert "corrupt" in reasons["truncated.jpg"]
    assert "GIF" in reasons["anim.gif"]
    assert {Path(p.path).name for p in list_photos(library)} == {"good.jpg", "brokenexif.jpg"}
    # skipped files are remembered, not re-read, until they change
    again = index_library(library)
    assert len(again.skipped) == 7 and again.added == 0


def test_formats_png_webp_tiff_heif_and_16bit(library, tmp_path: Path) -> None:
    root = tmp_path / "lib" / "Formats"
    root.mkdir(parents=True)
    write_photo(root / "a.png", fmt="PNG", seed=1)
    write_photo(root / "b.webp", fmt="WEBP", seed=2)
    write_photo(root / "c.tiff", fmt="TIFF", seed=3)
    Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16).save(root / "d16.png")
    Image.new("CMYK", (40, 30), (10, 20, 30, 0)).save(root / "e-cmyk.jpg")
    heif_ok = True
    try:
        Image.new("RGB", (64, 48), (10, 200, 30)).save(root / "f.heic", format="HEIF")
    except Exception:  # noqa: BLE001 - some pillow-heif builds carry no encoder
        heif_ok = False
    report = add_and_index(library, tmp_path / "lib")
    assert report.skipped == []
    formats = {Path(p.path).name: p.format for p in list_photos(library)}
    assert formats["a.png"] == "PNG" and formats["b.webp"] == "WEBP" and formats["c.tiff"] == "TIFF"
    assert formats["d16.png"] == "PNG" and formats["e-cmyk.jpg"] == "JPEG"
    if heif_ok:
        assert formats["f.heic"] == "HEIF"


def test_thumbnail_applies_exif_orientation(library, tmp_path: Path) -> None:
    root = tmp_path / "lib" / "Rotated"
    write_photo(root / "r.jpg", size=(300, 100), orientation=6)
    add_and_index(library, tmp_path / "lib")
    (p,) = list_photos(library)
    assert (p.width, p.height) == (100, 300)
    import io

    thumb = Image.open(io.BytesIO(thumbnail_bytes(library, p.id)))
    assert thumb.height > thumb.width


def test_symlinks_out_of_the_folder_are_not_followed(library, tmp_path: Path) -> None:
    outside = write_photo(tmp_path / "outside" / "neighbour.jpg", seed=3)
    root = tmp_path / "lib" / "Album"
    write_photo(root / "inside.jpg", seed=4)
    os.symlink(outside, root / "link.jpg")
    os.symlink(outside.parent, root / "linkdir")
    os.symlink(root / "inside.jpg", root / "internal-link.jpg")
    report = add_and_index(library, tmp_path / "lib")
    assert {Path(s.path).name: s.reason for s in report.skipped} == {"link.jpg": "symlink leads out of the folder; not followed"}
    assert sorted(Path(p.path).name for p in list_photos(library)) == ["inside.jpg"]  # the internal link is the same photo


def test_odd_file_names(library, tmp_path: Path) -> None:
    root = tmp_path / "lib" / "Odd"
    write_photo(root / "plain.jpg", seed=1)
    raw_root = os.fsencode(root)
    for seed, raw in enumerate((b"caf\xe9-latin1.jpg", b"tab\there.jpg", b"new\nline.jpg"), start=2):
        write_photo(root / "tmp.jpg", seed=seed)
        os.rename(os.path.join(raw_root, b"tmp.jpg"), os.path.join(raw_root, raw))
    report = add_and_index(library, tmp_path / "lib")
    assert report.skipped == [] and report.added == 4
    again = index_library(library)
    assert again.unchanged == 4
    paths = [p.path for p in list_photos(library)]
    assert any("caf\\xe9" in p for p in paths) and all("\n" not in p and "\t" not in p for p in paths)


def test_missing_source_folder_does_not_delete_its_photos(library, tmp_path: Path) -> None:
    root = tmp_path / "usb"
    write_photo(root / "A" / "a.jpg", seed=1)
    add_and_index(library, root)
    shutil.move(root, tmp_path / "unplugged")
    report = index_library(library)
    assert report.removed == 0 and "does not exist" in report.skipped[0].reason
    assert len(list_photos(library)) == 1


@pytest.mark.parametrize("threads", [1, 3])
def test_parallel_and_serial_indexing_agree(settings, tmp_path: Path, threads: int) -> None:
    from photogen.library.library import open_library

    root = tmp_path / "lib"
    for i in range(12):
        write_photo(root / "A" / f"{i:02}.jpg", taken=f"2020:01:{i + 1:02} 00:00:00", seed=i)
    s = settings.model_copy(update={"index_threads": threads})
    with open_library(s) as lib:
        add_and_index(lib, root)
        got = [(Path(p.path).name, p.taken_at) for p in list_photos(lib)]
    assert got == [(f"{i:02}.jpg", f"2020-01-{i + 1:02}T00:00:00") for i in range(12)]


def test_a_lost_thumbnail_is_rebuilt_by_the_next_index(library, tmp_path: Path) -> None:
    root = tmp_path / "lib"
    for i in range(3):
        write_photo(root / "A" / f"{i}.jpg", seed=i)
    add_and_index(library, root)
    victim = list_photos(library)[1]
    name = library.catalog.scalar("SELECT name FROM blobs WHERE photo_id = ?", (victim.id,))
    library.blobs.path_for(name).unlink()  # as after a power cut before the file reached the disk
    report = index_library(library)
    assert (report.updated, report.unchanged, report.added) == (1, 2, 0)
    assert thumbnail_bytes(library, victim.id)[:2] == b"\xff\xd8"
    assert [p.id for p in list_photos(library)] == [p.id for p in list_photos(library)]  # ids unchanged


def test_an_unmounted_disk_or_missing_album_folder_keeps_its_photos(library, tmp_path: Path) -> None:
    root = tmp_path / "mnt"
    write_photo(root / "A" / "a.jpg", seed=1)
    write_photo(root / "B" / "b.jpg", seed=2)
    add_and_index(library, root)
    shutil.move(root / "B", tmp_path / "B-moved")  # one album folder gone
    report = index_library(library)
    assert report.removed == 0 and any("missing" in s.reason for s in report.skipped)
    assert len(list_photos(library)) == 2
    shutil.move(root / "A", tmp_path / "A-moved")  # now the mount point is empty
    assert index_library(library).removed == 0 and len(list_photos(library)) == 2


def test_a_revoke_during_indexing_keeps_the_album_out(library, tmp_path: Path, monkeypatch) -> None:
    from photogen.library import indexer
    from photogen.library.consent import revoke_album

    root = tmp_path / "lib"
    for i in range(3):
        write_photo(root / "Secret" / f"{i}.jpg", seed=i)
    add_folder_source(library, root, ["all"])
    real = indexer._analyse
    calls = {"n": 0}

    def analyse_then_revoke(*args, **kwargs):
        result = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            revoke_album(library, "Secret")  # the user revokes while the run is reading the album
        return result

    monkeypatch.setattr(indexer, "_analyse", analyse_then_revoke)
    monkeypatch.setattr(library.settings, "index_threads", 1)
    index_library(library)
    assert list_photos(library) == []
    assert library.catalog.scalar("SELECT count(*) FROM photos") == 0
    assert library.blobs.all_paths() == []
