"""SLA clocks as rows: a deadline is stored when its clock starts, so enforcement only
has to find the rows that are due (through a partial index), whatever the table size."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leads.models import Lead


class Obligation(models.TextChoices):
    RESPONSE = "response", "Respond to the MQL"
    FOLLOW_UP = "follow_up", "Follow up the SQL"


class ClockQuerySet(models.QuerySet["Clock"]):
    def running(self) -> ClockQuerySet:
        return self.filter(met_at__isnull=True, cancelled_at__isnull=True)

    def warning_due(self, now) -> ClockQuerySet:
        return self.running().filter(warned_at__isnull=True, breached_at__isnull=True, warn_at__lte=now)

    def breach_due(self, now) -> ClockQuerySet:
        return self.running().filter(breached_at__isnull=True, due_at__lte=now)


class Clock(models.Model):
    obligation = models.CharField(max_length=20, choices=Obligation.choices)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="clocks")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sla_clocks")
    started_at = models.DateTimeField()
    due_at = models.DateTimeField(help_text="Computed in business time when the clock starts.")
    warn_at = models.DateTimeField()
    warned_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(
        null=True, blank=True, help_text="When the breach was recorded (detected)."
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ClockQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(
                fields=["due_at"],
                name="clock_open_due",
                condition=Q(met_at__isnull=True, cancelled_at__isnull=True, breached_at__isnull=True),
            ),
            models.Index(
                fields=["warn_at"],
                name="clock_open_warn",
                condition=Q(
                    met_at__isnull=True,
                    cancelled_at__isnull=True,
                    breached_at__isnull=True,
                    warned_at__isnull=True,
                ),
            ),
            models.Index(fields=["lead", "obligation"], name="clock_lead"),
            models.Index(fields=["owner", "due_at"], name="clock_owner_due"),
        ]
        constraints = [
            # At most one running clock per obligation and lead.
            models.UniqueConstraint(
                fields=["lead", "obligation"],
                condition=Q(met_at__isnull=True, cancelled_at__isnull=True),
                name="clock_one_running_per_obligation",
            ),
            models.CheckConstraint(
                condition=Q(due_at__gte=models.F("started_at")), name="clock_due_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_obligation_display()} for lead {self.lead_id}, due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def is_running(self) -> bool:
        return self.met_at is None and self.cancelled_at is None

    @property
    def met_on_time(self) -> bool:
        return self.met_at is not None and self.met_at <= self.due_at


class EnforcementRun(models.Model):
    """One pass of the enforcement scan: proof on screen that the job runs."""

    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    warned = models.PositiveIntegerField(default=0)
    breached = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"SLA run at {self.started_at:%Y-%m-%d %H:%M:%S}"


class TeamCalendar(models.Model):
    """A team's business calendar: working hours per weekday, the country (and region)
    whose public holidays close it, and other closures. The time zone is the team's."""

    team = models.OneToOneField("leads.Team", on_delete=models.CASCADE, related_name="calendar")
    # {"0": ["09:00", "17:00"], …}: weekday (Monday = 0) → opens, closes; a missing day is closed.
    hours = models.JSONField(default=dict)
    holiday_country = models.CharField(max_length=2, blank=True)
    holiday_subdivision = models.CharField(max_length=10, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Calendar of {self.team}"


class CalendarClosure(models.Model):
    """A day a team does not work beyond public holidays (company party, office move)."""

    calendar = models.ForeignKey(TeamCalendar, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField()
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="closure_once_per_day")]

    def __str__(self) -> str:
        return f"{self.date}: {self.reason}"
