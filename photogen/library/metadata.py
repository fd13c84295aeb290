"""When, where and with what a photo was taken, from its EXIF.

Taken-at priority: DateTimeOriginal, then DateTimeDigitized (CreateDate), then DateTime
(ModifyDate), then the GPS time stamp, then the file's own time. Offsets come from the matching
OffsetTime* tag; failing that, from the difference between a local time and the GPS (UTC) time.
Places are resolved offline with `reverse_geocode` (GeoNames cities shipped in the package).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from PIL import ExifTags, Image

log = logging.getLogger(__name__)

_DATE_TAGS = [
    # (date tag, offset tag, subsecond tag, source label)
    (ExifTags.Base.DateTimeOriginal, ExifTags.Base.OffsetTimeOriginal, ExifTags.Base.SubsecTimeOriginal, "exif:DateTimeOriginal"),
    (ExifTags.Base.DateTimeDigitized, ExifTags.Base.OffsetTimeDigitized, ExifTags.Base.SubsecTimeDigitized, "exif:CreateDate"),
    (ExifTags.Base.DateTime, ExifTags.Base.OffsetTime, ExifTags.Base.SubsecTime, "exif:ModifyDate"),
]


@dataclass
class PhotoMetadata:
    width: int
    height: int
    format: str
    orientation: int = 1
    taken_at: str | None = None  # ISO 8601; with an offset where one is known
    taken_at_source: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    place_city: str | None = None
    place_region: str | None = None
    place_country: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def place(self) -> str | None:
        parts = [p for p in (self.place_city, self.place_region, self.place_country) if p]
        return ", ".join(parts) or None


def parse_exif_datetime(value: Any) -> datetime | None:
    """Parse an EXIF 'YYYY:MM:DD HH:MM:SS' value; None for blanks, zeros and garbage."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore")
    if not isinstance(value, str):
        return None
    text = value.strip().strip("\x00").strip()
    if not text or text.startswith("0000"):
        return None
    candidates = [
        (text[:19], "%Y:%m:%d %H:%M:%S"),
        (text[:19], "%Y-%m-%d %H:%M:%S"),
        (text[:19], "%Y-%m-%dT%H:%M:%S"),
        (text[:16], "%Y:%m:%d %H:%M"),
        (text[:10], "%Y:%m:%d"),
    ]
    for candidate, fmt in candidates:
        try:
            parsed = datetime.strptime(candidate, fmt)
        except ValueError:
            continue
        return parsed if 1800 <= parsed.year <= 2200 else None
    return None


