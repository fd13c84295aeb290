"""Prompt ideas for someone who does not know what to type, from what the library holds (trips, people).

Pure: the caller summarizes the library (`LibraryStats`); every idea parses with `parse_prompt`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from photogen.create.prompt import Trip


@dataclass(frozen=True)
class PersonCount:
    person_id: str
    name: str
    photo_count: int
    is_me: bool = False


@dataclass(frozen=True)
class LibraryStats:
    """What the library knows, summarized by the caller (no catalog access here)."""

    trips: tuple[Trip, ...] = ()
    people: tuple[PersonCount, ...] = ()


@dataclass(frozen=True)
class PromptSuggestion:
    text: str  # parseable by parse_prompt with the same people and places
    reason: str  # why it is suggested, shown under it
    template: str | None = None  # a template id when the suggestion is a card or post
    extras: dict[str, str] = field(default_factory=dict)


def _mention(name: str) -> str:
    return "@" + "_".join(name.split())


def suggestions(stats: LibraryStats, *, today: dt.date | None = None, limit: int = 4) -> list[PromptSuggestion]:
    """A few prompts from the library for someone who does not know what to type."""
    today = today or dt.date.today()
    out: list[PromptSuggestion] = []
    me = next((p for p in stats.people if p.is_me), None)
    others = sorted((p for p in stats.people if not p.is_me and p.name.strip()), key=lambda p: -p.photo_count)
    recent_trips = sorted((t for t in stats.trips if t.end <= today), key=lambda t: t.end, reverse=True)
    if recent_trips:
        trip = recent_trips[0]
        who = " and ".join([_mention(p.name) for p in others[:1]] + (["me"] if me else []))
        lead = f"{who} " if who else ""
        out.append(PromptSuggestion(f"{lead}on our trip to {trip.place}, watercolor", f"Your most recent trip: {trip.place}, {trip.start:%B %Y}."))
    if others:
        top = others[0]
        out.append(PromptSuggestion(f"{_mention(top.name)} blowing out birthday candles, 3D cartoon", f"{top.name} appears in {top.photo_count} photos.", template="card:birthday"))
    if len(others) >= 2:
        a, b = others[0], others[1]
        out.append(PromptSuggestion(f"{_mention(a.name)} and {_mention(b.name)} having a picnic in a sunny park, anime", f"{a.name} and {b.name} are the people you photograph most."))
    if me:
        out.append(PromptSuggestion("me as an astronaut floating above the Earth, claymation", "A portrait of you in a new scene."))
    if len(recent_trips) > 1:
        trip = recent_trips[1]
        out.append(PromptSuggestion(f"a sunset in {trip.place}, oil painting", f"From your trip to {trip.place}, {trip.start:%B %Y}."))
    if not out:
        out.append(PromptSuggestion("a cozy cabin in snowy mountains at dusk, watercolor", "Add people in People to put them in your pictures."))
    return out[:limit]
