"""Google Takeout exports of Google Photos: albums, dates, places, captions and people names.

A Takeout export is one or more `.zip` parts (or the folder they were extracted into). The zips
are read in place, entry by entry; nothing is ever extracted to disk, so a hostile entry name
(`../../x`, `/etc/x`) has nowhere to land. Every part is indexed before any sidecar is matched,
because a photo and its JSON sidecar can sit in different parts.

Google publishes no format for this; the rules below follow `reference/google-takeout-photos.md`
(what real exports and the tools that read them show). Album keys are folder names under the
"Google Photos" folder, so a newer export of the same account maps onto the same albums and
paths, and the indexer's content hashes keep one photo in a year folder and an album as one.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import threading
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photogen.errors import PhotogenError
from photogen.library.grants import add_source, allow_album, list_albums, record_new_albums
from photogen.library.sources import AlbumRef, FileRef, encode_path, printable_path

if TYPE_CHECKING:
    from photogen.library.library import Library

log = logging.getLogger(__name__)

KIND = "takeout"
DEFAULT_SOURCE_NAME = "Google Takeout"

# Limits that keep a hostile archive from exhausting memory or disk. A real photo or video is
# never near them; sidecars are a few hundred bytes.
MAX_ENTRY_BYTES = 512 * 1024 * 1024  # the same cap as a local folder's files
MAX_SIDECAR_BYTES = 1024 * 1024
# JPEG/HEIC barely compress (ratio ~1); a deflated entry that expands 100x is a bomb, not a photo.
# Small entries cannot do harm whatever their ratio, so the check starts above 1 MiB.
MAX_ENTRY_RATIO = 100
RATIO_CHECK_ABOVE = 1024 * 1024
# the whole part: what its entries claim to expand to, relative to the zip's own size
MAX_PART_RATIO = 20
PART_RATIO_SLACK = 256 * 1024 * 1024

IMAGE_EXTENSIONS = {
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".heic", ".heif", ".webp", ".tif", ".tiff", ".gif", ".bmp",
    ".avif", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2",
}
VIDEO_EXTENSIONS = {".mp4", ".mov", ".m4v", ".3gp", ".avi", ".mkv", ".webm", ".mts", ".m2ts", ".wmv", ".mpg", ".mpeg", ".mp", ".mv"}

# The product folder under Takeout/ is localized; anything that reads like "photos" counts.
_PRODUCT_HINTS = ("photo", "foto", "фото", "相册", "フォト")
_YEAR_FOLDER = re.compile(r"^(photos from|fotos del|fotos von|foto da|foto_s van|photos de|fotos de) (18|19|20)\d{2}$", re.I)
_ARCHIVE = {"archive", "archivo", "arquivo", "archivio", "archiv", "archief", "архив", "archiwum", "档案", "アーカイブ", "arxiu"}
_TRASH = {"trash", "bin", "papelera", "lixeira", "cestino", "corbeille", "papierkorb", "prullenbak", "корзина", "kosz", "回收站", "ゴミ箱", "paperera"}
_LOCKED = {"locked folder", "carpeta privada"}
_FAILED_VIDEOS = {"failed videos"}
# JSON files Takeout writes next to photos that describe neither a photo nor an album
_NOT_SIDECARS = {"print-subscriptions.json", "shared_album_comments.json", "user-generated-memory-titles.json"}
# edits made in Google Photos get a localized suffix and no sidecar of their own (gpth's list + immich-go's)
_EDITED_SUFFIXES = (
    "-edited", "-effects", "-smile", "-mix", "-edytowane", "-bearbeitet", "-bewerkt", "-編集済み", "-modificato",
    "-modifié", "-ha editado", "-editat", "-editado", "-отредактировано", "-编辑", "-편집됨", "-muokattu",
    "-ha edit", "-ha",  # truncated forms seen in the wild
)
# \Z, not $ (which also matches before a final newline), and DOTALL: a name may hold control characters
_COUNTER = re.compile(r"^(.*)\((\d+)\)\Z", re.S)
_SIDECAR_COUNTER = re.compile(r"\((\d+)\)(?:\.supplemental-metadata)?\.json\Z", re.I)
_SUPPLEMENTAL = ".supplemental-metadata"


# ---- archive entries --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    part: int  # index into the source's parts
    member: str | None  # the zip member's name; None for a file in an extracted folder
    fs_path: bytes | None  # the file's absolute path in an extracted folder
    rel: str  # catalog form of the path under the Google Photos folder
    directory: str  # the folder it sits in, under the Google Photos folder ('' for the top)
    name: str
    size: int
    skip_reason: str | None = None

    @property
    def album_key(self) -> str:
        return self.directory.split("/", 1)[0]


@dataclass
class TakeoutScan:
    """What one pass over the parts found, for the user: albums, and entries left out and why."""

    albums: list[AlbumRef] = field(default_factory=list)
    media: int = 0
    sidecars: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (printable path, reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "albums": [a.name for a in self.albums],
            "media": self.media,
            "sidecars": self.sidecars,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
        }


def nfc(text: str) -> str:
    # macOS unzips to NFD; Takeout writes NFC. Compare names in one form.
    return unicodedata.normalize("NFC", text)


def _hostile_reason(raw_name: str) -> str | None:
    """Why an archive path must not be used, or None. Checked before anything else looks at it."""
    name = raw_name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "absolute path in the archive (zip-slip); not read"
    if any(part == ".." for part in name.split("/")):
        return "path leads outside the archive (zip-slip '..'); not read"
    if "\x00" in name:
        return "NUL byte in the entry name; not read"
    return None


def _zip_is_symlink(info: zipfile.ZipInfo) -> bool:
    # Unix zips keep the file mode in the high 16 bits; a symlink entry's content is its target
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _under_photos_root(parts: list[str], product_ok: set[str]) -> list[str] | None:
    """The path below the Google Photos folder, or None for another Takeout product's files."""
    if parts and parts[0] == "Takeout":
        parts = parts[1:]
        if len(parts) < 2 or parts[0] not in product_ok:
            return None
        return parts[1:]
    return parts


