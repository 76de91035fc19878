"""/metrics: Prometheus's view of the product (docs/operations.md)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from celery import signals
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from sla.models import Clock
from sla.services import sla_enforce
from sla.tasks import sla_enforce as sla_enforce_task
from smarketing.intake.models import ImportJob, ImportStatus
from smarketing.notifications.models import Notification, NotificationKind
from smarketing.notifications.services import notify
from smarketing.notifications.tasks import notifications_deliver_pending
from smarketing.ops import selectors
from smarketing.ops.models import TaskCounter
from tests.workers import wait_for

TOKEN = "metrics-token-for-tests-0123456789abcdef"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture
def token(settings):
    settings.SMARKETING_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of one scrape."""
    response = client.get("/metrics", **AUTH)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- who may read it -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_a_configured_token_there_is_nothing_to_find(client, settings, admin_client):
    settings.SMARKETING_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert admin_client.get("/metrics").status_code == 404  # a session is no token


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer"],
)
def test_a_missing_or_wrong_token_is_refused(client, token, header):
    headers = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"smarketing_" not in response.content


@pytest.mark.django_db
def test_the_token_opens_it_for_anyone_from_any_host(client, token, settings):
    settings.ALLOWED_HOSTS = ["smarketing.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/metrics", HTTP_HOST="10.0.3.17:8000", **AUTH)
    assert response.status_code == 200
    assert b"smarketing_sla_enforcement_lag_seconds" in response.content
    assert not response.cookies


# --- request latency ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_request_moves_the_histogram_of_its_url_name(client, token):
    before = scrape(client)
    key = {"view": "login", "method": "GET", "status": "2xx"}
    assert client.get("/login/").status_code == 200
    assert client.get("/no-such-page/").status_code == 404
    after = scrape(client)
    name = "smarketing_http_request_duration_seconds"
    assert value(after, f"{name}_count", **key) == value(before, f"{name}_count", **key) + 1
    assert value(after, f"{name}_sum", **key) > value(before, f"{name}_sum", **key)
    assert value(after, f"{name}_bucket", le="+Inf", **key) == value(after, f"{name}_count", **key)
    # A path no URL matched is one series, whatever the path: never the raw path.
    missed = {"view": "unmatched", "method": "GET", "status": "4xx"}
    assert value(after, f"{name}_count", **missed) == value(before, f"{name}_count", **missed) + 1
    assert not any("no-such-page" in str(labels) for _, labels in after)


@pytest.mark.django_db
def test_a_lead_page_is_labelled_by_its_name_not_its_id(client, token, org, make_mql):
    lead = make_mql()
    client.force_login(org.rep)
    assert client.get(f"/leads/{lead.pk}/").status_code == 200
    samples = scrape(client)
    views = {dict(labels).get("view") for name, labels in samples if name.startswith("smarketing_http")}
    assert "lead-detail" in views, views
    assert not any(str(lead.pk) in (v or "") for v in views)


# --- task runs and failures, counted where every node reaches them -----------------------------------------


def run_on_a_worker(task, task_id: str, state: str) -> None:
    """What a worker's run sends (celery.app.trace): task_prerun, then task_postrun."""
    signals.task_prerun.send(sender=task, task_id=task_id, task=task, args=(), kwargs={})
    signals.task_postrun.send(
        sender=task, task_id=task_id, task=task, args=(), kwargs={}, retval=None, state=state
    )


@pytest.mark.django_db
def test_task_runs_and_failures_move_the_counters(client, token):
    task = notifications_deliver_pending
    labels = {"task": task.name}
    run_on_a_worker(task, "t-1", "SUCCESS")
    run_on_a_worker(task, "t-2", "SUCCESS")
    run_on_a_worker(task, "t-3", "FAILURE")
    run_on_a_worker(task, "t-4", "RETRY")
    row = TaskCounter.objects.get(task=task.name)
    assert (row.runs, row.failures, row.retries) == (4, 1, 1)
    samples = scrape(client)
    assert value(samples, "smarketing_celery_task_runs_total", **labels) == 4
    assert value(samples, "smarketing_celery_task_failures_total", **labels) == 1
    assert value(samples, "smarketing_celery_task_retries_total", **labels) == 1
    assert value(samples, "smarketing_celery_task_seconds_total", **labels) >= 0


@pytest.mark.django_db
def test_a_task_run_inside_the_request_is_not_counted(client, token):
    # Eager (tests, CELERY_TASK_ALWAYS_EAGER): inside the caller's request and transaction.
    notifications_deliver_pending.apply()
    assert not TaskCounter.objects.exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_workers_runs_show_in_a_web_scrape(client, token, worker):
    # Given a worker (its beat enforces the SLA every second) in another process, when the
    # web process is scraped, then the worker's runs are there.
    def runs():
        samples = scrape(client)
        return value(samples, "smarketing_celery_task_runs_total", task="sla.tasks.sla_enforce") >= 2

    wait_for(runs, what="the worker's runs of sla_enforce to show in /metrics")


