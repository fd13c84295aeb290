from __future__ import annotations

from pathlib import Path

from photogen.library.photos import list_photos
from photogen.library.sources.upload import add_uploads
from photogen.settings import Settings
from photogen.ui import connect_tab, privacy_tab
from photogen.ui.connect_tab import run_index
from photogen.ui.session import SessionFactory
from tests.conftest import TEST_KDF, write_photo


def test_space_sessions_are_private_and_vanish(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "unused", space_mode=True, use_keyring=False, **TEST_KDF)
    factory = SessionFactory(settings)
    alice, bob = factory.open(), factory.open()
    assert alice.private_home != bob.private_home
    photo = write_photo(tmp_path / "up" / "alice-only.jpg", seed=1)
    add_uploads(alice.library, [photo], "Trip")
    run_index(alice.library)
    assert len(list_photos(alice.library)) == 1
    assert list_photos(bob.library) == []
    assert bob.library.catalog.scalar("SELECT count(*) FROM blobs") == 0
    home = alice.private_home
    assert home is not None and home.exists()
    alice.close()
    assert not home.exists()
    assert not (tmp_path / "unused").exists()  # nothing persisted in the configured home
    bob.close()


def test_local_sessions_share_the_users_library(settings, library) -> None:
    factory = SessionFactory(settings, library)
    assert factory.open().library is factory.open().library is library


def test_upload_then_revoke_deletes_the_uploaded_copies(library, tmp_path: Path) -> None:
    a = write_photo(tmp_path / "a.jpg", seed=1)
    b = write_photo(tmp_path / "b.jpg", seed=2)
    assert add_uploads(library, [a], "Trip") == 1
    assert add_uploads(library, [b], "Family", delete_originals=True) == 1
    assert not b.exists() and a.exists()
    run_index(library)
    assert sorted(p.album for p in list_photos(library)) == ["Family", "Trip"]
    assert connect_tab.source_rows(library) == [["Uploads", "upload", "2 of 2", 2]]
    allowed, closed, sources = privacy_tab.grant_choices(library)
    assert allowed == ["Uploads/Family", "Uploads/Trip"] and closed == [] and sources == ["Uploads"]
    blobs_before = len(library.blobs.all_paths())
    from photogen.library.consent import revoke_album

    revoke_album(library, "Uploads/Trip")
    assert [p.album for p in list_photos(library)] == ["Family"]
    # the Trip upload and its thumbnail are gone from disk
    assert len(library.blobs.all_paths()) == blobs_before - 2
    actions = [row[2] for row in privacy_tab.audit_rows(library)]
    assert "album.revoke" in actions and "upload" in actions


def test_wipe_deletes_everything_but_keeps_the_app_usable(library, tmp_path: Path) -> None:
    add_uploads(library, [write_photo(tmp_path / "a.jpg", seed=1)], "Trip")
    run_index(library)
    library.wipe()
    for table in ("photos", "sources", "albums", "blobs", "audit_log"):
        expected = 1 if table == "audit_log" else 0  # the wipe itself is recorded
        assert library.catalog.scalar(f"SELECT count(*) FROM {table}") == expected
    assert library.blobs.all_paths() == []
    add_uploads(library, [write_photo(tmp_path / "b.jpg", seed=2)], "Again")
    run_index(library)
    assert len(list_photos(library)) == 1


def test_folder_albums_lists_names_only(tmp_path: Path) -> None:
    write_photo(tmp_path / "Pics" / "Rome" / "a.jpg", seed=1)
    write_photo(tmp_path / "Pics" / "loose.jpg", seed=2)
    assert connect_tab.folder_albums(str(tmp_path / "Pics")) == ["Pics", "Rome"]


def test_a_bad_file_in_an_upload_batch_costs_nothing(library, tmp_path: Path, monkeypatch) -> None:
    from photogen.errors import PhotogenError
    from photogen.library.sources import upload

    small = write_photo(tmp_path / "small.jpg", seed=1)
    big = write_photo(tmp_path / "big.jpg", size=(900, 900), seed=2)
    monkeypatch.setattr(upload, "MAX_UPLOAD_BYTES", small.stat().st_size + 10)
    try:
        add_uploads(library, [small, big], "Trip", delete_originals=True)
    except PhotogenError as exc:
        assert "big.jpg" in str(exc) and "Nothing was stored" in str(exc)
    else:
        raise AssertionError("expected the oversized file to be refused")
    assert small.exists() and big.exists()  # both temp copies are still there to retry
    assert library.catalog.scalar("SELECT count(*) FROM blobs") == 0
    assert add_uploads(library, [small], "Trip", delete_originals=True) == 1 and not small.exists()
