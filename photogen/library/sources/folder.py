"""A local folder: each top-level sub-folder is an album (with everything beneath it), and the
root's own files form one album named after the source."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photogen.errors import PhotogenError
from photogen.library.sources import AlbumRef, FileRef, decode_path, encode_path, printable_path

if TYPE_CHECKING:
    from photogen.library.library import Library

ROOT_ALBUM_KEY = ""
_IGNORED = {"thumbs.db", "desktop.ini", ".ds_store"}
MAX_FILE_BYTES = 512 * 1024 * 1024  # a larger "photo" is not one we can safely hold in memory


class FolderSource:
    kind = "folder"
    copies = None  # reads the user's files in place

    @classmethod
    def from_row(cls, library: Library, row: Any) -> FolderSource:
        return cls(Path(row["location"]), row["name"])

    @staticmethod
    def revoke(library: Library, row: Any) -> None:
        """A folder holds nothing outside the catalog: revoking forgets what was read from it."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = Path(os.path.abspath(root))
        self.name = name
        self._root_bytes = os.fsencode(self.root)

    def check(self) -> None:
        if not self.root.exists():
            raise PhotogenError(f"The folder {self.root} does not exist (moved, or a disk not mounted?).")
        if not self.root.is_dir():
            raise PhotogenError(f"{self.root} is not a folder.")

    def albums(self) -> list[AlbumRef]:
        self.check()
        found: list[AlbumRef] = []
        has_root_files = False
        with os.scandir(self._root_bytes) as entries:
            for entry in entries:
                name = os.fsdecode(entry.name)
                if name.startswith(".") or name.lower() in _IGNORED:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    key = encode_path(entry.name)
                    found.append(AlbumRef(key=key, name=printable_path(key)))
                elif entry.is_file(follow_symlinks=False) or entry.is_symlink():
                    has_root_files = True
        found.sort(key=lambda a: a.name.lower())
        if has_root_files:
            found.insert(0, AlbumRef(key=ROOT_ALBUM_KEY, name=self.root_album_name({a.name for a in found})))
        return found

    def root_album_name(self, taken: set[str]) -> str:
        """The root's own files: named after the folder (not the source, which the user may rename)."""
        base = self.root.name or "top folder"
        return f"{base} (top folder)" if base in taken else base

    def album_present(self, album: AlbumRef) -> bool:
        """False when an album's folder is gone (a disk not mounted, a folder moved away)."""
        if not self.root.is_dir():
            return False
        with os.scandir(self._root_bytes) as entries:
            if next(entries, None) is None:
                return False  # an empty mount point: the disk is not there, the photos are not gone
        if album.key == ROOT_ALBUM_KEY:
            return True
        top = os.path.join(self._root_bytes, decode_path(album.key))
        return os.path.isdir(top) and not os.path.islink(top)

    def files(self, album: AlbumRef) -> Iterator[FileRef]:
        self.check()
        if album.key == ROOT_ALBUM_KEY:
            yield from self._files_in(self._root_bytes, recursive=False)
        else:
            top = os.path.join(self._root_bytes, decode_path(album.key))
            if not os.path.isdir(top) or os.path.islink(top):
                return
            yield from self._files_in(top, recursive=True)

    def _files_in(self, top: bytes, recursive: bool) -> Iterator[FileRef]:
        # bytes paths: names that are not valid UTF-8 survive the round trip exactly
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(b".")) if recursive else []
            for fname in sorted(filenames):
                if fname.startswith(b".") or os.fsdecode(fname).lower() in _IGNORED:
                    continue
                full = os.path.join(dirpath, fname)
                rel = encode_path(os.path.relpath(full, self._root_bytes))
                yield self._describe(full, rel)

    def _describe(self, full: bytes, rel: str) -> FileRef:
        try:
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                target = os.path.realpath(full)
                if os.path.commonpath([target, os.path.realpath(self._root_bytes)]) != os.path.realpath(self._root_bytes):
                    return FileRef(rel, 0, 0, skip_reason="symlink leads out of the folder; not followed")
                st = os.stat(full)
            if not stat.S_ISREG(st.st_mode):
                return FileRef(rel, 0, 0, skip_reason="not a regular file")
        except OSError as exc:
            return FileRef(rel, 0, 0, skip_reason=f"cannot read file ({exc.strerror or exc})")
        if st.st_size > MAX_FILE_BYTES:
            return FileRef(rel, st.st_size, st.st_mtime_ns, skip_reason="file larger than 512 MB")
        return FileRef(rel, st.st_size, st.st_mtime_ns)

    def read(self, rel_path: str) -> bytes:
        full = os.path.join(self._root_bytes, decode_path(rel_path))
        real = os.path.realpath(full)
        root = os.path.realpath(self._root_bytes)
        if os.path.commonpath([real, root]) != root:
            raise PhotogenError("refusing to read a file outside the source folder")
        with open(full, "rb") as fh:
            return fh.read(MAX_FILE_BYTES + 1)

    def display_path(self, rel_path: str) -> str:
        return str(self.root / printable_path(rel_path))
