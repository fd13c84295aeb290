"""Uploads: a file that is not a photo is refused at upload by its own name; uploads and photos can be removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from photogen.errors import PhotogenError
from photogen.library.consent import add_folder_source, remove_photo
from photogen.library.indexer import index_library
from photogen.library.library import Library
from photogen.library.photos import list_photos
from photogen.library.sources.upload import add_uploads, remove_upload
from tests.conftest import write_photo


def test_a_text_file_named_jpg_is_refused_by_its_own_name_and_nothing_is_stored(library: Library, tmp_path: Path) -> None:
    good = write_photo(tmp_path / "up" / "beach.jpg", seed=1)
    fake = tmp_path / "up" / "fake.jpg"
    fake.write_text("this is not a photo")
    with pytest.raises(PhotogenError, match=r"Not a photo photogen can read: fake\.jpg \(not an image"):
        add_uploads(library, [good, fake], "Holiday")
    assert library.catalog.scalar("SELECT count(*) FROM blobs WHERE kind = 'upload'") == 0
    assert good.exists() and fake.exists()  # nothing lost: the user can upload the good one again
    assert add_uploads(library, [good], "Holiday") == 1


def test_an_upload_is_deleted_and_a_folder_photo_only_excluded(library: Library, tmp_path: Path) -> None:
    add_uploads(library, [write_photo(tmp_path / "up" / "beach.jpg", seed=1)], "Holiday")
    folder_photo = write_photo(tmp_path / "Pictures" / "Home" / "cat.jpg", seed=2)
    add_folder_source(library, tmp_path / "Pictures", ["Home"])
    index_library(library)
    by_album = {p.album: p.id for p in list_photos(library)}
    assert remove_photo(library, by_album["Holiday"]).startswith("Deleted")
    assert library.catalog.scalar("SELECT count(*) FROM blobs WHERE kind = 'upload'") == 0
    assert remove_photo(library, by_album["Home"]).startswith("Excluded")
    assert folder_photo.exists() and list_photos(library) == []


def test_a_junk_upload_left_from_before_can_be_deleted(library: Library, tmp_path: Path) -> None:
    add_uploads(library, [write_photo(tmp_path / "up" / "beach.jpg", seed=1)], "Holiday")
    source_id = library.catalog.scalar("SELECT id FROM sources WHERE kind = 'upload'")
    library.put_blob(f"upload:{source_id}:Holiday/b30240e33366-fake.jpg", b"not a photo", "upload", source_id=source_id)
    result = index_library(library)
    (skipped,) = result.skipped
    album_id, rel = library.catalog.one("SELECT album_id, rel_path FROM skipped")
    from photogen.ui.library_tab import skipped_rows

    assert skipped_rows(library)[0][:2] == ["Holiday", "fake.jpg"]  # its own name, not the internal one
    remove_upload(library, album_id, rel)
    assert library.catalog.scalar("SELECT count(*) FROM skipped") == 0
    assert library.catalog.scalar("SELECT count(*) FROM blobs WHERE name LIKE '%fake.jpg'") == 0
    assert not index_library(library).skipped
