from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from photogen.library.metadata import parse_exif_datetime, parse_offset, read_metadata
from tests.conftest import write_photo


def meta_of(path: Path, mtime: float | None = None):
    with Image.open(path) as img:
        return read_metadata(img, file_mtime=mtime)


def test_date_original_with_offset_place_and_camera(tmp_path: Path) -> None:
    p = write_photo(tmp_path / "a.jpg", taken="2023:07:14 10:30:05", offset="+02:00", make="Canon", model="Canon EOS R5", gps=(48.8566, 2.3522))
    m = meta_of(p)
    assert m.taken_at == "2023-07-14T10:30:05+02:00"
    assert m.taken_at_source == "exif:DateTimeOriginal"
    assert (m.place_city, m.place_country) == ("Paris", "France")
    assert m.camera_make == "Canon" and m.camera_model == "Canon EOS R5"
    assert abs(m.latitude - 48.8566) < 1e-4 and abs(m.longitude - 2.3522) < 1e-4


def test_tag_priority_falls_through_in_order(tmp_path: Path) -> None:
    both = write_photo(tmp_path / "b.jpg", taken="2020:01:01 00:00:00", digitized="2021:01:01 00:00:00", modified="2022:01:01 00:00:00")
    assert meta_of(both).taken_at.startswith("2020-01-01")
    digitized = write_photo(tmp_path / "c.jpg", digitized="2021:01:01 00:00:00", modified="2022:01:01 00:00:00")
    assert meta_of(digitized).taken_at_source == "exif:CreateDate"
    modified = write_photo(tmp_path / "d.jpg", modified="2022:01:01 00:00:00")
    assert meta_of(modified).taken_at_source == "exif:ModifyDate"
    gps_only = write_photo(tmp_path / "e.jpg", gps_time=("2019:05:06", (7, 8, 9)))
    m = meta_of(gps_only)
    assert m.taken_at == "2019-05-06T07:08:09+00:00" and m.taken_at_source == "exif:GPSDateStamp"
    nothing = write_photo(tmp_path / "f.jpg")
    m = meta_of(nothing, mtime=1_700_000_000)
    assert m.taken_at_source == "file:mtime" and m.taken_at.startswith("2023-11-14")


def test_offset_inferred_from_gps_time(tmp_path: Path) -> None:
    p = write_photo(tmp_path / "g.jpg", taken="2023:07:14 12:00:00", gps_time=("2023:07:14", (10, 0, 3)))
    assert meta_of(p).taken_at == "2023-07-14T12:00:00+02:00"


def test_zero_zero_gps_is_unknown_and_southern_western_signs(tmp_path: Path) -> None:
    assert meta_of(write_photo(tmp_path / "z.jpg", gps=(0.0, 0.0))).latitude is None
    m = meta_of(write_photo(tmp_path / "s.jpg", gps=(-33.8688, 151.2093)))
    assert m.place_city == "Sydney" and m.latitude < 0
    m = meta_of(write_photo(tmp_path / "w.jpg", gps=(40.7128, -74.0060)))
    assert m.longitude < 0 and m.place_country == "United States"


def test_orientation_swaps_reported_size(tmp_path: Path) -> None:
    m = meta_of(write_photo(tmp_path / "r.jpg", size=(200, 100), orientation=6))
    assert (m.width, m.height, m.orientation) == (100, 200, 6)


def test_broken_exif_values_degrade_gracefully(tmp_path: Path) -> None:
    p = write_photo(tmp_path / "x.jpg", taken="0000:00:00 00:00:00", offset="+99:99", make="\x00\x01bad")
    m = meta_of(p, mtime=0)
    assert m.taken_at_source == "file:mtime"
    assert m.camera_make == "bad"


@given(st.datetimes(min_value=datetime(1800, 1, 1), max_value=datetime(2199, 12, 31)))
def test_exif_datetime_roundtrip(value: datetime) -> None:
    value = value.replace(microsecond=0)
    assert parse_exif_datetime(value.strftime("%Y:%m:%d %H:%M:%S")) == value


@given(st.one_of(st.text(max_size=40), st.binary(max_size=40), st.integers(), st.none()))
def test_exif_parsers_never_raise(value) -> None:
    result = parse_exif_datetime(value)
    assert result is None or 1800 <= result.year <= 2200
    offset = parse_offset(value)
    assert offset is None or offset.utcoffset(None) is not None
