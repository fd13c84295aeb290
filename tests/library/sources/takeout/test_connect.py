"""Adding a Takeout export: albums, metadata, re-import of a newer export, folders, user errors, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from photogen.errors import PhotogenError
from photogen.library.consent import list_albums, revoke_source
from photogen.library.indexer import index_library
from photogen.library.keys import KDF_MIN_ITERATIONS, KDF_MIN_MEMORY_KIB
from photogen.library.photos import list_photos
from photogen.library.sources.takeout import (
    add_takeout,
    resolve_parts,
)
from tests.library.sources.conftest import (
    PHOTOS,
    album_metadata,
    jpeg,
    sidecar,
    write_zip,
)

YEAR = f"{PHOTOS}/Photos from 2023"


def _library_export(tmp_path: Path, name: str = "takeout-20240712T112341Z", *, extra: dict[str, bytes] | None = None) -> list[Path]:
    """Two parts: a photo's sidecar sits in the other part, as real split exports do."""
    beach = jpeg(1, gps=(48.8583, 2.2945), taken="2019:01:01 10:00:00")
    party = jpeg(2, gps=(40.7128, -74.0060))
    part1 = {
        "Takeout/archive_browser.html": b"<html></html>",
        f"{YEAR}/beach.jpg": beach,
        f"{YEAR}/party.jpg": party,
        f"{YEAR}/party.jpg.json": sidecar(
            "party.jpg", taken=1696573800, people=[{"name": "Anna"}, {"name": "Ben"}], favorited=True,
            description="Anna's birthday",  # geoData is 0,0: the EXIF place stays
        ),
        f"{PHOTOS}/Summer Trip/metadata.json": album_metadata("Summer Trip 6/10/23"),
        f"{PHOTOS}/Summer Trip/beach.jpg": beach,  # the same bytes as in the year folder
        f"{PHOTOS}/Summer Trip/beach.jpg.supplemental-metadata.json": sidecar(
            "beach.jpg", taken=1562000000, geoData={"latitude": 43.7696, "longitude": 11.2558}, people=[{"name": "Anna"}],
        ),
        f"{YEAR}/gone.jpg": jpeg(3),
        f"{YEAR}/gone.jpg.json": sidecar("gone.jpg", trashed=True),
        f"{PHOTOS}/Trash/deleted.jpg": jpeg(4),
        f"{PHOTOS}/Archive/old.jpg": jpeg(5),
        f"{PHOTOS}/Failed Videos/broken.mp4": b"\x00" * 10,
        f"{YEAR}/clip.mp4": b"\x00\x00\x00\x18ftypmp42",
        "Takeout/Google Drive/notes.jpg": jpeg(6),  # another product: not photos
        f"{PHOTOS}/print-subscriptions.json": b"{}",
    }
    part2 = {f"{YEAR}/beach.jpg.supplemental-metadata.json": sidecar(
        "beach.jpg", taken=1562000000, geoData={"latitude": 43.7696, "longitude": 11.2558}, people=[{"name": "Anna"}],
    )} | (extra or {})
    return [write_zip(tmp_path / f"{name}-001.zip", part1), write_zip(tmp_path / f"{name}-002.zip", part2)]


