"""What the running app serves, and to whom: its own files only, share links only behind a password,
and no connection beyond this machine while someone uses it."""

from __future__ import annotations

import http.client
import socket
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import huggingface_hub.constants
import pytest
from gradio_client import Client

from photogen.errors import PhotogenError
from photogen.library.consent import add_folder_source
from photogen.library.indexer import index_library
from photogen.library.library import Library
from photogen.settings import Settings
from photogen.ui import app as ui_app
from photogen.ui.app import build_app
from photogen.ui.session import SessionFactory
from tests.conftest import _is_local, write_photo

MARKER = "photogen-serving-test-secret-4f1c9a"


@dataclass
class Served:
    url: str
    host: str
    port: int
    cache: Path  # GRADIO_TEMP_DIR: where gradio keeps what the app shows
    settings: Settings
    library: Library
    photo: Path  # an original in the user's folder
    outbound: list[Any]  # every connection or name lookup beyond loopback, from any thread


def _record_outbound(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Note every non-loopback connect or lookup, on top of the conftest guard that refuses them.

    The guard raises in the thread that tried; a server or background thread may swallow that, so the
    test asserts on this list instead of relying on an exception reaching it.
    """
    attempts: list[Any] = []
    guarded_connect, guarded_connect_ex, guarded_lookup = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            attempts.append(address)
        return guarded_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            attempts.append(address)
        return guarded_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else (host or "")
        if not _is_local((name,)):
            attempts.append(name)
        return guarded_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


@pytest.fixture
def served(tmp_path: Path, settings: Settings, library: Library, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    # gradio_client, the test's stand-in for a browser, reports each Client to huggingface.co: that is the
    # harness, not the app, so it is switched off; whatever the app itself tries is still recorded
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_TELEMETRY", True)
    outbound = _record_outbound(monkeypatch)
    cache = tmp_path / "gradio-tmp"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    photo = write_photo(tmp_path / "Pictures" / "Rome" / "colosseum.jpg", taken="2019:05:01 09:00:00", gps=(41.8902, 12.4922), seed=7)
    add_folder_source(library, tmp_path / "Pictures", ["Rome"])
    index_library(library)
    (settings.home / "notes.txt").write_text(MARKER)  # a plaintext file in the data directory
    demo = build_app(SessionFactory(settings, library))
    demo.queue()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    parsed = urllib.parse.urlsplit(url)
    try:
        yield Served(url, parsed.hostname or "127.0.0.1", parsed.port or 80, cache, settings, library, photo, outbound)
    finally:
        demo.close()


def _get(served: Served, raw_path: str) -> tuple[int, bytes]:
    """GET a path exactly as written: no client-side normalization of '..' or of percent escapes."""
    conn = http.client.HTTPConnection(served.host, served.port, timeout=30)
    try:
        conn.request("GET", raw_path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _file_routes(path: str) -> list[str]:
    quoted = urllib.parse.quote(path, safe="/")
    return [f"/gradio_api/file={path}", f"/file={path}", f"/gradio_api/file={quoted}", f"/gradio_api/file/{path.lstrip('/')}"]


def _create_instant(served: Served) -> tuple[Client, list[Path]]:
    client = Client(served.url, verbose=False, download_files=False)
    client.predict(api_name="/open")
    client.predict(api_name="/_on_load")  # the Create tab's choices for this session, as a page load sets them
    (photo_id,) = [pid for _label, pid in _photo_choices(served.library)]
    gallery, sources, files = client.predict(
        "", [photo_id], [], "watercolor", "", "instant", "fast", 0, 1, None, "", "", "keep", ["png"], api_name="/_generate"
    )[:3]
    assert len(gallery) == 1 and "photo" in sources.lower()
    paths = [Path(f["path"] if isinstance(f, dict) else f) for f in files]
    assert paths
    return client, paths


def _photo_choices(library: Library) -> list[tuple[str, int]]:
    from photogen.ui.create_tab import photo_choices

    return photo_choices(library)


def test_the_file_route_serves_the_apps_outputs_and_nothing_else(served: Served) -> None:
    _client, outputs = _create_instant(served)

    # the route works: what the app made is served, from gradio's own cache folder
    cached = [p for p in outputs if p.is_relative_to(served.cache)]
    assert cached, f"outputs were not served from GRADIO_TEMP_DIR: {outputs}"
    status, body = _get(served, f"/gradio_api/file={cached[0]}")
    assert status == 200 and body == cached[0].read_bytes()

    secrets: dict[Path, bytes] = {
        Path("/etc/passwd"): Path("/etc/passwd").read_bytes()[:64],
        served.settings.home / "notes.txt": MARKER.encode(),
        served.settings.catalog_path: served.settings.catalog_path.read_bytes()[:256],
        served.photo: served.photo.read_bytes()[-256:],
    }
    blob = served.library.blobs.all_paths()[0]
    secrets[blob] = blob.read_bytes()[:256]
    if served.settings.keyinfo_path.exists():
        secrets[served.settings.keyinfo_path] = served.settings.keyinfo_path.read_bytes()[:64]

    requests: list[tuple[str, bytes]] = []
    for path, content in secrets.items():
        requests += [(route, content) for route in _file_routes(str(path))]
        # out of the cache folder with '..', plain and percent-encoded
        up = "/".join([".."] * (len(served.cache.parts) + 2))
        traversal = f"{served.cache}/{up}{path}"
        requests += [(f"/gradio_api/file={traversal}", content)]
        requests += [(f"/gradio_api/file={traversal.replace('..', '%2e%2e')}", content)]
        requests += [(f"/gradio_api/file={traversal.replace('/', '%2f')}", content)]
        requests += [(f"/gradio_api/file={served.cache}/..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2f{path}", content)]
        requests += [(f"/gradio_api/file=file://{path}", content), (f"/gradio_api/file=//{path}", content)]
        requests += [(f"/static/{'../' * 8}{path.relative_to('/')}", content), (f"/assets/{'..%2f' * 8}{path.relative_to('/')}", content)]
    for raw_path, content in requests:
        status, body = _get(served, raw_path)
        assert content not in body, f"{raw_path} served a private file (HTTP {status})"
        assert status != 200 or body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html")), (raw_path, status, body[:80])
    assert served.outbound == []


def test_a_normal_session_makes_no_outbound_connection(served: Served) -> None:
    client, _outputs = _create_instant(served)
    albums, photos, *_ = client.predict(api_name="/_refresh")
    assert [row[0] for row in albums["data"]] == ["Rome"] and len(photos["data"]) == 1
    status, *_ = client.predict(api_name="/_index")
    assert status.startswith("0 added") and "in 1 photo" in status
    privacy = client.predict(api_name="/_all_1")
    audit = {(row[2], row[3]) for row in privacy[5]["data"]}
    assert ("creation", "1") in audit and ("album.allow", "Pictures/Rome") in audit
    assert served.outbound == [], f"the app reached beyond this machine: {served.outbound}"


# ---- share links -------------------------------------------------------------------------------


@pytest.fixture
def captured_launch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """gr.Blocks.launch replaced by a recorder; the environment it touches restored afterwards."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio-tmp"))
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.setenv("PHOTOGEN_SERVED_DIR", str(tmp_path / "served"))
    monkeypatch.delenv("PHOTOGEN_SHARE_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    seen: dict[str, Any] = {}

    def launch(self: gr.Blocks, *args: Any, **kwargs: Any) -> tuple[None, str, None]:
        seen.update(kwargs, called=True)
        return None, "http://127.0.0.1:0/", None

    monkeypatch.setattr(gr.Blocks, "launch", launch)
    return seen


def test_a_share_link_never_opens_without_a_password(settings: Settings, captured_launch: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(ui_app, "_online", lambda: True)
    ui_app.launch(settings, share=True, password=None)
    assert captured_launch["share"] is True
    login = captured_launch["auth"]
    printed = capsys.readouterr().out  # a generated password is shown, or nobody could log in
    password = printed.rsplit("password ", 1)[1].strip().strip("'")
    assert len(password) >= 12 and login(ui_app.SHARE_USER, password)
    assert not login(ui_app.SHARE_USER, "") and not login("someone", password)
    assert captured_launch["server_name"] == "127.0.0.1"

    for empty in ("", None):
        captured_launch.clear()
        ui_app.launch(settings, share=True, password=empty)
        assert not captured_launch["auth"](ui_app.SHARE_USER, ""), "an empty password must not open the link"

    captured_launch.clear()
    monkeypatch.setenv("PHOTOGEN_SHARE_PASSWORD", "correct horse")  # the environment, never an argument
    ui_app.launch(settings, share=True)
    assert captured_launch["auth"](ui_app.SHARE_USER, "correct horse")
    assert "correct horse" not in capsys.readouterr().out


def test_the_share_password_is_never_a_command_line_argument(capsys: pytest.CaptureFixture[str]) -> None:
    import app as entry

    with pytest.raises(SystemExit):
        entry.main(["--share", "--password", "hunter22"])
    assert "unrecognized arguments: --password" in capsys.readouterr().err


def test_a_typed_share_password_comes_from_a_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHOTOGEN_SHARE_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda _prompt: "a long passphrase")
    assert ui_app.share_password() == ("a long passphrase", False)
    monkeypatch.setattr("getpass.getpass", lambda _prompt: "short")
    with pytest.raises(PhotogenError, match="at least 8 characters"):
        ui_app.share_password()
    monkeypatch.setattr("getpass.getpass", lambda _prompt: "")
    generated, was_generated = ui_app.share_password()
    assert was_generated and len(generated) >= 12


def test_failed_share_logins_are_rate_limited() -> None:
    now = [1000.0]
    login = ui_app.ShareLogin("photogen", "right password", max_failures=5, window_s=60, clock=lambda: now[0])
    assert login("photogen", "right password")
    for guess in range(5):
        assert not login("photogen", f"guess {guess}")
    assert login.locked()
    assert not login("photogen", "right password"), "while locked, even the right password is refused"
    now[0] += 61
    assert login("photogen", "right password")


def test_the_login_route_refuses_after_too_many_failures(settings: Settings, library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real /login route with the share link's check: the sixth try within a minute is refused even when right."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio-tmp"))
    demo = build_app(SessionFactory(settings, library))
    demo.queue()
    login = ui_app.ShareLogin(ui_app.SHARE_USER, "the right one", max_failures=3)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True, auth=login)
    try:
        import httpx

        def attempt(password: str) -> int:
            return httpx.post(url.rstrip("/") + "/login", data={"username": ui_app.SHARE_USER, "password": password}, timeout=30).status_code

        assert attempt("the right one") == 200
        assert [attempt(f"wrong {i}") for i in range(3)] == [400, 400, 400]
        assert attempt("the right one") == 400, "locked: guessing stops here"
    finally:
        demo.close()


def test_without_share_the_app_stays_on_loopback(settings: Settings, captured_launch: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui_app, "_online", lambda: pytest.fail("no network check without --share"))
    ui_app.launch(settings)
    assert captured_launch["share"] is False and captured_launch["auth"] is None
    assert captured_launch["server_name"] == "127.0.0.1"


def test_a_share_link_offline_is_a_clear_error(settings: Settings, captured_launch: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui_app, "_online", lambda: False)
    with pytest.raises(PhotogenError, match="offline. Run without --share"):
        ui_app.launch(settings, share=True, password="a password")
    assert "called" not in captured_launch
    assert not settings.home.exists(), "nothing is unlocked or created before the share check"
