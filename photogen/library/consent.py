"""Consent: connecting a folder, exclusions, and revocation that leaves nothing behind.

Revoking deletes, in one transaction, every row derived from the photos that lose their grant;
the encrypted files those rows owned are then removed from disk. A source that holds something
outside the catalog (the Picker's Google grant) is told through its kind's `revoke` first. The
grants themselves (adding a source, allowing an album) live in `grants` and are named here too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from photogen.errors import PhotogenError
from photogen.library.catalog import Catalog
from photogen.library.grants import ALL as ALL
from photogen.library.grants import AlbumInfo as AlbumInfo
from photogen.library.grants import add_source as add_source
from photogen.library.grants import allow_album as allow_album
from photogen.library.grants import find_album as find_album
from photogen.library.grants import list_albums as list_albums
from photogen.library.grants import record_new_albums
from photogen.library.library import Library
from photogen.library.overview import source_names
from photogen.library.sources.folder import FolderSource
from photogen.library.sources.registry import open_source, source_kind

log = logging.getLogger(__name__)


def add_folder_source(
    library: Library, path: Path, allow: Sequence[str], name: str | None = None, *, allow_all: bool | None = None
) -> int:
    source = FolderSource(path, name or Path(path).resolve().name or "folder")
    source.check()
    return add_source(
        library,
        name=source.name,
        kind="folder",
        location=str(source.root),
        albums=source.albums(),
        allow=allow,
        allow_all=allow_all,
    )


def refresh_albums(library: Library, source_row: Any) -> list[str]:
    """Record albums that appeared since the last scan (not allowed); returns their names."""
    return record_new_albums(library, source_row, open_source(library, source_row).albums())


@dataclass(frozen=True)
class RevokeImpact:
    """What a revoke would delete, counted before it is done."""

    photos: int
    faces: int
    people: int  # people left with no face at all
    creations: int

    def describe(self, what: str) -> str:
        return (
            f"Revoking **{what}** deletes {self.photos} photo(s) from photogen, {self.faces} face(s), "
            f"{self.people} person/people who appear only there, and {self.creations} creation(s) made from them. "
            "Your original files are not touched."
        )


def revoke_impact(library: Library, *, album: str | None = None, source: str | None = None) -> RevokeImpact:
    """Count what revoking an album (or a whole source) would delete, changing nothing."""
    cat = library.catalog
    if album is not None:
        album_ids = [find_album(library, album).id]
    else:
        row = cat.one("SELECT id FROM sources WHERE name = ?", (source,))
        if row is None:
            raise PhotogenError(f"No source named {source!r}.")
        album_ids = [r[0] for r in cat.query("SELECT id FROM albums WHERE source_id = ?", (row["id"],))]
    marks = ",".join("?" * len(album_ids)) or "NULL"
    gone = [
        r[0]
        for r in cat.query(
            f"""SELECT DISTINCT photo_id FROM photo_files WHERE album_id IN ({marks}) AND photo_id NOT IN
                (SELECT photo_id FROM photo_files WHERE album_id NOT IN ({marks}))""",
            [*album_ids, *album_ids],
        )
    ]
    pmarks = ",".join("?" * len(gone)) or "NULL"
    faces = cat.scalar(f"SELECT count(*) FROM faces WHERE photo_id IN ({pmarks})", gone)
    people = cat.scalar(
        f"""SELECT count(*) FROM people p WHERE EXISTS (SELECT 1 FROM faces f WHERE f.person_id = p.id)
            AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.person_id = p.id AND f.photo_id NOT IN ({pmarks}))""",
        gone,
    )
    creations = cat.scalar(f"SELECT count(DISTINCT creation_id) FROM creation_sources WHERE photo_id IN ({pmarks})", gone)
    return RevokeImpact(len(gone), int(faces or 0), int(people or 0), int(creations or 0))


def revoke_album(library: Library, name: str) -> AlbumInfo:
    album = find_album(library, name)
    cat = library.catalog
    with cat.tx():
        cat.execute("DELETE FROM grants WHERE album_id = ?", (album.id,))
        purged = _forget_album_contents(cat, [album.id])
        _forget_album_copies(cat, album.id)
        cat.audit("album.revoke", album.qualified_name, photos_removed=purged)
    _after_purge(library)
    return album


def revoke_source(library: Library, name: str) -> int:
    """Revoke every album of a source and forget the source itself. Returns photos removed."""
    cat = library.catalog
    row = cat.one("SELECT * FROM sources WHERE name = ?", (name,))
    if row is None:
        known = ", ".join(source_names(library)) or "(none)"
        raise PhotogenError(f"No source named {name!r}. Sources: {known}")
    kind = source_kind(row["kind"])
    if kind is not None:
        kind.revoke(library, row)  # e.g. revoke the Google OAuth token while we still hold it
    album_ids = [r[0] for r in cat.query("SELECT id FROM albums WHERE source_id = ?", (row["id"],))]
    with cat.tx():
        purged = _forget_album_contents(cat, album_ids)
        cat.execute("DELETE FROM sources WHERE id = ?", (row["id"],))  # albums, grants, tokens cascade
        cat.audit("source.revoke", name, photos_removed=purged)
    _after_purge(library)
    return purged


def exclude_photo(library: Library, photo_id: int) -> None:
    """Keep a photo out of everything: its derived data goes, only its content hash stays to recognise it."""
    cat = library.catalog
    if cat.one("SELECT 1 FROM photos WHERE id = ?", (photo_id,)) is None:
        raise PhotogenError(f"No photo with id {photo_id}; see `photogen photos list`.")
    with cat.tx():
        _purge_derived(cat, [photo_id])
        cat.execute(
            """UPDATE photos SET excluded = 1, taken_at = NULL, taken_at_source = NULL, latitude = NULL,
               longitude = NULL, place_city = NULL, place_region = NULL, place_country = NULL,
               camera_make = NULL, camera_model = NULL, description = NULL, extra = '{}', faces_indexed = 0
               WHERE id = ?""",
            (photo_id,),
        )
        cat.execute("DELETE FROM photo_names WHERE photo_id = ?", (photo_id,))
        cat.audit("photo.exclude", str(photo_id))
    _after_purge(library)


def remove_photo(library: Library, photo_id: int) -> str:
    """Remove a photo from photogen: a copy photogen keeps (an upload, a Picker download) is deleted with
    everything made from it; a photo in one of your folders is excluded (your file is never touched).
    Returns what was done, in words."""
    cat = library.catalog
    files = cat.query(
        """SELECT f.id, f.album_id, f.rel_path, a.key, s.id AS source_id, s.kind FROM photo_files f
           JOIN albums a ON a.id = f.album_id JOIN sources s ON s.id = a.source_id WHERE f.photo_id = ?""",
        (photo_id,),
    )
    if cat.one("SELECT 1 FROM photos WHERE id = ?", (photo_id,)) is None:
        raise PhotogenError(f"No photo with id {photo_id}; see `photogen photos list`.")
    if not files or any(_copies_prefix(f["kind"]) is None for f in files):
        exclude_photo(library, photo_id)
        return "Excluded: photogen will not use it again (your file is not touched)."
    with cat.tx():
        for f in files:
            cat.execute("DELETE FROM blobs WHERE name = ?", (f"{_copies_prefix(f['kind'])}:{f['source_id']}:{f['rel_path']}",))
            cat.execute("DELETE FROM photo_files WHERE id = ?", (f["id"],))
        purge_orphan_photos(cat)
        cat.audit("photo.delete", str(photo_id))
    _after_purge(library)
    return "Deleted: photogen's copy and everything made from it are gone."


def _forget_album_copies(cat: Catalog, album_id: int) -> None:
    """Sources that hold their own copies of photos (uploads, Picker downloads) drop the album's copies."""
    row = cat.one("SELECT a.key, s.id AS source_id, s.kind FROM albums a JOIN sources s ON s.id = a.source_id WHERE a.id = ?", (album_id,))
    if row is not None and (copies := _copies_prefix(row["kind"])) is not None:
        prefix = f"{copies}:{row['source_id']}:{row['key']}/"
        cat.execute(
            "DELETE FROM blobs WHERE source_id = ? AND substr(name, 1, ?) = ?", (row["source_id"], len(prefix), prefix)
        )


