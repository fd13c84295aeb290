"""Context-aware prompts: who ("@Anna", "me"), where ("in Paris"), when ("last summer") and how
("as a watercolor") parsed out of what the user typed, into a typed `PromptPlan`.

Pure functions: the caller passes the known people, places, trips and `today`, so this module needs
no catalog and tests need no library. The library turns the plan's place and time range into the
photos to use as references; the engine gets `plan.model_prompt()`, which the UI shows as it is.

Rules, chosen so that a stray word never pulls a person in:
- `@Name` matches a known person's full name or unique first name, case-insensitively; an unknown
  `@Name` is an error that lists the closest known names.
- A plain name counts only written with its capital ("Rose", not "a rose garden").
- "me" and "myself" mean the person marked as me ("I" does not: "I want a card for Anna" is about Anna).
- Seasons follow the northern meteorological calendar (summer = June to August); winter YYYY is
  December YYYY to February YYYY+1. "last summer" is the most recent summer that has ended.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from photogen.create.presets import STYLE_PRESETS
from photogen.errors import PhotogenError


@dataclass(frozen=True)
class KnownPerson:
    id: str
    name: str
    is_me: bool = False


@dataclass(frozen=True)
class TimeRange:
    start: dt.date  # inclusive
    end: dt.date  # inclusive
    label: str  # what the user wrote, normalized: "summer 2024"

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Trip:
    place: str
    start: dt.date
    end: dt.date
    photo_count: int = 0


@dataclass(frozen=True)
class PersonMention:
    person_id: str
    name: str
    text: str  # as written: "@anna", "Anna", "me"


@dataclass(frozen=True)
class PromptPlan:
    text: str  # what the user typed
    people: tuple[PersonMention, ...]
    place: str | None
    time_range: TimeRange | None
    style: str | None  # a StylePreset name
    scene: str  # the rest: what to draw

    @property
    def person_ids(self) -> tuple[str, ...]:
        return tuple(p.person_id for p in self.people)

    def model_prompt(self) -> str:
        """The scene as the engine gets it: who (as a count, faces come from references), where, what."""
        n = len(self.people)
        who = {0: "", 1: "a person", 2: "two people", 3: "three people"}.get(n, f"a group of {n} people")
        prompt = ", ".join(p for p in (who, self.scene) if p)
        if self.place and self.place.casefold() not in prompt.casefold():
            prompt = f"{prompt}, in {self.place}" if prompt else self.place
        return prompt


_SEASONS = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "fall": (9, 11), "winter": (12, 2)}
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MENTION = re.compile(r"@([^\W\d_][\w'.-]*)", re.UNICODE)


def _season_range(season: str, year: int) -> tuple[dt.date, dt.date]:
    first, last = _SEASONS[season]
    if season == "winter":
        return dt.date(year, 12, 1), dt.date(year + 1, 2, calendar.monthrange(year + 1, 2)[1])
    return dt.date(year, first, 1), dt.date(year, last, calendar.monthrange(year, last)[1])


def _month_range(month: int, year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _resolve_relative(which: str, unit: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """'last'/'this' + a season, month, holiday or calendar unit."""
    if unit in _SEASONS:
        year = today.year
        if which == "this":
            start, end = _season_range(unit, year if not (unit == "winter" and today.month <= 2) else year - 1)
            return start, end
        # the most recent one that has ended
        for y in (year, year - 1, year - 2):
            start, end = _season_range(unit, y)
            if end < today:
                return start, end
        return None
    if unit in _MONTHS:
        month = _MONTHS[unit]
        year = today.year if which == "this" or month < today.month else today.year - 1
        return _month_range(month, year)
    if unit == "christmas":
        year = today.year if which == "this" or (today.month == 12 and today.day > 26) else today.year - 1
        return dt.date(year, 12, 20), dt.date(year, 12, 31)
    if unit == "year":
        year = today.year if which == "this" else today.year - 1
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    if unit == "month":
        if which == "this":
            return _month_range(today.month, today.year)
        first = today.replace(day=1) - dt.timedelta(days=1)
        return _month_range(first.month, first.year)
    if unit == "week":
        monday = today - dt.timedelta(days=today.weekday())
        if which == "last":
            monday -= dt.timedelta(days=7)
        return monday, monday + dt.timedelta(days=6)
    return None


_UNIT = r"(spring|summer|autumn|fall|winter|christmas|year|month|week|" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")"
_TIME_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:in |during |from )?(last|this) " + _UNIT + r"\b", re.I), "relative"),
    (re.compile(r"\b(?:in |during |at )?(christmas|xmas|new year'?s?(?: eve)?) (\d{4})\b", re.I), "holiday"),
    (re.compile(r"\b(?:in |during )?(spring|summer|autumn|fall|winter) (?:of )?(\d{4})\b", re.I), "season"),
    (re.compile(r"\b(?:in )?(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r") (\d{4})\b", re.I), "month"),
    (re.compile(r"\b(?:in |during |from )?((?:19|20)\d{2})\b", re.I), "year"),
    (re.compile(r"\b(yesterday|today)\b", re.I), "day"),
)


def _parse_time(text: str, today: dt.date) -> tuple[TimeRange | None, tuple[int, int] | None]:
    for pattern, kind in _TIME_PATTERNS:
        for match in pattern.finditer(text):
            groups = [g.lower() for g in match.groups()]
            rng: tuple[dt.date, dt.date] | None = None
            try:
                if kind == "relative":
                    rng = _resolve_relative(groups[0], "christmas" if groups[1] == "xmas" else groups[1], today)
                elif kind == "holiday":
                    year = int(groups[1])
                    rng = (dt.date(year, 12, 20), dt.date(year, 12, 31)) if groups[0] in ("christmas", "xmas") else (dt.date(year, 12, 30), dt.date(year + 1, 1, 1))
                elif kind == "season":
                    rng = _season_range(groups[0], int(groups[1]))
                elif kind == "month":
                    rng = _month_range(_MONTHS[groups[0]], int(groups[1]))
                elif kind == "year":
                    year = int(groups[0])
                    rng = (dt.date(year, 1, 1), dt.date(year, 12, 31))
                else:
                    day = today - dt.timedelta(days=1) if groups[0] == "yesterday" else today
                    rng = (day, day)
            except ValueError:  # a year out of the calendar's range: not a time after all
                rng = None
            if rng is not None:
                label = " ".join(match.group(0).split()).lower()
                label = re.sub(r"^(in|during|from|at) ", "", label)
                return TimeRange(rng[0], rng[1], label), match.span()
    return None, None


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _match_mentions(text: str, people: Sequence[KnownPerson]) -> tuple[list[PersonMention], list[tuple[int, int]]]:
    """@-mentions, greedy over multi-word names ("@Anna Maria" before "@Anna")."""
    by_full: dict[str, KnownPerson] = {}
    same_name: dict[str, list[KnownPerson]] = {}
    for p in people:
        if p.name.strip():
            by_full.setdefault(_name_key(p.name), p)
            same_name.setdefault(_name_key(p.name), []).append(p)
    first_names: dict[str, list[KnownPerson]] = {}
    for p in people:
        if p.name.strip():
            first_names.setdefault(_name_key(p.name.split()[0]), []).append(p)
    found: list[PersonMention] = []
    spans: list[tuple[int, int]] = []
    for match in _MENTION.finditer(text):
        start = match.start()
        after = text[match.start(1) :]
        words = after.split()
        person: KnownPerson | None = None
        consumed = ""
        # try the longest run of following words that is a known full name (names up to 4 words)
        for n in range(min(4, len(words)), 0, -1):
            candidate = " ".join(words[:n])
            candidate_clean = candidate.rstrip(".,!?;:'\"")
            key = _name_key(candidate_clean.replace("_", " "))
            if key in by_full:
                person, consumed = by_full[key], candidate_clean
                break
        if person is None:
            token = match.group(1).rstrip(".,!?;:'\"-")
            key = _name_key(token.replace("_", " "))
            if key in by_full:
                person, consumed = by_full[key], token
            elif len(first_names.get(key, [])) == 1:
                person, consumed = first_names[key][0], token
            elif key in ("me", "myself"):
                person, consumed = _me(people), token
            else:
                choices = sorted({p.name for p in people})
                close = difflib.get_close_matches(token, choices, n=3, cutoff=0.5) or difflib.get_close_matches(
                    token.casefold(), [c.casefold() for c in choices], n=3, cutoff=0.5
                )
                if len(first_names.get(key, [])) > 1:
                    close = [p.name for p in first_names[key]]
                    raise PhotogenError(f"@{token} could be {', '.join(close)}: write the full name, e.g. @{close[0].replace(' ', '_')}.")
                hint = f" Did you mean {', '.join('@' + c for c in close)}?" if close else ""
                raise PhotogenError(f"No one called {token!r} is in your people.{hint} Name them in People first, or check the spelling.")
        if person is not None and len(same_name.get(_name_key(person.name), [])) > 1:
            # names are unique now; a library named before that may still hold two: ask, never guess
            ids = " and ".join(f"person {p.id}" for p in same_name[_name_key(person.name)])
            raise PhotogenError(
                f"@{consumed} could be {ids}: both are named {person.name!r}. Rename one in People "
                "(or `photogen people name ID NAME`), then mention the one you mean."
            )
        # consumed words were matched on a whitespace-split copy; find their end in the original text
        end = match.start(1)
        for word in consumed.split():
            end = text.index(word, end) + len(word)
        found.append(PersonMention(person.id, person.name, text[start:end]))
        spans.append((start, end))
    return found, spans


def _me(people: Sequence[KnownPerson]) -> KnownPerson:
    for person in people:
        if person.is_me:
            return person
    raise PhotogenError("You wrote 'me', but no one in People is marked as you. Open People, pick your face and choose 'This is me'.")


def _overlaps(span: tuple[int, int], taken: Sequence[tuple[int, int]]) -> bool:
    return any(span[0] < t1 and t0 < span[1] for t0, t1 in taken)


def _find_style(text: str, taken: list[tuple[int, int]]) -> tuple[str | None, tuple[int, int] | None]:
    # longest keywords first so "oil painting" wins over "painting", "pencil sketch" over "sketch"
    keywords = sorted(((kw, preset.name) for preset in STYLE_PRESETS for kw in preset.keywords), key=lambda kv: -len(kv[0]))
    for keyword, name in keywords:
        pattern = re.compile(r"(?:,\s*)?\b(?:(?:as|in)\s+(?:an?\s+)?)?" + re.escape(keyword) + r"(?:\s+(?:style|painting|drawing|look))?\b", re.I)
        for match in pattern.finditer(text):
            if not _overlaps(match.span(), taken):
                return name, match.span()
    return None, None


def _find_place(text: str, places: Sequence[str], trips: Sequence[Trip], taken: list[tuple[int, int]]) -> tuple[str | None, tuple[int, int] | None, bool]:
    """(place, span, is_trip). 'our trip to Rome' and 'the Rome trip' mark a trip."""
    for place in sorted({p for p in [*places, *(t.place for t in trips)] if p.strip()}, key=len, reverse=True):
        name = re.escape(" ".join(place.split())).replace(r"\ ", r"\s+")
        trip = re.compile(r"\b(?:(?:on|from|during)\s+)?(?:our|my|the)\s+(?:trip|holiday|vacation|journey)\s+to\s+" + name + r"\b|\b(?:(?:on|from|during)\s+)?(?:our|my|the)\s+" + name + r"\s+(?:trip|holiday|vacation)\b", re.I)
        for match in trip.finditer(text):
            if not _overlaps(match.span(), taken):
                return place, match.span(), True
        plain = re.compile(r"\b(?:(?:in|at|near|from|around)\s+)?" + name + r"\b", re.I)
        for match in plain.finditer(text):
            if not _overlaps(match.span(), taken):
                return place, match.span(), False
    return None, None, False


def _clean_scene(text: str, spans: Sequence[tuple[int, int]]) -> str:
    keep = []
    last = 0
    for start, end in sorted(spans):
        if start >= last:
            keep.append(text[last:start])
            last = end
        else:
            last = max(last, end)
    keep.append(text[last:])
    scene = " ".join("".join(keep).split())
    # tidy what the cut-outs leave: doubled commas, dangling "and"/"with" at the ends
    scene = re.sub(r"\s+([,.!?;:])", r"\1", scene)
    scene = re.sub(r"([,;:])\s*(?=[,;:.!?]|$)", "", scene)
    for _ in range(3):
        scene = re.sub(r"^(?:and|with|of|&)(?:\s+|$)|(?:^|\s+)(?:and|with|of|&)$", "", scene.strip(" ,;:"), flags=re.I)
    return scene.strip(" ,;:")


def parse_prompt(
    text: str,
    people: Sequence[KnownPerson],
    places: Sequence[str] = (),
    today: dt.date | None = None,
    *,
    trips: Sequence[Trip] = (),
) -> PromptPlan:
    """Parse a prompt. Raises PhotogenError for an unknown @mention or a 'me' with no one marked as me."""
    today = today or dt.date.today()
    taken: list[tuple[int, int]] = []
    mentions, spans = _match_mentions(text, people)
    taken.extend(spans)

    # plain names, capitalized as in People, and the first-person words
    for person in sorted(people, key=lambda p: -len(p.name)):
        name = " ".join(person.name.split())
        if not name or not name[0].isupper():
            continue
        pattern = re.compile(r"(?<![@\w])" + re.escape(name).replace(r"\ ", r"\s+") + r"(?!\w)")
        for match in pattern.finditer(text):
            if not _overlaps(match.span(), taken):
                mentions.append(PersonMention(person.id, person.name, match.group(0)))
                taken.append(match.span())
    for match in re.finditer(r"(?<![@\w'])(me|myself)(?![\w'])", text, re.I):
        word = match.group(1)
        if _overlaps(match.span(), taken):
            continue
        me = _me(people)
        mentions.append(PersonMention(me.id, me.name, word))
        taken.append(match.span())

    style, style_span = _find_style(text, taken)
    if style_span:
        taken.append(style_span)
    place, place_span, is_trip = _find_place(text, places, trips, taken)
    if place_span:
        taken.append(place_span)
    time_range, time_span = _parse_time(text, today)
    if time_span and _overlaps(time_span, taken):
        time_range, time_span = None, None
    if time_span:
        taken.append(time_span)
    if is_trip and time_range is None and place:
        matching = sorted((t for t in trips if t.place.casefold() == place.casefold()), key=lambda t: t.end, reverse=True)
        if matching:
            trip = matching[0]
            time_range = TimeRange(trip.start, trip.end, f"trip to {trip.place}")

    # one person mentioned twice ("@Anna and Anna") is one person
    unique: dict[str, PersonMention] = {}
    for mention in sorted(mentions, key=lambda m: text.find(m.text)):
        unique.setdefault(mention.person_id, mention)
    scene = _clean_scene(text, taken)
    return PromptPlan(text=text, people=tuple(unique.values()), place=place, time_range=time_range, style=style, scene=scene)


# --- suggestions -------------------------------------------------------------------------------


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
