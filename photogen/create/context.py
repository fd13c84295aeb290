"""What the library knows, in the shapes the prompt parser and suggestions take.

The parser in `prompt.py` is pure; this module reads the catalog and hands it people, places,
trips and the photos a plan's place and time range point at.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from photogen.create.prompt import KnownPerson, PromptPlan, Trip, parse_prompt
from photogen.create.prompt_ideas import LibraryStats, PersonCount, PromptSuggestion, suggestions
from photogen.errors import PhotogenError
from photogen.library import photo_context
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
    rows = photo_context.named_people(library)
    return [KnownPerson(id=str(r["id"]), name=r["name"], is_me=bool(r["is_me"])) for r in rows]


def _dated_places(library: Library) -> list[tuple[str, dt.date]]:
    out = []
    for r in photo_context.dated_places(library):
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
    out: dict[str, KnownPerson] = {}
    for name in photo_context.tagged_names(library):
        key = _name_key(name)
        if key and key not in named and key not in out:
            out[key] = KnownPerson(id=TAGGED_PREFIX + name, name=name)
    return list(out.values())


def is_tagged_only(person_id: str) -> bool:
    return person_id.startswith(TAGGED_PREFIX)


def find_person(known: Sequence[KnownPerson], name: str) -> KnownPerson:
    """The one known person called `name` ("me": the one marked as me); an error that says what to do otherwise."""
    wanted = name.strip().lstrip("@").casefold()
    if wanted == "me":
        for person in known:
            if person.is_me:
                return person
        raise PhotogenError("No one is marked as you yet: in People, choose your face and mark it as me.")
    matches = [p for p in known if p.name.casefold() == wanted]
    if len(matches) > 1:
        ids = " and ".join(f"person {p.id}" for p in matches)
        raise PhotogenError(f"{name!r} could be {ids}: both have that name. Rename one in People, then choose again.")
    if matches:
        return matches[0]
    close = difflib.get_close_matches(name, [p.name for p in known], n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else (" Known people: " + ", ".join(p.name for p in known[:10]) if known else " Name people in the People tab first.")
    raise PhotogenError(f"No person named {name!r}.{hint}")


def resolve_people(library: Library, plan: PromptPlan | None, names: Sequence[str]) -> list[tuple[int, str]]:
    """(id, name) of the people to draw: those the prompt mentions, then those chosen by name."""
    known = known_people(library)
    chosen: dict[int, str] = {}
    if plan is not None:
        for mention in plan.people:
            if is_tagged_only(mention.person_id):
                continue  # known from photo tags alone: no face to draw them from; their photos are sources
            chosen[int(mention.person_id)] = mention.name
    for name in names:
        person = find_person(known, name)
        chosen[int(person.id)] = person.name
    return list(chosen.items())


def library_context(library: Library) -> LibraryContext:
    places = photo_context.place_names(library)
    people = (*known_people(library), *tagged_people(library))
    return LibraryContext(people=people, places=tuple(sorted(places)), trips=tuple(library_trips(library)))


def tagged_photo_ids(library: Library, names: list[str]) -> set[int]:
    """Photos whose metadata tags any of `names` (case and spacing ignored), face or no face."""
    wanted = {_name_key(n) for n in names}
    return {photo_id for photo_id, name in photo_context.name_tags(library) if _name_key(name) in wanted}


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
    chosen = []
    for r in photo_context.photos_by_date(library):
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
    counts = photo_context.most_photographed_people(library, limit=8)
    stats = LibraryStats(
        trips=tuple(library_trips(library)[:6]),
        people=tuple(PersonCount(person_id=str(r["id"]), name=r["name"], photo_count=r["n"], is_me=bool(r["is_me"])) for r in counts),
    )
    return suggestions(stats, today=today, limit=limit)
