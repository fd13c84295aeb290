"""Indexing: read the granted albums, record each photo's metadata and an encrypted thumbnail.

Incremental and resumable. A file whose size and modification time match what the catalog
already holds is not read again. Each photo lands in its own short transaction, so a run killed
at any moment (kill -9 included) loses at most the photo in flight; the next run picks up there.
Photos are identified by content hash, so a moved or copied file is the same photo.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlcipher3

from photogen.errors import PhotogenError
from photogen.library.catalog import Catalog, utc_now
from photogen.library.consent import purge_orphan_photos, refresh_albums
from photogen.library.images import UnreadablePhoto, decode, open_photo, to_jpeg
from photogen.library.library import Library
from photogen.library.metadata import PhotoMetadata, read_metadata, reverse_geocode
from photogen.library.sources import AlbumRef, FileRef, PhotoSource, printable_path
from photogen.library.sources.registry import open_source

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]


@dataclass
class SkippedFile:
    path: str
    reason: str


@dataclass
class IndexReport:
    added: int = 0
    unchanged: int = 0
    updated: int = 0
    removed: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    new_albums: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # what later stages (faces) add to the run's summary, by stage name
    stages: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "unchanged": self.unchanged,
            "updated": self.updated,
            "removed": self.removed,
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "new_albums_not_allowed": self.new_albums,
            "seconds": round(self.seconds, 3),
            **self.stages,
        }


@dataclass
class _Analysis:
    ref: FileRef
    content_hash: str | None = None
    metadata: PhotoMetadata | None = None
    thumbnail: bytes | None = None
    reason: str | None = None


def thumbnail_blob_name(content_hash: str) -> str:
    return f"thumbnail:{content_hash}"


def index_library(library: Library, progress: Progress | None = None) -> IndexReport:
    """Index every granted album of every source."""
    started = time.monotonic()
    cat = library.catalog
    report = IndexReport()
    library.collect_garbage()  # files a killed run wrote but never recorded

    work: list[tuple[PhotoSource, int, AlbumRef, FileRef]] = []
    seen: set[tuple[int, str]] = set()
    for source_row in cat.query("SELECT * FROM sources ORDER BY id"):
        try:
            report.new_albums += [f"{source_row['name']}/{n}" for n in refresh_albums(library, source_row)]
            source = open_source(library, source_row)
            granted = cat.query(
                "SELECT a.id, a.key, a.name FROM albums a JOIN grants g ON g.album_id = a.id WHERE a.source_id = ?",
                (source_row["id"],),
            )
            for album in granted:
                ref = AlbumRef(key=album["key"], name=album["name"])
                present = getattr(source, "album_present", None)
                if present is not None and not present(ref):
                    # an unmounted disk or a moved folder is not "every photo deleted": keep what we know
                    report.skipped.append(SkippedFile(f"{source_row['name']}/{album['name']}", "album folder is missing; its photos are kept (revoke the album to forget them)"))
                    seen |= {(r[0], r[1]) for r in cat.query("SELECT album_id, rel_path FROM photo_files WHERE album_id = ?", (album["id"],))}
                    seen |= {(r[0], r[1]) for r in cat.query("SELECT album_id, rel_path FROM skipped WHERE album_id = ?", (album["id"],))}
                    continue
                for file in source.files(ref):
                    seen.add((album["id"], file.rel_path))
                    work.append((source, album["id"], ref, file))
        except (PhotogenError, OSError) as exc:
            # a folder on an unplugged disk must not look like "all photos deleted": leave it untouched
            report.skipped.append(SkippedFile(source_row["name"], str(exc) if isinstance(exc, PhotogenError) else f"cannot read the source ({exc.strerror or exc})"))
            seen |= {(r[0], r[1]) for r in cat.query(
                "SELECT f.album_id, f.rel_path FROM photo_files f JOIN albums a ON a.id = f.album_id WHERE a.source_id = ?",
                (source_row["id"],),
            )}

    known = {
        (r["album_id"], r["rel_path"]): (r["size_bytes"], r["mtime_ns"])
        for r in cat.query("SELECT album_id, rel_path, size_bytes, mtime_ns FROM photo_files")
    }
    # photos whose thumbnail is gone (a power cut before it reached the disk) are read again
    thumbless = {
        (r["album_id"], r["rel_path"])
        for r in cat.query(
            "SELECT f.album_id, f.rel_path, p.content_hash FROM photo_files f JOIN photos p ON p.id = f.photo_id WHERE p.excluded = 0"
        )
        if not library.blobs.exists(thumbnail_blob_name(r["content_hash"]))
    }
    known_skips = {
        (r["album_id"], r["rel_path"]): (r["size_bytes"], r["mtime_ns"], r["reason"])
        for r in cat.query("SELECT album_id, rel_path, size_bytes, mtime_ns, reason FROM skipped")
    }

    todo: list[tuple[PhotoSource, int, FileRef]] = []
    for source, album_id, _album, file in work:
        key = (album_id, file.rel_path)
        if known.get(key) == (file.size_bytes, file.mtime_ns) and file.skip_reason is None and key not in thumbless:
            report.unchanged += 1
            continue
        skip = known_skips.get(key)
        if skip is not None and skip[:2] == (file.size_bytes, file.mtime_ns):
            report.skipped.append(SkippedFile(source.display_path(file.rel_path), skip[2]))
            continue
        todo.append((source, album_id, file))

    total = len(todo)
    if progress:
        progress(0, total, "indexing")
    settings = library.settings
    with ThreadPoolExecutor(max_workers=max(1, settings.index_threads)) as pool:
        results = _bounded_map(
            pool, lambda item: _analyse(item[0], item[2], settings.max_image_pixels, settings.thumbnail_size), todo
        )
        for done, ((source, album_id, file), analysis) in enumerate(zip(todo, results, strict=True), start=1):
            with _disk_errors():
                if analysis.reason is not None:
                    _record_skip(cat, album_id, file, analysis.reason)
                    report.skipped.append(SkippedFile(source.display_path(file.rel_path), analysis.reason))
                else:
                    was_known = (album_id, file.rel_path) in known
                    if not _record_photo(library, album_id, analysis):
                        continue  # the album was revoked meanwhile
                    if was_known:
                        report.updated += 1
                    else:
                        report.added += 1
            if progress:
                progress(done, total, printable_path(file.rel_path))

    # files gone from disk (deleted, or moved: the move's new path was recorded above)
    gone = [key for key in known.keys() | known_skips.keys() if key not in seen]
    with cat.tx():
        for album_id, rel_path in gone:
            if (album_id, rel_path) in known:
                report.removed += 1
            cat.execute("DELETE FROM photo_files WHERE album_id = ? AND rel_path = ?", (album_id, rel_path))
            cat.execute("DELETE FROM skipped WHERE album_id = ? AND rel_path = ?", (album_id, rel_path))
        purge_orphan_photos(cat)
        cat.execute("UPDATE sources SET last_scan_at = ?", (utc_now(),))
        report.seconds = time.monotonic() - started
        cat.audit(
            "index",
            None,
            actor="photogen",
            added=report.added,
            updated=report.updated,
            removed=report.removed,
            skipped=len(report.skipped),
        )
    library.collect_garbage()
    library.catalog.checkpoint()
    return report


@contextmanager
def _disk_errors() -> Iterator[None]:
    """A full disk stops the run with a clear message; the photo in flight rolls back, nothing else is lost."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise PhotogenError(
                "The disk holding photogen's data is full. Everything indexed so far is saved; free some space and run the index again."
            ) from exc
        raise
    except sqlcipher3.OperationalError as exc:
        if "full" in str(exc).lower():
            raise PhotogenError(
                "The disk holding photogen's data is full. Everything indexed so far is saved; free some space and run the index again."
            ) from exc
        raise


