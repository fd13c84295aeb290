"""Adding a Takeout export as a source, or re-pointing an existing one at a newer export."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photogen.errors import PhotogenError
from photogen.library.catalog import utc_now
from photogen.library.grants import add_source, allow_album, list_albums, record_new_albums
from photogen.library.sources.takeout.archive import resolve_parts
from photogen.library.sources.takeout.source import KIND, TakeoutScan, TakeoutSource

if TYPE_CHECKING:
    from photogen.library.library import Library

DEFAULT_SOURCE_NAME = "Google Takeout"


@dataclass
class TakeoutAdded:
    source: str
    parts: list[str]
    updated: bool  # an existing source re-pointed at a newer export
    allowed: list[str]
    not_allowed: list[str]
    scan: TakeoutScan

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "parts": self.parts,
            "updated": self.updated,
            "allowed": self.allowed,
            "not_allowed": self.not_allowed,
            **self.scan.as_dict(),
        }


def add_takeout(
    library: Library, paths: Sequence[Path], allow: Sequence[str], name: str | None = None, *, allow_all: bool | None = None
) -> TakeoutAdded:
    """Add a Takeout export, or re-point an existing Takeout source at a newer export of the account.

    Re-pointing keeps the source, its grants and its photos: albums new in this export are
    recorded (closed unless `allow` names them), and `photogen index` then adds, updates and
    removes by path and content hash instead of importing everything twice.
    """

    name = (name or DEFAULT_SOURCE_NAME).strip()
    parts = resolve_parts(paths)
    source = TakeoutSource(parts, name)
    try:
        scan = source.scan()
    finally:
        source.close()
    config = {"parts": [str(p) for p in parts]}
    location = str(parts[0]) if len(parts) == 1 else f"{parts[0].parent} ({len(parts)} parts)"
    cat = library.catalog
    row = cat.one("SELECT * FROM sources WHERE name = ?", (name,))
    updated = row is not None
    if row is None:
        add_source(library, name=name, kind=KIND, location=location, albums=scan.albums, allow=allow, config=config, allow_all=allow_all)
    else:
        if row["kind"] != KIND:
            raise PhotogenError(f"A {row['kind']} source is already named {name!r}; pick another --name.")
        by_name = {a.name: a for a in scan.albums}
        every = list(allow) == ["all"] if allow_all is None else allow_all
        unknown = [n for n in allow if not (every and n == "all") and n not in by_name]
        if unknown:
            raise PhotogenError(f"No album named {', '.join(map(repr, unknown))} in this export. Albums: {', '.join(sorted(by_name))}.")
        with cat.tx():
            cat.execute("UPDATE sources SET location = ?, config = ? WHERE id = ?", (location, json.dumps(config), row["id"]))
            cat.audit("source.update", name, kind=KIND, parts=len(parts), at=utc_now())
        row = cat.one("SELECT * FROM sources WHERE id = ?", (row["id"],))
        record_new_albums(library, row, TakeoutSource.from_row(library, row).albums())
        wanted = {a.key for a in scan.albums} if every else {by_name[n].key for n in allow}
        for album in cat.query("SELECT key, name FROM albums WHERE source_id = ?", (row["id"],)):
            if album["key"] in wanted:
                allow_album(library, f"{name}/{album['name']}")
    albums = [a for a in list_albums(library) if a.source == name]
    return TakeoutAdded(
        source=name,
        parts=config["parts"],
        updated=updated,
        allowed=[a.name for a in albums if a.allowed],
        not_allowed=[a.name for a in albums if not a.allowed],
        scan=scan,
    )
