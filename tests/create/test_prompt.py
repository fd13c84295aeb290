from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from photogen.create.prompt import KnownPerson, Trip, parse_prompt
from photogen.create.prompt_ideas import LibraryStats, PersonCount, suggestions
from photogen.errors import PhotogenError

PEOPLE = [KnownPerson("p1", "Anna"), KnownPerson("p2", "Ben Carter"), KnownPerson("p3", "Zoë", is_me=True), KnownPerson("p4", "Rose")]
PLACES = ["Paris", "Rome", "New York"]
TRIPS = [Trip("Rome", dt.date(2024, 5, 1), dt.date(2024, 5, 9), 120)]
TODAY = dt.date(2025, 10, 3)


def parse(text: str):  # noqa: ANN201 - a local shorthand
    return parse_prompt(text, PEOPLE, PLACES, TODAY, trips=TRIPS)


def test_mentions_place_time_style() -> None:
    plan = parse("@Anna and me in Paris last summer, watercolor")
    assert plan.person_ids == ("p1", "p3")
    assert plan.place == "Paris"
    assert plan.time_range is not None and (plan.time_range.start, plan.time_range.end) == (dt.date(2025, 6, 1), dt.date(2025, 8, 31))
    assert plan.style == "watercolor"
    assert plan.scene == ""
    assert plan.model_prompt() == "two people, in Paris"


def test_trip_resolves_to_its_dates() -> None:
    plan = parse("Ben Carter and @anna on our trip to Rome as a claymation")
    assert set(plan.person_ids) == {"p1", "p2"}
    assert plan.place == "Rome" and plan.style == "claymation"
    assert plan.time_range is not None and plan.time_range.start == dt.date(2024, 5, 1)


@pytest.mark.parametrize(
    "text,start,end",
    [
        ("at Christmas 2022", dt.date(2022, 12, 20), dt.date(2022, 12, 31)),
        ("in 2019", dt.date(2019, 1, 1), dt.date(2019, 12, 31)),
        ("last June", dt.date(2025, 6, 1), dt.date(2025, 6, 30)),
        ("winter 2023", dt.date(2023, 12, 1), dt.date(2024, 2, 29)),
        ("last winter", dt.date(2024, 12, 1), dt.date(2025, 2, 28)),
        ("last month", dt.date(2025, 9, 1), dt.date(2025, 9, 30)),
        ("last Christmas", dt.date(2024, 12, 20), dt.date(2024, 12, 31)),
    ],
)
def test_time_expressions(text: str, start: dt.date, end: dt.date) -> None:
    plan = parse(f"a picnic {text}")
    assert plan.time_range is not None and (plan.time_range.start, plan.time_range.end) == (start, end)
    assert plan.scene == "a picnic"


def test_plain_names_need_their_capital() -> None:
    plan = parse("a rose garden with Rose")
    assert plan.person_ids == ("p4",)
    assert "rose garden" in plan.scene


def test_unknown_mention_suggests_closest() -> None:
    with pytest.raises(PhotogenError, match="@Anna"):
        parse("@Anan at the beach")
    with pytest.raises(PhotogenError, match="No one called 'Bob'"):
        parse("@Bob at the beach")


def test_me_without_me_errors() -> None:
    with pytest.raises(PhotogenError, match="This is me"):
        parse_prompt("me at the beach", [KnownPerson("p1", "Anna")], today=TODAY)


def test_multiword_mentions() -> None:
    assert parse("@Ben Carter surfing").person_ids == ("p2",)
    assert parse("@Ben_Carter surfing").scene == "surfing"
    assert parse("@Ben surfing").person_ids == ("p2",)  # a unique first name is enough


name_strategy = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll")), min_size=2, max_size=10)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=120))
def test_never_crashes(text: str) -> None:
    try:
        plan = parse(text)
    except PhotogenError:
        return
    assert set(plan.person_ids) <= {p.id for p in PEOPLE}
    if plan.time_range is not None:
        assert plan.time_range.start <= plan.time_range.end


@settings(max_examples=150, deadline=None)
@given(names=st.lists(name_strategy, min_size=1, max_size=4, unique_by=str.casefold), scene=st.sampled_from(["at the beach", "", "having dinner"]))
def test_mentions_round_trip(names: list[str], scene: str) -> None:
    people = [KnownPerson(f"id{i}", name) for i, name in enumerate(names)]
    text = " and ".join(f"@{name}" for name in names) + (f" {scene}" if scene else "")
    plan = parse_prompt(text, people, today=TODAY)
    assert plan.person_ids == tuple(p.id for p in people)
    assert plan.scene == scene


def test_suggestions_are_parseable() -> None:
    stats = LibraryStats(
        trips=tuple(TRIPS),
        people=(PersonCount("p1", "Anna", 40), PersonCount("p2", "Ben Carter", 20), PersonCount("p3", "Zoë", 90, is_me=True)),
    )
    found = suggestions(stats, today=TODAY)
    assert 2 <= len(found) <= 4
    assert "Rome" in found[0].text
    for suggestion in found:
        plan = parse(suggestion.text)
        assert plan.people and plan.style
    assert suggestions(LibraryStats(), today=TODAY)  # an empty library still gets one idea