def _bounded_map(pool: ThreadPoolExecutor, fn: Callable, items: list) -> Iterator:
    """Like pool.map, but keeps only a few results in flight so memory stays flat on big libraries."""
    window = max(4, pool._max_workers * 4)
    pending = []
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= window:
            yield pending.pop(0).result()
    for future in pending:
        yield future.result()


def _analyse(source: PhotoSource, file: FileRef, max_pixels: int, thumb_size: int) -> _Analysis:
    if file.skip_reason is not None:
        return _Analysis(file, reason=file.skip_reason)
    try:
        data = source.read(file.rel_path)
        content_hash = hashlib.sha256(data).hexdigest()
        img = open_photo(data, max_pixels)
        mtime = file.mtime_ns / 1e9 if file.mtime_ns else None
        metadata = read_metadata(img, file_mtime=mtime)
        _apply_sidecar(metadata, file.sidecar)
        thumbnail = to_jpeg(decode(img, max_side=thumb_size))
    except UnreadablePhoto as exc:
        return _Analysis(file, reason=str(exc))
    except PhotogenError as exc:
        return _Analysis(file, reason=str(exc))
    except (OSError, MemoryError) as exc:
        return _Analysis(file, reason=f"cannot read file ({exc})")
    except Exception as exc:  # noqa: BLE001 - one hostile file must never stop a run
        log.exception("unexpected failure on one file")
        return _Analysis(file, reason=f"unexpected error ({type(exc).__name__})")
    return _Analysis(file, content_hash=content_hash, metadata=metadata, thumbnail=thumbnail)


def _apply_sidecar(meta: PhotoMetadata, sidecar: dict[str, Any]) -> None:
    """Source-provided facts (Takeout sidecars) override EXIF where the source knows better."""
    if not sidecar:
        return
    taken = sidecar.get("taken_at")
    if isinstance(taken, datetime):
        meta.taken_at, meta.taken_at_source = taken.isoformat(), sidecar.get("taken_at_source", "sidecar")
    lat, lon = sidecar.get("latitude"), sidecar.get("longitude")
    # the sidecar's place wins over EXIF: geoData holds the user's own edits in Google Photos
    if isinstance(lat, float) and isinstance(lon, float):
        meta.latitude, meta.longitude = lat, lon
        meta.place_city, meta.place_region, meta.place_country = reverse_geocode(round(lat, 5), round(lon, 5))


