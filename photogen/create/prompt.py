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
- Times ("last summer", "christmas 2023") are read by `prompt_time`; ideas to type are `prompt_ideas`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from photogen.create.presets import STYLE_PRESETS
from photogen.create.prompt_time import TimeRange, parse_time
from photogen.errors import PhotogenError


@dataclass(frozen=True)
class KnownPerson:
    id: str
    name: str
    is_me: bool = False


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


_MENTION = re.compile(r"@([^\W\d_][\w'.-]*)", re.UNICODE)


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
    time_range, time_span = parse_time(text, today)
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
