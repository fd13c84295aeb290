"""The Google Photos Picker flow, end to end against a fake Google on 127.0.0.1."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
import webbrowser
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import piexif
import pytest
import requests
from google.oauth2.credentials import Credentials
from PIL import Image

from photogen.errors import PhotogenError
from photogen.library.consent import list_albums, revoke_album, revoke_source
from photogen.library.google.oauth import load_client_config, load_token, run_installed_app_flow
from photogen.library.google.picker_api import PickerApiError, PickerClient
from photogen.library.google.picking import PickTimedOut
from photogen.library.google.settings import GoogleSettings
from photogen.library.indexer import index_library
from photogen.library.keys import KDF_MIN_ITERATIONS, KDF_MIN_MEMORY_KIB
from photogen.library.library import open_library
from photogen.library.photos import list_photos
from photogen.library.sources.picker import pick_photos, qr_text
from photogen.settings import Settings
from tests.library.sources.conftest import jpeg
from tests.library.sources.fake_google import CLIENT_ID, CLIENT_SECRET, SCOPE, FakeGoogle


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    server = FakeGoogle().start()
    yield server
    server.stop()


@pytest.fixture
def gsettings(fake: FakeGoogle, monkeypatch: pytest.MonkeyPatch) -> GoogleSettings:
    env = {
        "PHOTOGEN_GOOGLE_PICKER_API": fake.url,
        "PHOTOGEN_GOOGLE_TOKEN_URI": f"{fake.url}/token",
        "PHOTOGEN_GOOGLE_REVOKE_URI": f"{fake.url}/revoke",
        "PHOTOGEN_GOOGLE_BACKOFF_S": "0.001",
        "PHOTOGEN_GOOGLE_BACKOFF_MAX_S": "0.01",
        "PHOTOGEN_GOOGLE_MAX_ATTEMPTS": "4",
        "PHOTOGEN_GOOGLE_HTTP_TIMEOUT_S": "5",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)  # the revoke hook reads its settings from the environment
    return GoogleSettings()


@pytest.fixture
def client_file(tmp_path: Path, fake: FakeGoogle) -> Path:
    path = tmp_path / "client_secret.json"
    path.write_text(json.dumps({"installed": {
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "project_id": "fake",
        "auth_uri": f"{fake.url}/auth", "token_uri": f"{fake.url}/token", "redirect_uris": ["http://localhost"],
    }}))
    return path


def signed_in(fake: FakeGoogle, *, expired: bool = False):
    """An authorizer standing in for the browser step: a token as a finished sign-in gives."""
    def authorize(_client_file: Path, settings: GoogleSettings) -> Credentials:
        access, refresh = fake.issue_token()
        expiry = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(hours=-1 if expired else 1)
        return Credentials(token=access, refresh_token=refresh, token_uri=settings.token_uri, client_id=CLIENT_ID,
                           client_secret=CLIENT_SECRET, scopes=[SCOPE], expiry=expiry)
    return authorize


def pick(lib, fake, gsettings, client_file=None, *, album: str = "Picked", **kwargs):
    shown: list[str] = []
    result = pick_photos(lib, album=album, client_file=client_file, settings=gsettings, authorize=signed_in(fake),
                         show=shown.append, **kwargs)
    return result, shown


def test_pick_download_index_happy_path(lib, fake: FakeGoogle, gsettings: GoogleSettings, client_file: Path) -> None:
    fake.max_page = 2  # three photos and a video: two pages
    photos = fake.add_photos([jpeg(1, gps=(48.85, 2.29), taken="2023:05:01 12:00:00"), jpeg(2), jpeg(3)])
    photos[1].create_time = "2024-06-15T14:30:00.123456789Z"  # Google sends up to nanoseconds
    fake.items.append(type(photos[0])(id="AF1QipVID", data=b"\x00\x00\x00\x18ftypmp42", filename="VID.MP4", mime="video/mp4", type="VIDEO"))
    result, shown = pick(lib, fake, gsettings, client_file, max_items=10)
    assert (result.downloaded, result.already_had) == (3, 0)
    assert result.skipped == [("VID.MP4", "video; photogen imports photos only")]
    # the user was shown Google's picker link, and photogen polled until the pick was done
    (session_id,) = fake.sessions
    assert shown == [f"https://photos.google.com/picker/{session_id}"]
    assert fake.sessions[session_id].polls >= 2 and fake.sessions[session_id].max_items == "10"
    assert fake.calls("GET", "/v1/mediaItems") == 2
    assert fake.sessions[session_id].deleted  # the session is closed when done
    # copies are encrypted at rest and owned by the source
    blobs = lib.catalog.query("SELECT name, kind FROM blobs WHERE source_id IS NOT NULL")
    assert len(blobs) == 3 and {b["kind"] for b in blobs} == {"cache"}
    for path in lib.blobs.all_paths():
        assert b"JFIF" not in path.read_bytes() and b"Exif" not in path.read_bytes()
    # the pick is an album the user named, allowed by the act of picking
    (album,) = [a for a in list_albums(lib) if a.source == "Google Photos"]
    assert (album.name, album.allowed) == ("Picked", True)
    config = json.loads(lib.catalog.scalar("SELECT config FROM sources WHERE name = 'Google Photos'"))
    assert sorted(i["id"] for i in config["albums"]["Picked"]["items"].values()) == sorted(p.id for p in photos)
    assert index_library(lib).added == 3
    listed = {p.id: p for p in list_photos(lib)}
    assert len(listed) == 3
    # =d keeps the EXIF date but Google strips the place
    dated = [p for p in listed.values() if p.taken_at_source == "exif:DateTimeOriginal"]
    assert len(dated) == 1 and dated[0].latitude is None
    # no EXIF date: the item's createTime stands in
    assert sorted(p.taken_at for p in listed.values() if p.taken_at_source == "picker:createTime") == [
        "2024-06-15T14:30:00+00:00", "2024-06-15T14:30:00.123456+00:00"]
    # the token is in the catalog, and the catalog is encrypted
    assert load_token(lib.catalog, 1, gsettings).refresh_token == "refresh-1"
    assert b"refresh-1" not in lib.settings.catalog_path.read_bytes()


def test_expired_token_is_refreshed_and_kept(lib, fake: FakeGoogle, gsettings: GoogleSettings, client_file: Path) -> None:
    fake.add_photos([jpeg(10)])
    pick_photos(lib, album="A", client_file=client_file, settings=gsettings, authorize=signed_in(fake, expired=True))
    assert fake.calls("POST", "/token") == 1  # expired at sign-in time: refreshed before the first call
    stored = load_token(lib.catalog, 1, gsettings)
    assert stored.token in fake.access_tokens and stored.refresh_token == "refresh-1"
    # Google drops the access token early: a 401 renews it once and the call goes through
    fake.access_tokens.clear()
    fake.items = fake.add_photos([jpeg(11)], prefix="NEW")
    result, _ = pick(lib, fake, gsettings, album="B")
    assert result.downloaded == 1
    assert fake.calls("POST", "/token") == 2
    assert load_token(lib.catalog, 1, gsettings).token in fake.access_tokens


def test_revoked_grant_asks_to_reconnect_then_reconnects(lib, fake, gsettings, client_file) -> None:
    fake.add_photos([jpeg(20)])
    pick(lib, fake, gsettings, client_file)
    fake.access_tokens.clear()
    fake.refresh_tokens.clear()  # the user removed photogen in their Google account
    with pytest.raises(PhotogenError, match="Reconnect.*--client-file"):
        pick(lib, fake, gsettings, album="Again")
    result, _ = pick(lib, fake, gsettings, client_file, album="Again")  # signs in again
    assert result.downloaded == 1
    assert load_token(lib.catalog, 1, gsettings).refresh_token == "refresh-2"


def test_first_use_needs_a_client_file(lib, fake, gsettings) -> None:
    with pytest.raises(PhotogenError, match="--client-file"):
        pick(lib, fake, gsettings)
    assert lib.catalog.scalar("SELECT count(*) FROM sources") == 0


def test_quota_and_server_errors_are_retried_with_backoff(lib, fake, gsettings, client_file) -> None:
    fake.add_photos([jpeg(30), jpeg(31)])
    fake.fail("sessions.create", 429, 503)
    fake.fail("sessions.get", 500)
    fake.fail("mediaItems.list", 502)
    fake.fail("media", 503)
    result, _ = pick(lib, fake, gsettings, client_file)
    assert result.downloaded == 2
    assert fake.calls("POST", "/v1/sessions") == 3


def test_errors_that_do_not_go_away_are_clear(lib, fake, gsettings, client_file) -> None:
    fake.fail("sessions.create", 503, 503, 503, 503)
    with pytest.raises(PhotogenError, match="servers failed.*after 4 tries"):
        pick(lib, fake, gsettings, client_file)
    fake.fail("sessions.create", 403)
    with pytest.raises(PhotogenError, match="Photos Picker API is enabled"):
        pick(lib, fake, gsettings, client_file)
    fake.fail("sessions.create", 429, 429, 429, 429)
    with pytest.raises(PhotogenError, match="too many requests"):
        pick(lib, fake, gsettings, client_file)
    assert [a for a in list_albums(lib)] == []


def test_a_user_who_never_picks_times_out(lib, fake, gsettings, client_file) -> None:
    fake.pick_after_polls = None
    fake.session_timeout_s = 0.2  # timeoutIn counts down to "0s"
    with pytest.raises(PickTimedOut, match="No photos were picked"):
        pick(lib, fake, gsettings, client_file)
    (session,) = fake.sessions.values()
    assert session.deleted and session.polls >= 2
    assert list_albums(lib) == []
    assert "pending" not in json.loads(lib.catalog.scalar("SELECT config FROM sources"))


def test_an_expired_session_is_reported(lib, fake, gsettings, client_file) -> None:
    fake.pick_after_polls = None
    fake.session_expire_s = 0.05
    with pytest.raises(PhotogenError, match="expired"):
        pick(lib, fake, gsettings, client_file)


def test_interrupted_download_keeps_nothing_partial_and_a_rerun_resumes(lib, fake, gsettings, client_file) -> None:
    first, second, third = fake.add_photos([jpeg(40), jpeg(41), jpeg(42)])
    fake.interrupt[first.id] = 1  # one dropped line is retried
    fake.interrupt[third.id] = 99  # this one keeps failing
    with pytest.raises(PhotogenError, match="nothing partial was kept"):
        pick(lib, fake, gsettings, client_file)
    assert lib.catalog.scalar("SELECT count(*) FROM blobs WHERE kind = 'cache'") == 2
    assert list_albums(lib) == []  # the pick has not landed: no half album
    assert index_library(lib).added == 0
    fake.interrupt.clear()
    result, shown = pick(lib, fake, gsettings)
    assert result.resumed and (result.downloaded, result.already_had) == (1, 2)
    assert shown == []  # already picked: the user is not sent back to the picker
    assert fake.calls("POST", "/v1/sessions") == 1  # the same session, resumed
    stored = {lib.get_blob(r["name"]) for r in lib.catalog.query("SELECT name FROM blobs WHERE kind = 'cache'")}
    assert len(stored) == 3 and all(len(b) > 1000 and b.endswith(b"\xff\xd9") for b in stored)
    assert index_library(lib).added == 3


def test_a_dead_network_is_a_clear_error(lib, fake, gsettings, client_file) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    settings = gsettings.model_copy(update={"picker_api": dead})
    with pytest.raises(PhotogenError, match=r"Cannot reach Google \(127\.0\.0\.1:\d+\).*run the command again"):
        pick_photos(lib, album="A", client_file=client_file, settings=settings, authorize=signed_in(fake))


def test_revoking_the_source_revokes_the_token_and_deletes_the_copies(lib, fake, gsettings, client_file) -> None:
    fake.add_photos([jpeg(50), jpeg(51)])
    pick(lib, fake, gsettings, client_file)
    index_library(lib)
    assert revoke_source(lib, "Google Photos") == 2
    assert fake.revoked == ["refresh-1"] and not fake.refresh_tokens
    assert lib.catalog.scalar("SELECT count(*) FROM tokens") == 0
    assert lib.catalog.scalar("SELECT count(*) FROM blobs") == 0
    assert lib.blobs.all_paths() == []


def test_revoke_still_deletes_locally_when_google_is_unreachable(lib, fake, gsettings, client_file, monkeypatch, caplog) -> None:
    fake.add_photos([jpeg(52)])
    pick(lib, fake, gsettings, client_file)
    monkeypatch.setenv("PHOTOGEN_GOOGLE_REVOKE_URI", "http://127.0.0.1:9/revoke")
    revoke_source(lib, "Google Photos")
    assert lib.catalog.scalar("SELECT count(*) FROM blobs") == 0
    assert "myaccount.google.com" in caplog.text


def test_revoking_a_picked_album_deletes_its_copies(lib, fake, gsettings, client_file) -> None:
    fake.add_photos([jpeg(60)])
    pick(lib, fake, gsettings, client_file, album="One")
    fake.items = fake.add_photos([jpeg(61)], prefix="TWO")
    pick(lib, fake, gsettings, album="Two")
    index_library(lib)
    revoke_album(lib, "Google Photos/One")
    names = [r["name"] for r in lib.catalog.query("SELECT name FROM blobs WHERE kind = 'cache'")]
    assert len(names) == 1 and names[0].startswith("picker:1:Two/")
    assert [p.albums for p in list_photos(lib)] == [["Google Photos/Two"]]


def test_fake_contract_through_the_client(fake: FakeGoogle, gsettings: GoogleSettings) -> None:
    access, refresh = fake.issue_token()
    creds = Credentials(token=access, refresh_token=refresh, token_uri=gsettings.token_uri, client_id=CLIENT_ID,
                        client_secret=CLIENT_SECRET, expiry=datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(hours=1))
    client = PickerClient(creds, gsettings, sleep=lambda _s: None)
    (item,) = fake.add_photos([jpeg(70, gps=(10.0, 20.0), taken="2020:01:02 03:04:05")])
    fake.pick_after_polls = 1
    session = client.create_session()
    with pytest.raises(PickerApiError, match="not picked yet"):
        list(client.list_items(session["id"]))  # FAILED_PRECONDITION before the user is done
    assert client.get_session(session["id"])["mediaItemsSet"] is True
    (listed,) = client.list_items(session["id"])
    base = listed["mediaFile"]["baseUrl"]
    assert requests.get(base + "=d", timeout=5).status_code == 401  # baseUrls need the bearer token
    original = piexif.load(item.data)
    downloaded = piexif.load(client.download(base, "=d"))
    assert original["GPS"] and not downloaded["GPS"]  # =d keeps EXIF but the location
    assert downloaded["Exif"][piexif.ExifIFD.DateTimeOriginal] == b"2020:01:02 03:04:05"
    assert Image.open(io.BytesIO(client.download(base, "=w64-h64"))).size == (64, 48)
    fake.advance(3601)  # baseUrls last 60 minutes
    with pytest.raises(PickerApiError, match="expired"):
        client.download(base, "=d")
    fake.clock_offset = 0
    assert client.delete_session(session["id"]) is True
    assert client.delete_session(session["id"]) is False  # a second delete is NOT_FOUND
    client.close()


def test_real_installed_app_flow_against_the_fake(fake, gsettings, client_file, monkeypatch) -> None:
    """InstalledAppFlow itself: loopback on 127.0.0.1, code exchange at the client file's token_uri."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake speaks http

    class Browser:
        def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
            assert "photospicker.mediaitems.readonly" in url and "code_challenge" in url
            threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 10}, daemon=True).start()
            return True

    monkeypatch.setattr(webbrowser, "get", lambda *_a, **_k: Browser())
    creds = run_installed_app_flow(client_file, gsettings.model_copy(update={"oauth_timeout_s": 10}))
    assert creds.token in fake.access_tokens and creds.refresh_token in fake.refresh_tokens
    assert list(creds.scopes) == [SCOPE]


