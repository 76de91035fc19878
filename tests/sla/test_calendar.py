"""Business time: two pure functions that agree exactly, across DST, holidays and weekends."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla.calendar import BusinessCalendar, add_business_time, business_time_between

UTC = dt.UTC
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"]
CLOSED = frozenset({dt.date(2026, 3, 30), dt.date(2026, 11, 2), dt.date(2026, 12, 25), dt.date(2026, 12, 28)})

calendars = st.builds(
    BusinessCalendar,
    time_zone=st.sampled_from(ZONES),
    workdays=st.sets(st.integers(0, 6), min_size=1).map(frozenset),
    opens=st.sampled_from([dt.time(0, 0), dt.time(8, 30), dt.time(9, 0), dt.time(1, 30)]),
    closes=st.sampled_from([dt.time(17, 0), dt.time(23, 59), dt.time(18, 15)]),
    closed_dates=st.sampled_from([frozenset(), CLOSED]),
)
# Around both 2026 DST changes in Europe and the US, and plain weeks.
moments = st.datetimes(
    min_value=dt.datetime(2026, 3, 1), max_value=dt.datetime(2026, 12, 31), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(hours=200))


@settings(max_examples=200, deadline=None)
@given(calendars, moments, durations)
def test_between_undoes_add_exactly(calendar, start, duration):
    end = add_business_time(start, duration, calendar)
    assert end >= start
    assert business_time_between(start, end, calendar) == duration


@settings(max_examples=200, deadline=None)
@given(calendars, moments, moments)
def test_add_of_between_never_overshoots(calendar, a, b):
    start, end = min(a, b), max(a, b)
    spent = business_time_between(start, end, calendar)
    assert spent >= dt.timedelta(0)
    assert business_time_between(end, start, calendar) == -spent
    reached = add_business_time(start, spent, calendar)
    assert reached <= end
    assert business_time_between(reached, end, calendar) == dt.timedelta(0)


@settings(max_examples=200, deadline=None)
@given(calendars, moments, durations, durations)
def test_add_is_monotonic_and_additive(calendar, start, d1, d2):
    first = add_business_time(start, d1, calendar)
    assert add_business_time(start, d1 + d2, calendar) >= first
    assert business_time_between(start, add_business_time(first, d2, calendar), calendar) == d1 + d2


BERLIN = BusinessCalendar(time_zone="Europe/Berlin")


def berlin(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.mark.parametrize(
    "start,hours,expected",
    [
        (berlin(2026, 11, 20, 16, 30), 8, berlin(2026, 11, 23, 16, 30)),  # Friday 16:30 → Monday 16:30
        (berlin(2026, 11, 21, 11, 0), 1, berlin(2026, 11, 23, 10, 0)),  # Saturday: starts Monday 9:00
        (berlin(2026, 11, 23, 7, 0), 8, berlin(2026, 11, 23, 17, 0)),  # before opening
        (berlin(2026, 11, 23, 18, 0), 0.5, berlin(2026, 11, 24, 9, 30)),  # after closing
        (berlin(2026, 3, 27, 16, 0), 2, berlin(2026, 3, 30, 10, 0)),  # across spring DST weekend
        (berlin(2026, 10, 23, 16, 0), 2, berlin(2026, 10, 26, 10, 0)),  # across autumn DST weekend
        (berlin(2026, 11, 2, 9, 0), 40, berlin(2026, 11, 6, 17, 0)),  # a whole working week
    ],
)
def test_hand_computed_deadlines(start, hours, expected):
    assert add_business_time(start, dt.timedelta(hours=hours), BERLIN) == expected.astimezone(UTC)


def test_closed_dates_are_skipped():
    calendar = BusinessCalendar(
        time_zone="Europe/Berlin", closed_dates=frozenset({dt.date(2026, 12, 24), dt.date(2026, 12, 25)})
    )
    due = add_business_time(berlin(2026, 12, 23, 16, 0), dt.timedelta(hours=2), calendar)
    assert due == berlin(2026, 12, 28, 10, 0).astimezone(UTC)
    assert business_time_between(
        berlin(2026, 12, 23, 16, 0), berlin(2026, 12, 28, 10, 0), calendar
    ) == dt.timedelta(hours=2)


def test_naive_datetimes_and_bad_calendars_are_refused():
    with pytest.raises(ValueError):
        add_business_time(dt.datetime(2026, 1, 1), dt.timedelta(hours=1), BERLIN)
    with pytest.raises(ValueError):
        BusinessCalendar(opens=dt.time(17), closes=dt.time(9))
    with pytest.raises(ValueError):
        BusinessCalendar(workdays=frozenset())


day_hours = st.lists(
    st.tuples(
        st.integers(0, 6),
        st.sampled_from([dt.time(0, 0), dt.time(7, 0), dt.time(9, 30), dt.time(13, 0)]),
        st.sampled_from([dt.time(14, 0), dt.time(17, 45), dt.time(23, 59)]),
    ),
    min_size=1,
    max_size=7,
    unique_by=lambda t: t[0],
).map(tuple)
rich_calendars = st.builds(
    BusinessCalendar,
    time_zone=st.sampled_from(ZONES),
    day_hours=day_hours,
    closed_dates=st.sampled_from([frozenset(), CLOSED]),
    holiday_country=st.sampled_from(["", "DE", "US", "IN"]),
)


@settings(max_examples=200, deadline=None)
@given(rich_calendars, moments, durations)
def test_per_day_hours_and_public_holidays_stay_exact(calendar, start, duration):
    end = add_business_time(start, duration, calendar)
    assert business_time_between(start, end, calendar) == duration
    if duration:
        local = end.astimezone(calendar.tz)
        # The deadline falls inside working time of an open day (or at its very end).
        day = local.date()
        hours = calendar.hours_on(day.weekday())
        assert hours is not None and not calendar.is_closed(day)
        assert hours[0] <= local.time().replace(tzinfo=None) <= hours[1]


def test_public_holidays_and_short_fridays():
    berlin = BusinessCalendar(
        time_zone="Europe/Berlin",
        day_hours=(
            (0, dt.time(9), dt.time(17)),
            (1, dt.time(9), dt.time(17)),
            (2, dt.time(9), dt.time(17)),
            (3, dt.time(9), dt.time(17)),
            (4, dt.time(9), dt.time(13)),
        ),
        holiday_country="DE",
        holiday_subdivision="BE",
    )
    # Handed off Thursday 30 Apr 2026 16:00 Berlin; 1 May is a holiday; Friday hours are short.
    start = dt.datetime(2026, 4, 30, 16, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    due = add_business_time(start, dt.timedelta(hours=8), berlin)
    # 1 h Thursday, Friday 1 May closed, Monday 4 May 09:00 + 7 h = 16:00.
    assert due == dt.datetime(2026, 5, 4, 16, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    # Friday 8 May: 4 hours only.
    friday = dt.datetime(2026, 5, 8, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert add_business_time(friday, dt.timedelta(hours=5), berlin) == dt.datetime(
        2026, 5, 11, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")
    )