def _photo_products(top_dirs: set[str]) -> set[str]:
    # one product folder: it is Photos whatever its language; several: keep the photo-like ones
    if len(top_dirs) == 1:
        return set(top_dirs)
    return {d for d in top_dirs if any(h in d.lower() for h in _PRODUCT_HINTS)}


# (path parts, raw name in the zip or full path on disk, size, skip reason, zip info or None)
_RawEntry = tuple[list[str], bytes, int, "str | None", "zipfile.ZipInfo | None"]


class _Part:
    """One `.zip` part or one extracted folder, read in place."""

    def __init__(self, index: int, path: Path) -> None:
        self.index = index
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._lock = threading.Lock()  # one file handle per part; the indexer reads from threads

    @property
    def is_zip(self) -> bool:
        return self.path.is_file()

    def _open_zip(self) -> zipfile.ZipFile:
        if self._zip is None:
            try:
                self._zip = zipfile.ZipFile(self.path)
            except FileNotFoundError as exc:
                raise PhotogenError(f"The Takeout part {self.path} is gone; re-add it with `photogen sources add-takeout`.") from exc
            except (zipfile.BadZipFile, UnicodeDecodeError, OSError, ValueError) as exc:
                raise PhotogenError(f"{self.path} is not a readable zip ({exc}); download that Takeout part again.") from exc
        return self._zip

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def entries(self) -> Iterator[_RawEntry]:
        """(path parts, raw name or full path, size, skip reason, zip info) for every file."""
        if self.is_zip:
            yield from self._zip_entries()
        else:
            yield from self._folder_entries()

    def _zip_entries(self) -> Iterator[_RawEntry]:
        zf = self._open_zip()
        found: list[tuple[zipfile.ZipInfo, bytes, str, str | None]] = []
        for info in zf.infolist():
            if info.is_dir():
                continue
            raw = info.orig_filename
            if info.flag_bits & 0x800:
                raw_bytes = raw.encode("utf-8")
            else:
                # zipfile decoded a name without the UTF-8 flag as cp437; get the bytes back
                try:
                    raw_bytes = raw.encode("cp437")
                except UnicodeEncodeError:
                    raw_bytes = raw.encode("utf-8", "surrogateescape")
            reason = _hostile_reason(raw)
            try:
                text = raw_bytes.decode("utf-8")
            except UnicodeDecodeError:
                text = raw_bytes.decode("utf-8", "surrogateescape")
                reason = reason or "entry name is not UTF-8 (not written by Google Takeout); not read"
            if reason is None and _zip_is_symlink(info):
                reason = "symbolic link in the archive; not followed"
            if reason is None and info.file_size > MAX_ENTRY_BYTES:
                reason = "entry expands to more than 512 MB (zip bomb?); not read"
            ratio = info.file_size // max(info.compress_size, 1)
            if reason is None and info.file_size > RATIO_CHECK_ABOVE and ratio > MAX_ENTRY_RATIO:
                reason = f"entry expands {ratio}x (zip bomb?); not read"
            found.append((info, raw_bytes, text, reason))
        # many small entries can add up to a bomb that no single entry shows
        declared = sum(info.file_size for info, _raw, _text, reason in found if reason is None)
        if declared > MAX_PART_RATIO * self.path.stat().st_size + PART_RATIO_SLACK:
            bomb = f"the archive claims to expand to {declared // (1024 * 1024)} MB, far beyond its size (zip bomb?); not read"
            found = [(info, raw, text, reason or bomb) for info, raw, text, reason in found]
        for info, raw_bytes, text, reason in found:
            parts = [nfc(p) for p in text.replace("\\", "/").split("/") if p not in ("", ".")]
            yield parts, raw_bytes, info.file_size, reason, info

    def _folder_entries(self) -> Iterator[_RawEntry]:
        root = os.fsencode(self.path)
        prefix = [b"Takeout"] if self.path.name == "Takeout" else []
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames.sort()
            for fname in sorted(filenames) + sorted(d for d in dirnames if os.path.islink(os.path.join(dirpath, d))):
                full = os.path.join(dirpath, fname)
                rel_raw = b"/".join(prefix + os.path.relpath(full, root).split(os.sep.encode()))
                reason: str | None = None
                size = 0
                try:
                    st = os.lstat(full)
                    if stat.S_ISLNK(st.st_mode):
                        reason = "symbolic link; not followed"
                    elif not stat.S_ISREG(st.st_mode):
                        reason = "not a regular file"
                    else:
                        size = st.st_size
                        if size > MAX_ENTRY_BYTES:
                            reason = "file larger than 512 MB; not read"
                except OSError as exc:
                    reason = f"cannot read file ({exc.strerror or exc})"
                try:
                    text = rel_raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = rel_raw.decode("utf-8", "surrogateescape")
                    reason = reason or "file name is not UTF-8; not read"
                yield [nfc(p) for p in text.split("/")], full, size, reason, None

    def read(self, entry: _Entry, limit: int) -> bytes:
        if entry.size > limit:
            raise PhotogenError(f"{entry.rel}: larger than {limit // (1024 * 1024)} MB; not read")
        if entry.fs_path is not None:
            # an extracted folder: refuse anything that became a link since the scan
            st = os.lstat(entry.fs_path)
            if not stat.S_ISREG(st.st_mode):
                raise PhotogenError("not a regular file any more; not read")
            with open(entry.fs_path, "rb") as fh:
                data = fh.read(limit + 1)
        else:
            with self._lock:
                zf = self._open_zip()
                try:
                    # ZipExtFile stops at the declared size and checks the CRC, so a lying header
                    # cannot make it produce more than we allowed for
                    with zf.open(entry.member or "") as fh:
                        data = fh.read(limit + 1)
                except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, OSError, EOFError, ValueError) as exc:
                    raise PhotogenError(f"damaged entry in {self.path.name} ({exc}); not read") from exc
                except Exception as exc:  # noqa: BLE001 - zlib.error and friends: one bad entry never stops a run
                    raise PhotogenError(f"damaged entry in {self.path.name} ({type(exc).__name__}); not read") from exc
        if len(data) > limit:
            raise PhotogenError(f"{entry.rel}: larger than {limit // (1024 * 1024)} MB; not read")
        return data


