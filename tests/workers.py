"""A real Celery worker (and beat) in a separate process, on the configured broker, for
the tests that need one: fixtures `start_worker` (start when the test says) and `worker`
(running for the whole test), registered in tests/conftest.py.

On the embedded default the broker is kombu's filesystem transport; in CI it is Redis,
and SMARKETING_REQUIRE_SERVICES=1 makes a missing Redis a failure, not a skip.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from smarketing.celery import app as celery_app

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
    from tests.conftest import REQUIRE_SERVICES, need

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
def start_worker(tmp_path):
    """Start `celery worker --beat` against the test database when the test says so;
    stop it (and any other it started) at the end."""
    _broker_ready()
    started: list[tuple[subprocess.Popen, Path]] = []
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False

    def start() -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "smarketing.settings.test",
            "DATABASE_URL": _database_url(),
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "SLA_ENFORCE_EVERY_SECONDS": "1",
        }
        if settings.CELERY_BROKER_URL.startswith("redis://"):
            env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
        log = tmp_path / f"worker-{len(started)}.log"
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
                    str(tmp_path / f"beat-schedule-{len(started)}"),
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: beat's child goes with it
            )
        started.append((process, log))
        return process

    try:
        yield start
    finally:
        celery_app.conf.task_always_eager = eager
        for process, log in started:
            stop_worker(process)
            print(log.read_text()[-4000:])


def stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # whatever is left of its group (beat)


def kill_worker(process: subprocess.Popen) -> None:
    """SIGKILL the worker and its embedded beat at once, as a crash or an OOM kill would."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture
def worker(start_worker):
    """A worker with beat running for the whole test."""
    return start_worker()


def wait_for(check, timeout=45.0, what="the worker"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}")
