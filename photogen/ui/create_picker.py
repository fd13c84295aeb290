"""Create tab's photo picker ("Start from photos"): each photo's caption, the filters, and the thumbnails."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from photogen.errors import PhotogenError
from photogen.library.library import Library
from photogen.library.photos import list_photos, thumbnail_bytes

ANYONE = "Anyone"
ALL_ALBUMS = "All albums"
PICKER_LIMIT = 60  # thumbnails shown at once; the filters narrow the rest down


def photo_caption(p: Any) -> str:
    """'john-1.jpg · Family · 2019-05-01 · Grandpa Joe': the file, its album, its date and who is in it."""
    parts = [Path(p.path).name, p.album]
    if p.taken_at:
        parts.append(p.taken_at[:10])
    if p.place:
        parts.append(p.place)
    if p.people:
        parts.append(", ".join(p.people))
    return " · ".join(parts)


def photo_choices(library: Library) -> list[tuple[str, int]]:
    return [(f"{p.id}: {photo_caption(p)}", p.id) for p in list_photos(library)]


def picker_filters(library: Library) -> tuple[list[str], list[str]]:
    """Who and which albums the photo picker can filter by."""
    photos = list_photos(library)
    people = sorted({n for p in photos for n in (p.people or [])}, key=str.casefold)
    albums = sorted({p.album for p in photos}, key=str.casefold)
    return [ANYONE, *people], [ALL_ALBUMS, *albums]


def photo_cards(library: Library, person: str | None = None, album: str | None = None, limit: int = PICKER_LIMIT) -> tuple[list[tuple[Image.Image, str]], list[int]]:
    """Thumbnails for 'Start from photos', newest first, with album, date and people; filtered."""
    chosen = [
        p
        for p in list_photos(library)
        if (not person or person == ANYONE or person in (p.people or [])) and (not album or album == ALL_ALBUMS or p.album == album)
    ]
    chosen.sort(key=lambda p: (p.taken_at or "", p.id), reverse=True)
    cards, ids = [], []
    for p in chosen[:limit]:
        try:
            image = Image.open(io.BytesIO(thumbnail_bytes(library, p.id))).convert("RGB")
        except PhotogenError:
            continue  # a thumbnail the next index rebuilds
        cards.append((image, f"{p.id}: {photo_caption(p)}"))
        ids.append(p.id)
    return cards, ids
