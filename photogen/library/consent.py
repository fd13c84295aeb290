"""Consent: sources, album grants, exclusions, and revocation that leaves nothing behind.

Adding a source is the act of consent; the user names the albums it grants. Albums that appear
later stay closed until allowed. Revoking deletes, in one transaction, every row derived from the
photos that lose their grant; the encrypted files those rows owned are then removed from disk.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from photogen.errors import PhotogenError
from photogen.library.catalog import Catalog, utc_now
from photogen.library.library import Library
from photogen.library.sources import AlbumRef
from photogen.library.sources.folder import FolderSource
from photogen.library.sources.registry import open_source

log = logging.getLogger(__name__)

ALL = "all"


@dataclass(frozen=True)
class AlbumInfo:
    id: int
    source: str
    name: str
    allowed: bool
    photo_count: int

    @property
    def qualified_name(self) -> str:
        return f"{self.source}/{self.name}"


def add_source(
    library: Library,
    *,
    name: str,
    kind: str,
    location: str,
    albums: Sequence[AlbumRef],
    allow: Sequence[str],
    config: dict | None = None,
    allow_all: bool | None = None,
) -> int:
    """Record a source and its albums, and grant the albums the user named. Returns the source id.

    `allow_all=None` reads `allow == ["all"]` as "every album" (the CLI's `--allow all`); callers that
    pass album names picked from a list (the UI) say `allow_all=False`, so an album named "all" is just that.
    """
    cat = library.catalog
    if not name or "/" in name:
        raise PhotogenError("A source name must be non-empty and contain no '/'.")
    if cat.one("SELECT 1 FROM sources WHERE name = ?", (name,)):
        raise PhotogenError(f"A source named {name!r} already exists; pick another --name.")
    if allow_all is None:
        allow_all = list(allow) == [ALL]
    if not allow and not allow_all:
        raise PhotogenError("Say which albums photogen may use: --allow all, or --allow ALBUM ...")
    wanted = {a.key for a in albums} if allow_all else _resolve_allow(albums, allow)
    with cat.tx():
        source_id = cat.execute(
            "INSERT INTO sources (name, kind, location, config, created_at) VALUES (?, ?, ?, ?, ?)",
            (name, kind, location, json.dumps(config or {}), utc_now()),
        ).lastrowid
        cat.audit("source.add", name, kind=kind, albums=len(albums))
        for album in albums:
            album_id = _insert_album(cat, source_id, album)
            if album.key in wanted:
                _grant(cat, album_id, f"{name}/{album.name}")
    return int(source_id)


def _resolve_allow(albums: Sequence[AlbumRef], allow: Sequence[str]) -> set[str]:
    by_name = {a.name: a.key for a in albums}
    unknown = [n for n in allow if n not in by_name]
    if unknown:
        known = ", ".join(sorted(by_name)) or "(none)"
        raise PhotogenError(f"No album named {', '.join(map(repr, unknown))} here. Albums: {known}. Nothing was added.")
    return {by_name[n] for n in allow}


def _insert_album(cat: Catalog, source_id: int, album: AlbumRef) -> int:
    return int(
        cat.execute(
            "INSERT INTO albums (source_id, name, key, created_at) VALUES (?, ?, ?, ?)",
            (source_id, album.name, album.key, utc_now()),
        ).lastrowid
    )


def _grant(cat: Catalog, album_id: int, label: str) -> None:
    cat.execute("INSERT OR IGNORE INTO grants (album_id, granted_at) VALUES (?, ?)", (album_id, utc_now()))
    cat.audit("album.allow", label)


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


def refresh_albums(library: Library, source_row) -> list[str]:
    """Record albums that appeared since the last scan (not allowed); returns their names."""
    cat = library.catalog
    source = open_source(library, source_row)
    known = {r["key"] for r in cat.query("SELECT key FROM albums WHERE source_id = ?", (source_row["id"],))}
    new = [a for a in source.albums() if a.key not in known]
    with cat.tx():
        for album in new:
            _insert_album(cat, source_row["id"], album)
            cat.audit("album.discovered", f"{source_row['name']}/{album.name}", actor="photogen")
    return [a.name for a in new]


def list_albums(library: Library) -> list[AlbumInfo]:
    rows = library.catalog.query(
        """
        SELECT a.id, s.name AS source, a.name, g.album_id IS NOT NULL AS allowed,
               (SELECT count(DISTINCT f.photo_id) FROM photo_files f JOIN photos p ON p.id = f.photo_id
                 WHERE f.album_id = a.id AND p.excluded = 0) AS photo_count
        FROM albums a JOIN sources s ON s.id = a.source_id LEFT JOIN grants g ON g.album_id = a.id
        ORDER BY s.name, a.name
        """
    )
    return [AlbumInfo(r["id"], r["source"], r["name"], bool(r["allowed"]), r["photo_count"]) for r in rows]


def find_album(library: Library, name: str) -> AlbumInfo:
    """An album by its name, or by `source/album` when names repeat across sources."""
    albums = list_albums(library)
    matches = [a for a in albums if a.qualified_name == name] or [a for a in albums if a.name == name]
    if not matches:
        known = ", ".join(a.qualified_name for a in albums) or "(none)"
        raise PhotogenError(f"No album named {name!r}. Albums: {known}")
    if len(matches) > 1:
        options = ", ".join(a.qualified_name for a in matches)
        raise PhotogenError(f"Several albums are named {name!r}; say which: {options}")
    return matches[0]


def allow_album(library: Library, name: str) -> AlbumInfo:
    album = find_album(library, name)
    with library.catalog.tx():
        _grant(library.catalog, album.id, album.qualified_name)
    return album


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
        known = ", ".join(r[0] for r in cat.query("SELECT name FROM sources ORDER BY name")) or "(none)"
        raise PhotogenError(f"No source named {name!r}. Sources: {known}")
    revoke_hook = REVOKE_HOOKS.get(row["kind"])
    if revoke_hook is not None:
        revoke_hook(library, row)  # e.g. revoke the Google OAuth token while we still hold it
    album_ids = [r[0] for r in cat.query("SELECT id FROM albums WHERE source_id = ?", (row["id"],))]
    with cat.tx():
        purged = _forget_album_contents(cat, album_ids)
        cat.execute("DELETE FROM sources WHERE id = ?", (row["id"],))  # albums, grants, tokens cascade
        cat.audit("source.revoke", name, photos_removed=purged)
    _after_purge(library)
    return purged


# kind -> callable(library, source_row) run before a source is revoked
REVOKE_HOOKS: dict[str, object] = {}
REVOKE_HOOKS["picker"] = lambda library, row: __import__("photogen.library.sources.picker", fromlist=["_"]).revoke_picker_token(library, row)


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
    if not files or any(f["kind"] not in COPYING_KINDS for f in files):
        exclude_photo(library, photo_id)
        return "Excluded: photogen will not use it again (your file is not touched)."
    with cat.tx():
        for f in files:
            cat.execute("DELETE FROM blobs WHERE name = ?", (f"{COPYING_KINDS[f['kind']]}:{f['source_id']}:{f['rel_path']}",))
            cat.execute("DELETE FROM photo_files WHERE id = ?", (f["id"],))
        purge_orphan_photos(cat)
        cat.audit("photo.delete", str(photo_id))
    _after_purge(library)
    return "Deleted: photogen's copy and everything made from it are gone."


def _forget_album_copies(cat: Catalog, album_id: int) -> None:
    """Sources that hold their own copies of photos (uploads, Picker downloads) drop the album's copies."""
    row = cat.one("SELECT a.key, s.id AS source_id, s.kind FROM albums a JOIN sources s ON s.id = a.source_id WHERE a.id = ?", (album_id,))
    if row is not None and row["kind"] in COPYING_KINDS:
        prefix = f"{COPYING_KINDS[row['kind']]}:{row['source_id']}:{row['key']}/"
        cat.execute(
            "DELETE FROM blobs WHERE source_id = ? AND substr(name, 1, ?) = ?", (row["source_id"], len(prefix), prefix)
        )


# kind -> blob name prefix of the copies it keeps, named "<prefix>:<source id>:<album key>/<file>"
COPYING_KINDS: dict[str, str] = {"upload": "upload", "picker": "picker"}


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