# ---- sidecars ---------------------------------------------------------------------------------


def utf16_cut(text: str, units: int = 46) -> str:
    """Cut to `units` UTF-16 code units, as Google does for sidecar names (a half surrogate pair is dropped).

    Counted per character rather than by encoding: a name decoded with surrogateescape holds lone
    surrogates, which UTF-16 cannot encode; each counts as one unit."""
    used = 0
    for i, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return text[:i]
    return text


def split_media_name(name: str) -> tuple[str, str, str, str]:
    """(stem without counter and edit suffix, counter like '(1)' or '', extension, edit suffix or '')."""
    stem, ext = os.path.splitext(name)
    counter = ""
    match = _COUNTER.match(stem)
    if match:
        stem, counter = match.group(1), f"({match.group(2)})"
    edited = ""
    lowered = stem.lower()
    for suffix in _EDITED_SUFFIXES:
        if lowered.endswith(suffix) and len(stem) > len(suffix):
            stem, edited = stem[: -len(suffix)], stem[-len(suffix):]
            break
    return stem, counter, ext, edited


def sidecar_candidates(name: str) -> list[str]:
    """Sidecar names a media file may have, most likely first (reference §2)."""
    stem, counter, ext, edited = split_media_name(name)
    base = stem + ext
    candidates = [
        utf16_cut(base + _SUPPLEMENTAL) + counter + ".json",
        utf16_cut(base) + counter + ".json",
        utf16_cut(name + _SUPPLEMENTAL) + ".json",  # the counter kept in place: 'skytree (2).jpg...'
        utf16_cut(name) + ".json",
        utf16_cut(base + counter + _SUPPLEMENTAL) + ".json",  # 'IMG_2367.HEIC(1).supplemental-metadata.json'
        stem + counter + ".json",  # uploaded without an extension: Google added one, the JSON did not
    ]
    if edited and counter:  # a title that itself ends like an edit ('x-ha.jpg'), a second photo of that name
        candidates.append(utf16_cut(stem + edited + ext + _SUPPLEMENTAL) + counter + ".json")
        candidates.append(utf16_cut(stem + edited + ext) + counter + ".json")
    if ext.lower() == ".mp":  # a Pixel motion clip carries the photo's sidecar
        candidates.append(utf16_cut(base + ".jpg" + _SUPPLEMENTAL) + counter + ".json")
        candidates.append(utf16_cut(base + ".jpg") + counter + ".json")
    seen: set[str] = set()
    return [c for c in candidates if not (c in seen or seen.add(c))]


