"""Weeks are the organisation's (DESIGN: an ISO week in the organisation's time zone), for
every viewer: two managers in different zones see the same week on their pages."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from leads import selectors
from sla import services as sla_services
from sla.models import Clock

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")  # the organisation's zone in the tests
MONDAY_0030 = dt.datetime(2026, 11, 23, 0, 30, tzinfo=BERLIN)  # Sunday 15:30 in Los Angeles


@pytest.mark.parametrize("viewer_zone", ["Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo"])
def test_this_week_starts_on_the_organisations_monday_for_every_viewer(viewer_zone):
    with timezone.override(ZoneInfo(viewer_zone)):
        assert selectors.week_start(MONDAY_0030) == dt.datetime(2026, 11, 23, tzinfo=BERLIN)


@pytest.mark.parametrize("viewer_zone", ["Europe/Berlin", "America/Los_Angeles"])
def test_a_marketers_hand_offs_of_a_week_are_the_same_for_every_viewer(org, make_mql, viewer_zone):
    with time_machine.travel(MONDAY_0030, tick=False):
        lead = make_mql()
    with timezone.override(ZoneInfo(viewer_zone)):
        this_week = list(selectors.handoffs(org.marketer, week_of=dt.date(2026, 11, 23)))
        last_week = list(selectors.handoffs(org.marketer, week_of=dt.date(2026, 11, 16)))
    assert [row.lead_id for row in this_week] == [lead.pk]
    assert last_week == []


@pytest.mark.parametrize("viewer_zone", ["Europe/Berlin", "America/Los_Angeles"])
def test_breaches_this_week_are_those_due_this_week_for_every_viewer(org, make_mql, viewer_zone):
    """A breach counts in the week it fell due, as SLA compliance counts it, even when the
    enforcement run that detected it came in the next week (after an outage)."""
    with time_machine.travel(dt.datetime(2026, 11, 20, 15, 0, tzinfo=BERLIN), tick=False):  # Friday
        late = make_mql(email="late@example.com")
    due = Clock.objects.get(lead=late).due_at  # Monday 15:00
    with time_machine.travel(dt.datetime(2026, 11, 13, 15, 0, tzinfo=BERLIN), tick=False):
        old = make_mql(email="old@example.com")
    # The worker was down: both breaches are detected on Monday 16:00.
    sla_services.sla_enforce(now=due + dt.timedelta(hours=1))
    with timezone.override(ZoneInfo(viewer_zone)), time_machine.travel(due + dt.timedelta(hours=2)):
        listed = [clock.lead_id for clock in selectors.breaches_this_week(org.sales)]
    assert listed == [late.pk]
    assert Clock.objects.get(lead=old).breached_at == due + dt.timedelta(hours=1)
