"""A fake Google on 127.0.0.1: the Photos Picker API, its media host, and OAuth token/revoke/auth.

It implements the contract in reference/google-photos-picker.md §10: the four routes with their
JSON shapes, a bearer check everywhere, a per-session state machine (created, picked, expired,
deleted) with a `timeoutIn` that counts down, paginated listing with Google's pageSize rules,
baseUrls that need the token and expire after 60 minutes, and error injection.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlparse

import piexif
from PIL import Image

SCOPE = "https://www.googleapis.com/auth/photospicker.mediaitems.readonly"
CLIENT_ID = "fake-client.apps.googleusercontent.com"
CLIENT_SECRET = "fake-secret"
_CANONICAL = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
              429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


@dataclass
class FakeItem:
    id: str
    data: bytes
    filename: str
    mime: str = "image/jpeg"
    type: str = "PHOTO"
    create_time: str = "2024-06-15T14:30:00Z"


@dataclass
class FakeSession:
    id: str
    created: float
    timeout_s: float
    expire_s: float
    max_items: str | None = None
    polls: int = 0
    picked: list[FakeItem] | None = None
    deleted: bool = False


@dataclass
class FakeGoogle:
    poll_interval: str = "0.01s"
    session_timeout_s: float = 1800.0
    session_expire_s: float = 3600.0
    pick_after_polls: int | None = 2  # the fake user finishes picking after this many polls; None: never
    max_page: int = 100
    items: list[FakeItem] = field(default_factory=list)
    access_tokens: dict[str, str] = field(default_factory=dict)  # token -> scope
    refresh_tokens: set[str] = field(default_factory=set)
    sessions: dict[str, FakeSession] = field(default_factory=dict)
    revoked: list[str] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of every request
    # route name -> list of HTTP statuses to answer before serving it for real
    failures: dict[str, list[int]] = field(default_factory=dict)
    interrupt: dict[str, int] = field(default_factory=dict)  # item id -> how many downloads to cut half-way
    clock_offset: float = 0.0
    _server: ThreadingHTTPServer | None = None
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _codes: dict[str, str] = field(default_factory=dict)

    # ---- control from tests ------------------------------------------------------------------

    def start(self) -> FakeGoogle:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        self.clock_offset += seconds

    def issue_token(self, scope: str = SCOPE) -> tuple[str, str]:
        """A fresh (access, refresh) pair, as a finished sign-in would give."""
        n = next(self._counter)
        access, refresh = f"access-{n}", f"refresh-{n}"
        self.access_tokens[access] = scope
        self.refresh_tokens.add(refresh)
        return access, refresh

    def fail(self, route: str, *statuses: int) -> None:
        self.failures.setdefault(route, []).extend(statuses)

    def add_photos(self, datas: list[bytes], prefix: str = "IMG") -> list[FakeItem]:
        new = [FakeItem(id=f"AF1Qip{prefix}{i:04d}", data=d, filename=f"{prefix}_{i:04d}.JPG") for i, d in enumerate(datas)]
        self.items.extend(new)
        return new

    def calls(self, method: str, prefix: str) -> int:
        return sum(1 for m, p in self.log if m == method and p.startswith(prefix))

    # ---- helpers ---------------------------------------------------------------------------

    def session_json(self, session: FakeSession) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": session.id,
            "pickerUri": f"https://photos.google.com/picker/{session.id}",
            "expireTime": datetime.fromtimestamp(session.created + session.expire_s, timezone.utc).isoformat().replace("+00:00", "Z"),
            "mediaItemsSet": session.picked is not None,
        }
        if session.max_items is not None:
            out["pickingConfig"] = {"maxItemCount": session.max_items}
        if session.picked is None:
            left = max(0.0, session.created + session.timeout_s - self.now())
            out["pollingConfig"] = {"pollInterval": self.poll_interval, "timeoutIn": f"{left:g}s"}
        return out

    def item_json(self, item: FakeItem, base: str) -> dict[str, Any]:
        issued = int(self.now())
        media: dict[str, Any] = {"baseUrl": f"{base}/media/{item.id}~{issued}", "mimeType": item.mime, "filename": item.filename}
        if item.type == "VIDEO":
            media["mediaFileMetadata"] = {"width": 1920, "height": 1080, "videoMetadata": {"fps": 29.97, "processingStatus": "READY"}}
        else:
            media["mediaFileMetadata"] = {"width": 160, "height": 120, "cameraMake": "Google", "cameraModel": "Pixel 7",
                                          "photoMetadata": {"focalLength": 6.81, "isoEquivalent": 64, "exposureTime": "0.008s"}}
        return {"id": item.id, "createTime": item.create_time, "type": item.type, "mediaFile": media}


def strip_gps(data: bytes) -> bytes:
    """What `=d` does: all EXIF but the location."""
    try:
        exif = piexif.load(data)
    except Exception:  # noqa: BLE001 - not a JPEG with EXIF: nothing to strip
        return data
    exif["GPS"] = {}
    out = io.BytesIO()
    piexif.insert(piexif.dump(exif), data, out)
    return out.getvalue()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGoogle
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: Any) -> None:  # keep test output quiet
        pass

    # ---- plumbing ----------------------------------------------------------------------------

    def _send(self, status: int, body: Any = None, *, raw: bytes | None = None, ctype: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        payload = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    def _google_error(self, status: int, canonical: str | None = None, message: str = "fake error") -> None:
        self._send(status, {"error": {"code": status, "message": message, "status": canonical or _CANONICAL.get(status, "UNKNOWN")}})

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _injected(self, route: str) -> bool:
        with self.fake._lock:
            queue = self.fake.failures.get(route)
            status = queue.pop(0) if queue else None
        if status is None:
            return False
        self._google_error(status, message=f"injected {status}")
        return True

    def _authorized(self) -> bool:
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        if token is None or token not in self.fake.access_tokens:
            self._google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token")
            return False
        if self.fake.access_tokens[token] != SCOPE:
            self._google_error(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.")
            return False
        return True

    # ---- routes ------------------------------------------------------------------------------

    def do_GET(self) -> None:
        url = urlparse(self.path)
        self.fake.log.append(("GET", url.path))
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == "/auth":
            return self._auth(query)
        if url.path.startswith("/media/"):
            return self._media(url.path[len("/media/"):])
        if url.path.startswith("/v1/sessions/"):
            if self._injected("sessions.get") or not self._authorized():
                return None
            return self._get_session(url.path.rsplit("/", 1)[-1])
        if url.path == "/v1/mediaItems":
            if self._injected("mediaItems.list") or not self._authorized():
                return None
            return self._list(query)
        return self._send(404, raw=b"<html>404</html>", ctype="text/html")

    def do_POST(self) -> None:
        url = urlparse(self.path)
        self.fake.log.append(("POST", url.path))
        body = self._body()
        if url.path == "/token":
            return self._token({k: v[-1] for k, v in parse_qs(body.decode()).items()})
        if url.path == "/revoke":
            form = {k: v[-1] for k, v in parse_qs(url.query).items()} | {k: v[-1] for k, v in parse_qs(body.decode()).items()}
            return self._revoke(form.get("token", ""))
        if url.path == "/v1/sessions":
            if self._injected("sessions.create") or not self._authorized():
                return None
            return self._create(body)
        return self._send(404, raw=b"<html>404</html>", ctype="text/html")

    def do_DELETE(self) -> None:
        url = urlparse(self.path)
        self.fake.log.append(("DELETE", url.path))
        if not url.path.startswith("/v1/sessions/"):
            return self._send(404, raw=b"<html>404</html>", ctype="text/html")
        if self._injected("sessions.delete") or not self._authorized():
            return None
        session = self.fake.sessions.get(url.path.rsplit("/", 1)[-1])
        if session is None or session.deleted:
            return self._google_error(404, "NOT_FOUND", "session not found")
        session.deleted = True
        return self._send(200, {})

    # -- oauth

    def _auth(self, query: dict[str, str]) -> None:
        """The consent screen, already agreed to: redirect back to the app's loopback with a code."""
        code = uuid.uuid4().hex
        self.fake._codes[code] = query.get("code_challenge", "")
        target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query.get("state", ""), "scope": query.get("scope", "")})
        self._send(302, raw=b"", headers={"Location": target})

    def _token(self, form: dict[str, str]) -> None:
        basic = self.headers.get("Authorization", "")
        if basic.startswith("Basic "):  # client authentication may come as HTTP Basic instead of form fields
            user, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            form = form | {"client_id": unquote(user), "client_secret": unquote(secret)}
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return self._send(401, {"error": "invalid_client"})
        grant = form.get("grant_type")
        if grant == "authorization_code" and self.fake._codes.pop(form.get("code", ""), None) is not None:
            access, refresh = self.fake.issue_token()
            return self._send(200, {"access_token": access, "refresh_token": refresh, "expires_in": 3599, "scope": SCOPE, "token_type": "Bearer"})
        if grant == "refresh_token" and form.get("refresh_token") in self.fake.refresh_tokens:
            access = f"access-{next(self.fake._counter)}"
            self.fake.access_tokens[access] = SCOPE
            return self._send(200, {"access_token": access, "expires_in": 3599, "scope": SCOPE, "token_type": "Bearer"})
        return self._send(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})

    def _revoke(self, token: str) -> None:
        if token in self.fake.refresh_tokens:
            self.fake.refresh_tokens.discard(token)
            # revoking the grant ends every access token it gave
            self.fake.access_tokens.clear()
        elif token in self.fake.access_tokens:
            del self.fake.access_tokens[token]
        else:
            return self._send(400, {"error": "invalid_token"})
        self.fake.revoked.append(token)
        return self._send(200, {})

    # -- picker

    def _create(self, body: bytes) -> None:
        try:
            request = json.loads(body) if body else {}
        except ValueError:
            return self._google_error(400, "INVALID_ARGUMENT", "bad JSON")
        max_items = (request.get("pickingConfig") or {}).get("maxItemCount")
        session = FakeSession(
            id=str(uuid.uuid4()),
            created=self.fake.now(),
            timeout_s=self.fake.session_timeout_s,
            expire_s=self.fake.session_expire_s,
            max_items=None if max_items is None else str(max_items),
        )
        self.fake.sessions[session.id] = session
        return self._send(200, self.fake.session_json(session))

    def _session(self, session_id: str) -> FakeSession | None:
        session = self.fake.sessions.get(session_id)
        if session is None or session.deleted:
            self._google_error(404, "NOT_FOUND", "session not found")
            return None
        if self.fake.now() > session.created + session.expire_s:
            self._google_error(403, "PERMISSION_DENIED", "session expired")
            return None
        return session

    def _get_session(self, session_id: str) -> None:
        session = self._session(session_id)
        if session is None:
            return None
        session.polls += 1
        pick_after = self.fake.pick_after_polls
        if session.picked is None and pick_after is not None and session.polls >= pick_after:
            session.picked = list(self.fake.items)
        return self._send(200, self.fake.session_json(session))

    def _list(self, query: dict[str, str]) -> None:
        session = self._session(query.get("sessionId", ""))
        if session is None:
            return None
        if session.picked is None:
            return self._google_error(400, "FAILED_PRECONDITION", "The user has not finished picking.")
        try:
            size = int(query.get("pageSize") or 0)
        except ValueError:
            return self._google_error(400, "INVALID_ARGUMENT", "pageSize")
        if size < 0:
            return self._google_error(400, "INVALID_ARGUMENT", "pageSize must not be negative")
        size = min(size or 50, 100, self.fake.max_page)
        token = query.get("pageToken")
        start = 0
        if token:
            if not token.startswith("page-") or not token[5:].isdigit():
                return self._google_error(400, "INVALID_ARGUMENT", "bad page token")
            start = int(token[5:])
        page = session.picked[start : start + size]
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        out: dict[str, Any] = {}
        if page:
            out["mediaItems"] = [self.fake.item_json(i, base) for i in page]
        if start + size < len(session.picked):
            out["nextPageToken"] = f"page-{start + size}"
        return self._send(200, out)

    # -- media host

    def _media(self, rest: str) -> None:
        if self._injected("media"):
            return None
        if not self._authorized():
            return None
        ref, _, params = rest.partition("=")
        item_id, _, issued = ref.partition("~")
        item = next((i for i in self.fake.items if i.id == item_id), None)
        if item is None or not issued.isdigit() or self.fake.now() - int(issued) > 3600:
            return self._send(403, raw=b"<html>403 Forbidden</html>", ctype="text/html")
        if params == "d":
            data = strip_gps(item.data)
        elif params == "dv":
            data = item.data
        elif params.startswith("w"):
            dims = {p[0]: p[1:] for p in params.split("-") if p[:1] in ("w", "h") and p[1:].isdigit()}
            img = Image.open(io.BytesIO(item.data))
            img.thumbnail((int(dims.get("w", 512)), int(dims.get("h", 512))))
            buf = io.BytesIO()
            img.save(buf, "JPEG")
            data = buf.getvalue()
        else:
            data = item.data  # the bare baseUrl: some size, undefined
        with self.fake._lock:
            cut = self.fake.interrupt.get(item.id, 0)
            if cut:
                self.fake.interrupt[item.id] = cut - 1
        if cut:
            # the full length promised, half sent, then the line drops
            self.send_response(200)
            self.send_header("Content-Type", item.mime)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return None
        return self._send(200, raw=data, ctype=item.mime)
