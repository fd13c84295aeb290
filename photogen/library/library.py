"""An opened data directory: settings, keys, the catalog and the encrypted file store."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from photogen.errors import PhotogenError
from photogen.library import keys
from photogen.library.blobs import BlobStore
from photogen.library.catalog import Catalog
from photogen.settings import Settings


@dataclass
class Library:
    settings: Settings
    keys: keys.DataKeys
    catalog: Catalog
    blobs: BlobStore
    # objects that live exactly as long as this opened library (e.g. its C2PA signer), never in a
    # module-level cache: a Space visitor's keys leave with their session; emptied on wipe and close
    cache: dict[str, Any] = field(default_factory=dict, repr=False)
    # called with the library after photos were purged (revoke, exclude) and after a wipe: copies kept
    # outside the encrypted store (the files the UI serves) are deleted with them
    after_purge: list[Callable[[Library], Any]] = field(default_factory=list, repr=False)
    after_wipe: list[Callable[[Library], Any]] = field(default_factory=list, repr=False)

    @property
    def home(self) -> Path:
        return self.settings.home

    def put_blob(
        self,
        name: str,
        data: bytes,
        kind: str,
        *,
        photo_id: int | None = None,
        creation_id: int | None = None,
        source_id: int | None = None,
        durable: bool = True,
    ) -> None:
        """Store an encrypted file and record who owns it, so purges and GC find it.

        The file and its row land under the catalog's lock, so a garbage collection running in
        another session never sees the file without its row.
        """
        with self.catalog.locked():
            self.blobs.put(name, data, durable=durable)
            self.catalog.execute(
                "INSERT OR REPLACE INTO blobs (name, kind, photo_id, creation_id, source_id, size_bytes) VALUES (?, ?, ?, ?, ?, ?)",
                (name, kind, photo_id, creation_id, source_id, len(data)),
            )

    def get_blob(self, name: str) -> bytes:
        return self.blobs.get(name)

    def collect_garbage(self) -> int:
        """Remove encrypted files no catalog row owns (after a purge, or left by a crash)."""
        with self.catalog.locked():  # no blob can be written between reading the owners and deleting
            live = {row[0] for row in self.catalog.query("SELECT name FROM blobs")}
            return self.blobs.collect_garbage(live)

    def wipe(self) -> None:
        """Delete everything stored, keeping an empty, still-unlocked library (the app's "delete everything")."""

        cat = self.catalog
        with cat.tx():
            for table in ("creation_sources", "creations", "faces", "people", "photo_names", "photo_files", "skipped", "blobs", "photos", "tokens", "grants", "albums", "sources", "audit_log"):
                cat.execute(f"DELETE FROM {table}")
            cat.audit("delete-all", None)
        self.cache.clear()
        self.collect_garbage()
        cat.checkpoint()
        cat.execute("VACUUM")
        for hook in [*self.after_wipe, *self.after_purge]:
            hook(self)

    def close(self) -> None:
        self.cache.clear()
        self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_library(settings: Settings, *, create: bool = True) -> Library:
    """Unlock and open the data directory, creating it on first use."""
    home = settings.home
    if home.exists() and not home.is_dir():
        raise PhotogenError(f"{home} is a file, not a data directory; choose another --home.")
    if not create and not settings.keyinfo_path.exists():
        raise PhotogenError(f"There is no photogen data in {home}.")
    data_keys = keys.unlock(settings, create=create)
    catalog = Catalog(settings.catalog_path, data_keys.catalog)
    return Library(settings=settings, keys=data_keys, catalog=catalog, blobs=BlobStore(settings.blobs_dir, data_keys))


def delete_everything(settings: Settings) -> int:
    """Remove the whole data directory and its key; returns the bytes removed."""
    home = settings.home
    if not home.exists():
        return 0
    if not settings.keyinfo_path.exists() and any(home.iterdir()):
        raise PhotogenError(f"{home} does not look like a photogen data directory; refusing to delete it.")
    total = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
    keys.forget(settings)
    shutil.rmtree(home)
    return total
