"""The people, places, dates and name tags of the library's photos, as the Create stage reads them for prompts."""

from __future__ import annotations

from typing import Any

from photogen.library.library import Library


def named_people(library: Library) -> list[Any]:
    """Rows (id, name, is_me) of the shown people with a name, by id."""
    return library.catalog.query("SELECT id, name, is_me FROM people WHERE hidden = 0 AND name IS NOT NULL AND name != '' ORDER BY id")


def person_names(library: Library) -> dict[int, str]:
    """Every named person's name by id, hidden or not."""
    return {int(r["id"]): r["name"] for r in library.catalog.query("SELECT id, name FROM people WHERE name IS NOT NULL")}


def most_photographed_people(library: Library, limit: int = 8) -> list[Any]:
    """Rows (id, name, is_me, n) of the shown named people, the most photos (`n`, by face) first."""
    return library.catalog.query(
        """SELECT p.id, p.name, p.is_me, count(DISTINCT f.photo_id) AS n FROM people p JOIN faces f ON f.person_id = p.id
           WHERE p.hidden = 0 AND p.name IS NOT NULL AND p.name != '' GROUP BY p.id ORDER BY n DESC LIMIT ?""",
        (limit,),
    )


def dated_places(library: Library) -> list[Any]:
    """Rows (place_city, place_country, taken_at) of the photos in use that have a date and a place."""
    return library.catalog.query(
        "SELECT place_city, place_country, taken_at FROM photos WHERE excluded = 0 AND taken_at IS NOT NULL AND (place_city IS NOT NULL OR place_country IS NOT NULL)"
    )


def place_names(library: Library) -> set[str]:
    """Every city, region and country of the photos in use."""
    places: set[str] = set()
    for r in library.catalog.query("SELECT DISTINCT place_city, place_region, place_country FROM photos WHERE excluded = 0"):
        places |= {p for p in (r["place_city"], r["place_region"], r["place_country"]) if p}
    return places


def photos_by_date(library: Library) -> list[Any]:
    """Rows (id, taken_at, place_city, place_region, place_country) of the photos in use, newest first."""
    return library.catalog.query("SELECT id, taken_at, place_city, place_region, place_country FROM photos WHERE excluded = 0 ORDER BY taken_at DESC")


def tagged_names(library: Library) -> list[str]:
    """The distinct names tagged in the metadata of the photos in use (Google Takeout), by name."""
    rows = library.catalog.query("SELECT DISTINCT n.name FROM photo_names n JOIN photos p ON p.id = n.photo_id WHERE p.excluded = 0 ORDER BY n.name")
    return [r["name"] for r in rows]


def name_tags(library: Library) -> list[tuple[int, str]]:
    """(photo id, name) of every name tagged in a photo in use."""
    rows = library.catalog.query("SELECT n.photo_id, n.name FROM photo_names n JOIN photos p ON p.id = n.photo_id WHERE p.excluded = 0")
    return [(int(r["photo_id"]), r["name"]) for r in rows]
