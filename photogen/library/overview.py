"""What the catalog holds, read for the UI and the CLI: sources, the audit log, skipped files, live ids."""

from __future__ import annotations

from dataclasses import dataclass

from photogen.library.library import Library


@dataclass(frozen=True)
class SourceSummary:
    """A connected source and how much of it photogen may use."""

    name: str
    kind: str
    location: str
    created_at: str
    last_scan_at: str | None
    albums: int
    allowed: int  # albums with a grant
    photos: int  # distinct photos in any of its albums


@dataclass(frozen=True)
class AuditEntry:
    at: str
    actor: str
    action: str
    target: str | None
    detail: str  # JSON


@dataclass(frozen=True)
class SkippedFile:
    """A file photogen found in an album but could not read."""

    album_id: int
    rel_path: str
    reason: str
    album: str
    kind: str  # the kind of its source


def source_summaries(library: Library) -> list[SourceSummary]:
    """Every source, by name, with its album, grant and photo counts."""
    rows = library.catalog.query(
        """SELECT s.name, s.kind, s.location, s.created_at, s.last_scan_at,
                  (SELECT count(*) FROM albums a WHERE a.source_id = s.id) AS albums,
                  (SELECT count(*) FROM albums a JOIN grants g ON g.album_id = a.id WHERE a.source_id = s.id) AS allowed,
                  (SELECT count(DISTINCT f.photo_id) FROM photo_files f JOIN albums a ON a.id = f.album_id WHERE a.source_id = s.id) AS photos
           FROM sources s ORDER BY s.name"""
    )
    return [
        SourceSummary(r["name"], r["kind"], r["location"], r["created_at"], r["last_scan_at"], r["albums"], r["allowed"], r["photos"])
        for r in rows
    ]


def source_names(library: Library) -> list[str]:
    """The names of every source, sorted."""
    return [r[0] for r in library.catalog.query("SELECT name FROM sources ORDER BY name")]


def recent_audit(library: Library, limit: int = 200) -> list[AuditEntry]:
    """The newest audit log entries first."""
    rows = library.catalog.query("SELECT at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))
    return [AuditEntry(r["at"], r["actor"], r["action"], r["target"], r["detail"]) for r in rows]


def skipped_files(library: Library) -> list[SkippedFile]:
    """Files photogen could not read, by album name then path."""
    rows = library.catalog.query(
        """SELECT k.album_id, k.rel_path, k.reason, a.name AS album, s.kind FROM skipped k
           JOIN albums a ON a.id = k.album_id JOIN sources s ON s.id = a.source_id ORDER BY a.name, k.rel_path"""
    )
    return [SkippedFile(r["album_id"], r["rel_path"], r["reason"], r["album"], r["kind"]) for r in rows]


def live_photo_ids(library: Library) -> set[int]:
    """The ids of the photos photogen may still use (not excluded)."""
    return {r[0] for r in library.catalog.query("SELECT id FROM photos WHERE excluded = 0")}


def live_creation_ids(library: Library) -> set[int]:
    """The ids of every creation still in the catalog."""
    return {r[0] for r in library.catalog.query("SELECT id FROM creations")}
