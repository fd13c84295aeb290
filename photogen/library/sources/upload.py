"""Uploads: photos handed to photogen directly (the UI's upload box, a Space visitor's files).

The uploaded bytes are stored as encrypted blobs owned by the source, so revoking the source or
the album deletes them with everything else. Each upload batch names its album.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photogen.errors import PhotogenError
from photogen.library.grants import add_source, allow_album, list_albums, record_new_albums
from photogen.library.sources import AlbumRef, FileRef, printable_path

if TYPE_CHECKING:
    from photogen.library.library import Library

UPLOADS_SOURCE = "Uploads"
BLOB_PREFIX = "upload"  # "upload:<source id>:<album>/<file>"
MAX_UPLOAD_BYTES = 64 * 1024 * 1024


def _blob_name(source_id: int, rel_path: str) -> str:
    return f"{BLOB_PREFIX}:{source_id}:{rel_path}"


class UploadSource:
    kind = "upload"
    copies = BLOB_PREFIX

    def __init__(self, library: Library, row: Any) -> None:
        self._library = library
        self._source_id = int(row["id"])

    @classmethod
    def from_row(cls, library: Library, row: Any) -> UploadSource:
        return cls(library, row)

    @staticmethod
    def revoke(library: Library, row: Any) -> None:
        """The uploaded copies are blobs the source owns: revoking deletes them with the rest."""

    def _entries(self) -> list[tuple[str, int]]:
        prefix = _blob_name(self._source_id, "")
        rows = self._library.catalog.query(
            "SELECT name, size_bytes FROM blobs WHERE kind = 'upload' AND source_id = ? ORDER BY name", (self._source_id,)
        )
        return [(r["name"][len(prefix):], r["size_bytes"]) for r in rows]

    def albums(self) -> list[AlbumRef]:
        names = sorted({rel.split("/", 1)[0] for rel, _ in self._entries()})
        return [AlbumRef(key=n, name=n) for n in names]

    def files(self, album: AlbumRef) -> Iterator[FileRef]:
        for rel, size in self._entries():
            if rel.split("/", 1)[0] == album.key:
                # uploads never change in place: a stable fake mtime keeps rescans incremental
                yield FileRef(rel_path=rel, size_bytes=size, mtime_ns=1)

    def read(self, rel_path: str) -> bytes:
        return self._library.get_blob(_blob_name(self._source_id, rel_path))

    def display_path(self, rel_path: str) -> str:
        return f"upload: {printable_path(rel_path)}"


def unreadable_reason(path: Path, max_pixels: int) -> str | None:
    """Why a file is not a photo photogen can read (the indexer's own check), or None when it is one."""
    from photogen.library.images import open_photo

    try:
        with open_photo(path, max_pixels) as image:
            image.verify()  # the header said "image": the data must decode too
    except PhotogenError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - any decoder failure means "not a readable photo"
        return f"damaged image data ({type(exc).__name__})"
    return None


def remove_upload(library: Library, album_id: int, rel_path: str) -> None:
    """Delete one uploaded file photogen keeps (an upload that is not a photo, listed as skipped)."""
    cat = library.catalog
    row = cat.one("SELECT s.id AS source_id, s.kind FROM albums a JOIN sources s ON s.id = a.source_id WHERE a.id = ?", (album_id,))
    if row is None or row["kind"] != "upload":
        raise PhotogenError("Only uploaded files can be deleted here; photogen never deletes your own folders' files.")
    with cat.tx():
        cat.execute("DELETE FROM blobs WHERE name = ?", (_blob_name(row["source_id"], rel_path),))
        cat.execute("DELETE FROM skipped WHERE album_id = ? AND rel_path = ?", (album_id, rel_path))
        cat.audit("upload.delete", printable_path(rel_path))
    library.collect_garbage()


def add_uploads(library: Library, files: Iterable[Path], album: str, *, delete_originals: bool = False) -> int:
    """Store uploaded files (encrypted) in `album` of the Uploads source and grant that album.

    Uploading is itself the act of consent for those photos. Returns the number stored.
    """

    album = album.strip().replace("/", "-") or "Uploads"
    cat = library.catalog
    row = cat.one("SELECT * FROM sources WHERE name = ? AND kind = 'upload'", (UPLOADS_SOURCE,))
    if row is None:
        add_source(library, name=UPLOADS_SOURCE, kind="upload", location="(uploaded files)", albums=[], allow=["all"])
        row = cat.one("SELECT * FROM sources WHERE name = ? AND kind = 'upload'", (UPLOADS_SOURCE,))
    paths = [Path(p) for p in files]
    for path in paths:  # check the whole batch first: one bad file must not cost the others
        if not path.is_file():
            raise PhotogenError(f"{path.name} is no longer there; upload it again.")
        if path.stat().st_size > MAX_UPLOAD_BYTES:
            raise PhotogenError(f"{path.name} is larger than 64 MB; photogen does not accept it. Nothing was stored.")
    rejected = [f"{path.name} ({why})" for path in paths if (why := unreadable_reason(path, library.settings.max_image_pixels))]
    if rejected:  # told now, by the file's own name, instead of "skipped" at every index from then on
        raise PhotogenError(
            f"Not a photo photogen can read: {', '.join(rejected)}. Nothing was stored; upload the others without "
            f"{'it' if len(rejected) == 1 else 'them'} (JPEG, PNG, WebP, HEIC or TIFF)."
        )
    stored = 0
    with cat.tx():
        for path in paths:
            data = path.read_bytes()
            # the content hash keeps two uploads with one name apart, and the same upload twice together
            name = f"{album}/{hashlib.sha256(data).hexdigest()[:12]}-{Path(path.name).name}"
            library.put_blob(_blob_name(row["id"], name), data, "upload", source_id=row["id"])
            stored += 1
        cat.audit("upload", f"{UPLOADS_SOURCE}/{album}", files=stored)
    if delete_originals:  # the web server's temp copies are plaintext: once stored, none is left behind
        for path in paths:
            path.unlink(missing_ok=True)
    record_new_albums(library, row, UploadSource(library, row).albums())
    if not next(a for a in list_albums(library) if a.source == UPLOADS_SOURCE and a.name == album).allowed:
        allow_album(library, f"{UPLOADS_SOURCE}/{album}")
    return stored
