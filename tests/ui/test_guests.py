"""A share-link guest gets the studio only, and the server (not just the page) refuses the owner's controls.

Gradio's share tunnel reaches the app from 127.0.0.1 with the link's own name in `Host`; a guest here is
a client on loopback whose requests say `Host: <random>.gradio.live` (and, separately, one behind a
proxy header). The owner is the same client without them.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import huggingface_hub.constants
import pytest
from gradio_client import Client

from photogen.library.consent import add_folder_source
from photogen.library.indexer import index_library
from photogen.library.library import Library
from photogen.settings import Settings
from photogen.ui.app import build_app
from photogen.ui.session import SessionFactory
from tests.conftest import write_photo

SHARE_HOST = "a1b2c3d4e5.gradio.live"

# endpoint -> arguments: every owner-only call, each with inputs that would do real harm if allowed
OWNER_ONLY: dict[str, tuple[Any, ...]] = {
    "/_look": ("/",),
    "/_add_folder": ("/etc", [], "host"),
    "/_takeout_look": ("/",),
    "/_takeout_add": ("/tmp/takeout.zip", []),
    "/_index": (),
    # (dropdowns take only the choices shown to that session, none for a guest: None reaches the handler)
    "/_revoke": (None, True),
    "/_allow": (None,),
    "/_revoke_source": (None, True),
    "/_plan_album": (None,),
    "/_remove": (1,),
    "/_delete_upload": ("1:x.jpg",),
    "/_wipe": (True,),
    "/_find": (False, None),
    "/_regroup": (False, None),
    "/handler": (False, None, "Mallory"),  # rename
    "/_name_face": (False, 1, "Mallory"),
}


@dataclass
class App:
    url: str
    library: Library
    tmp: Path


@pytest.fixture
def app(tmp_path: Path, settings: Settings, library: Library, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "served"))
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    write_photo(tmp_path / "Pictures" / "Rome" / "colosseum.jpg", seed=7)
    write_photo(tmp_path / "Pictures" / "Oslo" / "fjord.jpg", seed=8)
    add_folder_source(library, tmp_path / "Pictures", ["Rome", "Oslo"])
    from photogen.library.consent import revoke_album

    revoke_album(library, "Pictures/Oslo")  # an album the owner did not allow: a guest must not even see its name
    index_library(library)
    demo = build_app(SessionFactory(settings, library))
    demo.queue()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield App(url, library, tmp_path)
    finally:
        demo.close()


def _state(library: Library) -> dict[str, Any]:
    cat = library.catalog
    return {
        "grants": cat.scalar("SELECT count(*) FROM grants"),
        "sources": [r[0] for r in cat.query("SELECT name FROM sources")],
        "photos": cat.scalar("SELECT count(*) FROM photos"),
        "people": [tuple(r) for r in cat.query("SELECT id, name FROM people")],
        "audit": cat.scalar("SELECT count(*) FROM audit_log"),
    }


def _client(url: str, **headers: str) -> Client:
    client = Client(url, verbose=False, download_files=False, headers=headers or None)
    client.predict(api_name="/open")
    return client


@pytest.mark.parametrize("headers", [{"Host": SHARE_HOST}, {"X-Forwarded-For": "203.0.113.9"}], ids=["share-link", "behind-a-proxy"])
def test_the_server_refuses_a_guest_every_owner_control(app: App, headers: dict[str, str]) -> None:
    guest = _client(app.url, **headers)
    before = _state(app.library)
    for endpoint, args in OWNER_ONLY.items():
        with pytest.raises(Exception, match="Only the owner") as refused:
            guest.predict(*args, api_name=endpoint)
        assert "Traceback" not in str(refused.value), endpoint
    assert _state(app.library) == before, "a refused call changed nothing"
    # the Google picker and model management are refused too
    with pytest.raises(Exception, match="Only the owner"):
        guest.predict("Picked", "", api_name="/_pick")
    with pytest.raises(Exception, match="Only the owner"):
        guest.predict("lcm-dreamshaper-v7", True, api_name="/models_download")


def test_a_guest_uses_the_studio_on_allowed_albums_only(app: App) -> None:
    guest = _client(app.url, Host=SHARE_HOST)
    albums, photos, *_ = guest.predict(api_name="/_refresh")
    assert [row[0] for row in albums["data"]] == ["Rome"], "albums the owner did not allow stay out of sight"
    assert [row[1] for row in photos["data"]] == ["colosseum.jpg"]
    (photo_id,) = [row[0] for row in photos["data"]]
    guest.predict(api_name="/_on_load")
    gallery, sources, files = guest.predict(
        "", [photo_id], [], "watercolor", "", "instant", "fast", 0, 1, None, "", "", "keep", ["png"], api_name="/_generate"
    )[:3]
    assert len(gallery) == 1 and files, "a guest makes things"
    assert str(app.tmp / "Pictures") not in sources
    audit = guest.predict(api_name="/_all")[5]
    assert not any(any(cell for cell in row) for row in audit["data"]), "a guest sees no audit log"


def test_the_owner_controls_are_absent_for_a_guest_and_there_for_the_owner(app: App) -> None:
    def shown(client: Client) -> list[bool]:
        updates = client.predict(api_name="/_gate")
        return [u.get("visible", True) if isinstance(u, dict) else True for u in updates]

    guest, owner = _client(app.url, Host=SHARE_HOST), _client(app.url)
    assert not any(shown(guest)), "Connect, Privacy, Models and People's editing controls are hidden from a guest"
    assert all(shown(owner))


def test_the_owner_at_this_computer_keeps_everything(app: App) -> None:
    owner = _client(app.url)
    albums = owner.predict(str(app.tmp / "Pictures"), api_name="/_look")
    assert {"Rome", "Oslo"} <= {c[1] if isinstance(c, (list, tuple)) else c for c in albums["choices"]}
    owner.predict(api_name="/_all")  # the Privacy tab shows its choices, as a page load does
    owner.predict("Pictures/Oslo", api_name="/_allow")
    assert app.library.catalog.scalar("SELECT count(*) FROM grants") == 2
    allowed = owner.predict(api_name="/_refresh")[0]
    assert sorted(row[0] for row in allowed["data"]) == ["Oslo", "Rome"]
    parsed = urllib.parse.urlsplit(app.url)
    assert parsed.hostname == "127.0.0.1"
