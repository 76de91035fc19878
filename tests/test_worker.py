"""A real Celery worker (and beat) in a separate process, on the configured broker
(see tests/workers.py): beat runs the enforcement, the worker delivers notifications."""

from __future__ import annotations

import pytest

from leads import services
from leads.models import Notification, NotificationKind
from sla.models import EnforcementRun
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
