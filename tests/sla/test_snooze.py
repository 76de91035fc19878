"""A rep snoozes an SQL's follow-up to the day the lead asked for: audited, deadline moved."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from leads import services
from leads.models import EventType, LeadEvent
from sla.models import Clock, Obligation
from sla.services import sla_enforce
from smarketing.core.errors import ActionError

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_10 = dt.datetime(2026, 11, 16, 10, 0, tzinfo=BERLIN)


@pytest.fixture
def sql(org, make_lead):
    with time_machine.travel(MONDAY_10, tick=False):
        lead = services.lead_qualify(lead_id=make_lead().pk, actor=org.marketer)
        return services.lead_accept(lead_id=lead.pk, actor=org.rep)


def test_snooze_moves_the_deadline_and_is_audited(client, org, sql):
    clock = Clock.objects.get(lead=sql, obligation=Obligation.FOLLOW_UP)
    assert clock.due_at == dt.datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)  # 5 business days
    client.force_login(org.rep)
    with time_machine.travel(MONDAY_10 + dt.timedelta(days=1), tick=False):  # Tuesday 10:00, 4 days left
        response = client.post(
            f"/leads/{sql.pk}/act/snooze/",
            {"version": sql.version, "until": "2026-12-07", "reason": "Asked to call after the budget round"},
        )
    assert response.status_code == 302
    clock.refresh_from_db()
    # 32 business hours left, counting from Monday 7 Dec 09:00 → Thursday 10 Dec 17:00.
    assert clock.due_at == dt.datetime(2026, 12, 10, 17, 0, tzinfo=BERLIN)
    assert clock.snoozed_until == dt.date(2026, 12, 7)
    event = LeadEvent.objects.get(lead=sql, type=EventType.SNOOZED)
    assert event.actor == org.rep and event.note == "Asked to call after the budget round"
    assert event.data["until"] == "2026-12-07" and event.data["old_due"].startswith("2026-11-23")
    # The old deadline passing does nothing now.
    assert sla_enforce(now=dt.datetime(2026, 11, 24, 12, 0, tzinfo=BERLIN)).breached == 0


@pytest.mark.parametrize(
    "who, until, reason, message",
    [
        ("marketer", "2026-12-07", "x", "only the owner rep"),
        ("other_rep", "2026-12-07", "x", "only the owner rep"),
        ("rep", "2026-11-10", "x", "after today"),
        ("rep", "2027-06-01", "x", "90 days"),
        ("rep", "2026-12-07", "", "Say why"),
    ],
)
def test_bad_snoozes_are_refused(org, sql, who, until, reason, message):
    before = Clock.objects.get(lead=sql, obligation=Obligation.FOLLOW_UP).due_at
    with (
        time_machine.travel(MONDAY_10 + dt.timedelta(days=1), tick=False),
        pytest.raises(ActionError) as refused,
    ):
        services.lead_snooze(
            lead_id=sql.pk, actor=getattr(org, who), until=dt.date.fromisoformat(until), reason=reason
        )
    assert message in refused.value.message
    assert Clock.objects.get(lead=sql, obligation=Obligation.FOLLOW_UP).due_at == before
    assert not LeadEvent.objects.filter(type=EventType.SNOOZED).exists()


def test_snooze_api(org, sql):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(org.rep)
    with time_machine.travel(MONDAY_10 + dt.timedelta(days=1), tick=False):
        ok = api.post(
            f"/api/leads/{sql.pk}/snooze/", {"until": "2026-12-01", "reason": "Travelling"}, format="json"
        )
        assert ok.status_code == 200, ok.json()
        stale = api.post(
            f"/api/leads/{sql.pk}/snooze/",
            {"until": "2026-12-02", "reason": "x", "version": 1},
            format="json",
        )
    assert stale.status_code == 409
