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


def test_no_module_level_cache_keeps_a_visitors_data(tmp_path: Path) -> None:
    """Two visitors: what one leaves behind (keys, signer, coordinates) is gone from the process once they leave."""
    import functools
    import gc
    import importlib
    import pkgutil
    import weakref

    import photogen
    from photogen.create.studio import Studio

    settings = Settings(home=tmp_path / "unused", space_mode=True, use_keyring=False, **TEST_KDF)
    factory = SessionFactory(settings)
    studio = Studio(settings)
    alice, bob = factory.open(), factory.open()
    add_uploads(alice.library, [write_photo(tmp_path / "up" / "a.jpg", gps=(59.91, 10.75), seed=1)], "Trip")
    run_index(alice.library)
    assert studio.signer(alice.library) is not studio.signer(bob.library)  # each library its own key
    refs = [weakref.ref(o) for o in (alice.library, alice.library.keys, studio.signer(alice.library))]
    alice.close()
    gc.collect()
    assert all(r() is None for r in refs), "a module-level or studio-wide cache still holds the visitor's objects"
    assert bob.library.catalog.scalar("SELECT count(*) FROM photos") == 0
    bob.close()

    # no memoized function anywhere in photogen takes per-visitor input (coordinates, photos, keys)
    allowed = {"photogen.create.layout.font_files", "photogen.create.layout._load"}
    cached = set()
    for info in pkgutil.walk_packages(photogen.__path__, "photogen."):
        if info.name.startswith("photogen.ui") or "insightface" in info.name:
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, functools._lru_cache_wrapper) and getattr(value, "__module__", "") == info.name:
                cached.add(f"{info.name}.{name}")
    assert cached <= allowed, f"new process-wide caches to review: {cached - allowed}"
    from photogen.library import metadata

    assert not hasattr(metadata.reverse_geocode, "cache_info"), "coordinates must not be memoized process-wide"