def _update_from_sidecar(cat: Catalog, photo_id: int, meta: PhotoMetadata, sidecar: dict[str, Any]) -> None:
    """A newer export's edits (date, place, caption, favourite) reach a photo photogen already knows."""
    updates: dict[str, Any] = {}
    if isinstance(sidecar.get("taken_at"), datetime):
        updates |= {"taken_at": meta.taken_at, "taken_at_source": meta.taken_at_source}
    if isinstance(sidecar.get("latitude"), float):
        updates |= {
            "latitude": meta.latitude, "longitude": meta.longitude, "place_city": meta.place_city,
            "place_region": meta.place_region, "place_country": meta.place_country,
        }
    if "description" in sidecar:
        updates["description"] = sidecar.get("description")
    if "favorite" in sidecar:
        updates["favorite"] = int(bool(sidecar.get("favorite")))
    if updates:
        assignments = ", ".join(f"{column} = ?" for column in updates)
        cat.execute(f"UPDATE photos SET {assignments} WHERE id = ?", (*updates.values(), photo_id))


def _granted(cat: Catalog, album_id: int) -> bool:
    """Still allowed? A revoke can land while a run is reading the album; what it revoked stays out."""
    return cat.one("SELECT 1 FROM grants WHERE album_id = ?", (album_id,)) is not None


def _record_skip(cat: Catalog, album_id: int, file: FileRef, reason: str) -> None:
    with cat.tx():
        if not _granted(cat, album_id):
            return
        cat.execute(
            """INSERT INTO skipped (album_id, rel_path, size_bytes, mtime_ns, reason, at) VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (album_id, rel_path) DO UPDATE SET size_bytes = excluded.size_bytes,
               mtime_ns = excluded.mtime_ns, reason = excluded.reason, at = excluded.at""",
            (album_id, file.rel_path, file.size_bytes, file.mtime_ns, reason, utc_now()),
        )
        cat.execute("DELETE FROM photo_files WHERE album_id = ? AND rel_path = ?", (album_id, file.rel_path))


def _record_photo(library: Library, album_id: int, analysis: _Analysis) -> bool:
    cat = library.catalog
    meta, file = analysis.metadata, analysis.ref
    assert meta is not None and analysis.content_hash is not None and analysis.thumbnail is not None
    sidecar = file.sidecar or {}
    with cat.tx():
        if not _granted(cat, album_id):
            return False
        row = cat.one("SELECT id, excluded FROM photos WHERE content_hash = ?", (analysis.content_hash,))
        if row is None:
            photo_id = cat.execute(
                """INSERT INTO photos (content_hash, format, width, height, taken_at, taken_at_source, latitude,
                   longitude, place_city, place_region, place_country, camera_make, camera_model, orientation,
                   size_bytes, description, favorite, extra, indexed_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    analysis.content_hash, meta.format, meta.width, meta.height, meta.taken_at, meta.taken_at_source,
                    meta.latitude, meta.longitude, meta.place_city, meta.place_region, meta.place_country,
                    meta.camera_make, meta.camera_model, meta.orientation, file.size_bytes,
                    sidecar.get("description"), int(bool(sidecar.get("favorite"))),
                    json.dumps({k: sidecar[k] for k in ("archived",) if k in sidecar}), utc_now(),
                ),
            ).lastrowid
            excluded = False
        else:
            photo_id, excluded = row["id"], bool(row["excluded"])
            if sidecar and not excluded:
                _update_from_sidecar(cat, photo_id, meta, sidecar)
        cat.execute(
            """INSERT INTO photo_files (album_id, photo_id, rel_path, size_bytes, mtime_ns) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (album_id, rel_path) DO UPDATE SET photo_id = excluded.photo_id,
               size_bytes = excluded.size_bytes, mtime_ns = excluded.mtime_ns""",
            (album_id, photo_id, file.rel_path, file.size_bytes, file.mtime_ns),
        )
        cat.execute("DELETE FROM skipped WHERE album_id = ? AND rel_path = ?", (album_id, file.rel_path))
        if not excluded:
            for name in sidecar.get("people", []) or []:
                cat.execute("INSERT OR IGNORE INTO photo_names (photo_id, name) VALUES (?, ?)", (photo_id, name))
            # not fsynced: a thumbnail lost to a power cut is noticed and rebuilt by the next index
            library.put_blob(thumbnail_blob_name(analysis.content_hash), analysis.thumbnail, "thumbnail", photo_id=photo_id, durable=False)
    # a changed file leaves its old content behind: purged later in the run
    return True