def sidecar_counter(name: str) -> str:
    match = _SIDECAR_COUNTER.search(name)
    return f"({match.group(1)})" if match else ""


@dataclass
class Sidecar:
    """One photo's sidecar, validated. `problems` non-empty means it is not trusted at all."""

    title: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # the FileRef.sidecar contribution
    trashed: bool = False
    problems: list[str] = field(default_factory=list)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _timestamp(value: Any) -> tuple[datetime | None, bool]:
    """(time, ok): `{"timestamp": "1696573800"}` (or timestampSeconds, or a number); '0' and '' are unknown."""
    if not isinstance(value, dict):
        return None, False
    raw = value.get("timestamp", value.get("timestampSeconds"))
    if isinstance(raw, bool):  # False == 0 in Python, but a bool is no timestamp
        return None, False
    if raw is None or raw == "" or raw == "0" or raw == 0:
        return None, True
    if isinstance(raw, str) and re.fullmatch(r"-?\d{1,12}", raw.strip()):
        raw = raw.strip()
    elif not _is_number(raw):
        return None, False
    try:
        # json.loads reads NaN and Infinity: int() refuses them, as fromtimestamp refuses the far future
        return datetime.fromtimestamp(int(raw), timezone.utc), True
    except (OverflowError, OSError, ValueError):
        return None, False


def _place(value: Any) -> tuple[tuple[float, float] | None, bool]:
    if value is None:
        return None, True
    if not isinstance(value, dict):
        return None, False
    lat, lon = value.get("latitude"), value.get("longitude")
    if lat is None and lon is None:
        return None, True
    if not (_is_number(lat) and _is_number(lon)):
        return None, False
    lat, lon = float(lat), float(lon)
    if (lat, lon) == (0.0, 0.0) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, True  # 0,0 is how Google writes "no location"; out of range is noise, not a type error
    return (lat, lon), True


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(value: Any) -> Any:
    # JSON may escape half a surrogate pair ("\ud800"); such a string cannot be stored or shown
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


