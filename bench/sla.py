"""SLA: one enforcement run (what the periodic task runs) over 100,000 running clocks, of
which 1,000 are due: 500 breaches and 500 warnings.

    .venv/bin/python -m bench.sla --database-url URL --size N --json out.json

The database already holds N generated leads (bench.generate) with their resolved clocks.
The generator's running clocks are set aside (marked cancelled with a sentinel time) and
100,000 running response clocks are written with COPY on existing leads, owned by the
reps, under the Default policy (notify, escalate to the manager): 500 past their due time
(their warnings sent), 500 past their next warning time, the rest due later. Each timed
run starts from the same state: the due clocks are reset and what the previous run added
(notifications, runs, queued tasks) is removed, then the tables are vacuumed.

The floor is the due-rows query alone: the SELECTs of the breach-due and warning-due
clock ids (one bounded batch each), timed in the same process just before each run.
Setting up and resetting fire no triggers (session_replication_role = replica); the timed
runs do (e.g. the reports' dirty-lead marks on a breach). Afterwards the database is as
it was: the clocks, notifications and runs added are deleted, runs the enforcement pruned
are put back, the dirty-lead marks are as they were and the set-aside clocks restored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import random
import sys
import time

from bench.common import REPS, Figure, area_main, django_setup, median

CLOCKS = 100_000
BREACHES = 500
WARNINGS = 500
RUNS = 5
# Sentinels: a clock set aside by this benchmark, and a clock it wrote (a crashed run is
# cleaned up by the next one).
SET_ASIDE = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
WRITTEN = dt.datetime(1900, 1, 2, tzinfo=dt.UTC)


def _cleanup(cursor) -> None:
    """Remove this benchmark's clocks and bring back the set-aside ones."""
    cursor.execute("DELETE FROM sla_clock WHERE created_at = %s", [WRITTEN])
    cursor.execute("UPDATE sla_clock SET cancelled_at = NULL WHERE cancelled_at = %s", [SET_ASIDE])


def _write_clocks(cursor, now: dt.datetime) -> tuple[list[int], list[int]]:
    """COPY the running clocks; returns the ids of the breach-due and warning-due ones."""
    from django.contrib.auth import get_user_model

    from sla.models import SlaPolicy

    reps = list(
        get_user_model().objects.filter(username__in=REPS).order_by("id").values_list("id", flat=True)
    )
    if not reps:
        raise SystemExit("no bench reps: generate the database with bench.generate first")
    policy = SlaPolicy.objects.filter(name="Default").values_list("id", flat=True).first()
    cursor.execute("SELECT id FROM leads_lead ORDER BY id LIMIT %s", [CLOCKS])
    lead_ids = [row[0] for row in cursor.fetchall()]
    # Each lead gets a response clock, then (if there are fewer leads than clocks) a follow-up one.
    slots = [(lead, "response") for lead in lead_ids] + [(lead, "follow_up") for lead in lead_ids]
    if len(slots) < CLOCKS:
        raise SystemExit(f"need at least {CLOCKS // 2:,} leads, found {len(lead_ids):,}")
    slots = slots[:CLOCKS]
    rng = random.Random(8)
    due = rng.sample(range(CLOCKS), BREACHES + WARNINGS)
    kind = dict.fromkeys(due[:BREACHES], "breach") | dict.fromkeys(due[BREACHES:], "warn")
    span = dt.timedelta(hours=8)
    buffer = io.StringIO()
    for n, (lead, obligation) in enumerate(slots):
        if kind.get(n) == "breach":  # due a few seconds to a minute ago, both warnings sent
            due_at = now - dt.timedelta(seconds=rng.uniform(1, 60))
            warn_at, sent, warned = None, 2, due_at - span * 0.2
        elif kind.get(n) == "warn":  # the 50 % warning fell due in the last minute
            due_at = now + span * 0.5 - dt.timedelta(seconds=rng.uniform(1, 60))
            warn_at, sent, warned = due_at - span * 0.5, 0, None
        else:  # due later: the first warning still ahead
            due_at = now + span * 0.5 + dt.timedelta(seconds=rng.uniform(60, 14 * 86400))
            warn_at, sent, warned = due_at - span * 0.5, 0, None
        started = due_at - span
        row = [
            obligation,
            started.isoformat(),
            due_at.isoformat(),
            warn_at.isoformat() if warn_at else r"\N",
            warned.isoformat() if warned else r"\N",
            WRITTEN.isoformat(),
            str(lead),
            str(reps[n % len(reps)]),
            "[50, 80]",
            str(sent),
            str(policy) if policy else r"\N",
        ]
        buffer.write("\t".join(row) + "\n")
    buffer.seek(0)
    cursor.cursor.copy_expert(
        "COPY sla_clock (obligation, started_at, due_at, warn_at, warned_at, created_at, lead_id, "
        "owner_id, warn_percents, warnings_sent, policy_id) FROM STDIN",
        buffer,
    )
    cursor.execute(
        "SELECT id, warn_at IS NULL FROM sla_clock WHERE created_at = %s AND "
        "(due_at <= %s OR warn_at <= %s) ORDER BY id",
        [WRITTEN, now, now],
    )
    rows = cursor.fetchall()
    return [pk for pk, breach in rows if breach], [pk for pk, breach in rows if not breach]


