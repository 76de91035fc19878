"""SLA enforcement with a real Celery worker and beat (Redis and PostgreSQL in CI): the
warning, the breach, the escalation and the notifications each happen exactly once, and
deadlines that pass while no worker runs are recorded, once, with their true due time."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from leads import services
from leads.models import Lead, Stage
from sla import calendars
from sla.models import BreachAction, Clock, SlaPolicy
from smarketing.notifications.models import Notification, NotificationKind
from tests.workers import stop_worker, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ALWAYS_OPEN = {str(day): ["00:00", "23:59"] for day in range(7)}


@pytest.fixture
def fast_policy(org):
    """Deadlines seconds away: a sales calendar open all day, every day, and a policy
    with a 12-second response time (warn at a third of it), escalating and reassigning."""
    calendars.team_calendar_update(actor=org.sales_manager, team_id=org.sales.pk, hours=ALWAYS_OPEN)
    return SlaPolicy.objects.create(
        name="Seconds",
        priority=0,
        response_hours=round(12 / 3600, 3),
        warn_percents=[30],
        on_breach=BreachAction.REASSIGN,
        escalate_to_manager=True,
    )


def _counts(lead, kind):
    return sorted(
        Notification.objects.filter(lead=lead, kind=kind).values_list("recipient__username", flat=True)
    )


def test_warning_breach_escalation_and_notifications_once_each(org, make_lead, fast_policy, start_worker):
    org.rep2.membership.is_away = False
    org.rep2.membership.save()
    org.rep2.membership.assigned_count = 10  # routing picks `rep` first
    org.rep2.membership.save()
    start_worker()
    lead = make_lead(first_name="Sid", last_name="Seconds")
    lead = services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    assert lead.owner == org.rep
    first = Clock.objects.get(lead=lead)
    assert first.due_at - first.started_at < dt.timedelta(seconds=30)

    # The warning, then the breach, escalation and reassignment, by the worker and beat.
    wait_for(lambda: Clock.objects.filter(pk=first.pk, warnings_sent=1).exists(), what="the warning")
    wait_for(lambda: Clock.objects.filter(pk=first.pk, breached_at__isnull=False).exists(), what="the breach")
    wait_for(lambda: Lead.objects.get(pk=lead.pk).owner_id == org.rep2.pk, what="the reassignment")
    wait_for(
        lambda: not Notification.objects.filter(lead=lead, emailed_at__isnull=True).exists(),
        what="every notification to be emailed",
    )
    time.sleep(3)  # several more beat runs: nothing may happen twice
    first.refresh_from_db()
    assert first.owner == org.rep and first.breached_at >= first.due_at and first.warnings_sent == 1
    assert _counts(lead, NotificationKind.SLA_WARNING) == ["rep"]
    assert _counts(lead, NotificationKind.SLA_BREACH) == ["rep", "smanager"]
    assert _counts(lead, NotificationKind.MQL_ASSIGNED) == ["rep", "rep2"]
    new_clock = Clock.objects.exclude(pk=first.pk).get(lead=lead)
    assert new_clock.owner == org.rep2 and new_clock.started_at >= first.due_at
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL


def test_deadlines_missed_while_the_worker_was_down_are_recorded_once(
    org, make_lead, fast_policy, start_worker
):
    SlaPolicy.objects.filter(pk=fast_policy.pk).update(on_breach=BreachAction.NOTIFY, response_hours=0.001)
    worker = start_worker()
    wait_for(lambda: True, timeout=1)
    stop_worker(worker)  # the worker (and beat) are down
    leads = [services.lead_qualify(lead_id=make_lead().pk, actor=org.marketer) for _ in range(3)]
    clocks = list(Clock.objects.filter(lead__in=leads))
    latest_due = max(c.due_at for c in clocks)
    while dt.datetime.now(dt.UTC) < latest_due + dt.timedelta(seconds=2):
        time.sleep(0.5)
    assert not Clock.objects.filter(pk__in=[c.pk for c in clocks], breached_at__isnull=False).exists()

    start_worker()  # back up: the first runs find what fell due meanwhile
    wait_for(
        lambda: Clock.objects.filter(pk__in=[c.pk for c in clocks], breached_at__isnull=False).count() == 3,
        what="the missed breaches",
    )
    time.sleep(3)
    for clock in clocks:
        after = Clock.objects.get(pk=clock.pk)
        assert after.due_at == clock.due_at  # the true deadline is kept
        assert after.breached_at > after.due_at + dt.timedelta(seconds=1)  # detected later, and said so
        assert _counts(after.lead, NotificationKind.SLA_BREACH) == ["rep", "smanager"]