# --- figures read at scrape time ------------------------------------------------------------------------


@pytest.mark.django_db
def test_sla_lag_is_the_age_of_the_oldest_deadline_enforcement_has_not_recorded(client, token, make_mql):
    # Given an MQL whose response deadline passed 10 minutes ago, not yet enforced
    lead = make_mql()
    clock = Clock.objects.get(lead=lead)
    Clock.objects.filter(pk=clock.pk).update(warn_at=None)  # its warnings were sent
    late = clock.due_at + dt.timedelta(minutes=10)
    with time_machine.travel(late, tick=False):
        samples = scrape(client)
        assert value(samples, "smarketing_sla_enforcement_lag_seconds") == pytest.approx(600, abs=1)
        # When enforcement records the breach, then nothing lags.
        sla_enforce(now=late)
        samples = scrape(client)
    assert value(samples, "smarketing_sla_enforcement_lag_seconds") == 0
    assert value(samples, "smarketing_sla_enforcement_last_run_age_seconds") == 0


@pytest.mark.django_db
def test_sla_lag_counts_a_warning_not_yet_sent(client, token, make_mql):
    lead = make_mql()
    clock = Clock.objects.get(lead=lead)
    assert clock.warn_at is not None and clock.warn_at < clock.due_at
    with time_machine.travel(clock.warn_at + dt.timedelta(seconds=90), tick=False):
        samples = scrape(client)
    assert value(samples, "smarketing_sla_enforcement_lag_seconds") == pytest.approx(90, abs=1)


@pytest.mark.django_db
def test_outbox_depth_counts_the_emails_not_yet_sent(client, token, org):
    # Given four notifications: two waiting, one emailed, one given up
    ids = [
        notify(
            recipient=org.rep,
            kind=NotificationKind.MQL_ASSIGNED,
            lead=None,
            dedupe_key=f"outbox-{n}",
            subject=f"Outbox {n}",
            body="",
        ).pk
        for n in range(4)
    ]
    now = timezone.now()
    Notification.objects.filter(pk__in=ids).update(created_at=now - dt.timedelta(minutes=5))
    Notification.objects.filter(pk=ids[0]).update(email_claimed_at=now, emailed_at=now)
    Notification.objects.filter(pk=ids[1]).update(email_claimed_at=now, email_failed_at=now)
    samples = scrape(client)
    assert value(samples, "smarketing_outbox_waiting") == 2
    assert value(samples, "smarketing_outbox_failed") == 1
    assert value(samples, "smarketing_outbox_oldest_waiting_seconds") == pytest.approx(300, abs=30)


@pytest.mark.django_db
def test_import_rows_and_their_rate(client, token, org):
    now = timezone.now()

    def job(status, rows, started):
        return ImportJob.objects.create(
            created_by=org.marketer,
            file_name="leads.csv",
            stored_path="x",
            sha256="0" * 64,
            encoding="utf-8",
            delimiter=",",
            status=status,
            rows_done=rows,
            started_at=started,
        )

    job(ImportStatus.DONE, 1000, now - dt.timedelta(hours=1))
    job(ImportStatus.RUNNING, 500, now - dt.timedelta(seconds=10))
    with time_machine.travel(now, tick=False):
        samples = scrape(client)
    assert value(samples, "smarketing_import_rows_total") == 1500
    assert value(samples, "smarketing_imports_running") == 1
    assert value(samples, "smarketing_import_rows_per_second") == pytest.approx(50, rel=0.01)


@pytest.mark.django_db
def test_a_scrape_runs_a_constant_number_of_queries(client, token, make_mql, org):
    for _ in range(3):
        make_mql()
    run_on_a_worker(notifications_deliver_pending, "t-1", "SUCCESS")
    with CaptureQueriesContext(connection) as few:
        scrape(client)
    for _ in range(5):
        make_mql()
    run_on_a_worker(sla_enforce_task, "t-2", "FAILURE")
    with CaptureQueriesContext(connection) as more:
        scrape(client)
    assert len(more) == len(few) <= 10


@pytest.mark.django_db
def test_the_scrape_queries_are_served_by_their_indexes(require_postgres, make_mql):
    """With sequential scans priced out, the plan of each scrape query names its index
    (a plan on a tiny table would scan it anyway, whatever the indexes)."""
    breach, warning = selectors.sla_due_unrecorded(timezone.now())
    queries = {
        "clock_open_due": breach[:1],
        "clock_open_warn_next": warning[:1],
        "notification_email_pending": selectors.outbox_unsent().values("id"),
    }
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    for index, queryset in queries.items():
        plan = queryset.explain()
        assert index in plan, (index, plan)
