"""From a `sources` row to the object that reads it."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photogen.errors import PhotogenError
from photogen.library.sources import PhotoSource

if TYPE_CHECKING:
    from photogen.library.library import Library

# kind -> "module:function(library, row) -> PhotoSource"; imported lazily so a missing optional
# dependency of one kind (say, Google's OAuth libraries) never stops the others
SOURCE_KINDS: dict[str, str] = {
    "folder": "photogen.library.sources.registry:_open_folder",
    "upload": "photogen.library.sources.registry:_open_upload",
    "takeout": "photogen.library.sources.takeout:open_takeout_source",
    "picker": "photogen.library.sources.picker:open_picker_source",
}


def _open_folder(library: Library, row: Any) -> PhotoSource:
    from photogen.library.sources.folder import FolderSource

    return FolderSource(Path(row["location"]), row["name"])


def _open_upload(library: Library, row: Any) -> PhotoSource:
    from photogen.library.sources.upload import UploadSource

    return UploadSource(library, row)


def open_source(library: Library, row: Any) -> PhotoSource:
    target = SOURCE_KINDS.get(row["kind"])
    if target is None:
        raise PhotogenError(f"Source {row['name']!r} is of kind {row['kind']!r}, which this photogen cannot read.")
    module_name, func = target.split(":")
    return getattr(importlib.import_module(module_name), func)(library, row)


def source_config(row: Any) -> dict[str, Any]:
    return json.loads(row["config"] or "{}")
