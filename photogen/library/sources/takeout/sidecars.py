"""JSON sidecars: the names Google gives them, what a valid one says, and which photo each belongs to.

Names follow `reference/google-takeout-photos.md` §2."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from photogen.library.sources.takeout.archive import Entry, nfc
from photogen.library.sources.takeout.layout import media_kind

# JSON files Takeout writes next to photos that describe neither a photo nor an album
NOT_SIDECARS = {"print-subscriptions.json", "shared_album_comments.json", "user-generated-memory-titles.json"}
# edits made in Google Photos get a localized suffix and no sidecar of their own (gpth's list + immich-go's)
EDITED_SUFFIXES = (
    "-edited", "-effects", "-smile", "-mix", "-edytowane", "-bearbeitet", "-bewerkt", "-編集済み", "-modificato",
    "-modifié", "-ha editado", "-editat", "-editado", "-отредактировано", "-编辑", "-편집됨", "-muokattu",
    "-ha edit", "-ha",  # truncated forms seen in the wild
)
# \Z, not $ (which also matches before a final newline), and DOTALL: a name may hold control characters
COUNTER = re.compile(r"^(.*)\((\d+)\)\Z", re.S)
_SIDECAR_COUNTER = re.compile(r"\((\d+)\)(?:\.supplemental-metadata)?\.json\Z", re.I)
_SUPPLEMENTAL = ".supplemental-metadata"


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
    match = COUNTER.match(stem)
    if match:
        stem, counter = match.group(1), f"({match.group(2)})"
    edited = ""
    lowered = stem.lower()
    for suffix in EDITED_SUFFIXES:
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


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(value: Any) -> Any:
    # JSON may escape half a surrogate pair ("\ud800"); such a string cannot be stored or shown
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value)
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


def match_sidecars(entries: Sequence[Entry], sidecar_of: Callable[[Entry], Sidecar | str | None]) -> dict[str, Entry]:
    """Media rel -> sidecar entry for the entries of one folder (reference §2, in its order).

    `sidecar_of` reads and validates a sidecar (the source caches it): a title decides only where
    no name rule matched."""
    jsons = {e.name: e for e in entries if e.name.lower().endswith(".json") and e.skip_reason is None}
    images = [e for e in entries if e.skip_reason is None and media_kind(e.name) == "image"]
    matched: dict[str, Entry] = {}
    used: set[str] = set()
    # 1. the names Google gives sidecars; a sidecar may serve several files (an edit, its original)
    for entry in images:
        for candidate in sidecar_candidates(entry.name):
            if candidate in jsons:
                matched[entry.rel] = jsons[candidate]
                used.add(candidate)
                break
    # 2. a sidecar no name rule found, whose title is the file's original name, with the same counter
    orphans = [j for name, j in jsons.items() if name not in used and name.lower() not in NOT_SIDECARS]
    for entry in images:
        if entry.rel in matched or not orphans:
            continue
        stem, counter, ext, edited = split_media_name(entry.name)
        wanted = {entry.name, stem + edited + ext, stem + ext}
        hits = [
            j for j in orphans
            if isinstance(s := sidecar_of(j), Sidecar) and s.title in wanted and sidecar_counter(j.name) == counter
        ]
        if len(hits) == 1:
            matched[entry.rel] = hits[0]
    return matched