def parse_json(data: bytes) -> Any:
    """JSON from a sidecar's bytes, tolerating a BOM and the odd non-UTF-8 file (gpth #143)."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return _without_lone_surrogates(json.loads(data.decode(encoding)))
        except UnicodeDecodeError:
            continue
        except (json.JSONDecodeError, RecursionError):
            return None
    return None


def is_item_sidecar(obj: Any) -> bool:
    return isinstance(obj, dict) and "photoTakenTime" in obj


def album_title(obj: Any) -> str | None:
    """The title of an album's metadata JSON (`{"title": ...}`, or wrapped in `albumData`), else None."""
    if isinstance(obj, dict) and isinstance(obj.get("albumData"), dict):
        obj = obj["albumData"]
    if not isinstance(obj, dict) or "photoTakenTime" in obj or not isinstance(obj.get("title"), str):
        return None
    return obj["title"].strip()


def parse_sidecar(obj: dict[str, Any]) -> Sidecar:
    """Validate one item sidecar. Unknown keys are ignored; a known key of the wrong type rejects it."""
    out = Sidecar()
    problems = out.problems
    title = obj.get("title")
    if title is not None and not isinstance(title, str):
        problems.append("title")
    elif isinstance(title, str):
        out.title = nfc(title)
    taken, ok = _timestamp(obj.get("photoTakenTime"))
    if not ok:
        problems.append("photoTakenTime")
    elif taken is not None:
        out.fields["taken_at"] = taken
        out.fields["taken_at_source"] = "takeout:photoTakenTime"
    # geoData carries the user's edits in Google Photos; geoDataExif is the camera's
    for key in ("geoData", "geoDataExif"):
        place, ok = _place(obj.get(key))
        if not ok:
            problems.append(key)
        elif place is not None and "latitude" not in out.fields:
            out.fields["latitude"], out.fields["longitude"] = place
    description = obj.get("description")
    if description is not None and not isinstance(description, str):
        problems.append("description")
    elif isinstance(description, str) and description.strip():
        out.fields["description"] = description.strip()
    people = obj.get("people")
    if people is not None:
        if not isinstance(people, list) or not all(isinstance(p, dict) and isinstance(p.get("name"), str) for p in people):
            problems.append("people")
        else:
            names = list(dict.fromkeys(p["name"].strip() for p in people if p["name"].strip()))
            if names:
                out.fields["people"] = names
    for key, target in (("favorited", "favorite"), ("archived", "archived"), ("trashed", None)):
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, bool):
            problems.append(key)
        elif target is None:
            out.trashed = value
        elif value:
            out.fields[target] = True
    return out


# ---- the source -------------------------------------------------------------------------------


def _folder_kind(album_key: str) -> str:
    lowered = album_key.lower()
    if _YEAR_FOLDER.match(album_key):
        return "year"
    if lowered in _TRASH:
        return "trash"
    if lowered in _LOCKED:
        return "locked"
    if lowered in _FAILED_VIDEOS:
        return "failed"
    if lowered in _ARCHIVE:
        return "archive"
    return "album"


def _media_kind(name: str) -> str | None:
    ext = os.path.splitext(name)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    return None