def test_albums_dates_places_people_from_a_split_export(lib, tmp_path: Path) -> None:
    first, _second = _library_export(tmp_path / "dl")
    added = add_takeout(lib, [first], ["all"])  # the sibling part -002 is found on its own
    assert len(added.parts) == 2
    assert sorted(added.allowed) == ["Archive", "Photos from 2023", "Summer Trip 6/10/23"]
    assert added.scan.skipped == []
    report = index_library(lib)
    skipped = {Path(s.path).name: s.reason for s in report.skipped}
    assert skipped == {"gone.jpg": "in the Google Photos trash; not imported", "clip.mp4": "video; photogen imports photos only"}
    photos = {Path(p.path).name: p for p in list_photos(lib)}
    assert set(photos) == {"beach.jpg", "party.jpg", "old.jpg"}
    beach, party = photos["beach.jpg"], photos["party.jpg"]
    # one photo, two albums; the sidecar (in the other zip part) beats EXIF for the date
    assert sorted(beach.albums) == ["Google Takeout/Photos from 2023", "Google Takeout/Summer Trip 6/10/23"]
    assert datetime.fromisoformat(beach.taken_at) == datetime.fromtimestamp(1562000000, timezone.utc)
    assert beach.taken_at_source == "takeout:photoTakenTime"
    assert datetime.fromisoformat(party.taken_at) == datetime(2023, 10, 6, 6, 30, tzinfo=timezone.utc)
    assert party.latitude == pytest.approx(40.7128, abs=1e-3)  # 0,0 in the sidecar: the EXIF place
    cat = lib.catalog
    names = {r["name"] for r in cat.query("SELECT name FROM photo_names WHERE photo_id = ?", (party.id,))}
    assert names == {"Anna", "Ben"}
    assert cat.one("SELECT description, favorite FROM photos WHERE id = ?", (party.id,))[:] == ("Anna's birthday", 1)
    assert json.loads(cat.scalar("SELECT extra FROM photos WHERE id = ?", (photos["old.jpg"].id,))) == {"archived": True}
    assert cat.scalar("SELECT count(*) FROM photos") == 3


def test_geodata_from_the_sidecar_sets_the_place_when_exif_has_none(lib, tmp_path: Path) -> None:
    part = write_zip(tmp_path / "t.zip", {
        f"{YEAR}/a.jpg": jpeg(7),
        f"{YEAR}/a.jpg.json": sidecar("a.jpg", geoData={"latitude": 43.7696, "longitude": 11.2558}),
    })
    add_takeout(lib, [part], ["all"])
    index_library(lib)
    (photo,) = list_photos(lib)
    assert (photo.latitude, photo.longitude) == pytest.approx((43.7696, 11.2558))
    assert photo.place and "Florence" in photo.place


def test_a_newer_export_of_the_same_account_updates_instead_of_duplicating(lib, tmp_path: Path) -> None:
    old = write_zip(tmp_path / "old" / "takeout.zip", {
        f"{YEAR}/a.jpg": jpeg(20), f"{YEAR}/a.jpg.json": sidecar("a.jpg"),
        f"{YEAR}/b.jpg": jpeg(21),
        f"{PHOTOS}/Trip/a.jpg": jpeg(20), f"{PHOTOS}/Trip/metadata.json": album_metadata("Trip"),
    })
    add_takeout(lib, [old], ["all"])
    assert index_library(lib).added == 3
    new = write_zip(tmp_path / "new" / "takeout.zip", {
        f"{YEAR}/a.jpg": jpeg(20), f"{YEAR}/a.jpg.json": sidecar("a.jpg", people=[{"name": "Cleo"}]),
        f"{YEAR}/c.jpg": jpeg(22),  # b.jpg was deleted in Google Photos, c.jpg is new
        f"{PHOTOS}/Trip/a.jpg": jpeg(20), f"{PHOTOS}/Trip/metadata.json": album_metadata("Trip"),
        f"{PHOTOS}/Party/c.jpg": jpeg(22), f"{PHOTOS}/Party/metadata.json": album_metadata("Party"),
    })
    again = add_takeout(lib, [new], ["Trip"])
    assert again.updated and again.parts == [str(new)]
    assert again.not_allowed == ["Party"]  # a new album stays closed until allowed
    report = index_library(lib)
    assert (report.added, report.removed) == (1, 1)
    assert lib.catalog.scalar("SELECT count(*) FROM sources") == 1
    photos = {Path(p.path).name for p in list_photos(lib)}
    assert photos == {"a.jpg", "c.jpg"}
    assert lib.catalog.scalar("SELECT count(*) FROM photos") == 2


def test_album_folder_with_only_sidecars_points_at_the_year_folder_photos(lib, tmp_path: Path) -> None:
    part = write_zip(tmp_path / "t.zip", {
        f"{YEAR}/a.jpg": jpeg(30), f"{YEAR}/a.jpg.json": sidecar("a.jpg", taken=1600000000),
        f"{YEAR}/b.jpg": jpeg(31), f"{YEAR}/b.jpg.json": sidecar("b.jpg", taken=1600000001),
        f"{PHOTOS}/Only Sidecars/metadata.json": album_metadata("Only Sidecars"),
        f"{PHOTOS}/Only Sidecars/a.jpg.json": sidecar("a.jpg", taken=1600000000),
    })
    add_takeout(lib, [part], ["Only Sidecars"])
    index_library(lib)
    photos = list_photos(lib)
    assert [(Path(p.path).name, p.albums) for p in photos] == [("a.jpg", ["Google Takeout/Only Sidecars"])]


