"""Adding a task run to its `TaskCounter` row (the model is in `models`; this module needs
no model, so that the Celery signals can be connected while the apps load)."""

from __future__ import annotations

from django.db import connection, transaction

# One statement, the same on PostgreSQL and SQLite: the row is made by the first run and
# added to by every later one; concurrent runs of one task queue on its row lock only for
# this statement (autocommit), never for the task's own work.
_UPSERT = (
    'INSERT INTO "ops_taskcounter" ("task", "runs", "failures", "retries", "seconds") '
    "VALUES (%s, 1, %s, %s, %s) "
    'ON CONFLICT ("task") DO UPDATE SET '
    '"runs" = "ops_taskcounter"."runs" + 1, '
    '"failures" = "ops_taskcounter"."failures" + excluded."failures", '
    '"retries" = "ops_taskcounter"."retries" + excluded."retries", '
    '"seconds" = "ops_taskcounter"."seconds" + excluded."seconds"'
)


def task_counted(*, task: str, failed: bool, retried: bool, seconds: float) -> None:
    """Add one run of `task` (in a savepoint when inside a transaction)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_UPSERT, [task[:200], int(failed), int(retried), max(seconds, 0.0)])
