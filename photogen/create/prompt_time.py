"""When a prompt means: "last summer", "christmas 2023", "March 2024", "this week" as a date range.

Seasons follow the northern meteorological calendar (summer = June to August); winter YYYY is
December YYYY to February YYYY+1. "last summer" is the most recent summer that has ended.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class TimeRange:
    start: dt.date  # inclusive
    end: dt.date  # inclusive
    label: str  # what the user wrote, normalized: "summer 2024"

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


_SEASONS = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "fall": (9, 11), "winter": (12, 2)}
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})


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


def parse_time(text: str, today: dt.date) -> tuple[TimeRange | None, tuple[int, int] | None]:
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
