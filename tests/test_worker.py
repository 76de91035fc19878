"""A real Celery worker (and beat) in a separate process, on the configured broker.

On the embedded default that is kombu's filesystem transport; in CI it is Redis, and
SMARKETING_REQUIRE_SERVICES=1 makes a missing Redis a failure, not a skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from leads import services
from leads.models import Notification, NotificationKind
from sla.models import EnforcementRun
from smarketing.celery import app as celery_app
from tests.conftest import REQUIRE_SERVICES, need

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


def _broker_ready() -> None:
    broker = settings.CELERY_BROKER_URL
    if REQUIRE_SERVICES:
        need(broker.startswith("redis://"), f"CI requires the Redis broker, got {broker!r}")
    if broker.startswith("redis://"):
        import redis

        try:
            redis.Redis.from_url(broker).ping()
        except redis.RedisError as exc:
            need(False, f"Redis at {broker} is not reachable: {exc}")


@pytest.fixture
def worker(tmp_path):
    """Start `celery worker --beat` against the test database; yield; stop it."""
    _broker_ready()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "smarketing.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SLA_ENFORCE_EVERY_SECONDS": "1",
    }
    if settings.CELERY_BROKER_URL.startswith("redis://"):
        # A queue of its own, so that a stray worker elsewhere never steals our tasks.
        env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "smarketing",
                "worker",
                "--beat",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--schedule",
                str(tmp_path / "beat-schedule"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield process
    finally:
        celery_app.conf.task_always_eager = eager
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        print(log.read_text()[-4000:])


def _wait_for(check, timeout=45.0, what="the worker"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}")


def test_beat_runs_sla_enforcement_on_schedule(worker):
    # Given a worker with beat every second, when we wait, then enforcement runs repeatedly.
    runs = _wait_for(
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
    notification = _wait_for(
        lambda: Notification.objects.filter(
            recipient=org.rep, kind=NotificationKind.MQL_ASSIGNED, lead=lead, emailed_at__isnull=False
        ).first(),
        what="the mql_assigned notification to be emailed",
    )
    assert "Wanda Worker" in notification.subject
    assert Notification.objects.filter(lead=lead, kind=NotificationKind.MQL_ASSIGNED).count() == 1
