"""Property-based tests for the Takeout parsers: sidecar JSON and sidecar name matching.

Hostile or odd input must never crash a parser; a wrong type is rejected with the key it concerns;
valid sidecars give back exactly what they hold; and a sidecar named the way Google names it
(reference/google-takeout-photos.md §2) is always among the candidates for its photo.
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
import unicodedata
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from photogen.library.indexer import index_library
from photogen.library.library import open_library
from photogen.library.photos import list_photos
from photogen.library.sources.takeout import add_takeout
from photogen.library.sources.takeout.sidecars import (
    EDITED_SUFFIXES,
    album_title,
    is_item_sidecar,
    parse_json,
    parse_sidecar,
    sidecar_candidates,
    sidecar_counter,
    split_media_name,
    utf16_cut,
)
from photogen.settings import Settings
from tests.conftest import TEST_KDF
from tests.library.sources.conftest import PHOTOS, jpeg

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KNOWN_KEYS = {"title", "photoTakenTime", "geoData", "geoDataExif", "description", "people", "favorited", "archived", "trashed"}

# JSON as Python's json module reads it (it accepts NaN and Infinity, so a sidecar may hold them too)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)
finite_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)
# a sidecar-shaped object: the known keys, each with any JSON value, among unknown ones
sidecar_like = st.dictionaries(st.sampled_from(sorted(KNOWN_KEYS) + ["url", "imageViews", "creationTime"]), json_values, max_size=9)

# Names built from the pieces that steer the matching rules (counters, edit suffixes, dots, astral
# characters that count twice in UTF-16, newlines) mixed with any code point, lone surrogates included:
# a name decoded with surrogateescape carries them.
_PIECES = ["(1)", "(12)", "(", ")", ".", ".jpg", ".json", ".supplemental-metadata", "-edited", "-ha", " ", "\n", "😀", "é", "IMG_0001", "x" * 40]
name_pieces = st.one_of(
    st.sampled_from(_PIECES),
    st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()), min_size=1, max_size=6),
    st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF, exclude_categories=()),
)
any_name_text = st.lists(name_pieces, max_size=8).map("".join)


# ---- sidecar JSON ------------------------------------------------------------------------------


@FAST
@given(st.binary(max_size=200))
def test_parse_json_never_crashes_on_bytes(data: bytes) -> None:
    parse_json(data)  # returns a value or None; raising is the failure


@FAST
@given(finite_json, st.booleans())
def test_parse_json_round_trips_any_json_value(value: Any, bom: bool) -> None:
    data = json.dumps(value, ensure_ascii=False).encode("utf-8")
    assert parse_json((b"\xef\xbb\xbf" if bom else b"") + data) == value


@FAST
@given(st.recursive(st.text(st.characters(exclude_categories=()), max_size=10), lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(st.characters(exclude_categories=()), max_size=5), inner, max_size=3), max_leaves=8))
def test_parsed_strings_can_always_be_stored(value: Any) -> None:
    """JSON may escape half a surrogate pair ('\\ud800'): what comes out must still encode as UTF-8 (SQLite text)."""
    parsed = parse_json(json.dumps(value).encode())
    stack = [parsed]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            item.encode("utf-8")
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())


def test_parse_json_survives_nesting_deeper_than_the_recursion_limit() -> None:
    assert parse_json(b"[" * 200_000 + b"]" * 200_000) is None
    assert parse_json(b'{"a":' * 200_000) is None


@FAST
@given(json_values)
def test_classifiers_never_crash_on_any_json(value: Any) -> None:
    item = is_item_sidecar(value)
    title = album_title(value)
    assert isinstance(item, bool)
    assert title is None or isinstance(title, str)
    assert not (item and title is not None), "one JSON is either a photo's sidecar or an album's, never both"


@FAST
@given(sidecar_like)
def test_parse_sidecar_never_crashes_and_names_only_known_keys(obj: dict[str, Any]) -> None:
    result = parse_sidecar(obj)
    assert set(result.problems) <= KNOWN_KEYS
    if not result.problems:
        assert set(result.fields) <= {"taken_at", "taken_at_source", "latitude", "longitude", "description", "people", "favorite", "archived"}


def _valid_sidecar() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "title": st.just("IMG_0001.jpg"),
            "photoTakenTime": st.builds(lambda t: {"timestamp": str(t), "formatted": "localized"}, st.integers(1, 4_102_444_800)),
            "geoData": st.just({"latitude": 48.85, "longitude": 2.29}),
            "people": st.just([{"name": "Anna"}]),
            "favorited": st.just(True),
            "description": st.just("a caption"),
        }
    )


not_a_string = st.one_of(st.integers(), st.floats(), st.booleans(), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
not_a_bool = st.one_of(st.integers(), st.floats(), st.text(max_size=5), st.lists(st.booleans(), max_size=2), st.dictionaries(st.text(max_size=3), st.booleans(), max_size=1))
not_a_number = st.one_of(st.booleans(), st.text(max_size=5), st.lists(st.floats(), max_size=2), st.dictionaries(st.text(max_size=3), st.floats(), max_size=1))
not_a_timestamp = st.one_of(
    st.booleans(),
    st.lists(st.integers(), min_size=1, max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), min_size=1, max_size=1),
    st.text(alphabet="abc:- ", min_size=1, max_size=10).filter(lambda s: s.strip() not in ("", "0")),
    st.sampled_from([float("nan"), float("inf"), float("-inf")]),  # json.loads reads NaN and Infinity
)
wrong_types: dict[str, st.SearchStrategy[Any]] = {
    "title": not_a_string,
    "description": not_a_string,
    "photoTakenTime": st.one_of(not_a_string.filter(lambda v: not isinstance(v, dict)), st.builds(lambda t: {"timestamp": t}, not_a_timestamp)),
    "geoData": st.one_of(
        st.one_of(st.integers(), st.text(max_size=4), st.lists(st.floats(), max_size=2), st.booleans()),
        st.builds(lambda lat: {"latitude": lat, "longitude": 2.0}, not_a_number),
    ),
    "geoDataExif": st.builds(lambda lon: {"latitude": 1.0, "longitude": lon}, not_a_number),
    "people": st.one_of(
        st.text(max_size=5),
        st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
        st.lists(st.one_of(st.text(max_size=3), st.integers(), st.builds(lambda n: {"name": n}, not_a_string)), min_size=1, max_size=3),
    ),
    "favorited": not_a_bool,
    "archived": not_a_bool,
    "trashed": not_a_bool,
}


@pytest.mark.parametrize("key", sorted(wrong_types))
@settings(max_examples=40, deadline=None)
@given(base=_valid_sidecar(), data=st.data())
def test_a_wrong_type_is_rejected_with_its_key(key: str, base: dict[str, Any], data: st.DataObject) -> None:
    assert parse_sidecar(base).problems == []
    bad = dict(base) | {key: data.draw(wrong_types[key], label=key)}
    assert key in parse_sidecar(bad).problems


@pytest.mark.parametrize("raw", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"true", b"1e300"])
def test_non_finite_and_huge_timestamps_are_rejected(raw: bytes) -> None:
    parsed = parse_json(b'{"title": "a.jpg", "photoTakenTime": {"timestamp": ' + raw + b"}}")
    assert is_item_sidecar(parsed)
    assert parse_sidecar(parsed).problems == ["photoTakenTime"]


names = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=20)


@FAST
@given(
    taken=st.integers(-2_000_000_000, 32_503_680_000),  # 1906 .. 3000
    as_number=st.booleans(),
    seconds_key=st.sampled_from(["timestamp", "timestampSeconds"]),
    lat=st.floats(-90, 90, allow_nan=False),
    lon=st.floats(-180, 180, allow_nan=False),
    geo_key=st.sampled_from(["geoData", "geoDataExif"]),
    people=st.lists(names, max_size=5),
    title=names,
    description=st.text(max_size=30),
    favorited=st.booleans(),
    trashed=st.booleans(),
)
def test_a_valid_sidecar_round_trips_through_its_bytes(
    taken: int, as_number: bool, seconds_key: str, lat: float, lon: float, geo_key: str, people: list[str],
    title: str, description: str, favorited: bool, trashed: bool,
) -> None:
    assume((lat, lon) != (0.0, 0.0))  # Google's "no location"
    obj = {
        "title": title,
        "description": description,
        "photoTakenTime": {seconds_key: taken if as_number else str(taken), "formatted": "6 oct. 2023, 06:30:00 UTC"},
        "creationTime": {"timestamp": "1697872351"},
        geo_key: {"latitude": lat, "longitude": lon, "altitude": 0.0},
        "people": [{"name": n} for n in people],
        "favorited": favorited,
        "trashed": trashed,
    }
    parsed = parse_json(json.dumps(obj, ensure_ascii=bool(taken % 2)).encode("utf-8"))
    assert is_item_sidecar(parsed) and album_title(parsed) is None
    sidecar = parse_sidecar(parsed)
    assert sidecar.problems == []
    assert sidecar.title == unicodedata.normalize("NFC", title)
    assert sidecar.trashed is trashed
    fields = sidecar.fields
    assert fields["taken_at"] == datetime.fromtimestamp(taken, timezone.utc)
    assert (fields["latitude"], fields["longitude"]) == (lat, lon)
    expected_people = list(dict.fromkeys(n.strip() for n in people if n.strip()))
    assert fields.get("people", []) == expected_people
    assert fields.get("favorite", False) is favorited
    assert fields.get("description") == (description.strip() or None)


@FAST
@given(st.text(max_size=30), st.booleans())
def test_album_metadata_gives_its_title(title: str, wrapped: bool) -> None:
    body: dict[str, Any] = {"title": title, "description": "", "access": "protected", "date": {"timestamp": "0"}}
    parsed = parse_json(json.dumps({"albumData": body} if wrapped else body).encode())
    assert not is_item_sidecar(parsed)
    assert album_title(parsed) == title.strip()


# ---- name matching -----------------------------------------------------------------------------


def _units(text: str) -> int:
    return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


@FAST
@given(any_name_text, st.integers(0, 60))
@example("IMG_\udcff\udc80.jpg" * 4, 46)  # a non-UTF-8 name as os.fsdecode gives it
@example("😀" * 24, 46)  # the cut would split a surrogate pair
def test_utf16_cut_is_the_longest_prefix_within_the_limit(text: str, units: int) -> None:
    cut = utf16_cut(text, units)
    assert text.startswith(cut)
    assert _units(cut) <= units
    if cut != text:  # the next character would not have fit
        assert _units(text[: len(cut) + 1]) > units


@FAST
@given(any_name_text)
def test_name_helpers_never_crash_on_any_name(name: str) -> None:
    stem, counter, ext, edited = split_media_name(name)
    assert stem + edited + counter + ext == name
    assert counter == "" or re.fullmatch(r"\(\d+\)", counter)
    candidates = sidecar_candidates(name)
    assert candidates and len(set(candidates)) == len(candidates)
    assert all(c.endswith(".json") for c in candidates)
    assert re.fullmatch(r"(\(\d+\))?", sidecar_counter(name))
    for candidate in candidates:
        assert re.fullmatch(r"(\(\d+\))?", sidecar_counter(candidate))


# a title as a phone or camera names a photo, or as a person renames one: any text but '/' and NUL
title_stems = (
    st.lists(
        st.one_of(st.sampled_from(_PIECES), st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=6)),
        min_size=1,
        max_size=8,
    )
    .map("".join)
    .filter(lambda s: s.strip(".") != "")
)
extensions = st.sampled_from([".jpg", ".JPG", ".jpeg", ".heic", ".HEIC", ".png", ".webp"])
counters = st.one_of(st.just(""), st.integers(1, 30).map(lambda n: f"({n})"))
edits = st.sampled_from(["", "", "-edited", "-bearbeitet", "-編集済み"])


@FAST
@given(stem=title_stems, ext=extensions, counter=counters, edited=edits, newer=st.booleans())
@example(stem="Geburtstag-bearbeitet", ext=".jpg", counter="(1)", edited="", newer=False)  # a title that ends like an edit
@example(stem="line\nbreak", ext=".jpg", counter="(2)", edited="", newer=True)
@example(stem="😀" * 23, ext=".jpg", counter="(1)", edited="-edited", newer=True)
def test_a_sidecar_named_the_google_way_is_a_candidate(stem: str, ext: str, counter: str, edited: str, newer: bool) -> None:
    """reference §2: cut `title (+ .supplemental-metadata)` to 46 UTF-16 units, then `(n)`, then `.json`.

    The photo is `stem + counter + ext` (a second photo of the same title gets the counter); an edit
    made in Google Photos adds its suffix to the stem and has no sidecar of its own: it uses the original's.
    """
    title = stem + ext
    media = stem + edited + counter + ext
    side = utf16_cut(title + (".supplemental-metadata" if newer else "")) + counter + ".json"
    assert side in sidecar_candidates(media), (media, side)
    if counter:
        assert sidecar_counter(side) == counter


def test_every_edit_suffix_finds_the_originals_sidecar() -> None:
    for suffix in EDITED_SUFFIXES:
        assert "IMG_0001.jpg.supplemental-metadata.json" in sidecar_candidates(f"IMG_0001{suffix}.jpg"), suffix
        assert "IMG_0001.jpg(2).json" in sidecar_candidates(f"IMG_0001{suffix}(2).jpg"), suffix


# ---- a whole export with hostile names and strings ----------------------------------------------


@functools.cache
def _jpegs() -> tuple[bytes, bytes]:
    return jpeg(11), jpeg(12)


def _zip_with_raw_names(path: Path, entries: dict[bytes, bytes]) -> Path:
    """Entries named by raw bytes, as zip tools that know nothing of UTF-8 write them."""
    placeholders = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i, (raw, data) in enumerate(entries.items()):
            placeholder = (f"@{i:04}@" + "Q" * len(raw))[: len(raw)]
            assert len(placeholder) == len(raw) >= 8
            placeholders[placeholder.encode()] = raw
            zf.writestr(zipfile.ZipInfo(placeholder), data)
    blob = path.read_bytes()
    for placeholder, raw in placeholders.items():
        assert blob.count(placeholder) == 2  # the local header and the central directory
        blob = blob.replace(placeholder, raw)
    path.write_bytes(blob)
    return path


# no NUL: zipfile itself cuts a name there (b"a\x00.jpg" reads as "a"), so no reader ever sees one
name_bytes = st.binary(min_size=1, max_size=10).filter(lambda b: not {b"/", b"\\", b"\x00"} & {b[i : i + 1] for i in range(len(b))})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(folder=name_bytes, name=name_bytes, title=any_name_text, caption=any_name_text, person=any_name_text)
def test_an_export_with_any_names_and_strings_imports_without_a_crash(folder: bytes, name: bytes, title: str, caption: str, person: str) -> None:
    photo_a, photo_b = _jpegs()
    album = PHOTOS.encode() + b"/Album " + folder
    media = album + b"/" + name + b".jpg"
    entries = {
        PHOTOS.encode() + b"/Photos from 2023/plain.jpg": photo_a,
        media: photo_b,
        media + b".json": json.dumps({"title": title, "description": caption, "photoTakenTime": {"timestamp": "1696573800"}, "people": [{"name": person}]}).encode(),
        album + b"/metadata.json": json.dumps({"title": title}).encode(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        part = _zip_with_raw_names(Path(tmp) / "takeout-001.zip", entries)
        settings_ = Settings(home=Path(tmp) / "home", passphrase="p", use_keyring=False, **TEST_KDF)
        with open_library(settings_) as lib:
            added = add_takeout(lib, [part], allow=["all"])
            index_library(lib)
            photos = list_photos(lib)
    try:
        folder.decode("utf-8"), name.decode("utf-8")
        readable = True
    except UnicodeDecodeError:
        readable = False
    if readable:  # a well-formed name is imported, whatever the strings in its JSON hold
        assert len(photos) == 2, added.scan.as_dict()
    else:  # otherwise it is left out with a reason, and the rest of the export still comes in
        assert len(photos) >= 1 and any(reason for _path, reason in added.scan.skipped)
    for photo in photos:
        for text in (photo.album, photo.description or "", *photo.people_names):
            text.encode("utf-8")
