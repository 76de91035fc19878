"""The organisation's week: an ISO week (Monday start) in SMARKETING_TIME_ZONE, as DESIGN.md
defines it for every report and for marketing's weekly commitment."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def org_tz() -> ZoneInfo:
    return ZoneInfo(settings.SMARKETING_TIME_ZONE)


def monday_of(moment: dt.datetime | dt.date | None = None) -> dt.date:
    """The Monday of the ISO week holding `moment` (now by default), in the org's zone."""
    moment = moment or timezone.now()
    day = moment.astimezone(org_tz()).date() if isinstance(moment, dt.datetime) else moment
    return day - dt.timedelta(days=day.weekday())


def week_range(first: dt.date, last: dt.date | None = None) -> tuple[dt.datetime, dt.datetime]:
    """From Monday 00:00 of `first`'s week to Monday 00:00 after `last`'s (default: the
    same week), in the org's zone."""
    tz = org_tz()
    start = dt.datetime.combine(monday_of(first), dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(monday_of(last or first) + dt.timedelta(days=7), dt.time(0), tzinfo=tz)
    return start, end
