"""What the reports remember: each finished week's figures as they stood when it ended, and
which weekly digests went out. Both are written once per week; the unique week makes a
second run (two beats, a retry) store nothing twice."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class MarketingCommitment(models.Model):
    """Marketing's side of the agreement, per marketing team: each week at least
    `min_mqls` MQLs handed off, with at least `min_acceptance_percent` accepted by sales."""

    team = models.OneToOneField("org.Team", on_delete=models.CASCADE, related_name="commitment")
    min_mqls = models.PositiveIntegerField(default=20)
    min_acceptance_percent = models.PositiveSmallIntegerField(default=60)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "sla_marketingcommitment"  # its table since it lived in sla (docs/architecture.md)

    def __str__(self) -> str:
        return f"{self.team}: {self.min_mqls} MQLs a week, {self.min_acceptance_percent}% accepted"


class CommitmentTerms(models.Model):
    """The history of a marketing team's commitment: the terms agreed and the moment they
    came into force, one row per change, written by `commitment_update` in the change's
    own transaction and never changed. A week is judged by the row in force at its start
    (Monday 00:00 org time); none, or one switched off (`is_active` false), and the week is
    not judged."""

    team = models.ForeignKey("org.Team", on_delete=models.CASCADE, related_name="commitment_terms")
    min_mqls = models.PositiveIntegerField()
    min_acceptance_percent = models.PositiveSmallIntegerField()
    is_active = models.BooleanField()
    in_force_from = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team", "in_force_from", "id"]
        indexes = [models.Index(fields=["team", "in_force_from"], name="commitment_terms_from")]

    def __str__(self) -> str:
        state = "" if self.is_active else " (off)"
        return (
            f"{self.team} from {self.in_force_from:%Y-%m-%d %H:%M}: {self.min_mqls} MQLs a week, "
            f"{self.min_acceptance_percent}% accepted{state}"
        )


class CommitmentWeek(models.Model):
    """A finished ISO week of a marketing team's commitment, recorded once after it ends:
    its figures frozen as they stood, judged by the terms in force at its start."""

    team = models.ForeignKey("org.Team", on_delete=models.CASCADE, related_name="commitment_weeks")
    week_start = models.DateField(help_text="Monday of the ISO week, in the organisation's time zone.")
    mqls = models.PositiveIntegerField()
    accepted = models.PositiveIntegerField()
    rejected = models.PositiveIntegerField()
    min_mqls = models.PositiveIntegerField()
    min_acceptance_percent = models.PositiveSmallIntegerField()
    met = models.BooleanField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "sla_commitmentweek"  # its table since it lived in sla (docs/architecture.md)
        ordering = ["-week_start", "team"]
        constraints = [models.UniqueConstraint(fields=["team", "week_start"], name="commitment_week_once")]

    def __str__(self) -> str:
        return f"{self.team}, week of {self.week_start}: {'met' if self.met else 'breached'}"

    @property
    def acceptance_percent(self) -> int | None:
        answered = self.accepted + self.rejected
        return round(100 * self.accepted / answered) if answered else None


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


# --- rollups: the dashboard's counts kept up to date (PostgreSQL) -------------------------------


class FunnelFact(models.Model):
    """One lead's share of a rollup: a row per (lead, kind, week, keys), rebuilt from the
    lead's events, clocks and record whenever any of them changes (reports.rollups).

    `prev` is the week of the lead's previous fact of the same kind and keys (NO_PREV when
    none), which is what lets the rollup count distinct leads over any range of weeks: a
    lead counts in weeks first..last once, at its first fact in them — the one whose `prev`
    lies before `first`. (Velocity's 'VH' facts hold there the week of the lead's *next*
    stay-end in the same stage instead: a range reads its last stays, see reports.rollups.)"""

    lead_id = models.BigIntegerField(db_index=True)  # no foreign key: a deleted lead's facts go on refresh
    kind = models.CharField(max_length=4)
    week = models.DateField()
    prev = models.DateField()
    k1 = models.CharField(max_length=64, blank=True)
    k2 = models.CharField(max_length=64, blank=True)
    n = models.IntegerField(default=0)  # events or clocks behind the fact
    a = models.IntegerField(default=0)  # kind-specific counts (accepted, met on time, reached MQL …)
    b = models.IntegerField(default=0)
    c = models.IntegerField(default=0)
    amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    def __str__(self) -> str:
        return f"{self.kind} lead {self.lead_id} week {self.week}"


class FunnelRollup(models.Model):
    """The sum of the facts with the same kind, week, prev and keys: what the dashboard
    reads (a few thousand rows for two years, whatever the number of leads)."""

    kind = models.CharField(max_length=4)
    week = models.DateField()
    prev = models.DateField()
    k1 = models.CharField(max_length=64, blank=True)
    k2 = models.CharField(max_length=64, blank=True)
    leads = models.IntegerField(default=0)  # facts summed (each is one lead in one week)
    n = models.IntegerField(default=0)
    a = models.IntegerField(default=0)
    b = models.IntegerField(default=0)
    c = models.IntegerField(default=0)
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "week", "prev", "k1", "k2"], name="rollup_key"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} week {self.week} since {self.prev} {self.k1} {self.k2}: {self.leads}"


class FunnelValue(models.Model):
    """One measured time behind a median (a response's business seconds, a stay's
    microseconds in a stage), filed under its histogram bucket: the rollup counts values per
    bucket, so a median or 90th percentile is found by reading only the one bucket it falls in."""

    lead_id = models.BigIntegerField(db_index=True)
    kind = models.CharField(max_length=4)
    k1 = models.CharField(max_length=64, blank=True)
    week = models.DateField()
    bucket = models.IntegerField()
    value = models.BigIntegerField()
    # Velocity counts each lead once per stage, its last stay in the range: the week of the
    # lead's next stay that ended in the same stage (rollups.NO_NEXT when none, and for
    # speed, where every value counts). A range first..last reads those with next_week > last.
    next_week = models.DateField()

    class Meta:
        indexes = [
            models.Index(
                fields=["kind", "k1", "bucket", "week", "value", "next_week"], name="funnelvalue_pick"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.k1} week {self.week}: {self.value}"


class DirtyLead(models.Model):
    """A lead whose facts are out of date: marked by database triggers in the same
    transaction as the change (any event, clock or lead write), cleared by the refresh."""

    lead_id = models.BigIntegerField(primary_key=True)
    marked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Lead {self.lead_id}, marked {self.marked_at:%Y-%m-%d %H:%M:%S}"
