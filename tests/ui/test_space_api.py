"""The app as a Hugging Face Space, driven over its real HTTP API by two visitors at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from photogen.settings import Settings
from photogen.ui.app import build_app
from photogen.ui.session import SessionFactory
from tests.conftest import TEST_KDF, write_photo


@pytest.fixture
def space_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio-tmp"))
    settings = Settings(home=tmp_path / "never-used", space_mode=True, use_keyring=False, **TEST_KDF)
    demo = build_app(SessionFactory(settings))
    demo.queue()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield url
    finally:
        demo.close()
    assert not (tmp_path / "never-used").exists()


def test_two_visitors_do_not_see_each_other(space_url: str, tmp_path: Path) -> None:
    alice, bob = Client(space_url, verbose=False), Client(space_url, verbose=False)
    alice.predict(api_name="/open")
    bob.predict(api_name="/open")
    photo = write_photo(tmp_path / "alice-at-the-lake.jpg", taken="2024:05:01 10:00:00", seed=3)
    status, _sources, _files = alice.predict([handle_file(str(photo))], "Lake", api_name="/_upload")
    assert "1 added" in status
    albums_a, photos_a, *_ = alice.predict(api_name="/_refresh")
    albums_b, photos_b, *_ = bob.predict(api_name="/_refresh")
    assert [row[0] for row in albums_a["data"]] == ["Lake"] and len(photos_a["data"]) == 1
    assert albums_b["data"] in ([], [[None] * 4], [["", "", "", ""]]) or not any(r[0] for r in albums_b["data"])
    assert not photos_b["data"] or not any(r[0] for r in photos_b["data"])


def test_a_visitor_cannot_reach_the_servers_files(space_url: str) -> None:
    visitor = Client(space_url, verbose=False)
    visitor.predict(api_name="/open")
    with pytest.raises(Exception, match="uploads only"):
        visitor.predict("/", api_name="/_look")
    with pytest.raises(Exception, match="uploads only"):
        visitor.predict("/etc", [], "", api_name="/_add_folder")


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_a_visitor_who_leaves_is_deleted_within_seconds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Open a session, upload, create, close the tab: nothing of it stays on disk or in the process."""
    import gc
    import time
    import weakref

    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_TELEMETRY", True)
    cache = tmp_path / "gradio-tmp"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    settings = Settings(home=tmp_path / "never-used", space_mode=True, use_keyring=False, **TEST_KDF)
    factory = SessionFactory(settings)
    demo = build_app(factory)
    demo.queue()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        before = _files(cache)
        visitor = Client(url, verbose=False, download_files=False)
        visitor.predict(api_name="/open")
        photo = write_photo(tmp_path / "up" / "lake.jpg", taken="2024:05:01 10:00:00", gps=(46.45, 6.55), seed=3)
        status, *_ = visitor.predict([handle_file(str(photo))], "Lake", api_name="/_upload")
        assert "1 added" in status
        visitor.predict(api_name="/_on_load")
        _, photos, *_ = visitor.predict(api_name="/_refresh")
        (photo_id,) = [row[0] for row in photos["data"]]
        gallery, _sources, files = visitor.predict(
            "", [photo_id], [], "watercolor", "", "instant", "fast", 0, 1, None, "", "", "keep", ["png"], api_name="/_generate"
        )[:3]
        assert gallery and files
        (session,) = factory._visitors.values()
        home = session.private_home
        assert home is not None and home.is_dir() and _files(home)
        assert session.library.catalog.scalar("SELECT place_city FROM photos") is not None  # geocoded: coordinates were used
        library, keys, signer = weakref.ref(session.library), weakref.ref(session.library.keys), weakref.ref(session.library.cache["c2pa-signer"])
        del session

        visitor.close()  # the tab closes: its heartbeat stops
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (home.exists() or factory.open_visitors):
            time.sleep(0.2)
        assert not home.exists(), "the visitor's library, uploads, creations and served images are deleted"
        assert factory.open_visitors == 0
        left = _files(cache) - before
        assert left == set(), f"left on disk: {[(p, p.stat().st_size, p.read_bytes()[:16]) for p in left]}"
        gc.collect()
        assert library() is None and keys() is None and signer() is None, "nothing in the process keeps the visitor's keys"
    finally:
        demo.close()
    assert not (tmp_path / "never-used").exists()
