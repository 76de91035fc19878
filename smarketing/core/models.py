"""The kernel's one table: tasks kept while the broker was down (`smarketing.core.queue`)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class DeferredTask(models.Model):
    """A task that could not be sent because the broker was down: kept here, sent again by
    the beat job `smarketing.core.tasks.deferred_tasks_send` once the broker is back (see
    `smarketing.core.queue`). Only task names and ids: no personal data."""

    name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "leads_deferredtask"  # its table since it lived in leads (docs/architecture.md)
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name}{tuple(self.args)}"
