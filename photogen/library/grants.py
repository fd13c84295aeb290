"""Album grants: a source and its albums recorded, and the albums the user allows.

Adding a source is the act of consent; the user names the albums it grants. Albums that appear
later are recorded closed until allowed. Sources that add themselves (uploads, Takeout, the
Picker) use these directly; revocation, which must reach back into the sources, is `consent`'s.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from photogen.errors import PhotogenError
from photogen.library.catalog import Catalog, utc_now
from photogen.library.library import Library
from photogen.library.sources import AlbumRef

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


def record_new_albums(library: Library, source_row: Any, albums: Sequence[AlbumRef]) -> list[str]:
    """Record the albums of a source not yet in the catalog (not allowed); returns their names."""
    cat = library.catalog
    known = {r["key"] for r in cat.query("SELECT key FROM albums WHERE source_id = ?", (source_row["id"],))}
    new = [a for a in albums if a.key not in known]
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
