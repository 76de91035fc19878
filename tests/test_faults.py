"""Faults on real processes: the Celery worker killed with SIGKILL in the middle of an SLA
run. PostgreSQL and a real worker only. (Redis down: tests/test_broker_down.py; PostgreSQL
restarted under gunicorn, Redis stopped for a minute: scripts/faults.py.)"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from sla.models import Clock
from smarketing.intake import run as intake_run
from smarketing.notifications.models import Notification, NotificationKind
from tests.workers import kill_worker, wait_for

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


def waiting_on_a_lock_for(table: str) -> bool:
    """Another session waits for a row of `table` (any statement naming it)."""
    return _lock_waiters(f'%"{table}"%') > 0


def _lock_waiters(pattern: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE %s",
            [pattern],
        )
        return cursor.fetchone()[0]


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

    # Hold the fifth clock's row: the worker's run locks the batch in deadline order and
    # waits on it, in the middle of its one transaction (nothing recorded yet).
    blocker = other_connection()
    blocker.cursor().execute("SELECT id FROM sla_clock WHERE id = %s FOR UPDATE", [ids[4]])
    first = start_worker()
    wait_for(
        lambda: waiting_on_a_lock_for("sla_clock") and breached() == 0, what="the run waiting on the lock"
    )
    kill_worker(first)  # SIGKILL, in the middle of the run
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


def test_worker_killed_mid_import_the_watchdog_resumes_it_each_row_once(
    require_postgres, org, start_worker, monkeypatch, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from leads.models import Lead
    from smarketing.intake import imports
    from smarketing.intake.models import ImportJob, ImportStatus

    # The worker reads the file from the database (no folder shared); its watchdog looks
    # every second and calls a job stalled after 3 s without a sign of life.
    monkeypatch.setenv("IMPORT_WATCHDOG_EVERY_SECONDS", "1")
    monkeypatch.setenv("IMPORT_STALLED_AFTER_SECONDS", "3")
    # Twelve chunks (the last one short): enough that the import cannot finish between its
    # first chunk and the moment the blocker below takes the job row.
    rows = 12 * intake_run.CHUNK_ROWS - 200
    text = "Email,Company\n" + "".join(f"k{i}@kill.example,Acme\n" for i in range(rows))
    job = imports.import_upload(actor=org.marketer, uploaded=SimpleUploadedFile("big.csv", text.encode()))

    def done_rows() -> int:
        return ImportJob.objects.get(pk=job.pk).rows_done

    first = start_worker()
    blocker = other_connection()
    imports.import_start(actor=org.marketer, job_id=job.pk)
    wait_for(lambda: done_rows() >= intake_run.CHUNK_ROWS, what="the first chunk")
    # Hold the job row: the worker's next chunk commits its leads only after it gets it.
    try:
        blocker.cursor().execute("SELECT id FROM leads_importjob WHERE id = %s FOR UPDATE", [job.pk])
        wait_for(lambda: waiting_on_a_lock_for("leads_importjob"), what="the worker waiting on the job row")
        kill_worker(first)  # SIGKILL in the middle of the import
    finally:
        blocker.rollback()
        blocker.close()
    stuck = ImportJob.objects.get(pk=job.pk)
    assert stuck.status == ImportStatus.RUNNING and 0 < stuck.rows_done < rows

    start_worker()  # its watchdog finds the stalled job and queues it again
    wait_for(
        lambda: ImportJob.objects.get(pk=job.pk).status == ImportStatus.DONE, timeout=90, what="the import"
    )
    finished = ImportJob.objects.get(pk=job.pk)
    assert (finished.rows_done, finished.created_count, finished.failed_count) == (rows, rows, 0)
    emails = list(Lead.objects.filter(email__endswith="@kill.example").values_list("email", flat=True))
    assert len(emails) == len(set(emails)) == rows  # every row once