class TakeoutSource:
    kind = KIND
    copies = None  # reads the export in place

    @classmethod
    def from_row(cls, library: Library, row: Any) -> TakeoutSource:
        """The parts are kept in the source's config."""
        config = json.loads(row["config"] or "{}")
        return cls([Path(p) for p in config.get("parts", [row["location"]])], row["name"])

    @staticmethod
    def revoke(library: Library, row: Any) -> None:
        """An export on disk holds no grant to give back: revoking forgets what was read from it."""

    def __init__(self, parts: Sequence[Path], name: str) -> None:
        self.parts = [_Part(i, Path(p)) for i, p in enumerate(parts)]
        self.name = name
        self._scanned = False
        self._entries: dict[str, _Entry] = {}
        self._rejected: list[_Entry] = []
        self._by_dir: dict[str, list[_Entry]] = {}
        self._sidecar_cache: dict[str, Sidecar | str | None] = {}
        self._matches: dict[str, dict[str, _Entry]] = {}  # directory -> media rel -> its sidecar entry
        self._by_title: dict[tuple[str, datetime | None], _Entry] | None = None
        self._scan_lock = threading.Lock()

    def close(self) -> None:
        for part in self.parts:
            part.close()

    # 1. index every part before matching anything: a photo and its sidecar can be in different parts
    def _scan(self) -> None:
        with self._scan_lock:
            if self._scanned:
                return
            for part in self.parts:
                if not part.path.exists():
                    raise PhotogenError(f"The Takeout part {part.path} is gone; re-add it with `photogen sources add-takeout`.")
            raw_entries = [(part, *item) for part in self.parts for item in part.entries()]
            top_dirs = {p[1] for _part, p, *_ in raw_entries if len(p) >= 3 and p[0] == "Takeout"}
            products = _photo_products(top_dirs)
            for part, parts, raw, size, reason, info in raw_entries:
                below = _under_photos_root(parts, products)
                if below is None or not below:
                    continue  # another Google product's files (Drive, Mail, ...): not ours to read
                text = "/".join(below)
                entry = _Entry(
                    part=part.index,
                    member=info.filename if info is not None else None,
                    fs_path=raw if info is None else None,
                    rel=encode_path(text.encode("utf-8", "surrogateescape")),
                    directory="/".join(below[:-1]),
                    name=below[-1],
                    size=size,
                    skip_reason=reason,
                )
                if reason is not None and (".." in below or (info is not None and _hostile_reason(info.orig_filename))):
                    self._rejected.append(entry)  # its path cannot be trusted: it belongs to no album
                    log.info("Takeout: skipped %s: %s", printable_path(entry.rel), reason)
                    continue
                if entry.rel in self._entries:
                    # Takeout repeats items across parts; the first copy is as good as any
                    log.debug("Takeout: %s appears in several parts", entry.rel)
                    continue
                self._entries[entry.rel] = entry
                self._by_dir.setdefault(entry.directory, []).append(entry)
            if not any(_media_kind(e.name) for e in self._entries.values()) and not self._rejected:
                where = ", ".join(str(p.path) for p in self.parts)
                raise PhotogenError(
                    f"No Google Photos files found in {where}. Pass the Takeout .zip parts or the folder they were extracted to."
                )
            self._scanned = True

    def scan(self) -> TakeoutScan:
        """Albums, counts of media and sidecars, and every entry left out with its reason."""
        self._scan()
        report = TakeoutScan(albums=self.albums())
        report.skipped = [(printable_path(e.rel), e.skip_reason or "") for e in self._rejected]
        for entry in self._entries.values():
            if entry.skip_reason is not None:
                report.skipped.append((printable_path(entry.rel), entry.skip_reason))
            elif _media_kind(entry.name):
                report.media += 1
            elif entry.name.lower().endswith(".json"):
                report.sidecars += 1
        return report

    def albums(self) -> list[AlbumRef]:
        self._scan()
        found: dict[str, str] = {}
        # a folder is an album when it holds media, or sidecars only (its photos sit in year folders)
        keys = sorted({
            e.album_key for e in self._entries.values()
            if _media_kind(e.name) or (e.directory and e.name.lower().endswith(".json"))
        })
        for key in keys:
            if _LONE_SURROGATE.search(key):
                continue  # a folder name that is not UTF-8: every entry under it is skipped, with that reason
            kind = _folder_kind(key) if key else "root"
            if kind in ("trash", "locked", "failed"):
                continue  # trashed and locked items are not the user's library; failed videos are not photos
            if kind == "root":
                name = self.name
            elif kind == "album":
                name = self._album_title(key) or key
            else:
                name = key
            found[key] = name
        return _unique_names(found)

    def _album_title(self, key: str) -> str | None:
        # the album's metadata JSON has a localized name: find it by content, among the JSONs
        # that are not named after a media file
        for entry in self._by_dir.get(key, []):
            lowered = entry.name.lower()
            if not lowered.endswith(".json") or entry.skip_reason or lowered in _NOT_SIDECARS:
                continue
            if "." in _COUNTER.sub(r"\1", entry.name[: -len(".json")]):
                continue
            parsed = self._load_json(entry)
            title = None if isinstance(parsed, str) else album_title(parsed)
            if title:
                return title
        return None

    def _load_json(self, entry: _Entry) -> Any:
        try:
            data = self.parts[entry.part].read(entry, MAX_SIDECAR_BYTES)
        except PhotogenError as exc:
            return str(exc)
        parsed = parse_json(data)
        return "sidecar is not valid JSON" if parsed is None else parsed

    def _sidecar(self, entry: _Entry) -> Sidecar | str | None:
        """The validated sidecar, the reason it was rejected, or None when it describes no photo."""
        if entry.rel not in self._sidecar_cache:
            parsed = self._load_json(entry)
            result: Sidecar | str | None
            if isinstance(parsed, str):
                result = parsed
            elif not isinstance(parsed, dict):
                result = "sidecar is not a JSON object"
            elif not is_item_sidecar(parsed):
                result = None  # album metadata, print orders and the like
            else:
                sidecar = parse_sidecar(parsed)
                result = f"sidecar has fields of the wrong type ({', '.join(sidecar.problems)})" if sidecar.problems else sidecar
            self._sidecar_cache[entry.rel] = result
        return self._sidecar_cache[entry.rel]

    def _match(self, directory: str) -> dict[str, _Entry]:
        """Media rel -> sidecar entry for one folder (reference §2, in its order)."""
        if directory in self._matches:
            return self._matches[directory]
        entries = self._by_dir.get(directory, [])
        jsons = {e.name: e for e in entries if e.name.lower().endswith(".json") and e.skip_reason is None}
        images = [e for e in entries if e.skip_reason is None and _media_kind(e.name) == "image"]
        matched: dict[str, _Entry] = {}
        used: set[str] = set()
        # 1. the names Google gives sidecars; a sidecar may serve several files (an edit, its original)
        for entry in images:
            for candidate in sidecar_candidates(entry.name):
                if candidate in jsons:
                    matched[entry.rel] = jsons[candidate]
                    used.add(candidate)
                    break
        # 2. a sidecar no name rule found, whose title is the file's original name, with the same counter
        orphans = [j for name, j in jsons.items() if name not in used and name.lower() not in _NOT_SIDECARS]
        for entry in images:
            if entry.rel in matched or not orphans:
                continue
            stem, counter, ext, edited = split_media_name(entry.name)
            wanted = {entry.name, stem + edited + ext, stem + ext}
            hits = [
                j for j in orphans
                if isinstance(s := self._sidecar(j), Sidecar) and s.title in wanted and sidecar_counter(j.name) == counter
            ]
            if len(hits) == 1:
                matched[entry.rel] = hits[0]
        self._matches[directory] = matched
        return matched

    def files(self, album: AlbumRef) -> Iterator[FileRef]:
        self._scan()
        kind = _folder_kind(album.key) if album.key else "root"
        if album.key:
            dirs = sorted(d for d in self._by_dir if d == album.key or d.startswith(album.key + "/"))
        else:
            dirs = [""] if "" in self._by_dir else []
        for directory in dirs:
            yield from self._files_in(directory, archived=kind == "archive", album_folder=kind == "album")

    def _files_in(self, directory: str, *, archived: bool, album_folder: bool) -> Iterator[FileRef]:
        entries = self._by_dir[directory]
        matched = self._match(directory)
        for entry in entries:
            is_json = entry.name.lower().endswith(".json")
            if entry.skip_reason is not None:
                yield FileRef(entry.rel, entry.size, 0, skip_reason=entry.skip_reason)
            elif _media_kind(entry.name) == "video":
                yield FileRef(entry.rel, entry.size, 0, skip_reason="video; photogen imports photos only")
            elif _media_kind(entry.name) == "image":
                yield self._photo(entry, matched.get(entry.rel), archived)
            elif is_json and entry.name.lower() not in _NOT_SIDECARS:
                sidecar = self._sidecar(entry)
                if isinstance(sidecar, str):
                    owners = [e.name for e in entries if matched.get(e.rel) is entry]
                    note = f"; {', '.join(owners)} imported without it" if owners else ""
                    yield FileRef(entry.rel, entry.size, 0, skip_reason=f"{sidecar}{note}")
                elif isinstance(sidecar, Sidecar) and entry not in matched.values():
                    # an album folder that holds only sidecars: its photos sit in the year folders
                    twin = self._find_elsewhere(sidecar, directory) if album_folder else None
                    if twin is not None:
                        yield self._photo(twin, self._match(twin.directory).get(twin.rel), archived)
                    else:
                        log.info("Takeout: sidecar %s matches no photo", printable_path(entry.rel))

    def _photo(self, entry: _Entry, sidecar_entry: _Entry | None, archived: bool) -> FileRef:
        facts: dict[str, Any] = {"archived": True} if archived else {}
        if sidecar_entry is None:
            log.info("Takeout: no sidecar for %s; the photo's own EXIF is used", printable_path(entry.rel))
        else:
            sidecar = self._sidecar(sidecar_entry)
            if isinstance(sidecar, Sidecar):
                if sidecar.trashed:
                    return FileRef(entry.rel, entry.size, 0, skip_reason="in the Google Photos trash; not imported")
                facts |= sidecar.fields
        # mtime 0: a Takeout entry's time is the export's, never the photo's (reference §5)
        return FileRef(entry.rel, entry.size, 0, sidecar=facts)

    def _find_elsewhere(self, sidecar: Sidecar, directory: str) -> _Entry | None:
        """The photo in another folder whose sidecar has this one's title and capture time."""
        if self._by_title is None:
            index: dict[tuple[str, datetime | None], _Entry] = {}
            for other_dir in list(self._by_dir):
                if _folder_kind(other_dir.split("/", 1)[0]) != "year":
                    continue
                for media_rel, side in self._match(other_dir).items():
                    parsed = self._sidecar(side)
                    if isinstance(parsed, Sidecar) and parsed.title:
                        index.setdefault((parsed.title, parsed.fields.get("taken_at")), self._entries[media_rel])
            self._by_title = index
        if not sidecar.title:
            return None
        return self._by_title.get((sidecar.title, sidecar.fields.get("taken_at")))

    def read(self, rel_path: str) -> bytes:
        self._scan()
        entry = self._entries.get(rel_path)
        if entry is None or entry.skip_reason is not None:
            raise PhotogenError(f"{printable_path(rel_path)} is not in this Takeout export any more; run `photogen index`.")
        return self.parts[entry.part].read(entry, MAX_ENTRY_BYTES)

    def display_path(self, rel_path: str) -> str:
        return f"takeout: {printable_path(rel_path)}"


