"""A real Celery worker (and beat) in a separate process, on the configured broker
(see tests/workers.py): beat runs the enforcement, the worker delivers notifications."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from leads import services
from leads.models import Lead
from reports.digest import digest_week
from reports.models import DigestRun, WeekSnapshot
from reports.tasks import reports_freeze_weeks, reports_send_digest
from sla.models import EnforcementRun
from smarketing.core.weeks import monday_of
from smarketing.notifications.models import Notification, NotificationKind
from tests.workers import wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_beat_runs_sla_enforcement_on_schedule(worker):
    # Given a worker with beat every second, when we wait, then enforcement runs repeatedly.
    runs = wait_for(
        lambda: EnforcementRun.objects.filter(finished_at__isnull=False).count() >= 2,
        what="two SLA enforcement runs from beat",
    )
    assert runs
    assert worker.poll() is None, "the worker died"


def test_hand_off_notification_is_delivered_by_the_worker(worker, org, make_lead):
    # Given a lead that passes the hand-off gate
    lead = make_lead(first_name="Wanda", last_name="Worker")
    # When marketing hands it off (the notification task is queued after commit)
    services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    # Then the real worker creates the rep's notification once and emails it
    notification = wait_for(
        lambda: Notification.objects.filter(
            recipient=org.rep, kind=NotificationKind.MQL_ASSIGNED, lead=lead, emailed_at__isnull=False
        ).first(),
        what="the mql_assigned notification to be emailed",
    )
    assert "Wanda Worker" in notification.subject
    assert Notification.objects.filter(lead=lead, kind=NotificationKind.MQL_ASSIGNED).count() == 1


def test_worker_freezes_last_week_and_sends_its_digest_once(worker, org, make_lead):
    # Given a lead created last week
    last_monday = monday_of(None) - dt.timedelta(weeks=1)
    lead = make_lead()
    Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now() - dt.timedelta(days=7))
    # When the beat's jobs run on the real worker, twice each
    reports_freeze_weeks.delay()
    reports_freeze_weeks.delay()
    # Then last week is frozen, once
    wait_for(lambda: WeekSnapshot.objects.exists(), what="last week to be frozen by the worker")
    assert list(WeekSnapshot.objects.values_list("week_start", flat=True)) == [last_monday]
    if digest_week(timezone.now()) is None:
        return  # Monday before 07:00 org time: the digest is not due yet (tested with a fixed clock elsewhere)
    reports_send_digest.delay()
    reports_send_digest.delay()
    people = wait_for(lambda: DigestRun.objects.first(), what="last week's digest to be sent").recipients
    assert people >= 6
    emailed = wait_for(
        lambda: (
            Notification.objects.filter(kind=NotificationKind.WEEKLY_DIGEST, emailed_at__isnull=False).count()
            == people
            or None
        ),
        what="every digest to be emailed by the worker",
    )
    assert emailed
    assert DigestRun.objects.get().week_start == last_monday  # once, whatever the second run did
    assert Notification.objects.filter(kind=NotificationKind.WEEKLY_DIGEST).count() == people
