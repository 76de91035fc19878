"""What the reports remember: each finished week's figures as they stood when it ended, and
which weekly digests went out. Both are written once per week; the unique week makes a
second run (two beats, a retry) store nothing twice."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class WeekSnapshot(models.Model):
    """A finished ISO week's row of the per-week dashboard tables, frozen when it ended:
    the numbers shown at the meeting, to hold against today's recomputation (late data)."""

    week_start = models.DateField(
        unique=True, help_text="Monday of the ISO week, in the organisation's time zone."
    )
    # {table slug: {column key: plain value}} — as the dashboard's JSON and CSV carry them.
    figures = models.JSONField(default=dict)
    frozen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week_start"]

    def __str__(self) -> str:
        return f"Week of {self.week_start}, frozen {self.frozen_at:%Y-%m-%d %H:%M}"


class DigestRun(models.Model):
    """The weekly digest of one finished week: sent once, to `recipients` people."""

    week_start = models.DateField(
        unique=True, help_text="Monday of the ISO week, in the organisation's time zone."
    )
    sent_at = models.DateTimeField(default=timezone.now)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-week_start"]

    def __str__(self) -> str:
        return f"Digest of the week of {self.week_start}: {self.recipients} recipients"
