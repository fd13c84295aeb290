"""Reading a Takeout export's parts in place and safely: zip entries and extracted folders, with
hostile names (zip-slip, NUL, symlinks), size and expansion limits checked before anything is read,
and the sibling parts of a numbered export found on disk."""

from __future__ import annotations

import os
import re
import stat
import threading
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from photogen.errors import PhotogenError

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


@dataclass(frozen=True)
class Entry:
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


def nfc(text: str) -> str:
    # macOS unzips to NFD; Takeout writes NFC. Compare names in one form.
    return unicodedata.normalize("NFC", text)


def hostile_reason(raw_name: str) -> str | None:
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


# (path parts, raw name in the zip or full path on disk, size, skip reason, zip info or None)
RawEntry = tuple[list[str], bytes, int, "str | None", "zipfile.ZipInfo | None"]


class Part:
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

    def entries(self) -> Iterator[RawEntry]:
        """(path parts, raw name or full path, size, skip reason, zip info) for every file."""
        if self.is_zip:
            yield from self._zip_entries()
        else:
            yield from self._folder_entries()

    def _zip_entries(self) -> Iterator[RawEntry]:
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
            reason = hostile_reason(raw)
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

    def _folder_entries(self) -> Iterator[RawEntry]:
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

    def read(self, entry: Entry, limit: int) -> bytes:
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
