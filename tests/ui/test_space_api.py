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
