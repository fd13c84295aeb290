"""Google Takeout exports of Google Photos: albums, dates, places, captions and people names.

A Takeout export is one or more `.zip` parts (or the folder they were extracted into). The zips
are read in place, entry by entry; nothing is ever extracted to disk, so a hostile entry name
(`../../x`, `/etc/x`) has nowhere to land. Every part is indexed before any sidecar is matched,
because a photo and its JSON sidecar can sit in different parts.

Google publishes no format for this; the rules follow `reference/google-takeout-photos.md`
(what real exports and the tools that read them show). Album keys are folder names under the
"Google Photos" folder, so a newer export of the same account maps onto the same albums and
paths, and the indexer's content hashes keep one photo in a year folder and an album as one.

- `archive`: reading the parts in place and safely (zip-slip, symlinks, size and bomb limits)
- `layout`: which folders are albums, years, archive or trash; which files are photos or videos
- `sidecars`: the JSON sidecars' names, their contents, and which photo each belongs to
- `source`: `TakeoutSource`, the export as albums and files for the indexer
- `connect`: `add_takeout`, adding an export as a source (or re-pointing one at a newer export)
"""

from photogen.library.sources.takeout.archive import resolve_parts
from photogen.library.sources.takeout.connect import DEFAULT_SOURCE_NAME, TakeoutAdded, add_takeout
from photogen.library.sources.takeout.sidecars import parse_sidecar, sidecar_candidates, utf16_cut
from photogen.library.sources.takeout.source import KIND, TakeoutScan, TakeoutSource

__all__ = [
    "DEFAULT_SOURCE_NAME",
    "KIND",
    "TakeoutSource",
    "TakeoutScan",
    "TakeoutAdded",
    "add_takeout",
    "resolve_parts",
    "sidecar_candidates",
    "parse_sidecar",
    "utf16_cut",
]
