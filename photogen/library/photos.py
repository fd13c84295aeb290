"""Reading the library: photos with their metadata, for listings, the UI and later stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from photogen.errors import PhotogenError
from photogen.library.indexer import thumbnail_blob_name
from photogen.library.library import Library
from photogen.library.sources.registry import open_source


@dataclass
class PhotoRecord:
    id: int
    path: str
    album: str
    albums: list[str]
    taken_at: str | None
    place: str | None
    camera: str | None
    width: int | None
    height: int | None
    latitude: float | None = None
    longitude: float | None = None
    taken_at_source: str | None = None
    format: str | None = None
    description: str | None = None
    # tagged in the source's own metadata (Google Takeout sidecars), face or no face
    people_names: list[str] | None = None
    # everyone known to be in it: those tags and the named people whose faces are in it
    people: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _place(row: Any) -> str | None:
    parts = [row["place_city"], row["place_region"], row["place_country"]]
    return ", ".join(p for p in parts if p) or None


def _camera(row: Any) -> str | None:
    make, model = (row["camera_make"] or "").strip(), (row["camera_model"] or "").strip()
    if make and model.lower().startswith(make.lower()):
        return model  # "Canon Canon EOS R5" reads badly
    return " ".join(p for p in (make, model) if p) or None


def list_photos(library: Library, *, album_id: int | None = None, include_excluded: bool = False) -> list[PhotoRecord]:
    cat = library.catalog
    where = ["1 = 1"]
    params: list[Any] = []
    if not include_excluded:
        where.append("p.excluded = 0")
    if album_id is not None:
        where.append("p.id IN (SELECT photo_id FROM photo_files WHERE album_id = ?)")
        params.append(album_id)
    photos = cat.query(
        f"SELECT p.* FROM photos p WHERE {' AND '.join(where)} ORDER BY p.taken_at IS NULL, p.taken_at, p.id", params
    )
    files = cat.query(
        """SELECT f.photo_id, f.rel_path, a.name AS album, s.name AS source, s.id AS source_id
           FROM photo_files f JOIN albums a ON a.id = f.album_id JOIN sources s ON s.id = a.source_id
           ORDER BY f.id"""
    )
    names: dict[int, list[str]] = {}
    for r in cat.query("SELECT photo_id, name FROM photo_names ORDER BY name"):
        names.setdefault(r[0], []).append(r[1])
    in_photo = people_in_photos(library)
    sources: dict[int, Any] = {}
    by_photo: dict[int, list[Any]] = {}
    for f in files:
        by_photo.setdefault(f["photo_id"], []).append(f)
    records = []
    for p in photos:
        locs = by_photo.get(p["id"], [])
        if not locs:
            continue
        first = locs[0]
        if first["source_id"] not in sources:
            row = cat.one("SELECT * FROM sources WHERE id = ?", (first["source_id"],))
            sources[first["source_id"]] = open_source(library, row)
        records.append(
            PhotoRecord(
                id=p["id"],
                path=sources[first["source_id"]].display_path(first["rel_path"]),
                album=first["album"],
                albums=sorted({f"{f['source']}/{f['album']}" for f in locs}),
                taken_at=p["taken_at"],
                place=_place(p),
                camera=_camera(p),
                width=p["width"],
                height=p["height"],
                latitude=p["latitude"],
                longitude=p["longitude"],
                taken_at_source=p["taken_at_source"],
                format=p["format"],
                description=p["description"],
                people_names=names.get(p["id"], []),
                people=in_photo.get(p["id"], []),
            )
        )
    return records


def people_in_photos(library: Library) -> dict[int, list[str]]:
    """photo id -> the names of the people in it: tagged in its source's metadata (even where no face was
    detected) and named people whose faces were found in it; one spelling a person, sorted."""
    rows = library.catalog.query(
        """SELECT photo_id, name FROM photo_names
           UNION SELECT f.photo_id, p.name FROM faces f JOIN people p ON p.id = f.person_id
           WHERE p.name IS NOT NULL AND p.name != '' AND p.hidden = 0"""
    )
    found: dict[int, dict[str, str]] = {}
    for r in rows:
        found.setdefault(r[0], {}).setdefault(" ".join(r[1].split()).casefold(), r[1])
    return {pid: sorted(by_key.values(), key=str.casefold) for pid, by_key in found.items()}


def get_photo(library: Library, photo_id: int) -> PhotoRecord:
    for record in list_photos(library):
        if record.id == photo_id:
            return record
    row = library.catalog.one("SELECT excluded FROM photos WHERE id = ?", (photo_id,))
    if row is not None and row["excluded"]:
        raise PhotogenError(f"Photo {photo_id} is excluded; photogen does not use it.")
    raise PhotogenError(f"No photo with id {photo_id} (it may have been revoked); see `photogen photos list`.")


def thumbnail_bytes(library: Library, photo_id: int) -> bytes:
    row = library.catalog.one("SELECT content_hash, excluded FROM photos WHERE id = ?", (photo_id,))
    if row is None or row["excluded"]:
        raise PhotogenError(f"No usable photo with id {photo_id}.")
    return library.get_blob(thumbnail_blob_name(row["content_hash"]))


def read_original(library: Library, photo_id: int) -> bytes:
    """The original bytes of a granted, non-excluded photo, read from its source."""
    cat = library.catalog
    photo = cat.one("SELECT excluded FROM photos WHERE id = ?", (photo_id,))
    if photo is None:
        raise PhotogenError(f"No photo with id {photo_id} (it may have been revoked).")
    if photo["excluded"]:
        raise PhotogenError(f"Photo {photo_id} is excluded; photogen does not use it.")
    loc = cat.one(
        """SELECT f.rel_path, s.* FROM photo_files f JOIN albums a ON a.id = f.album_id
           JOIN grants g ON g.album_id = a.id JOIN sources s ON s.id = a.source_id
           WHERE f.photo_id = ? ORDER BY f.id LIMIT 1""",
        (photo_id,),
    )
    if loc is None:
        raise PhotogenError(f"Photo {photo_id} is in no allowed album any more.")
    try:
        return open_source(library, loc).read(loc["rel_path"])
    except OSError as exc:
        raise PhotogenError(f"Photo {photo_id} cannot be read from its source ({exc.strerror or exc}); re-run `photogen index`.") from exc
