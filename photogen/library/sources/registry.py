"""From a `sources` row to the object that reads it: every kind of source, listed in code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from photogen.errors import PhotogenError
from photogen.library.sources import PhotoSource, SourceKind
from photogen.library.sources.folder import FolderSource
from photogen.library.sources.picker import PickerSource
from photogen.library.sources.takeout import TakeoutSource
from photogen.library.sources.upload import UploadSource

if TYPE_CHECKING:
    from photogen.library.library import Library

# each kind's module imports its optional dependencies (say, Google's OAuth libraries) only when a
# source of that kind is used, so one missing never stops the others
SOURCE_KINDS: Mapping[str, SourceKind] = {
    FolderSource.kind: FolderSource,
    UploadSource.kind: UploadSource,
    TakeoutSource.kind: TakeoutSource,
    PickerSource.kind: PickerSource,
}


def source_kind(kind: str) -> SourceKind | None:
    """The kind of source named in a `sources` row, or None when this photogen does not know it."""
    return SOURCE_KINDS.get(kind)


def open_source(library: Library, row: Any) -> PhotoSource:
    kind = source_kind(row["kind"])
    if kind is None:
        raise PhotogenError(f"Source {row['name']!r} is of kind {row['kind']!r}, which this photogen cannot read.")
    return kind.from_row(library, row)
