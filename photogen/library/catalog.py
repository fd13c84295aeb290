"""The encrypted catalog: one SQLCipher database of everything photogen knows.

Every page of the database (and of its write-ahead log) is encrypted with the data key; temp
tables stay in memory so no plaintext spills to disk. The schema is versioned with
`PRAGMA user_version` and migrated forward on open.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlcipher3

from photogen.errors import PhotogenError

# Each entry migrates the schema from version i to i + 1. Append only; never edit a shipped one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        name TEXT UNIQUE NOT NULL,
        kind TEXT NOT NULL,               -- folder | takeout | picker | upload
        location TEXT NOT NULL,
        config TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        last_scan_at TEXT
    );
    CREATE TABLE albums (
        id INTEGER PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        key TEXT NOT NULL,                -- folder: path relative to the source root ('' = root files)
        created_at TEXT NOT NULL,
        UNIQUE (source_id, key)
    );
    CREATE TABLE grants (
        album_id INTEGER PRIMARY KEY REFERENCES albums(id) ON DELETE CASCADE,
        granted_at TEXT NOT NULL
    );
    CREATE TABLE photos (
        id INTEGER PRIMARY KEY,
        content_hash TEXT UNIQUE NOT NULL,
        format TEXT,
        width INTEGER,
        height INTEGER,
        taken_at TEXT,
        taken_at_source TEXT,
        latitude REAL,
        longitude REAL,
        place_city TEXT,
        place_region TEXT,
        place_country TEXT,
        camera_make TEXT,
        camera_model TEXT,
        orientation INTEGER,
        size_bytes INTEGER,
        description TEXT,
        favorite INTEGER NOT NULL DEFAULT 0,
        excluded INTEGER NOT NULL DEFAULT 0,
        faces_indexed INTEGER NOT NULL DEFAULT 0,
        extra TEXT NOT NULL DEFAULT '{}',
        indexed_at TEXT NOT NULL
    );
    CREATE TABLE photo_files (
        id INTEGER PRIMARY KEY,
        album_id INTEGER NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        rel_path TEXT NOT NULL,
        size_bytes INTEGER,
        mtime_ns INTEGER,
        UNIQUE (album_id, rel_path)
    );
    CREATE INDEX photo_files_photo ON photo_files(photo_id);
    CREATE TABLE skipped (
        id INTEGER PRIMARY KEY,
        album_id INTEGER NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
        rel_path TEXT NOT NULL,
        size_bytes INTEGER,
        mtime_ns INTEGER,
        reason TEXT NOT NULL,
        at TEXT NOT NULL,
        UNIQUE (album_id, rel_path)
    );
    CREATE TABLE photo_names (
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        PRIMARY KEY (photo_id, name)
    );
    CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        name TEXT,
        is_me INTEGER NOT NULL DEFAULT 0,
        hidden INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE faces (
        id INTEGER PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        box_x REAL NOT NULL, box_y REAL NOT NULL, box_w REAL NOT NULL, box_h REAL NOT NULL,
        landmarks BLOB,
        score REAL NOT NULL,
        quality REAL NOT NULL,
        embedding BLOB NOT NULL,
        backend TEXT NOT NULL DEFAULT 'yunet-sface',
        person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
        assignment TEXT NOT NULL DEFAULT 'auto',   -- auto | user | rejected
        rejected_person_ids TEXT NOT NULL DEFAULT '[]',
        pinned_reference INTEGER NOT NULL DEFAULT 0 -- 1 pinned, -1 dropped, 0 automatic
    );
    CREATE INDEX faces_photo ON faces(photo_id);
    CREATE INDEX faces_person ON faces(person_id);
    CREATE TABLE creations (
        id INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        kind TEXT NOT NULL,
        prompt TEXT,
        params TEXT NOT NULL DEFAULT '{}',
        output_blob TEXT
    );
    CREATE TABLE creation_sources (
        creation_id INTEGER NOT NULL REFERENCES creations(id) ON DELETE CASCADE,
        photo_id INTEGER REFERENCES photos(id) ON DELETE CASCADE,
        person_id INTEGER REFERENCES people(id) ON DELETE CASCADE
    );
    CREATE TABLE tokens (
        source_id INTEGER PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
        data TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE blobs (
        name TEXT PRIMARY KEY,            -- logical name; the file name on disk is its HMAC
        kind TEXT NOT NULL,               -- thumbnail | cache | creation | face ...
        photo_id INTEGER REFERENCES photos(id) ON DELETE CASCADE,
        creation_id INTEGER REFERENCES creations(id) ON DELETE CASCADE,
        source_id INTEGER REFERENCES sources(id) ON DELETE CASCADE,
        size_bytes INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX blobs_photo ON blobs(photo_id);
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Catalog:
    """A thread-safe handle on the encrypted catalog database."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Gradio calls handlers from worker threads; one connection guarded by a lock keeps it simple
        self._conn = sqlcipher3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._closed = False
        self._conn.row_factory = sqlcipher3.Row
        try:
            self._conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
            self._conn.execute("PRAGMA temp_store = MEMORY")
            # deleted rows are overwritten, not just unlinked, so revoked data leaves no trace in free pages
            self._conn.execute("PRAGMA secure_delete = ON")
            self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher3.DatabaseError as exc:
            self._conn.close()
            raise PhotogenError(
                f"The catalog at {path} cannot be opened with this key (wrong key or a damaged file)."
            ) from exc
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise PhotogenError(
                f"This data directory was written by a newer photogen (schema {version}); upgrade photogen."
            )
        for target in range(version, SCHEMA_VERSION):
            with self.tx():
                for statement in _split_sql(MIGRATIONS[target]):
                    self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version = {target + 1}")

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def tx(self) -> Iterator[Catalog]:
        """One transaction: all of it lands, or none of it does."""
        with self._lock:
            if self._conn.in_transaction:  # nested: join the outer transaction
                yield self
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the catalog for a moment without a transaction (file writes that must pair with a row)."""
        with self._lock:
            yield

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlcipher3.Cursor:
        with self._lock:
            return self._conn.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlcipher3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlcipher3.Row | None:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    def audit(self, action: str, target: str | None = None, actor: str = "user", **detail: Any) -> None:
        self.execute(
            "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            (utc_now(), actor, action, target, json.dumps(detail, default=str, sort_keys=True)),
        )

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database so deleted rows leave the log file too."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._conn.close()


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (our migrations hold no ';' or '--' inside literals)."""
    without_comments = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return [statement.strip() for statement in without_comments.split(";") if statement.strip()]