def _unique_names(found: dict[str, str]) -> list[AlbumRef]:
    """Album names must be unique in a source (users type them): 'Trip' twice becomes 'Trip (folder)'."""
    counts: dict[str, int] = {}
    for name in found.values():
        counts[name] = counts.get(name, 0) + 1
    albums: list[AlbumRef] = []
    taken: set[str] = set()
    for key, name in found.items():
        unique = name if counts[name] == 1 else f"{name} ({key})" if key != name else name
        n = 2
        while unique in taken:
            unique, n = f"{name} ({n})", n + 1
        taken.add(unique)
        albums.append(AlbumRef(key=key, name=unique))
    albums.sort(key=lambda a: a.name.lower())
    return albums


# ---- parts on disk ----------------------------------------------------------------------------


_PART_NUMBER = re.compile(r"^(.*)-(\d{3})\.zip$", re.I)


def resolve_parts(paths: Sequence[Path]) -> list[Path]:
    """The parts to read: each path given, plus the sibling parts of a numbered zip (-001, -002, ...)."""
    if not paths:
        raise PhotogenError("Name the Takeout export: its .zip file(s) or the folder it was extracted to.")
    parts: list[Path] = []
    for given in paths:
        path = Path(os.path.abspath(Path(given).expanduser()))
        if not path.exists():
            raise PhotogenError(f"{path} does not exist.")
        lowered = path.name.lower()
        if path.is_file() and (lowered.endswith(".tgz") or lowered.endswith(".tar.gz")):
            raise PhotogenError(
                f"{path.name} is a .tgz export, which cannot be read in place. Extract it and pass the folder, "
                "or ask Takeout for .zip files."
            )
        if path.is_file() and not zipfile.is_zipfile(path):
            raise PhotogenError(f"{path} is not a zip file; pass the Takeout .zip parts or the extracted folder.")
        siblings = [path]
        match = _PART_NUMBER.match(path.name)
        if path.is_file() and match:
            pattern = re.compile(re.escape(match.group(1)) + r"-\d{3}\.zip$", re.I)
            siblings = sorted(p for p in path.parent.iterdir() if pattern.match(p.name) and p.is_file())
        for part in siblings:
            if part not in parts:
                parts.append(part)
    return parts


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
    from photogen.library.catalog import utc_now

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


__all__ = [
    "TakeoutSource",
    "TakeoutScan",
    "TakeoutAdded",
    "add_takeout",
    "resolve_parts",
    "sidecar_candidates",
    "parse_sidecar",
    "utf16_cut",
]