@contextlib.contextmanager
def _untriggered(cursor):
    """This session's own writes fire no triggers (e.g. the reports' dirty-lead marks):
    setting up and resetting the benchmark is not the work measured."""
    cursor.execute("SET session_replication_role = replica")
    try:
        yield cursor
    finally:
        cursor.execute("RESET session_replication_role")


def _marks_saved(cursor) -> bool:
    """Keep a copy of the reports' dirty-lead marks (if the table exists) to put back."""
    cursor.execute("SELECT to_regclass('reports_dirtylead') IS NOT NULL")
    if cursor.fetchone()[0]:
        cursor.execute("CREATE TEMP TABLE bench_sla_marks AS SELECT * FROM reports_dirtylead")
        return True
    return False


def _marks_restore(cursor) -> None:
    """The dirty-lead marks as they were (the runs' breaches marked their leads)."""
    cursor.execute("DELETE FROM reports_dirtylead")
    cursor.execute("INSERT INTO reports_dirtylead SELECT * FROM bench_sla_marks")


def measure(size: int, database_url: str) -> list[Figure]:
    django_setup(database_url)
    import redis
    from django.conf import settings
    from django.db import connection

    from sla import services
    from sla.models import Clock, EnforcementRun

    broker = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
    batch = settings.SLA_ENFORCE_BATCH_SIZE
    now = dt.datetime.now(dt.UTC)
    with connection.cursor() as cursor, _untriggered(cursor):
        _cleanup(cursor)
        cursor.execute(
            "UPDATE sla_clock SET cancelled_at = %s WHERE met_at IS NULL AND cancelled_at IS NULL",
            [SET_ASIDE],
        )
        set_aside = cursor.rowcount
        marks = _marks_saved(cursor)
        cursor.execute("SELECT coalesce(max(id), 0) FROM leads_notification")
        last_notification = cursor.fetchone()[0]
        cursor.execute("SELECT coalesce(max(id), 0) FROM leads_deferredtask")
        last_deferred = cursor.fetchone()[0]
        cursor.execute("SELECT * FROM sla_enforcementrun")
        runs_before = cursor.fetchall()
        run_columns = [c.name for c in cursor.description]
        last_run = max((row[0] for row in runs_before), default=0)
        breach_ids, warn_ids = _write_clocks(cursor, now)
        cursor.execute("ANALYZE sla_clock")

    def remove_added(cursor) -> None:
        cursor.execute("DELETE FROM leads_notification WHERE id > %s", [last_notification])
        cursor.execute("DELETE FROM leads_deferredtask WHERE id > %s", [last_deferred])
        cursor.execute("DELETE FROM sla_enforcementrun WHERE id > %s", [last_run])
        if marks:
            _marks_restore(cursor)
        broker.flushdb()

    def reset() -> None:
        """The due clocks as written, nothing of the previous run left, tables vacuumed."""
        with connection.cursor() as cursor, _untriggered(cursor):
            cursor.execute(
                "UPDATE sla_clock SET breached_at = NULL, warn_at = NULL, warnings_sent = 2 WHERE id = ANY(%s)",
                [breach_ids],
            )
            cursor.execute(
                "UPDATE sla_clock SET warn_at = due_at - (due_at - started_at) * 0.5, warnings_sent = 0, "
                "warned_at = NULL WHERE id = ANY(%s)",
                [warn_ids],
            )
            remove_added(cursor)
            for table in ("sla_clock", "leads_notification"):
                cursor.execute(f"VACUUM ANALYZE {table}")

    def floor() -> float:
        started = time.perf_counter()
        list(Clock.objects.breach_due(now).order_by("due_at").values_list("id", flat=True)[:batch])
        list(Clock.objects.warning_due(now).order_by("warn_at").values_list("id", flat=True)[:batch])
        return (time.perf_counter() - started) * 1000

    def enforce() -> tuple[float, int, EnforcementRun]:
        queries = []
        with connection.execute_wrapper(lambda execute, *args: queries.append(1) or execute(*args)):
            started = time.perf_counter()
            run = services.sla_enforce(now=now)
            elapsed = (time.perf_counter() - started) * 1000
        return elapsed, len(queries), run

    try:
        reset()
        floor()
        enforce()  # warm-up: imports, the broker connection, plans
        floors, samples, idle = [], [], []
        for _ in range(RUNS):
            reset()
            floors.append(min(floor() for _ in range(3)))
            elapsed, queries, run = enforce()
            if (run.breached, run.warned) != (BREACHES, WARNINGS):
                raise SystemExit(f"run recorded {run.breached} breaches, {run.warned} warnings")
            samples.append(elapsed)
            idle.append(enforce()[0])  # straight after: nothing left due
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM leads_notification WHERE id > %s", [last_notification])
            notifications = cursor.fetchone()[0]
        queued = broker.llen("celery")
    finally:
        with connection.cursor() as cursor, _untriggered(cursor):
            remove_added(cursor)
            cursor.execute("SELECT id FROM sla_enforcementrun")
            kept = {row[0] for row in cursor.fetchall()}
            for row in runs_before:  # runs older than a week that the enforcement pruned
                if row[0] not in kept:
                    cursor.execute(
                        f"INSERT INTO sla_enforcementrun ({', '.join(run_columns)}) "  # noqa: S608
                        f"VALUES ({', '.join(['%s'] * len(row))})",
                        list(row),
                    )
            _cleanup(cursor)
            for table in ("sla_clock", "leads_notification", "sla_enforcementrun"):
                cursor.execute(f"VACUUM ANALYZE {table}")

    runs = ", ".join(f"{s:.1f}" for s in samples)
    floors_text = ", ".join(f"{f:.1f}" for f in floors)
    detail = (
        f"median of {RUNS} runs of sla.services.sla_enforce (ms: {runs}); {BREACHES} breaches and "
        f"{WARNINGS} warnings among {CLOCKS:,} running clocks ({set_aside:,} generated running clocks "
        f"set aside), {notifications:,} notifications, {queued} messages queued, "
        f"{queries} queries per run. Floor: the breach-due and warning-due id SELECTs "
        f"({batch} each), best of 3 before each run (ms: {floors_text})."
    )
    target = "< 100 ms; same ±20% at 100k and 1M leads"
    value = median(samples)
    return [
        Figure(
            "SLA",
            "enforcement run, 1,000 of 100,000 due",
            value,
            "ms",
            median(floors),
            target,
            value < 100,
            size,
            detail,
        ),
        Figure(
            "SLA",
            "enforcement run, none due",
            median(idle),
            "ms",
            median(floors),
            "",
            None,
            size,
            f"the run straight after each timed one, nothing left due (ms: {', '.join(f'{s:.1f}' for s in idle)})",
        ),
    ]


if __name__ == "__main__":
    sys.exit(area_main(measure, __doc__))