def test_client_file_is_checked(tmp_path: Path) -> None:
    web = tmp_path / "web.json"
    web.write_text(json.dumps({"web": {"client_id": "x"}}))
    with pytest.raises(PhotogenError, match="web app.*Desktop app"):
        load_client_config(web)
    with pytest.raises(PhotogenError, match="No OAuth client file"):
        load_client_config(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(PhotogenError, match="not JSON"):
        load_client_config(bad)


def test_qr_code_for_a_terminal_encodes_the_link() -> None:
    import qrcode

    uri = "https://photos.google.com/picker/abc"
    lines = [line for line in qr_text(uri).splitlines() if line]
    # inverted half-block art for dark terminals: each character is two modules, top and bottom
    dark = {"█": (False, False), "▄": (True, False), "▀": (False, True), "\xa0": (True, True)}
    decoded = []
    for line in lines:
        decoded += [[dark[ch][0] for ch in line], [dark[ch][1] for ch in line]]
    reference = qrcode.QRCode(border=1)
    reference.add_data(uri)
    expected = reference.get_matrix()
    assert decoded[: len(expected)] == expected


def test_cli_pick_with_a_stored_token(tmp_path: Path, fake: FakeGoogle, gsettings: GoogleSettings) -> None:
    settings = Settings(home=tmp_path / "home", passphrase="cli", use_keyring=False, kdf_memory_kib=8192, kdf_iterations=1)
    fake.add_photos([jpeg(80)])
    with open_library(settings) as lib:  # a first sign-in already happened
        from photogen.library.sources.picker import _connect

        _connect(lib, "Google Photos", tmp_path / "unused.json", gsettings, signed_in(fake))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOGEN_") or k.startswith("PHOTOGEN_GOOGLE_")} | {
        "PHOTOGEN_HOME": str(settings.home), "PHOTOGEN_PASSPHRASE": "cli", "PHOTOGEN_USE_KEYRING": "0",
        "PHOTOGEN_KDF_MEMORY_KIB": str(KDF_MIN_MEMORY_KIB), "PHOTOGEN_KDF_ITERATIONS": str(KDF_MIN_ITERATIONS),
    }
    cmd = [sys.executable, "-m", "photogen.cli", "sources", "add-google-picker", "--album", "From phone", "--no-browser", "--json"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["downloaded"] == 1
    assert "https://photos.google.com/picker/" in proc.stderr
    missing = subprocess.run(cmd[:-1] + ["--name", "Other account"], env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: Connect Google Photos first") and "Traceback" not in missing.stderr
