"""The promise: nothing photogen stores reveals the photos' personal data in plain text."""

from __future__ import annotations

from pathlib import Path

from photogen.library.consent import add_folder_source, revoke_source
from photogen.library.indexer import index_library
from photogen.library.library import delete_everything, open_library
from photogen.library.photos import list_photos
from photogen.library.privacy import privacy_report
from tests.conftest import write_photo

DISTINCTIVE = ["Zorblatt", "Quuxcam", "Rosalind-Featherstonehaugh", "Reykjavik", "Iceland"]


def _all_bytes(home: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in home.rglob("*") if p.is_file()]


def _needles(text: str) -> list[bytes]:
    return [text.encode("utf-8"), text.encode("utf-16-le"), text.lower().encode(), text.upper().encode()]


def test_no_personal_string_in_plain_text_anywhere_under_the_data_directory(library, settings, tmp_path: Path) -> None:
    root = tmp_path / "Zorblatt Family Photos"
    write_photo(root / "Zorblatt Holiday" / "Rosalind-Featherstonehaugh birthday.jpg", make="Quuxcam", model="Quuxcam Z9", gps=(64.1466, -21.9426), taken="2024:06:01 12:00:00", seed=1)
    write_photo(root / "Zorblatt Holiday" / "Rosalind-Featherstonehaugh at the lake.png", fmt="PNG", make="Quuxcam", seed=2)
    add_folder_source(library, root, ["all"])
    index_library(library)
    photos = list_photos(library)
    assert any(p.place and p.place.endswith("Iceland") for p in photos)  # the catalog does know
    assert all(p.camera and "Quuxcam" in p.camera for p in photos)
    library.close()  # flush everything to disk, as after a normal exit
    files = _all_bytes(settings.home)
    assert len(files) >= 4
    for path, data in files:
        for word in DISTINCTIVE:
            for needle in _needles(word):
                assert needle not in data, f"{word!r} found in plain text in {path}"
        assert b"\xff\xd8\xff" not in data[:4], f"{path} is a plain JPEG"


def test_privacy_report_accounts_for_every_file(library, settings, tmp_path: Path) -> None:
    write_photo(tmp_path / "p" / "A" / "a.jpg", seed=1)
    add_folder_source(library, tmp_path / "p", ["all"])
    index_library(library)
    report = privacy_report(library)
    assert report.rows["photos"] == 1 and report.key_method == "passphrase"
    assert any(i.what.startswith("1 thumbnail") and i.encrypted for i in report.items)
    assert not any(i.what == "other file" for i in report.items)
    catalog = [i for i in report.items if i.what == "catalog database"]
    assert catalog and all(i.encrypted for i in catalog)


def test_delete_all_leaves_nothing(library, settings, tmp_path: Path) -> None:
    write_photo(tmp_path / "p" / "A" / "a.jpg", seed=1)
    add_folder_source(library, tmp_path / "p", ["all"])
    index_library(library)
    library.close()
    assert delete_everything(settings) > 0
    assert not settings.home.exists()
    assert (tmp_path / "p" / "A" / "a.jpg").exists()  # originals are never touched


def test_revoking_the_last_source_leaves_only_empty_structure(library, settings, tmp_path: Path) -> None:
    write_photo(tmp_path / "p" / "A" / "Rosalind-Featherstonehaugh.jpg", seed=1)
    add_folder_source(library, tmp_path / "p", ["all"])
    index_library(library)
    revoke_source(library, "p")
    library.close()
    assert not any(p.is_file() for p in settings.blobs_dir.rglob("*"))
    with open_library(settings) as again:
        for table in ("photos", "photo_files", "blobs", "faces", "albums"):
            assert again.catalog.scalar(f"SELECT count(*) FROM {table}") == 0


def test_privacy_report_names_identity_adapters_and_any_other_file(library, settings) -> None:
    (settings.home / "adapters" / "tiny-faceid").mkdir(parents=True)
    (settings.home / "adapters" / "tiny-faceid" / "adapter.safetensors").write_bytes(b"w" * 100)
    (settings.home / "notes.txt").write_text("mine")
    items = {i.what: i for i in privacy_report(library).items}
    adapters = items["identity adapter model files (public weights, no faces)"]
    assert adapters.bytes == 100 and adapters.how == "public weights"
    assert "a file photogen did not write: notes.txt" in items
    assert not any("please report" in i.how for i in items.values())
