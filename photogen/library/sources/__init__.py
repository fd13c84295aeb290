"""Where photos come from. Each source kind lists albums and files and reads a file's bytes.

The indexer works only through `PhotoSource`, so a local folder, a Takeout archive and the
Google Photos Picker share one consent model and one indexing path. Each source class is also a
`SourceKind`: it opens a source from its catalog row and says what revoking it must let go of;
`registry.SOURCE_KINDS` lists them, and `consent` revokes through it.

- `folder`: a local folder, read in place
- `upload`: photos handed to photogen, kept as encrypted copies
- `takeout/`: a Google Takeout export, read in place (archive, layout, sidecars, source, connect)
- `picker`: photos picked in the Google Photos Picker, downloaded as encrypted copies
- `registry`: from a `sources` row to the object that reads it
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from photogen.library.library import Library


@dataclass(frozen=True)
class AlbumRef:
    key: str  # stable identity within the source (folder: relative path, '' for the root's own files)
    name: str  # what the user sees and types


@dataclass(frozen=True)
class FileRef:
    rel_path: str  # in catalog form (see `encode_path`)
    size_bytes: int
    mtime_ns: int
    skip_reason: str | None = None  # set when the file is seen but must not be read
    # what the source knows beyond EXIF (Takeout sidecars): taken_at, latitude, longitude,
    # description, people, favorite, archived; the indexer prefers these over EXIF where set
    sidecar: dict[str, Any] = field(default_factory=dict, compare=False)


class PhotoSource(Protocol):
    kind: str

    def albums(self) -> list[AlbumRef]:
        """Album names only: listing albums reads no photo and no metadata."""

    def files(self, album: AlbumRef) -> Iterator[FileRef]:
        """The files of one granted album."""

    def read(self, rel_path: str) -> bytes:
        """The bytes of one file of a granted album."""

    def display_path(self, rel_path: str) -> str:
        """A path the user recognises, for listings."""


class SourceKind(Protocol):
    """A kind of source as the library sees it (each source class is one): how to open a source from
    its catalog row, and what to let go of when the user revokes it. `registry.SOURCE_KINDS` lists them."""

    kind: str
    # the blob name prefix of the copies this kind keeps ("<copies>:<source id>:<album key>/<file>"),
    # or None when it reads the user's own files in place
    copies: str | None

    def from_row(self, library: Library, row: Any) -> PhotoSource:
        """The source a `sources` row describes."""

    def revoke(self, library: Library, row: Any) -> None:
        """Called before a source of this kind is forgotten: release what it holds outside the catalog."""


def encode_path(raw: bytes) -> str:
    """A file-system path in a form SQLite text can hold: UTF-8 as is, anything else as b64:..."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "b64:" + base64.urlsafe_b64encode(raw).decode()


def decode_path(text: str) -> bytes:
    if text.startswith("b64:"):
        return base64.urlsafe_b64decode(text[4:].encode())
    return text.encode("utf-8")


def printable_path(text: str) -> str:
    """A path safe to print: undecodable bytes and control characters escaped."""
    raw = decode_path(text).decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in raw)
