"""Business time: the only time an SLA clock counts.

Two pure functions that agree with each other exactly:

    business_time_between(start, add_business_time(start, d, cal), cal) == d

A calendar is a time zone, working days, working hours and closed dates. Working hours
are wall-clock hours in the calendar's zone, so a DST change moves them with the clock
on the wall, as people expect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

UTC = dt.UTC
ZERO = dt.timedelta(0)
# A calendar with no working day at all would make add_business_time loop for ever.
MAX_SEARCH_DAYS = 366 * 5


@dataclass(frozen=True)
class BusinessCalendar:
    time_zone: str = "UTC"
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    opens: dt.time = dt.time(9, 0)
    closes: dt.time = dt.time(17, 0)
    closed_dates: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValueError("Working hours must close after they open.")
        if not self.workdays:
            raise ValueError("A calendar needs at least one working day.")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def interval(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The working interval of a local date, in UTC, or None when closed."""
        if day.weekday() not in self.workdays or day in self.closed_dates:
            return None
        tz = self.tz
        start = dt.datetime.combine(day, self.opens, tzinfo=tz).astimezone(UTC)
        end = dt.datetime.combine(day, self.closes, tzinfo=tz).astimezone(UTC)
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
