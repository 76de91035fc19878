"""Counters that every node reaches: a worker's task runs, read by a web node's /metrics.

Web and workers are separate processes on separate hosts, and Prometheus scrapes a web
node only; a counter in a worker's memory would never be seen. So each task run adds one
to its task's row here (one upsert after the task: `smarketing.ops.counters`).
"""

from __future__ import annotations

from django.db import models


class TaskCounter(models.Model):
    """Cumulative figures of one Celery task, over every worker since the table was made."""

    task = models.CharField(max_length=200, primary_key=True)
    runs = models.BigIntegerField(default=0)
    failures = models.BigIntegerField(default=0)
    retries = models.BigIntegerField(default=0)
    seconds = models.FloatField(default=0.0, help_text="Time spent running, summed over runs.")

    class Meta:
        db_table = "ops_taskcounter"  # written by raw SQL: smarketing.ops.counters

    def __str__(self) -> str:
        return f"{self.task}: {self.runs} runs, {self.failures} failed"
