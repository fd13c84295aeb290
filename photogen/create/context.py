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


def library_context(library: Library) -> LibraryContext:
    places: set[str] = set()
    for r in library.catalog.query("SELECT DISTINCT place_city, place_region, place_country FROM photos WHERE excluded = 0"):
        places |= {p for p in (r["place_city"], r["place_region"], r["place_country"]) if p}
    return LibraryContext(people=tuple(known_people(library)), places=tuple(sorted(places)), trips=tuple(library_trips(library)))


def plan_prompt(library: Library, text: str, today: dt.date | None = None) -> PromptPlan:
    ctx = library_context(library)
    return parse_prompt(text, ctx.people, ctx.places, today, trips=ctx.trips)


def context_photo_ids(library: Library, plan: PromptPlan, limit: int = 24) -> list[int]:
    """The photos a plan's place and time point at ("in Paris", "last summer"): they are its sources."""
    if plan.place is None and plan.time_range is None:
        return []
    rows = library.catalog.query(
        "SELECT id, taken_at, place_city, place_region, place_country FROM photos WHERE excluded = 0 ORDER BY taken_at DESC"
    )
    chosen = []
    for r in rows:
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
