"""SLA clocks as rows: a deadline is stored when its clock starts, so enforcement only
has to find the rows that are due (through a partial index), whatever the table size."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Obligation(models.TextChoices):
    RESPONSE = "response", "Respond to the MQL"
    FOLLOW_UP = "follow_up", "Follow up the SQL"


class BreachAction(models.TextChoices):
    NOTIFY = "notify", "Notify only"
    REASSIGN = "reassign", "Reassign to the next available rep"
    RETURN = "return", "Return to marketing"


def default_warn_percents() -> list[int]:
    return [50, 80]


class SlaPolicy(models.Model):
    """Sales' side of the agreement for the leads it matches. The first active policy that
    matches a lead (lowest priority number) applies; one without conditions is the default."""

    name = models.CharField(max_length=120, unique=True)
    priority = models.PositiveIntegerField(default=100, help_text="Lower is tried first.")
    is_active = models.BooleanField(default=True)
    # What it matches (empty: anything)
    min_score = models.IntegerField(null=True, blank=True)
    max_score = models.IntegerField(null=True, blank=True)
    sources = models.JSONField(default=list, blank=True)
    campaign = models.ForeignKey(
        "org.Campaign", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(
        "org.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The rep's team.",
    )
    countries = models.CharField(
        max_length=500, blank=True, help_text="Two-letter codes separated by commas."
    )
    # What it asks
    response_hours = models.DecimalField(max_digits=7, decimal_places=3, default=8)
    follow_up_touches = models.PositiveSmallIntegerField(default=3)
    follow_up_days = models.DecimalField(max_digits=6, decimal_places=2, default=5)
    warn_percents = models.JSONField(default=default_warn_percents)
    on_breach = models.CharField(max_length=20, choices=BreachAction.choices, default=BreachAction.NOTIFY)
    escalate_to_manager = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(response_hours__gt=0), name="policy_response_positive"),
            models.CheckConstraint(condition=Q(follow_up_days__gt=0), name="policy_follow_up_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def country_codes(self) -> list[str]:
        return [c.strip().upper() for c in self.countries.split(",") if c.strip()]


class ClockQuerySet(models.QuerySet["Clock"]):
    def running(self) -> ClockQuerySet:
        return self.filter(met_at__isnull=True, cancelled_at__isnull=True)

    def warning_due(self, now) -> ClockQuerySet:
        return self.running().filter(breached_at__isnull=True, warn_at__isnull=False, warn_at__lte=now)

    def breach_due(self, now) -> ClockQuerySet:
        return self.running().filter(breached_at__isnull=True, due_at__lte=now)


class Clock(models.Model):
    obligation = models.CharField(max_length=20, choices=Obligation.choices)
    # No single-column indexes on lead and owner: clock_lead and clock_owner_due start with
    # them and serve the same lookups, and every index costs each enforcement UPDATE a write.
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="clocks", db_index=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sla_clocks", db_index=False
    )
    started_at = models.DateTimeField()
    due_at = models.DateTimeField(help_text="Computed in business time when the clock starts.")
    policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="clocks"
    )
    # The next warning's time (empty when none is left), the policy's percentages as they
    # were when the clock started, and how many warnings went out.
    warn_at = models.DateTimeField(null=True, blank=True)
    warn_percents = models.JSONField(default=list)
    warnings_sent = models.PositiveSmallIntegerField(default=0)
    warned_at = models.DateTimeField(null=True, blank=True, help_text="When the last warning went out.")
    met_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(
        null=True, blank=True, help_text="When the breach was recorded (detected)."
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateField(
        null=True, blank=True, help_text="Agreed with the lead; the deadline moved."
    )
    # Business time from start to met, in the owner's calendar (speed to lead, for reports).
    business_seconds = models.PositiveIntegerField(null=True, blank=True)
    # A response made in another CRM, measured when a migration brought it (its hand-off
    # and answer dated in the file): speed to lead only. Nothing was agreed there, so it
    # has no deadline of its own and SLA compliance leaves it out (docs/migration.md).
    measured_only = models.BooleanField(default=False, db_default=False)
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
                name="clock_open_warn_next",
                condition=Q(
                    met_at__isnull=True,
                    cancelled_at__isnull=True,
                    breached_at__isnull=True,
                    warn_at__isnull=False,
                ),
            ),
            models.Index(fields=["lead", "obligation"], name="clock_lead"),
            models.Index(fields=["owner", "due_at"], name="clock_owner_due"),
            # Reports read clocks resolved in a range of weeks (compliance, speed to lead): a
            # met clock when it was met, a breached one at its due time (when the breach
            # was detected does not matter).
            models.Index(fields=["met_at"], name="clock_met", condition=Q(met_at__isnull=False)),
            models.Index(
                fields=["due_at"], name="clock_breached_due", condition=Q(breached_at__isnull=False)
            ),
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

    team = models.OneToOneField("org.Team", on_delete=models.CASCADE, related_name="calendar")
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