def parse_offset(value: Any) -> timezone | None:
    """Parse an EXIF OffsetTime value like '+02:00'."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore")
    if not isinstance(value, str):
        return None
    text = value.strip().strip("\x00")
    if len(text) < 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes >= 60:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def _rational(value: Any) -> float | None:
    try:
        if isinstance(value, tuple) and len(value) == 2:
            return float(value[0]) / float(value[1]) if value[1] else None
        result = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return result if math.isfinite(result) else None


def _dms(value: Any) -> float | None:
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        return None
    parts = [_rational(v) for v in value]
    if any(p is None for p in parts):
        return None
    d, m, s = parts  # type: ignore[misc]
    return d + m / 60.0 + s / 3600.0


def _gps(gps: dict[int, Any]) -> tuple[float | None, float | None, datetime | None]:
    lat = _dms(gps.get(ExifTags.GPS.GPSLatitude))
    lon = _dms(gps.get(ExifTags.GPS.GPSLongitude))
    if lat is not None and str(gps.get(ExifTags.GPS.GPSLatitudeRef, "N")).upper().startswith("S"):
        lat = -lat
    if lon is not None and str(gps.get(ExifTags.GPS.GPSLongitudeRef, "E")).upper().startswith("W"):
        lon = -lon
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        lat = lon = None  # 0,0 is what cameras write when they had no fix
    stamp = None
    date = gps.get(ExifTags.GPS.GPSDateStamp)
    time = gps.get(ExifTags.GPS.GPSTimeStamp)
    day = parse_exif_datetime(f"{date} 00:00:00") if isinstance(date, str) else None
    if day is not None and isinstance(time, (tuple, list)) and len(time) == 3:
        hms = [_rational(v) for v in time]
        if all(v is not None for v in hms) and hms[0] < 24 and hms[1] < 60 and hms[2] < 61:  # type: ignore[operator]
            stamp = day.replace(tzinfo=timezone.utc) + timedelta(hours=hms[0], minutes=hms[1], seconds=int(hms[2]))  # type: ignore[arg-type]
    return lat, lon, stamp


def _text(value: Any, limit: int = 80) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "ignore")
    if not isinstance(value, str):
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable()).strip()
    return cleaned[:limit] or None


def reverse_geocode(lat: float, lon: float) -> tuple[str | None, str | None, str | None]:
    """(city, region, country) of the nearest GeoNames city; offline.

    Not memoized: a process-wide cache would keep every visitor's coordinates (in a Space, for the
    life of the server). The lookup is a k-d tree query over the city table, which is cached."""
    import reverse_geocode as rg  # loads its city table lazily on first use

    try:
        found = rg.get((lat, lon))
    except Exception:  # noqa: BLE001 - a geocoder failure must never stop indexing
        log.warning("reverse geocoding failed", exc_info=True)
        return None, None, None
    return found.get("city") or None, found.get("state") or None, found.get("country") or None


def read_metadata(img: Image.Image, file_mtime: float | None = None) -> PhotoMetadata:
    """Metadata of an opened (not necessarily decoded) image. Broken EXIF degrades to less metadata."""
    try:
        exif = img.getexif()
    except Exception:  # noqa: BLE001 - malformed EXIF is common; the photo is still a photo
        log.debug("unreadable EXIF", exc_info=True)
        exif = Image.Exif()
    try:
        sub = dict(exif.get_ifd(ExifTags.IFD.Exif))
    except Exception:  # noqa: BLE001
        sub = {}
    try:
        gps = dict(exif.get_ifd(ExifTags.IFD.GPSInfo))
    except Exception:  # noqa: BLE001
        gps = {}
    tags = {**dict(exif), **sub}

    orientation = tags.get(ExifTags.Base.Orientation, 1)
    orientation = orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1
    width, height = img.size
    if orientation in (5, 6, 7, 8):  # rotated 90 degrees: report the size as shown
        width, height = height, width

    meta = PhotoMetadata(width=width, height=height, format=(img.format or "").upper(), orientation=orientation)
    meta.camera_make = _text(tags.get(ExifTags.Base.Make))
    meta.camera_model = _text(tags.get(ExifTags.Base.Model))
    lat, lon, gps_time = _gps(gps)
    meta.latitude, meta.longitude = lat, lon
    if lat is not None and lon is not None:
        meta.place_city, meta.place_region, meta.place_country = reverse_geocode(round(lat, 5), round(lon, 5))

    taken, source = None, None
    for date_tag, offset_tag, subsec_tag, label in _DATE_TAGS:
        taken = parse_exif_datetime(tags.get(date_tag))
        if taken is not None:
            source = label
            subsec = _text(tags.get(subsec_tag), 9)
            if subsec and subsec.isdigit():
                taken = taken.replace(microsecond=int(subsec[:6].ljust(6, "0")))
            offset = parse_offset(tags.get(offset_tag))
            if offset is None and gps_time is not None:
                offset = _offset_from_gps(taken, gps_time)
            if offset is not None:
                taken = taken.replace(tzinfo=offset)
            break
    if taken is None and gps_time is not None:
        taken, source = gps_time, "exif:GPSDateStamp"
    if taken is None and file_mtime is not None:
        taken, source = datetime.fromtimestamp(int(file_mtime), tz=timezone.utc), "file:mtime"
    if taken is not None:
        meta.taken_at = taken.isoformat()
        meta.taken_at_source = source
    return meta


def _offset_from_gps(local: datetime, utc: datetime) -> timezone | None:
    """The zone offset implied by a local clock time and a GPS UTC time, to the nearest 15 minutes."""
    delta = local - utc.replace(tzinfo=None)
    minutes = round(delta.total_seconds() / 900) * 15
    if abs(minutes) > 14 * 60 or abs(delta.total_seconds() - minutes * 60) > 600:
        return None  # clocks more than 10 minutes apart: the camera clock is simply wrong
    return timezone(timedelta(minutes=minutes))
