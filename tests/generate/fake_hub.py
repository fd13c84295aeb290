"""A minimal Hugging Face hub on loopback: what huggingface_hub's model info and file downloads use.

Serves `GET /api/models/{repo}/revision/{rev}` (the commit and the files, with sizes, git blob ids and
LFS sha256s) and `GET|HEAD /{repo}/resolve/{rev}/{path}` (X-Repo-Commit, ETag, Content-Length, and
Range requests answered with 206), and answers 401 for a gated repo. Faults a test can switch on: cut
a file's body after N bytes and close the connection (a dead network), serve a damaged body, go away.
Every request is logged with its Range header, so a test can see what a retry asked for.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LFS_SUFFIXES = (".safetensors", ".bin", ".onnx")


@dataclass
class FakeRepo:
    files: dict[str, bytes]
    commit: str = "0123456789abcdef0123456789abcdef01234567"
    gated: bool = False

    @classmethod
    def from_folder(cls, folder: Path, **kwargs: object) -> FakeRepo:
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        return cls(files=files, **kwargs)  # type: ignore[arg-type]


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass
class Logged:
    method: str
    path: str
    range: str | None
    body_bytes: int


@dataclass
class FakeHub:
    repos: dict[str, FakeRepo]
    log: list[Logged] = field(default_factory=list)
    # path in repo -> serve only this many bytes of the body, then drop the connection
    cut_after: dict[str, int] = field(default_factory=dict)
    # path in repo -> serve these bytes instead of the real ones (same length)
    damaged: dict[str, bytes] = field(default_factory=dict)
    # seconds to wait after each 64 KiB of a body: a slow line, so a test can act mid-download
    chunk_delay: float = 0.0
    url: str = ""
    _server: ThreadingHTTPServer | None = None

    def served(self, path_suffix: str) -> list[Logged]:
        return [e for e in self.log if e.method == "GET" and e.path.endswith("/" + path_suffix)]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _siblings(repo: FakeRepo) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for name, data in repo.files.items():
        entry: dict[str, object] = {"rfilename": name, "size": len(data), "blobId": git_blob_id(data)}
        if name.endswith(LFS_SUFFIXES):
            entry["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        out.append(entry)
    return out


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, send_body: bool = True) -> None:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def _error(self, status: int, code: str, message: str) -> None:
            self._send(status, json.dumps({"error": message}).encode(),
                       {"X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json"})  # fmt: skip

        def _gated(self, repo: FakeRepo) -> bool:
            if repo.gated and not self.headers.get("Authorization"):
                self._error(401, "GatedRepo", "Access to this model is restricted: you must be authenticated.")
                return True
            return False

        def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
            self._route(send_body=False)

        def do_GET(self) -> None:  # noqa: N802
            self._route(send_body=True)

        def _route(self, send_body: bool) -> None:
            path = self.path.split("?", 1)[0]
            entry = Logged(self.command, path, self.headers.get("Range"), 0)
            hub.log.append(entry)
            if m := re.fullmatch(r"/api/models/(.+)/revision/([^/]+)", path):
                repo = hub.repos.get(m.group(1))
                if repo is None:
                    return self._error(404, "RepoNotFound", "Repository not found")
                if self._gated(repo):
                    return None
                body = json.dumps({"id": m.group(1), "modelId": m.group(1), "sha": repo.commit,
                                   "siblings": _siblings(repo), "private": False, "gated": repo.gated}).encode()  # fmt: skip
                return self._send(200, body, {"Content-Type": "application/json"}, send_body)
            if m := re.fullmatch(r"/(.+?)/resolve/([^/]+)/(.+)", path):
                repo = hub.repos.get(m.group(1))
                if repo is None:
                    return self._error(404, "RepoNotFound", "Repository not found")
                if self._gated(repo):
                    return None
                if m.group(2) not in (repo.commit, "main"):
                    return self._error(404, "RevisionNotFound", "Revision not found")
                name = m.group(3)
                if name not in repo.files:
                    return self._error(404, "EntryNotFound", "Entry not found")
                return self._file(repo, name, entry, send_body)
            return self._error(404, "NotFound", "not found")

        def _file(self, repo: FakeRepo, name: str, entry: Logged, send_body: bool) -> None:
            data = hub.damaged.get(name, repo.files[name])
            real = repo.files[name]
            etag = hashlib.sha256(real).hexdigest() if name.endswith(LFS_SUFFIXES) else git_blob_id(real)
            headers = {"X-Repo-Commit": repo.commit, "ETag": f'"{etag}"', "Accept-Ranges": "bytes",
                       "Content-Type": "application/octet-stream"}  # fmt: skip
            start, status = 0, 200
            if (rng := self.headers.get("Range")) and (m := re.fullmatch(r"bytes=(\d+)-(\d*)", rng)):
                start, status = int(m.group(1)), 206
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            body = data[start:]
            if not send_body:
                return self._send(status, body, headers, send_body=False)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            cut = hub.cut_after.get(name)
            if cut is not None and start < cut:
                body = body[: cut - start]
                self.close_connection = True
            step = 64 * 1024 if hub.chunk_delay else max(len(body), 1)
            try:
                for at in range(0, len(body), step):
                    self.wfile.write(body[at : at + step])
                    self.wfile.flush()
                    entry.body_bytes = at + len(body[at : at + step])
                    time.sleep(hub.chunk_delay)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client went away (a cancelled download)

    return Handler


@contextmanager
def serve(hub: FakeHub) -> Iterator[FakeHub]:
    """Run `hub` on 127.0.0.1 in a thread for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    server.daemon_threads = True
    hub._server = server
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-hub", daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        hub.stop()
        thread.join(timeout=5)
