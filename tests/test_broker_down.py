"""Redis down: a person's action is recorded, the work it queues is kept, and it is sent
once the broker answers again."""

from __future__ import annotations

import pytest

from leads.models import LeadEvent, Stage
from smarketing.celery import app
from smarketing.core.models import DeferredTask
from smarketing.notifications.models import Notification, NotificationKind

NOWHERE = "redis://127.0.0.1:9/0"  # nothing listens on the discard port


@pytest.fixture
def broker_down():
    """The app's broker is an address nothing answers at; tasks are sent, not run inline."""
    eager, url = app.conf.task_always_eager, app.conf.broker_write_url

    def forget_connections():  # pools made earlier (a real worker's tests) keep their broker
        app._pool = None
        app.amqp._producer_pool = None

    # Producers connect with broker_write_url (it defaults to the broker's URL).
    app.conf.task_always_eager, app.conf.broker_write_url = False, NOWHERE
    forget_connections()
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.broker_write_url = eager, url
        forget_connections()


def test_handoff_is_recorded_while_the_broker_is_down_and_its_notification_follows(
    client, org, make_lead, broker_down, django_capture_on_commit_callbacks
):
    lead = make_lead()
    client.force_login(org.marketer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/leads/{lead.pk}/act/qualify/", {"version": lead.version})
    assert response.status_code == 302  # not a server error
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL and lead.owner == org.rep
    event = LeadEvent.objects.get(lead=lead, type="qualified")
    kept = list(DeferredTask.objects.values_list("name", "args"))
    assert ("leads.tasks.notifications_for_event", [event.pk]) in kept
    assert not Notification.objects.filter(kind=NotificationKind.MQL_ASSIGNED).exists()

    # Still down: the beat job sends nothing and keeps the rows, counting the attempt.
    from smarketing.core.queue import deferred_send

    assert deferred_send() == 0
    assert DeferredTask.objects.get(args=[event.pk]).attempts == 1

    # The broker is back (here: tasks run in-process, as the worker would run them).
    app.conf.task_always_eager = True
    sent = deferred_send()
    assert sent == len(kept) and not DeferredTask.objects.exists()
    assigned = Notification.objects.get(kind=NotificationKind.MQL_ASSIGNED)
    assert assigned.recipient == org.rep and assigned.lead == lead
