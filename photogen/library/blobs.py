"""Encrypted files: thumbnails, cached copies of photos, downloads.

Each blob is AES-GCM encrypted with the data key, under a file name that is an HMAC of its
logical name, so neither content nor names reveal anything. Writes are atomic (temp file and
rename), so a crash leaves either the old blob or the new one, never half of one.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from photogen.errors import PhotogenError
from photogen.library.keys import DataKeys

_MAGIC = b"PGB1"


class BlobStore:
    def __init__(self, root: Path, keys: DataKeys) -> None:
        self.root = root
        self._keys = keys
        self._aead = AESGCM(keys.files)

    def path_for(self, logical: str) -> Path:
        name = self._keys.blob_name(logical)
        return self.root / name[:2] / name

    def put(self, logical: str, data: bytes, durable: bool = True) -> Path:
        path = self.path_for(logical)
        path.parent.mkdir(parents=True, exist_ok=True)
        nonce = os.urandom(12)
        # the logical name is bound as associated data, so a blob moved to another name fails to open
        payload = _MAGIC + nonce + self._aead.encrypt(nonce, data, logical.encode())
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(payload)
            if durable:  # derived files that can be rebuilt (thumbnails) skip the fsync: it is most of their cost
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
        return path

    def get(self, logical: str) -> bytes:
        path = self.path_for(logical)
        try:
            raw = path.read_bytes()
        except FileNotFoundError as exc:
            raise PhotogenError(f"A stored file is missing ({logical.split(':')[0]}); re-run `photogen index`.") from exc
        if raw[:4] != _MAGIC:
            raise PhotogenError("A stored file is damaged; re-run `photogen index` to rebuild it.")
        try:
            return self._aead.decrypt(raw[4:16], raw[16:], logical.encode())
        except InvalidTag as exc:
            raise PhotogenError("A stored file is damaged; re-run `photogen index` to rebuild it.") from exc

    def exists(self, logical: str) -> bool:
        return self.path_for(logical).exists()

    def all_paths(self) -> list[Path]:
        if not self.root.exists():
            return []
        return [p for p in self.root.rglob("*") if p.is_file()]

    def collect_garbage(self, live: set[str]) -> int:
        """Delete blobs whose logical names are not in `live` (left over from a crash); return the count."""
        keep = {self.path_for(name) for name in live}
        removed = 0
        for path in self.all_paths():
            if path.name.endswith(".tmp") and path.stat().st_mtime > time.time() - 3600:
                continue  # a write in progress elsewhere; a stale one (over an hour old) is removed
            if path not in keep:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
