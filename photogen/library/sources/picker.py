"""Google Photos Picker: the user picks photos in Google's own picker; photogen downloads those.

Since 31 March 2025 this is the only way a third-party app reads a live Google Photos library.
Picked items carry no album, people or place, so the user names the album the pick goes into;
picking is the act of consent for exactly those photos.

The downloaded copies are stored encrypted, owned by the source (revoking it deletes them), and
listed in the source's config. A pick lands all at once: items appear in the album only when
every download finished, and an interrupted run keeps its session id so the next run resumes
it instead of asking the user to pick again.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photogen.errors import PhotogenError
from photogen.library.google.picking import PickTimedOut, forget_session, item_file_name, rfc3339, wait_for_pick
from photogen.library.grants import add_source, allow_album, list_albums, record_new_albums
from photogen.library.sources import AlbumRef, FileRef, printable_path

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials

    from photogen.library.google.oauth import Authorizer
    from photogen.library.google.settings import GoogleSettings
    from photogen.library.library import Library

log = logging.getLogger(__name__)

KIND = "picker"
DEFAULT_SOURCE_NAME = "Google Photos"
BLOB_PREFIX = "picker"  # "picker:<source id>:<album>/<file>"
def blob_name(source_id: int, rel_path: str) -> str:
    return f"{BLOB_PREFIX}:{source_id}:{rel_path}"


def _config(row: Any) -> dict[str, Any]:
    config = json.loads(row["config"] or "{}")
    config.setdefault("albums", {})
    return config


class PickerSource:
    """The copies of picked photos: one album per name the user gave a pick."""

    kind = KIND
    copies = BLOB_PREFIX

    def __init__(self, library: Library, row: Any) -> None:
        self._library = library
        self._source_id = int(row["id"])
        self._config = _config(row)

    @classmethod
    def from_row(cls, library: Library, row: Any) -> PickerSource:
        return cls(library, row)

    @staticmethod
    def revoke(library: Library, row: Any) -> None:
        """Before a picker source is forgotten: close its open session and revoke the grant at Google."""
        revoke_picker_token(library, row)

    def albums(self) -> list[AlbumRef]:
        return [AlbumRef(key=name, name=name) for name in sorted(self._config["albums"])]

    def files(self, album: AlbumRef) -> Iterator[FileRef]:
        items = self._config["albums"].get(album.key, {}).get("items", {})
        prefix = blob_name(self._source_id, "")
        stored = {
            r["name"][len(prefix):]: r["size_bytes"]
            for r in self._library.catalog.query(
                "SELECT name, size_bytes FROM blobs WHERE kind = 'cache' AND source_id = ?", (self._source_id,)
            )
        }
        for rel, item in sorted(items.items()):
            if rel not in stored:
                continue  # the album was revoked and its copies deleted: pick again to get them back
            facts: dict[str, Any] = {}
            if item.get("taken"):
                facts = {"taken_at": datetime.fromisoformat(item["taken"]), "taken_at_source": "picker:createTime"}
            # copies never change in place: a fixed mtime keeps rescans incremental
            yield FileRef(rel_path=rel, size_bytes=stored[rel], mtime_ns=1, sidecar=facts)

    def read(self, rel_path: str) -> bytes:
        return self._library.get_blob(blob_name(self._source_id, rel_path))

    def display_path(self, rel_path: str) -> str:
        return f"Google Photos (picked): {printable_path(rel_path)}"


# ---- picking ----------------------------------------------------------------------------------


@dataclass
class PickResult:
    source: str
    album: str
    downloaded: int = 0
    already_had: int = 0
    resumed: bool = False
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "album": self.album,
            "downloaded": self.downloaded,
            "already_had": self.already_had,
            "resumed": self.resumed,
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
        }


def qr_text(uri: str) -> str:
    """The link as a QR code in text, for a phone to scan from a terminal."""
    import qrcode

    qr = qrcode.QRCode(border=1)
    qr.add_data(uri)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return out.getvalue()


def _album_name(album: str) -> str:
    name = album.strip().replace("/", "-")
    if not name:
        raise PhotogenError("Name the album the picked photos go into: --album NAME.")
    return name


def _connect(
    library: Library, source_name: str, client_file: Path | None, settings: GoogleSettings, authorize: Authorizer
) -> tuple[Any, Credentials]:
    """The picker source and working credentials: stored ones, refreshed, or a new sign-in."""
    from photogen.library.google.oauth import ReconnectNeeded, load_token, refresh, save_token

    cat = library.catalog
    row = cat.one("SELECT * FROM sources WHERE name = ?", (source_name,))
    if row is not None and row["kind"] != KIND:
        raise PhotogenError(f"A {row['kind']} source is already named {source_name!r}; pick another --name.")
    creds = load_token(cat, row["id"], settings) if row is not None else None
    if creds is not None and not creds.valid:
        try:
            refresh(creds, settings)
            with cat.tx():
                save_token(cat, row["id"], creds)
        except ReconnectNeeded:
            if client_file is None:
                raise
            creds = None  # the user came with a client file: sign in again
    if creds is None:
        if client_file is None:
            raise PhotogenError(
                "Connect Google Photos first: pass --client-file with your OAuth client file "
                "(how to make one: docs/google-photos.md)."
            )
        creds = authorize(client_file, settings)
        with cat.tx():  # the source and its token land together, or neither does
            if row is None:
                add_source(library, name=source_name, kind=KIND, location="Google Photos Picker", albums=[], allow=["all"], config={"albums": {}})
                row = cat.one("SELECT * FROM sources WHERE name = ?", (source_name,))
            save_token(cat, row["id"], creds)
            cat.audit("google.connect", source_name)
    return row, creds


def _set_pending(library: Library, source_id: int, pending: dict[str, Any] | None) -> None:
    cat = library.catalog
    with cat.tx():
        config = _config(cat.one("SELECT config FROM sources WHERE id = ?", (source_id,)))
        if pending is None:
            config.pop("pending", None)
        else:
            config["pending"] = pending
        cat.execute("UPDATE sources SET config = ? WHERE id = ?", (json.dumps(config), source_id))


def _has_capture_date(data: bytes) -> bool:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            exif = img.getexif()
            return bool(exif.get(0x0132) or exif.get_ifd(0x8769).get(0x9003))  # DateTime, DateTimeOriginal
    except Exception:  # noqa: BLE001 - an unreadable file is the indexer's to report, with its reason
        return True


def pick_photos(
    library: Library,
    *,
    album: str,
    source_name: str = DEFAULT_SOURCE_NAME,
    client_file: Path | None = None,
    settings: GoogleSettings | None = None,
    authorize: Authorizer | None = None,
    show: Callable[[str], None] | None = None,
    max_items: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> PickResult:
    """Let the user pick photos in Google Photos and store copies of them in `album`."""
    from photogen.library.google.oauth import ReconnectNeeded, run_installed_app_flow, save_token
    from photogen.library.google.picker_api import PickerApiError, PickerClient
    from photogen.library.google.settings import GoogleSettings

    settings = settings or GoogleSettings()
    album = _album_name(album)
    client_file = client_file or settings.client_file
    cat = library.catalog

    # 1. Credentials: stored, refreshed, or a new sign-in
    authorize = authorize or run_installed_app_flow
    row, creds = _connect(library, source_name, client_file, settings, authorize)
    source_id = int(row["id"])

    def keep_token(fresh: Credentials) -> None:
        with cat.tx():
            save_token(cat, source_id, fresh)

    client = PickerClient(creds, settings, on_refresh=keep_token, sleep=sleep)

    def run() -> PickResult:
        result = PickResult(source=source_name, album=album)
        # 2. A session: the one an interrupted run left for this album, or a new one
        pending = _config(cat.one("SELECT config FROM sources WHERE id = ?", (source_id,))).get("pending")
        session: dict[str, Any] | None = None
        if pending and pending.get("album") == album:
            try:
                session = client.get_session(pending["session_id"])
                result.resumed = True
            except PickerApiError as exc:
                if exc.http_status not in (403, 404):
                    raise
                log.info("the unfinished picking session is gone; starting a new one")
        elif pending:
            forget_session(client, pending)
        if session is None:
            session = client.create_session(max_items)
            # recorded before the user is sent off to pick, so an interrupted run can resume this session
            _set_pending(library, source_id, {"session_id": session["id"], "album": album})
            with cat.tx():
                cat.audit("google.pick.start", f"{source_name}/{album}")

        # 3. Send the user to Google's picker and wait for them
        if not session.get("mediaItemsSet"):
            if show is not None:
                show(str(session.get("pickerUri", "")))
            try:
                wait_for_pick(client, session, settings, sleep, clock)
            except PickTimedOut:
                forget_session(client, {"session_id": session["id"]})
                _set_pending(library, source_id, None)
                raise
            except PickerApiError as exc:
                if exc.http_status in (403, 404):
                    _set_pending(library, source_id, None)
                raise

        # 4. Download what was picked; a file already stored by an interrupted run is not fetched again
        have = {r["name"] for r in cat.query("SELECT name FROM blobs WHERE kind = 'cache' AND source_id = ?", (source_id,))}
        new_items: dict[str, dict[str, Any]] = {}
        for item in client.list_items(session["id"]):
            media = item.get("mediaFile") or {}
            filename = str(media.get("filename") or item.get("id"))
            kind = item.get("type", "PHOTO")
            mime = str(media.get("mimeType") or "")
            if kind == "VIDEO" or mime.startswith("video/"):
                result.skipped.append((filename, "video; photogen imports photos only"))
                continue
            if not item.get("id") or not media.get("baseUrl"):
                result.skipped.append((filename, "Google sent no download link for it"))
                continue
            rel = f"{album}/{item_file_name(item)}"
            record: dict[str, Any] = {"id": str(item["id"]), "filename": filename}
            if blob_name(source_id, rel) in have:
                data = library.get_blob(blob_name(source_id, rel))  # stored by an interrupted run
                result.already_had += 1
            else:
                # =d: the original bytes with their EXIF (Google strips the location)
                data = client.download(str(media["baseUrl"]), "=d")
                library.put_blob(blob_name(source_id, rel), data, "cache", source_id=source_id)
                result.downloaded += 1
            created = rfc3339(item.get("createTime"))
            if created is not None and not _has_capture_date(data):
                record["taken"] = created
            new_items[rel] = record

        # 5. The pick lands in one step: the album's item list, then the grant the pick stands for
        with cat.tx():
            config = _config(cat.one("SELECT config FROM sources WHERE id = ?", (source_id,)))
            entry = config["albums"].setdefault(album, {"items": {}})
            entry["items"].update(new_items)
            config.pop("pending", None)
            cat.execute("UPDATE sources SET config = ? WHERE id = ?", (json.dumps(config), source_id))
            cat.audit("google.pick", f"{source_name}/{album}", downloaded=result.downloaded, skipped=len(result.skipped))
        fresh = cat.one("SELECT * FROM sources WHERE id = ?", (source_id,))
        record_new_albums(library, fresh, PickerSource(library, fresh).albums())
        if not next(a for a in list_albums(library) if a.source == source_name and a.name == album).allowed:
            allow_album(library, f"{source_name}/{album}")
        forget_session(client, {"session_id": session["id"]})
        return result

    try:
        try:
            return run()
        except ReconnectNeeded:
            if client_file is None:
                raise
            # the stored grant died mid-run and the user brought a client file: sign in, carry on
            client.credentials = authorize(client_file, settings)
            keep_token(client.credentials)
            return run()
    finally:
        client.close()


# ---- revocation -------------------------------------------------------------------------------


def revoke_picker_token(library: Library, row: Any) -> None:
    """Before a picker source is forgotten: close its open session and revoke the grant at Google."""
    from photogen.library.google.oauth import load_token, revoke
    from photogen.library.google.picker_api import PickerClient
    from photogen.library.google.settings import GoogleSettings

    settings = GoogleSettings()
    creds = load_token(library.catalog, int(row["id"]), settings)
    if creds is None:
        return
    pending = _config(row).get("pending")
    if pending:
        client = PickerClient(creds, settings, sleep=lambda _s: None)
        try:
            forget_session(client, pending)
        finally:
            client.close()
    if revoke(creds, settings):
        library.catalog.audit("google.revoke", row["name"])
