"""Takeout import: sidecar naming, albums, metadata, hostile archives, re-import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from photogen.errors import PhotogenError
from photogen.library.consent import list_albums, revoke_source
from photogen.library.indexer import index_library
from photogen.library.keys import KDF_MIN_ITERATIONS, KDF_MIN_MEMORY_KIB
from photogen.library.photos import list_photos
from photogen.library.sources import AlbumRef
from photogen.library.sources.takeout import (
    TakeoutSource,
    add_takeout,
    resolve_parts,
    sidecar_candidates,
    utf16_cut,
)
from tests.library.sources.conftest import (
    PHOTOS,
    add_raw_name,
    add_symlink,
    album_metadata,
    forge_declared_size,
    jpeg,
    sidecar,
    tree_snapshot,
    write_zip,
)

YEAR = f"{PHOTOS}/Photos from 2023"

# (media, sidecar) pairs observed in real exports (reference §2)
NAME_PAIRS = [
    ("PXL_20211013_220651983.jpg", "PXL_20211013_220651983.jpg.json"),
    ("20161105_170829.jpg", "20161105_170829.jpg.supplemental-metadata.json"),
    ("Screenshot_20231027_123303_Facebook.jpg", "Screenshot_20231027_123303_Facebook.jpg.supple.json"),
    ("MVIMG_20191230_232926.jpg", "MVIMG_20191230_232926.jpg.supplemental-metadat.json"),
    ("Screenshot_2024-08-31-00-53-48-647_com.snapchat.jpg", "Screenshot_2024-08-31-00-53-48-647_com.snapcha.json"),
    ("05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jpg", "05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jp.json"),
    ("DSC_0101(1).JPG", "DSC_0101.JPG(1).json"),
    ("Scan35(1).jpg", "Scan35.jpg.supplemental-metadata(1).json"),
    ("Screenshot_20231027_123303_Facebook(1).jpg", "Screenshot_20231027_123303_Facebook.jpg.supple(1).json"),
    ("13039_327707840323_537645323_9470255_27214_n(1).jpg", "13039_327707840323_537645323_9470255_27214_n.j(1).json"),
    ("skytree (2).jpg", "skytree (2).jpg.supplemental-metadata.json"),
    ("IMG_2367(1).HEIC", "IMG_2367.HEIC(1).supplemental-metadata.json"),
    ("PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINA.jpg", "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGIN.json"),
    ("abcdefghijklmnopqrstuvwxyz0123456789abcdefg.jpg", "abcdefghijklmnopqrstuvwxyz0123456789abcdefg.jpg..json"),
    ("IMG_5555.jpg", "IMG_5555.json"),  # uploaded without an extension
]


def _facts(source: TakeoutSource, album_key: str) -> dict[str, dict]:
    return {ref.rel_path.rsplit("/", 1)[-1]: ref.sidecar for ref in source.files(AlbumRef(album_key, album_key)) if not ref.skip_reason}


def test_every_observed_sidecar_name_is_matched_to_its_photo(tmp_path: Path) -> None:
    entries: dict[str, bytes] = {}
    for media, side in NAME_PAIRS:
        entries[f"{YEAR}/{media}"] = b"not decoded here"
        entries[f"{YEAR}/{side}"] = sidecar(media, description=f"caption of {media}")
    # the edited copy has no sidecar of its own: it takes the original's
    entries[f"{YEAR}/IMAG0061.JPG"] = b"x"
    entries[f"{YEAR}/IMAG0061-edited.JPG"] = b"y"
    entries[f"{YEAR}/IMAG0061.JPG.supplemental-metadata.json"] = sidecar("IMAG0061.JPG", description="original")
    # (n) is another photo: a sidecar without the counter must not be matched to it, nor the reverse
    entries[f"{YEAR}/DSC_0104(1).JPG"] = b"x"
    entries[f"{YEAR}/DSC_0104.JPG.json"] = sidecar("DSC_0104.JPG", description="plain")
    entries[f"{YEAR}/X.JPG"] = b"x"
    entries[f"{YEAR}/X.JPG(1).json"] = sidecar("X.JPG", description="numbered")
    # a sidecar with an unrelated name, found by its title
    entries[f"{YEAR}/renamed-by-google.jpg"] = b"x"
    entries[f"{YEAR}/something else.json"] = sidecar("renamed-by-google.jpg", description="by title")
    source = TakeoutSource([write_zip(tmp_path / "takeout-001.zip", entries)], "T")
    facts = _facts(source, "Photos from 2023")
    for media, _side in NAME_PAIRS:
        assert facts[media].get("description") == f"caption of {media}", media
    assert facts["IMAG0061-edited.JPG"]["description"] == "original"
    assert facts["IMAG0061.JPG"]["description"] == "original"
    assert "description" not in facts["DSC_0104(1).JPG"]
    assert "description" not in facts["X.JPG"]
    assert facts["renamed-by-google.jpg"]["description"] == "by title"


def test_length_rule_counts_utf16_units() -> None:
    emoji = "".join(chr(0x1F600 + i) for i in range(24))  # 24 code points, 48 UTF-16 units
    assert utf16_cut(emoji + ".jpg") == emoji[:23]
    assert utf16_cut(emoji + ".jpg") + ".json" in sidecar_candidates(emoji + ".jpg")
    assert len(utf16_cut("a" * 100)) == 46


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


def test_the_zip_is_never_extracted(lib, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args, **_kwargs):
        raise AssertionError("extraction is not allowed")

    monkeypatch.setattr(zipfile.ZipFile, "extract", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", refuse)
    part = write_zip(tmp_path / "t.zip", {f"{YEAR}/a.jpg": jpeg(60)})
    add_takeout(lib, [part], ["all"])
    assert index_library(lib).added == 1


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
