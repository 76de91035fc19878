"""Faults on real processes: the Celery worker killed with SIGKILL in the middle of an SLA
run. PostgreSQL and a real worker only. (Redis down: tests/test_broker_down.py; PostgreSQL
restarted under gunicorn, Redis stopped for a minute: scripts/faults.py.)"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from leads.models import Notification, NotificationKind
from sla.models import Clock
from tests.workers import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def other_connection():
    import psycopg2

    db = connection.settings_dict
    return psycopg2.connect(
        dbname=db["NAME"],
        user=db["USER"] or "postgres",
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
    )


def waiting_on_a_lock(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE %s",
            [f'UPDATE "{table}"%'],
        )
        return cursor.fetchone()[0] > 0


def test_worker_killed_mid_enforcement_loses_and_doubles_no_breach(
    require_postgres, org, make_mql, start_worker
):
    leads = [make_mql() for _ in range(8)]
    clocks = list(Clock.objects.filter(lead__in=leads, obligation="response").order_by("pk"))
    assert len(clocks) == 8
    overdue = timezone.now() - dt.timedelta(hours=1)
    for i, clock in enumerate(clocks):  # all overdue, breached in this order
        Clock.objects.filter(pk=clock.pk).update(
            started_at=overdue - dt.timedelta(hours=2), due_at=overdue + dt.timedelta(seconds=i), warn_at=None
        )
    ids = [clock.pk for clock in clocks]

    def breached() -> int:
        return Clock.objects.filter(pk__in=ids, breached_at__isnull=False).count()

    # Hold the fifth clock's row: the worker records four breaches, then waits on it.
    blocker = other_connection()
    blocker.cursor().execute("SELECT id FROM sla_clock WHERE id = %s FOR UPDATE", [ids[4]])
    first = start_worker()
    wait_for(lambda: breached() == 4 and waiting_on_a_lock("sla_clock"), what="four breaches, then the lock")
    first.kill()  # SIGKILL, in the middle of the run
    first.wait(timeout=10)
    blocker.rollback()
    blocker.close()

    start_worker()  # a new worker picks up where the dead one stopped
    wait_for(lambda: breached() == 8, timeout=60, what="the other breaches after the restart")
    wait_for(
        lambda: (
            not Notification.objects.filter(
                kind=NotificationKind.SLA_BREACH, emailed_at__isnull=True
            ).exists()
        ),
        what="the breach emails",
    )

    breach_notes = Notification.objects.filter(kind=NotificationKind.SLA_BREACH)
    per_clock = {}
    for key, recipient in breach_notes.values_list("dedupe_key", "recipient"):
        per_clock.setdefault(key, []).append(recipient)
    assert set(per_clock) == {f"clock:{pk}" for pk in ids}  # none lost
    assert all(len(people) == len(set(people)) for people in per_clock.values())  # none doubled
    assert len({len(people) for people in per_clock.values()}) == 1  # the same people for each
    assert not breach_notes.filter(email_claimed_at__isnull=True).exists()
