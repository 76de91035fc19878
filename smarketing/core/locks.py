"""One run at a time of a periodic job, however many beats send it: a PostgreSQL advisory lock.

A second host started from the same compose file runs a second beat, and every periodic task
is then sent twice at the same moment. The data makes the second run harmless (status
guards, conditional UPDATEs, unique keys, rows locked and skipped: docs/architecture.md,
"Two beats"); this lock only makes it cheap — a run that finds its job's lock held returns
at once ("another run holds it") instead of doing the same scan and waiting on the same rows.
Nothing depends on it for correctness: a run that goes ahead without it (SQLite, a pooler
in transaction mode, a bug) still records, sends and counts each thing once.

- A *session* lock (`pg_try_advisory_lock`) on the run's own database connection, released
  when the run ends, however it ends. Not a transaction lock: the jobs commit as they go
  (a batch per transaction, an email claimed before it is sent), and one transaction
  around a whole run would change what they do.
- A worker that dies releases it with its connection: PostgreSQL ends the session as soon
  as the process's socket closes (a crash, an OOM kill, SIGKILL); for a host that vanished
  without closing it, the connection asks for TCP keepalives (first probe after 60 s idle,
  dead after about a minute more), so the lock outlives its host by about two minutes;
  a client gone while its statement runs is noticed within 5 s
  (`client_connection_check_interval`, PostgreSQL 14+). A worker that hangs inside a job
  keeps it, as it keeps the rows it locked.
- The key is (NAMESPACE, crc32 of the job's name): the two-integer form, a key space of its
  own in `pg_locks` (`objsubid` = 2), apart from any single-bigint advisory lock.
- SQLite (the embedded default: one beat, and one writing transaction at a time): no lock,
  every run goes ahead; the data guards are what counts there too.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

log = logging.getLogger(__name__)

NAMESPACE = 0x534D4B  # "SMK": the first half of every job lock's key
KEEPALIVE = (("tcp_keepalives_idle", 60), ("tcp_keepalives_interval", 10), ("tcp_keepalives_count", 6))


def lock_key(name: str) -> tuple[int, int]:
    """The advisory lock key of a job: (NAMESPACE, its name's crc32 as a signed int4)."""
    crc = zlib.crc32(name.encode())
    return NAMESPACE, crc - (1 << 32) if crc >= 1 << 31 else crc


def _try_lock(key: tuple[int, int]) -> bool:
    """Take the lock if free, and make this session end soon after its client is gone."""
    watch = list(KEEPALIVE)
    if connection.pg_version >= 140000:
        watch.append(("client_connection_check_interval", "5s"))  # also mid-statement
    configs = ", ".join("set_config(%s, %s, false)" for _ in watch)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT pg_try_advisory_lock(%s, %s), {configs}",  # noqa: S608 - placeholders only
            [*key, *(v for name, value in watch for v in (name, str(value)))],
        )
        return bool(cursor.fetchone()[0])


def _unlock(name: str, key: tuple[int, int]) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", list(key))
            released = cursor.fetchone()[0]
    except Exception:
        # The connection broke (or cannot run a statement now): ending the session is what
        # releases a session lock, so end it.
        log.warning("job %s: lock not released by statement; closing the connection", name, exc_info=True)
        connection.close()
        return
    if not released:
        log.warning("job %s: its lock was not held at release", name)


@contextmanager
def job_lock(name: str) -> Iterator[bool]:
    """Hold job `name`'s lock for the block if no other run holds it: yields True when this
    run holds it (do the work), False when another does (return at once)."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = lock_key(name)
    if not _try_lock(key):
        log.info("job %s: another run holds it; this one does nothing", name)
        yield False
        return
    try:
        yield True
    finally:
        _unlock(name, key)


def job_lock_held(name: str) -> bool:
    """Does any session hold job `name`'s lock now? (For tests and the curious; PostgreSQL.)"""
    classid, objid = lock_key(name)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid = CAST(%s AS integer)::oid AND objid = CAST(%s AS integer)::oid AND objsubid = 2)",
            [classid, objid],
        )
        return bool(cursor.fetchone()[0])
