"""The Takeout source: an export's albums and files, each photo with the facts of its sidecar.

Every part is indexed before any sidecar is matched, because a photo and its JSON sidecar can sit
in different parts."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photogen.errors import PhotogenError
from photogen.library.sources import AlbumRef, FileRef, encode_path, printable_path
from photogen.library.sources.takeout.archive import MAX_ENTRY_BYTES, MAX_SIDECAR_BYTES, Entry, Part, hostile_reason
from photogen.library.sources.takeout.layout import folder_kind, media_kind, photo_products, under_photos_root
from photogen.library.sources.takeout.sidecars import (
    COUNTER,
    LONE_SURROGATE,
    NOT_SIDECARS,
    Sidecar,
    album_title,
    is_item_sidecar,
    match_sidecars,
    parse_json,
    parse_sidecar,
)

if TYPE_CHECKING:
    from photogen.library.library import Library

log = logging.getLogger(__name__)

KIND = "takeout"


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
        self.parts = [Part(i, Path(p)) for i, p in enumerate(parts)]
        self.name = name
        self._scanned = False
        self._entries: dict[str, Entry] = {}
        self._rejected: list[Entry] = []
        self._by_dir: dict[str, list[Entry]] = {}
        self._sidecar_cache: dict[str, Sidecar | str | None] = {}
        self._matches: dict[str, dict[str, Entry]] = {}  # directory -> media rel -> its sidecar entry
        self._by_title: dict[tuple[str, datetime | None], Entry] | None = None
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
            products = photo_products(top_dirs)
            for part, parts, raw, size, reason, info in raw_entries:
                below = under_photos_root(parts, products)
                if below is None or not below:
                    continue  # another Google product's files (Drive, Mail, ...): not ours to read
                text = "/".join(below)
                entry = Entry(
                    part=part.index,
                    member=info.filename if info is not None else None,
                    fs_path=raw if info is None else None,
                    rel=encode_path(text.encode("utf-8", "surrogateescape")),
                    directory="/".join(below[:-1]),
                    name=below[-1],
                    size=size,
                    skip_reason=reason,
                )
                if reason is not None and (".." in below or (info is not None and hostile_reason(info.orig_filename))):
                    self._rejected.append(entry)  # its path cannot be trusted: it belongs to no album
                    log.info("Takeout: skipped %s: %s", printable_path(entry.rel), reason)
                    continue
                if entry.rel in self._entries:
                    # Takeout repeats items across parts; the first copy is as good as any
                    log.debug("Takeout: %s appears in several parts", entry.rel)
                    continue
                self._entries[entry.rel] = entry
                self._by_dir.setdefault(entry.directory, []).append(entry)
            if not any(media_kind(e.name) for e in self._entries.values()) and not self._rejected:
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
            elif media_kind(entry.name):
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
            if media_kind(e.name) or (e.directory and e.name.lower().endswith(".json"))
        })
        for key in keys:
            if LONE_SURROGATE.search(key):
                continue  # a folder name that is not UTF-8: every entry under it is skipped, with that reason
            kind = folder_kind(key) if key else "root"
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
            if not lowered.endswith(".json") or entry.skip_reason or lowered in NOT_SIDECARS:
                continue
            if "." in COUNTER.sub(r"\1", entry.name[: -len(".json")]):
                continue
            parsed = self._load_json(entry)
            title = None if isinstance(parsed, str) else album_title(parsed)
            if title:
                return title
        return None

    def _load_json(self, entry: Entry) -> Any:
        try:
            data = self.parts[entry.part].read(entry, MAX_SIDECAR_BYTES)
        except PhotogenError as exc:
            return str(exc)
        parsed = parse_json(data)
        return "sidecar is not valid JSON" if parsed is None else parsed

    def _sidecar(self, entry: Entry) -> Sidecar | str | None:
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

    def _match(self, directory: str) -> dict[str, Entry]:
        """Media rel -> sidecar entry for one folder (reference §2, in its order)."""
        if directory in self._matches:
            return self._matches[directory]
        matched = match_sidecars(self._by_dir.get(directory, []), self._sidecar)
        self._matches[directory] = matched
        return matched

    def files(self, album: AlbumRef) -> Iterator[FileRef]:
        self._scan()
        kind = folder_kind(album.key) if album.key else "root"
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
            elif media_kind(entry.name) == "video":
                yield FileRef(entry.rel, entry.size, 0, skip_reason="video; photogen imports photos only")
            elif media_kind(entry.name) == "image":
                yield self._photo(entry, matched.get(entry.rel), archived)
            elif is_json and entry.name.lower() not in NOT_SIDECARS:
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

    def _photo(self, entry: Entry, sidecar_entry: Entry | None, archived: bool) -> FileRef:
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

    def _find_elsewhere(self, sidecar: Sidecar, directory: str) -> Entry | None:
        """The photo in another folder whose sidecar has this one's title and capture time."""
        if self._by_title is None:
            index: dict[tuple[str, datetime | None], Entry] = {}
            for other_dir in list(self._by_dir):
                if folder_kind(other_dir.split("/", 1)[0]) != "year":
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
