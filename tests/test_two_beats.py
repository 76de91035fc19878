"""Two beats double nothing (docs/architecture.md, "Two beats").

A second host started from the same compose file runs a second beat, and every periodic
task is sent twice at the same moment. Here each beat job runs twice at once, in two
threads with a connection each, against a state with work to do; every breach, warning,
notification, email, recorded week, snapshot, digest, restart, sent task and rollup row
exists once afterwards. Each job is run with the job lock (smarketing.core.locks: the
second run returns at once) and without it (the lock bypassed: the data alone must make
the second run harmless). Last, two real `celery beat` processes and two real workers,
one pair per "host", against due clocks.

PostgreSQL: on SQLite one writing transaction runs at a time and `select_for_update` does
nothing, so two runs at once mean nothing there (skipped; a failure in CI, where
SMARKETING_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from leads import scoring
from leads.models import Lead
from leads.tasks import leads_rescore_pending
from reports import commitments, rollups
from reports.models import CommitmentWeek, DigestRun, DirtyLead, FunnelRollup, WeekSnapshot
from reports.tasks import (
    commitments_close_weeks,
    reports_freeze_weeks,
    reports_rollups_catch_up,
    reports_send_digest,
)
from sla.models import Clock, EnforcementRun
from sla.tasks import sla_enforce
from smarketing.core import locks
from smarketing.core.models import DeferredTask
from smarketing.core.tasks import deferred_tasks_send
from smarketing.core.weeks import monday_of
from smarketing.intake import tasks as intake_tasks
from smarketing.intake.models import ImportJob, ImportStatus
from smarketing.notifications.models import Notification, NotificationKind
from smarketing.notifications.tasks import notification_email, notifications_deliver_pending
from tests.conftest import need
from tests.reports.history import W3, at, make_history
from tests.workers import _database_url, stop_worker

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=["with the lock", "without the lock"])
def lock(request, monkeypatch, require_postgres):
    """Each job twice: once with the job lock, once with it bypassed (every run goes ahead)."""
    if request.param == "without the lock":
        monkeypatch.setattr(locks, "_try_lock", lambda key: True)
        monkeypatch.setattr(locks, "_unlock", lambda name, key: None)
    return request.param


def twice(job) -> list:
    """Run `job` in two threads released at the same moment, each on its own connection
    (as two workers would); their results."""
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def run(i: int) -> None:
        try:
            barrier.wait(30)
            results[i] = job()
        except BaseException as exc:  # surfaced below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a run did not finish"
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    return results


def once_each(queryset, *fields) -> int:
    """Every row of `queryset` is alone with its `fields`; returns how many there are."""
    doubled = queryset.values(*fields).annotate(n=Count("pk")).filter(n__gt=1)
    assert not doubled.exists(), list(doubled)
    return queryset.count()


def emailed_once(mailoutbox, notifications) -> None:
    """Each notification emailed, once: one message per recipient and subject, no more."""
    sent = Counter((m.to[0], m.subject) for m in mailoutbox)
    assert all(n == 1 for n in sent.values()), [k for k, n in sent.items() if n > 1]
    expected = Counter((n.recipient.email, n.subject) for n in notifications.select_related("recipient"))
    assert sent == expected
    assert not notifications.filter(emailed_at__isnull=True).exists()
    assert set(notifications.values_list("email_attempts", flat=True)) == {1}


# --- SLA enforcement ---------------------------------------------------------------------------------


@pytest.fixture
def due_clocks(org, make_mql, mailoutbox):
    """Three MQLs past their response deadline and three past their first warning."""
    now = timezone.now()
    leads = [make_mql(last_name=f"Due{n}") for n in range(6)]
    clocks = [Clock.objects.running().get(lead=lead) for lead in leads]
    for clock in clocks[:3]:
        Clock.objects.filter(pk=clock.pk).update(
            started_at=now - dt.timedelta(hours=30), due_at=now - dt.timedelta(hours=1), warn_at=None
        )
    for clock in clocks[3:]:
        Clock.objects.filter(pk=clock.pk).update(
            started_at=now - dt.timedelta(hours=2),
            due_at=now + dt.timedelta(hours=3),
            warn_percents=[50, 80],
            warnings_sent=0,
            warn_at=now - dt.timedelta(minutes=1),
        )
    Notification.objects.all().delete()  # the hand-offs' own; what follows is enforcement's
    mailoutbox.clear()
    return [c.pk for c in clocks[:3]], [c.pk for c in clocks[3:]]


def assert_enforced_once(breach_ids, warn_ids, mailoutbox) -> None:
    assert Clock.objects.filter(pk__in=breach_ids, breached_at__isnull=False).count() == 3
    assert (
        Clock.objects.filter(pk__in=warn_ids, warned_at__isnull=False, breached_at__isnull=True).count() == 3
    )
    breaches = Notification.objects.filter(kind=NotificationKind.SLA_BREACH)
    warnings = Notification.objects.filter(kind=NotificationKind.SLA_WARNING)
    once_each(breaches, "recipient", "dedupe_key")
    once_each(warnings, "recipient", "dedupe_key")
    assert set(breaches.values_list("dedupe_key", flat=True)) == {f"clock:{pk}" for pk in breach_ids}
    assert {key.split(":")[1] for key in warnings.values_list("dedupe_key", flat=True)} == {
        str(pk) for pk in warn_ids
    }
    assert warnings.count() == 3  # to the owner only
    if mailoutbox is not None:
        emailed_once(mailoutbox, Notification.objects.all())


def test_sla_enforcement_twice_at_once(lock, due_clocks, mailoutbox):
    breach_ids, warn_ids = due_clocks
    results = twice(sla_enforce)
    assert sum(r["breached"] for r in results) == 3 and sum(r["warned"] for r in results) == 3
    assert_enforced_once(breach_ids, warn_ids, mailoutbox)
    assert sla_enforce() == {"warned": 0, "breached": 0}  # and a third run finds nothing


# --- marketing's finished weeks --------------------------------------------------------------------


def test_commitment_weeks_twice_at_once(lock, org, mailoutbox):
    # Terms in force for the last four weeks, and no hand-off: every finished week missed.
    with time_machine.travel(timezone.now() - dt.timedelta(days=29), tick=False):
        commitments.commitment_update(
            actor=org.marketing_manager,
            team_id=org.marketing.pk,
            min_mqls=3,
            min_acceptance_percent=50,
            is_active=True,
        )
    results = twice(commitments_close_weeks)
    recorded = once_each(CommitmentWeek.objects.all(), "team", "week_start")
    assert recorded >= 3 and sum(results) == recorded  # no week counted by both runs
    told = Notification.objects.filter(dedupe_key__startswith="commitment:")
    assert once_each(told, "recipient", "dedupe_key") == CommitmentWeek.objects.filter(met=False).count()
    emailed_once(mailoutbox, told)
    assert commitments_close_weeks() == 0


# --- re-scoring --------------------------------------------------------------------------------------


def test_rescore_twice_at_once(lock, default_rules, make_lead, monkeypatch):
    leads = [make_lead(last_name=f"Stale{n}") for n in range(8)]
    Lead.objects.update(scored_version=0)  # scored under an older definition
    written: list[int] = []
    record = scoring.auto_qualify_if_due  # called once per lead the conditional UPDATE wrote

    def spy(lead, scorer):
        written.append(lead.pk)
        return record(lead, scorer)

    monkeypatch.setattr(scoring, "auto_qualify_if_due", spy)
    results = twice(leads_rescore_pending)
    assert max(results) == len(leads)
    assert sorted(written) == sorted(lead.pk for lead in leads)  # each lead written once
    assert not Lead.objects.filter(scored_version__lt=default_rules.version).exists()


# --- the notification outbox ------------------------------------------------------------------------


def test_notification_delivery_twice_at_once(lock, org, mailoutbox):
    long_ago = timezone.now() - dt.timedelta(minutes=10)  # their email task never ran
    for n, user in enumerate([org.rep, org.rep2, org.sales_manager, org.marketer] * 3):
        Notification.objects.create(
            recipient=user,
            kind=NotificationKind.SLA_WARNING,
            dedupe_key=f"outbox:{n}",
            subject=f"Waiting {n}",
            body="Kept in the outbox.",
            created_at=long_ago,
        )
    results = twice(notifications_deliver_pending)
    assert sum(results) == 12  # each email sent by one run only
    emailed_once(mailoutbox, Notification.objects.all())
    assert notifications_deliver_pending() == 0


# --- tasks kept while the broker was down -----------------------------------------------------------


def test_deferred_tasks_twice_at_once(lock, org, mailoutbox, monkeypatch):
    ids = [
        Notification.objects.create(
            recipient=user,
            kind=NotificationKind.SLA_WARNING,
            dedupe_key=f"kept:{n}",
            subject=f"Kept {n}",
            body=".",
        ).pk
        for n, user in enumerate([org.rep, org.rep2, org.marketer, org.sales_manager, org.other_rep])
    ]
    for pk in ids:
        DeferredTask.objects.create(name=notification_email.name, args=[pk])
    sent: list[int] = []
    task = notification_email._get_current_object()
    apply_async = task.apply_async

    def spy(args=None, **options):
        sent.append(args[0])
        return apply_async(args=args, **options)

    monkeypatch.setattr(task, "apply_async", spy)
    results = twice(deferred_tasks_send)
    assert sum(results) == 5 and sorted(sent) == sorted(ids)  # each kept task sent once
    assert not DeferredTask.objects.exists()
    emailed_once(mailoutbox, Notification.objects.all())


# --- the import watchdog ---------------------------------------------------------------------------


def test_import_watchdog_twice_at_once(lock, org, monkeypatch):
    dead = timezone.now() - dt.timedelta(seconds=settings.IMPORT_STALLED_AFTER_SECONDS + 60)
    job = ImportJob.objects.create(
        created_by=org.marketer,
        file_name="leads.csv",
        stored_path="imports/leads.csv",
        sha256="0" * 64,
        encoding="utf-8",
        delimiter=",",
        status=ImportStatus.RUNNING,
        heartbeat_at=dead,  # its worker died a while ago
    )
    queued: list = []
    task = intake_tasks.import_run._get_current_object()
    monkeypatch.setattr(task, "apply_async", lambda args=None, **options: queued.append(tuple(args)))
    twice(intake_tasks.imports_resume_stalled)
    assert queued == [(job.pk,)]  # queued again once, by whichever run claimed it
    job.refresh_from_db()
    assert job.heartbeat_at > dead
    assert intake_tasks.imports_resume_stalled() == 0


# --- the dashboard's rollups, frozen weeks and the digest -------------------------------------------


def test_rollups_catch_up_twice_at_once(lock, org, make_mql):
    for n in range(6):
        make_mql(last_name=f"Dirty{n}")
    dirty = DirtyLead.objects.count()
    assert dirty >= 6

    def state():
        rows = FunnelRollup.objects.exclude(leads=0, n=0, a=0, b=0, c=0, amount=0)
        return sorted(
            rows.values_list("kind", "week", "prev", "k1", "k2", "leads", "n", "a", "b", "c", "amount")
        )

    results = twice(reports_rollups_catch_up)
    assert sum(results) == dirty  # each changed lead refreshed by one run
    assert not DirtyLead.objects.exists()
    kept = state()
    once_each(FunnelRollup.objects.all(), "kind", "week", "prev", "k1", "k2")
    rollups.rebuild()  # a recount from scratch: nothing was added twice
    assert state() == kept


def test_freezing_weeks_twice_at_once(lock, org, make_lead):
    lead = make_lead()
    Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now() - dt.timedelta(weeks=3))
    current = monday_of(None)
    first = monday_of(timezone.now() - dt.timedelta(weeks=3))
    finished = [first + dt.timedelta(weeks=n) for n in range((current - first).days // 7)]
    results = twice(reports_freeze_weeks)
    assert sum(results) == len(finished) >= 3
    once_each(WeekSnapshot.objects.all(), "week_start")
    assert sorted(WeekSnapshot.objects.values_list("week_start", flat=True)) == finished
    assert reports_freeze_weeks() == 0


def test_the_digest_twice_at_once(lock, org, make_lead, reasons, mailoutbox):
    make_history(org, make_lead, reasons)
    Notification.objects.all().delete()
    mailoutbox.clear()
    with time_machine.travel(at(W3, 7, 17), tick=True):  # Monday 07:17: last week's digest is due
        results = twice(reports_send_digest)
    assert sorted(results) == [0, 8]  # sent by one run, to the eight people
    assert DigestRun.objects.get().recipients == 8
    digests = Notification.objects.filter(kind=NotificationKind.WEEKLY_DIGEST)
    assert once_each(digests, "recipient", "dedupe_key") == 8
    emailed_once(mailoutbox, digests)


# --- two real beats and two real workers ---------------------------------------------------------------

REDIS_DB = int(os.environ.get("SMARKETING_TWO_BEATS_REDIS_DB", "12"))
ROOT = Path(__file__).resolve().parent.parent


def _broker() -> str:
    """A Redis database of this test's own (db 12 by default) on the configured Redis, or
    the local one: its queues hold nothing but what the two beats send."""
    configured = settings.CELERY_BROKER_URL if settings.CELERY_BROKER_URL.startswith("redis://") else ""
    parts = urlsplit(configured or settings.REDIS_URL or "redis://127.0.0.1:6379/0")
    return f"redis://{parts.netloc}/{REDIS_DB}"


def _mail(var_dirs) -> list[tuple[str, str]]:
    """Every message the file email backends of both hosts wrote: its To and Subject."""
    messages = []
    for var in var_dirs:
        for path in sorted((var / "mail").glob("*.log")):
            for text in path.read_text().split("-" * 79):
                if text.strip():
                    message = email.message_from_string(text.strip(), policy=email.policy.default)
                    messages.append((str(message["To"]), str(message["Subject"])))
    return messages


@pytest.mark.services
def test_two_real_beats_and_workers_record_and_tell_each_thing_once(require_postgres, due_clocks, tmp_path):
    import redis

    broker = _broker()
    try:
        redis.Redis.from_url(broker).ping()
    except redis.RedisError as exc:
        need(False, f"Redis at {broker} is not reachable: {exc}")
    redis.Redis.from_url(broker).flushdb()  # this test's own db: nothing left from an earlier run
    breach_ids, warn_ids = due_clocks

    processes, var_dirs, logs = [], [], []
    for host in ("a", "b"):
        var = tmp_path / f"host-{host}"  # each host its own var dir: its own beat schedule file
        (var / "mail").mkdir(parents=True)
        var_dirs.append(var)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "smarketing.settings.local",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": broker,
            "SMARKETING_VAR_DIR": str(var),
            "EMAIL_URL": "filemail://",  # into SMARKETING_VAR_DIR/mail
            "SLA_ENFORCE_EVERY_SECONDS": "1",
            "IMPORT_WATCHDOG_EVERY_SECONDS": "1",
            "ROLLUPS_CATCH_UP_EVERY_SECONDS": "1",
            "DJANGO_DEBUG": "false",
        }
        celery = [sys.executable, "-m", "celery", "-A", "smarketing"]
        for role, command in (
            ("beat", [*celery, "beat", "--loglevel", "INFO"]),
            ("worker", [*celery, "worker", "-n", f"{host}@%h", "--concurrency", "2", "--loglevel", "INFO"]),
        ):
            log = tmp_path / f"{role}-{host}.log"
            logs.append(log)
            with open(log, "wb") as out:
                processes.append(
                    subprocess.Popen(
                        command,
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
    try:
        # Both beats send every second; let them race for 15 s once work is being done.
        deadline = time.monotonic() + 60
        while not EnforcementRun.objects.exists():
            assert time.monotonic() < deadline, "no enforcement run within a minute"
            assert all(p.poll() is None for p in processes), "a beat or worker died"
            time.sleep(0.25)
        time.sleep(15)
        deadline = time.monotonic() + 30
        while Notification.objects.filter(emailed_at__isnull=True).exists():
            assert time.monotonic() < deadline, "notifications not emailed within 30 s"
            time.sleep(0.25)
        assert all(p.poll() is None for p in processes), "a beat or worker died"
    finally:
        for process in processes:
            stop_worker(process)
        redis.Redis.from_url(broker).flushdb()
        for log in logs:
            print(f"--- {log.name}\n{log.read_text()[-3000:]}")

    # Both beats sent the enforcement, many times each ...
    for host in ("a", "b"):
        assert (tmp_path / f"beat-{host}.log").read_text().count("Sending due task sla-enforce") >= 10
        assert list((tmp_path / f"host-{host}").glob("celerybeat-schedule*"))  # in its own var dir
    # ... and each breach and warning was recorded once, told once, emailed once.
    runs = EnforcementRun.objects.all()
    assert (
        sum(runs.values_list("breached", flat=True)) == 3 and sum(runs.values_list("warned", flat=True)) == 3
    )
    assert_enforced_once(breach_ids, warn_ids, None)
    mail = Counter(_mail(var_dirs))
    assert all(n == 1 for n in mail.values()), [k for k, n in mail.items() if n > 1]
    expected = Counter(
        (n.recipient.email, n.subject) for n in Notification.objects.select_related("recipient")
    )
    assert mail == expected and len(mail) >= 6  # 3 breaches (to the rep, and the manager), 3 warnings
