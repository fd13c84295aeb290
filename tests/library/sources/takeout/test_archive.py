"""Takeout archives read in place: hostile entries skipped with their reasons, nothing ever extracted."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from photogen.library.indexer import index_library
from photogen.library.photos import list_photos
from photogen.library.sources.takeout import (
    add_takeout,
)
from tests.library.sources.conftest import (
    PHOTOS,
    add_raw_name,
    add_symlink,
    forge_declared_size,
    jpeg,
    sidecar,
    tree_snapshot,
    write_zip,
)

YEAR = f"{PHOTOS}/Photos from 2023"


def test_hostile_archive_skips_with_reasons_and_imports_the_rest(lib, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    part = write_zip(tmp_path / "dl" / "takeout.zip", {
        f"{YEAR}/good.jpg": jpeg(10),
        f"{YEAR}/good.jpg.json": sidecar("good.jpg", description="kept"),
        f"{PHOTOS}/../../../outside/evil.jpg": jpeg(11),
        "/tmp/absolute.jpg": jpeg(12),
        f"{YEAR}/..\\..\\..\\win.jpg": jpeg(13),
        f"{YEAR}/bomb.jpg": b"\x00" * (8 * 1024 * 1024),  # deflates ~1000x
        f"{YEAR}/liar.jpg": jpeg(14),
        f"{YEAR}/corrupt.jpg": jpeg(15),
        f"{YEAR}/corrupt.jpg.json": b"{not json",
        f"{YEAR}/typed.jpg": jpeg(16),
        f"{YEAR}/typed.jpg.json": sidecar("typed.jpg", people="Anna", description="ignored"),
        f"{YEAR}/list.jpg": jpeg(17),
        f"{YEAR}/list.jpg.json": b"[1, 2, 3]",
    })
    forge_declared_size(part, f"{YEAR}/liar.jpg", 3 * 1024 * 1024 * 1024)
    add_symlink(part, f"{YEAR}/link.jpg", "/etc/passwd")
    add_raw_name(part, f"{YEAR}/caf\xe9.jpg".encode("latin-1"), jpeg(18))
    before = tree_snapshot(tmp_path, exclude=tmp_path / "home")

    added = add_takeout(lib, [part], ["all"])
    top_level = {p.rsplit("/", 1)[-1]: r for p, r in added.scan.skipped}
    assert "zip-slip" in top_level["evil.jpg"]
    assert "absolute" in top_level["absolute.jpg"]
    assert "zip-slip" in top_level["win.jpg"]
    report = index_library(lib)
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in report.skipped}
    assert "zip bomb" in reasons["bomb.jpg"]
    assert "512 MB" in reasons["liar.jpg"]
    assert "symbolic link" in reasons["link.jpg"]
    assert "not UTF-8" in reasons["caf\\xe9.jpg"]
    assert reasons["corrupt.jpg.json"] == "sidecar is not valid JSON; corrupt.jpg imported without it"
    assert reasons["typed.jpg.json"] == "sidecar has fields of the wrong type (people); typed.jpg imported without it"
    assert reasons["list.jpg.json"].startswith("sidecar is not a JSON object")
    photos = {Path(p.path).name: p for p in list_photos(lib)}
    assert set(photos) == {"good.jpg", "corrupt.jpg", "typed.jpg", "list.jpg"}
    assert lib.catalog.scalar("SELECT description FROM photos WHERE id = ?", (photos["good.jpg"].id,)) == "kept"
    assert lib.catalog.scalar("SELECT description FROM photos WHERE id = ?", (photos["typed.jpg"].id,)) is None
    # nothing was written anywhere but the data directory
    assert tree_snapshot(tmp_path, exclude=tmp_path / "home") == before
    assert not (tmp_path / "outside" / "evil.jpg").exists()


def test_the_zip_is_never_extracted(lib, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args, **_kwargs):
        raise AssertionError("extraction is not allowed")

    monkeypatch.setattr(zipfile.ZipFile, "extract", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", refuse)
    part = write_zip(tmp_path / "t.zip", {f"{YEAR}/a.jpg": jpeg(60)})
    add_takeout(lib, [part], ["all"])
    assert index_library(lib).added == 1