def _copies_prefix(kind_name: str) -> str | None:
    """The blob name prefix of the copies a kind of source keeps, named "<prefix>:<source id>:<album key>/<file>"."""
    kind = source_kind(kind_name)
    return kind.copies if kind is not None else None


def _forget_album_contents(cat: Catalog, album_ids: Iterable[int]) -> int:
    ids = list(album_ids)
    if not ids:
        return 0
    marks = ",".join("?" * len(ids))
    cat.execute(f"DELETE FROM photo_files WHERE album_id IN ({marks})", ids)
    cat.execute(f"DELETE FROM skipped WHERE album_id IN ({marks})", ids)
    return purge_orphan_photos(cat)


def purge_orphan_photos(cat: Catalog) -> int:
    """Delete photos no granted file points to any more, with all that was derived from them."""
    orphans = [r[0] for r in cat.query("SELECT id FROM photos WHERE id NOT IN (SELECT photo_id FROM photo_files)")]
    if orphans:
        _purge_derived(cat, orphans)
        _in_chunks(cat, "DELETE FROM photos WHERE id IN ({})", orphans)
    return len(orphans)


def _purge_derived(cat: Catalog, photo_ids: list[int]) -> None:
    # creations made from these photos are derived from them too
    creations = set()
    for chunk in _chunks(photo_ids):
        marks = ",".join("?" * len(chunk))
        creations |= {r[0] for r in cat.query(f"SELECT creation_id FROM creation_sources WHERE photo_id IN ({marks})", chunk)}
    if creations:
        _in_chunks(cat, "DELETE FROM creations WHERE id IN ({})", sorted(creations))
    _in_chunks(cat, "DELETE FROM faces WHERE photo_id IN ({})", photo_ids)
    _in_chunks(cat, "DELETE FROM blobs WHERE photo_id IN ({})", photo_ids)
    # people left with no faces were derived from these photos alone
    cat.execute("DELETE FROM people WHERE id NOT IN (SELECT DISTINCT person_id FROM faces WHERE person_id IS NOT NULL)")


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _in_chunks(cat: Catalog, sql: str, ids: list[int]) -> None:
    for chunk in _chunks(ids):
        cat.execute(sql.format(",".join("?" * len(chunk))), chunk)


def _after_purge(library: Library) -> None:
    removed = library.collect_garbage()
    library.catalog.checkpoint()
    log.info("removed %d encrypted files after a purge", removed)
    for hook in list(library.after_purge):  # copies outside the store (e.g. what the UI serves) go too
        hook(library)
