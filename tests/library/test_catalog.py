from __future__ import annotations

from pathlib import Path

import pytest

from photogen.errors import PhotogenError
from photogen.library import catalog as catalog_module
from photogen.library.catalog import SCHEMA_VERSION, Catalog


def test_database_file_is_encrypted(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    cat = Catalog(path, b"k" * 32)
    cat.execute("INSERT INTO people (name, created_at) VALUES ('Grandma Rosalind', 'now')")
    cat.close()
    raw = path.read_bytes()
    assert not raw.startswith(b"SQLite format 3")
    assert b"Rosalind" not in raw


def test_wrong_key_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    Catalog(path, b"a" * 32).close()
    before = path.read_bytes()
    with pytest.raises(PhotogenError, match="cannot be opened"):
        Catalog(path, b"b" * 32)
    assert path.read_bytes() == before


def test_schema_is_versioned_and_migrations_run_forward(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "c.db"
    cat = Catalog(path, b"k" * 32)
    assert cat.schema_version == SCHEMA_VERSION
    cat.close()
    extra = "CREATE TABLE later_feature (id INTEGER PRIMARY KEY, note TEXT); -- a comment; with a semicolon"
    monkeypatch.setattr(catalog_module, "MIGRATIONS", [*catalog_module.MIGRATIONS, extra])
    monkeypatch.setattr(catalog_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    cat = Catalog(path, b"k" * 32)
    assert cat.schema_version == SCHEMA_VERSION + 1
    cat.execute("INSERT INTO later_feature (note) VALUES ('x')")
    cat.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    cat = Catalog(path, b"k" * 32)
    cat.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    cat.close()
    with pytest.raises(PhotogenError, match="newer photogen"):
        Catalog(path, b"k" * 32)


def test_transaction_rolls_back_as_a_whole(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "c.db", b"k" * 32)
    with pytest.raises(RuntimeError):
        with cat.tx():
            cat.execute("INSERT INTO people (name, created_at) VALUES ('A', 'now')")
            raise RuntimeError("crash in the middle")
    assert cat.scalar("SELECT count(*) FROM people") == 0
    cat.close()
