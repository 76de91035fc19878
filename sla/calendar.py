"""Business time: the only time an SLA clock counts.

Two pure functions that agree with each other exactly:

    business_time_between(start, add_business_time(start, d, cal), cal) == d

A calendar is a time zone, working days, working hours (one span a day, which may differ
by weekday), public holidays of a country (from the `holidays` package) and other closed
dates. Working hours are wall-clock hours in the calendar's zone, so a DST change moves
them with the clock on the wall, as people expect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

UTC = dt.UTC
ZERO = dt.timedelta(0)
# A calendar with no working day at all would make add_business_time loop for ever.
MAX_SEARCH_DAYS = 366 * 5


@lru_cache(maxsize=256)
def public_holidays(country: str, subdivision: str, year: int) -> frozenset[dt.date]:
    """The public holidays of a country (and region) in a year, from the `holidays` package."""
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year))


@dataclass(frozen=True)
class BusinessCalendar:
    time_zone: str = "UTC"
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    opens: dt.time = dt.time(9, 0)
    closes: dt.time = dt.time(17, 0)
    closed_dates: frozenset[dt.date] = field(default_factory=frozenset)
    # Per-weekday hours, overriding workdays/opens/closes when given: ((weekday, opens, closes), ...)
    day_hours: tuple[tuple[int, dt.time, dt.time], ...] = ()
    holiday_country: str = ""
    holiday_subdivision: str = ""

    def __post_init__(self) -> None:
        if self.day_hours:
            for _, opens, closes in self.day_hours:
                if closes <= opens:
                    raise ValueError("Working hours must close after they open.")
            object.__setattr__(self, "workdays", frozenset(day for day, _, _ in self.day_hours))
        elif self.closes <= self.opens:
            raise ValueError("Working hours must close after they open.")
        if not self.workdays:
            raise ValueError("A calendar needs at least one working day.")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def hours_on(self, weekday: int) -> tuple[dt.time, dt.time] | None:
        if self.day_hours:
            return next(((o, c) for day, o, c in self.day_hours if day == weekday), None)
        return (self.opens, self.closes) if weekday in self.workdays else None

    def is_closed(self, day: dt.date) -> bool:
        if day in self.closed_dates:
            return True
        return bool(self.holiday_country) and day in public_holidays(
            self.holiday_country, self.holiday_subdivision, day.year
        )

    def interval(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The working interval of a local date, in UTC, or None when closed."""
        hours = self.hours_on(day.weekday())
        if hours is None or self.is_closed(day):
            return None
        tz = self.tz
        start = dt.datetime.combine(day, hours[0], tzinfo=tz).astimezone(UTC)
        end = dt.datetime.combine(day, hours[1], tzinfo=tz).astimezone(UTC)
        return start, end

    def intervals_from(self, moment: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Working intervals that end after `moment`, in order."""
        day = moment.astimezone(self.tz).date() - dt.timedelta(days=1)
        for _ in range(MAX_SEARCH_DAYS):
            span = self.interval(day)
            if span is not None and span[1] > moment:
                yield span
            day += dt.timedelta(days=1)


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("Business time needs time-zone-aware datetimes.")
    return value.astimezone(UTC)


def add_business_time(start: dt.datetime, duration: dt.timedelta, calendar: BusinessCalendar) -> dt.datetime:
    """The earliest moment (in UTC) by which `duration` of business time has passed since
    `start`. Zero business time has passed at `start` itself."""
    if duration < ZERO:
        raise ValueError("Duration must not be negative.")
    start = _aware(start)
    if duration == ZERO:
        return start
    remaining = duration
    for opens, closes in calendar.intervals_from(start):
        begin = max(opens, start)
        available = closes - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise ValueError("The calendar has no working time in the next five years.")


def business_time_between(start: dt.datetime, end: dt.datetime, calendar: BusinessCalendar) -> dt.timedelta:
    """Business time from `start` to `end` (negative when `end` comes first)."""
    start, end = _aware(start), _aware(end)
    if end < start:
        return -business_time_between(end, start, calendar)
    total = ZERO
    for opens, closes in calendar.intervals_from(start):
        if opens >= end:
            break
        total += min(closes, end) - max(opens, start)
    return total
