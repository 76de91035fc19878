"""The job lock (smarketing.core.locks): one run of a periodic job at a time across
processes and hosts; the second run is told at once; a lock dies with its holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection

from smarketing.core import locks
from smarketing.core.locks import job_lock, job_lock_held, lock_key


def test_each_job_has_its_own_key_in_the_lock_namespace():
    names = ["sla-enforce", "sla-commitments", "reports-rollups", "notifications-deliver"]
    keys = [lock_key(name) for name in names]
    assert len(set(keys)) == len(names)
    assert all(classid == locks.NAMESPACE and -(2**31) <= objid < 2**31 for classid, objid in keys)
    assert lock_key("sla-enforce") == lock_key("sla-enforce")  # stable across processes (crc32)


@pytest.mark.django_db
def test_on_sqlite_every_run_goes_ahead():
    if connection.vendor == "postgresql":
        pytest.skip("the SQLite behaviour")
    with job_lock("sla-enforce") as first, job_lock("sla-enforce") as second:
        assert first and second  # one beat, one writer at a time: no lock to take


def _hold_in_thread(name: str):
    """Hold `name`'s lock in another thread (its own connection) until told to let go."""
    held, release, out = threading.Event(), threading.Event(), []

    def run():
        try:
            with job_lock(name) as mine:
                out.append(mine)
                held.set()
                release.wait(30)
        finally:
            held.set()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    held.wait(30)
    return thread, release, out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_run_is_told_at_once_while_the_first_holds_it(require_postgres):
    thread, release, out = _hold_in_thread("sla-enforce")
    assert out == [True]
    started = time.monotonic()
    with job_lock("sla-enforce") as mine:
        assert mine is False  # another run holds it
    with job_lock("reports-rollups") as other:
        assert other is True  # another job's lock is its own
    assert time.monotonic() - started < 1
    assert job_lock_held("sla-enforce")
    release.set()
    thread.join(30)
    assert not job_lock_held("sla-enforce")
    with job_lock("sla-enforce") as mine:
        assert mine is True


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_lock_is_released_when_the_job_fails(require_postgres):
    with pytest.raises(ZeroDivisionError), job_lock("reports-freeze-weeks") as mine:
        assert mine
        1 / 0  # noqa: B018
    assert not job_lock_held("reports-freeze-weeks")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_killed_holder_releases_the_lock_with_its_session(require_postgres):
    # Given another process holding the job's lock on its own session, idle in Python
    # (a worker between two statements of its job) ...
    db = connection.settings_dict
    classid, objid = lock_key("notifications-deliver")
    script = (
        "import sys, time, psycopg2\n"
        f"c = psycopg2.connect(dbname={db['NAME']!r}, user={db['USER'] or 'postgres'!r}, "
        f"host={db['HOST'] or '127.0.0.1'!r}, port={db['PORT'] or 5432!r})\n"
        f"c.cursor().execute('SELECT pg_advisory_lock({classid}, {objid})')\n"
        "print('held', flush=True)\n"
        "time.sleep(120)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with job_lock("notifications-deliver") as mine:
            assert mine is False
        # ... when it is killed (no unlock, no goodbye),
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        # then PostgreSQL ends its session and the next run takes the lock.
        deadline = time.monotonic() + 10
        while job_lock_held("notifications-deliver"):
            assert time.monotonic() < deadline, "the dead holder's lock was not released"
            time.sleep(0.1)
        with job_lock("notifications-deliver") as mine:
            assert mine is True
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.stdout.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_broken_connection_at_release_is_closed_which_releases_the_lock(require_postgres, monkeypatch):
    with job_lock("deferred-tasks-send") as mine:
        assert mine
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]

        def broken(*args, **kwargs):
            raise RuntimeError("connection gone")

        monkeypatch.setattr(connection, "cursor", broken)
    monkeypatch.undo()
    assert connection.connection is None  # closed: the session, and with it the lock, ended
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        deadline = time.monotonic() + 10
        while cursor.fetchone()[0]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
    assert not job_lock_held("deferred-tasks-send")