def test_an_extracted_folder_reads_like_the_zip(lib, tmp_path: Path) -> None:
    root = tmp_path / "export" / "Takeout" / "Google Fotos" / "Fotos von 2022"  # a German export
    root.mkdir(parents=True)
    (root / "x.jpg").write_bytes(jpeg(40))
    (root / "x.jpg.supplemental-metadata.json").write_bytes(sidecar("x.jpg", description="hallo"))
    (root / "link.jpg").symlink_to("/etc/hostname")
    added = add_takeout(lib, [tmp_path / "export"], ["all"], name="Fotos")
    assert added.allowed == ["Fotos von 2022"]
    report = index_library(lib)
    assert [(Path(s.path).name, s.reason) for s in report.skipped] == [("link.jpg", "symbolic link; not followed")]
    (photo,) = list_photos(lib)
    assert lib.catalog.scalar("SELECT description FROM photos WHERE id = ?", (photo.id,)) == "hallo"
    # revoking the source forgets the photos (and touches nothing in the export)
    assert revoke_source(lib, "Fotos") == 1
    assert (root / "x.jpg").exists() and list_albums(lib) == []


def test_user_errors_are_clear(lib, tmp_path: Path) -> None:
    tgz = tmp_path / "takeout-001.tgz"
    tgz.write_bytes(b"\x1f\x8b")
    with pytest.raises(PhotogenError, match="tgz"):
        resolve_parts([tgz])
    with pytest.raises(PhotogenError, match="does not exist"):
        resolve_parts([tmp_path / "missing.zip"])
    empty = write_zip(tmp_path / "empty.zip", {"Takeout/Google Drive/a.txt": b"x"})
    with pytest.raises(PhotogenError, match="No Google Photos files"):
        add_takeout(lib, [empty], ["all"])
    part = write_zip(tmp_path / "t.zip", {f"{YEAR}/a.jpg": jpeg(50)})
    with pytest.raises(PhotogenError, match="No album named 'Nope'"):
        add_takeout(lib, [part], ["Nope"])
    assert lib.catalog.scalar("SELECT count(*) FROM sources") == 0
    broken = tmp_path / "broken.zip"
    broken.write_bytes(part.read_bytes()[:-30])
    with pytest.raises(PhotogenError, match="zip"):
        add_takeout(lib, [broken], ["all"])


def test_cli_add_takeout_then_index(tmp_path: Path) -> None:
    part = write_zip(tmp_path / "takeout.zip", {
        f"{YEAR}/a.jpg": jpeg(70), f"{YEAR}/a.jpg.json": sidecar("a.jpg", people=[{"name": "Dana"}]),
        f"{PHOTOS}/../evil.jpg": jpeg(71),
    })
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOGEN_")} | {
        "PHOTOGEN_HOME": str(tmp_path / "home"), "PHOTOGEN_PASSPHRASE": "cli", "PHOTOGEN_USE_KEYRING": "0",
        "PHOTOGEN_KDF_MEMORY_KIB": str(KDF_MIN_MEMORY_KIB), "PHOTOGEN_KDF_ITERATIONS": str(KDF_MIN_ITERATIONS),
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "photogen.cli", *args], env=env, capture_output=True, text=True, timeout=60)

    no_allow = cli("sources", "add-takeout", str(part))
    assert no_allow.returncode == 1 and no_allow.stderr.startswith("error: Say which albums")
    added = cli("sources", "add-takeout", str(part), "--allow", "all", "--json")
    assert added.returncode == 0, added.stderr
    body = json.loads(added.stdout)
    assert body["allowed"] == ["Photos from 2023"] and body["media"] == 1
    assert [s["reason"] for s in body["skipped"]] == ["path leads outside the archive (zip-slip '..'); not read"]
    indexed = cli("index", "--json")
    assert json.loads(indexed.stdout)["added"] == 1
