"""What the library knows, in the shapes the prompt parser and suggestions take.

The parser in `prompt.py` is pure; this module reads the catalog and hands it people, places,
trips and the photos a plan's place and time range point at.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from photogen.create.prompt import (
    KnownPerson,
    LibraryStats,
    PersonCount,
    PromptPlan,
    PromptSuggestion,
    Trip,
    parse_prompt,
    suggestions,
)
from photogen.library.library import Library

# photos within this many days of each other at one place form one trip
TRIP_GAP_DAYS = 4
# a person known only from the tags in a photo's metadata (Google Takeout), with no named face: the
# KnownPerson id is this prefix and the name, so it never collides with a people row's id
TAGGED_PREFIX = "tagged:"


@dataclass(frozen=True)
class LibraryContext:
    people: tuple[KnownPerson, ...]
    places: tuple[str, ...]
    trips: tuple[Trip, ...]


def known_people(library: Library) -> list[KnownPerson]:
    rows = library.catalog.query("SELECT id, name, is_me FROM people WHERE hidden = 0 AND name IS NOT NULL AND name != '' ORDER BY id")
    return [KnownPerson(id=str(r["id"]), name=r["name"], is_me=bool(r["is_me"])) for r in rows]


def _dated_places(library: Library) -> list[tuple[str, dt.date]]:
    rows = library.catalog.query(
        "SELECT place_city, place_country, taken_at FROM photos WHERE excluded = 0 AND taken_at IS NOT NULL AND (place_city IS NOT NULL OR place_country IS NOT NULL)"
    )
    out = []
    for r in rows:
        try:
            day = dt.date.fromisoformat(r["taken_at"][:10])
        except ValueError:
            continue
        out.append((r["place_city"] or r["place_country"], day))
    return out


def library_trips(library: Library) -> list[Trip]:
    by_place: dict[str, list[dt.date]] = defaultdict(list)
    for place, day in _dated_places(library):
        by_place[place].append(day)
    trips = []
    for place, days in by_place.items():
        days.sort()
        start = prev = days[0]
        count = 1
        for day in days[1:]:
            if (day - prev).days > TRIP_GAP_DAYS:
                trips.append(Trip(place=place, start=start, end=prev, photo_count=count))
                start, count = day, 0
            prev = day
            count += 1
        trips.append(Trip(place=place, start=start, end=prev, photo_count=count))
    return sorted(trips, key=lambda t: t.end, reverse=True)


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def tagged_people(library: Library) -> list[KnownPerson]:
    """Names tagged in photos' metadata that no named person in People has: known from tags alone."""
    named = {_name_key(p.name) for p in known_people(library)}
    rows = library.catalog.query(
        "SELECT DISTINCT n.name FROM photo_names n JOIN photos p ON p.id = n.photo_id WHERE p.excluded = 0 ORDER BY n.name"
    )
    out: dict[str, KnownPerson] = {}
    for r in rows:
        key = _name_key(r["name"])
        if key and key not in named and key not in out:
            out[key] = KnownPerson(id=TAGGED_PREFIX + r["name"], name=r["name"])
    return list(out.values())


def is_tagged_only(person_id: str) -> bool:
    return person_id.startswith(TAGGED_PREFIX)


def library_context(library: Library) -> LibraryContext:
    places: set[str] = set()
    for r in library.catalog.query("SELECT DISTINCT place_city, place_region, place_country FROM photos WHERE excluded = 0"):
        places |= {p for p in (r["place_city"], r["place_region"], r["place_country"]) if p}
    people = (*known_people(library), *tagged_people(library))
    return LibraryContext(people=people, places=tuple(sorted(places)), trips=tuple(library_trips(library)))


def tagged_photo_ids(library: Library, names: list[str]) -> set[int]:
    """Photos whose metadata tags any of `names` (case and spacing ignored), face or no face."""
    wanted = {_name_key(n) for n in names}
    rows = library.catalog.query("SELECT n.photo_id, n.name FROM photo_names n JOIN photos p ON p.id = n.photo_id WHERE p.excluded = 0")
    return {int(r["photo_id"]) for r in rows if _name_key(r["name"]) in wanted}


def plan_prompt(library: Library, text: str, today: dt.date | None = None) -> PromptPlan:
    ctx = library_context(library)
    return parse_prompt(text, ctx.people, ctx.places, today, trips=ctx.trips)


def context_photo_ids(library: Library, plan: PromptPlan, limit: int = 24) -> list[int]:
    """The photos a plan's place and time point at ("in Paris", "last summer"), and the photos tagged
    with a person known only from tags ("@Grandma" from a Takeout export): they are its sources."""
    tagged_names = [m.name for m in plan.people if is_tagged_only(m.person_id)]
    if plan.place is None and plan.time_range is None and not tagged_names:
        return []
    tagged = tagged_photo_ids(library, tagged_names) if tagged_names else None
    rows = library.catalog.query(
        "SELECT id, taken_at, place_city, place_region, place_country FROM photos WHERE excluded = 0 ORDER BY taken_at DESC"
    )
    chosen = []
    for r in rows:
        if tagged is not None and int(r["id"]) not in tagged:
            continue
        if plan.place is not None:
            names = {(p or "").casefold() for p in (r["place_city"], r["place_region"], r["place_country"])}
            if plan.place.casefold() not in names:
                continue
        if plan.time_range is not None:
            try:
                day = dt.date.fromisoformat((r["taken_at"] or "")[:10])
            except ValueError:
                continue
            if not plan.time_range.contains(day):
                continue
        chosen.append(int(r["id"]))
        if len(chosen) >= limit:
            break
    return chosen


def library_suggestions(library: Library, today: dt.date | None = None, limit: int = 4) -> list[PromptSuggestion]:
    counts = library.catalog.query(
        """SELECT p.id, p.name, p.is_me, count(DISTINCT f.photo_id) AS n FROM people p JOIN faces f ON f.person_id = p.id
           WHERE p.hidden = 0 AND p.name IS NOT NULL AND p.name != '' GROUP BY p.id ORDER BY n DESC LIMIT 8"""
    )
    stats = LibraryStats(
        trips=tuple(library_trips(library)[:6]),
        people=tuple(PersonCount(person_id=str(r["id"]), name=r["name"], photo_count=r["n"], is_me=bool(r["is_me"])) for r in counts),
    )
    return suggestions(stats, today=today, limit=limit)
