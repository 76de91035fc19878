"""The agreement marketing and sales made: the agreed reasons, the scoring definition and
its rules, the hand-off gate, routing rules, and the audited history of every change and
of every version both managers confirmed."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from smarketing.org.models import EngagementType, Team


class ReasonKind(models.TextChoices):
    REJECTION = "rejection", "Rejection (sales sends an MQL back)"
    LOSS = "loss", "Loss (an SQL did not buy)"
    DISQUALIFICATION = "disqualification", "Disqualification (out of the funnel)"


class LossOutcome(models.TextChoices):
    """Where a lost SQL goes, as its loss reason says."""

    RECYCLE = "recycle", "Back to marketing (recycled, nurture)"
    DISQUALIFY = "disqualify", "Disqualified"


class ReasonQuerySet(models.QuerySet["Reason"]):
    def active(self) -> ReasonQuerySet:
        return self.filter(is_active=True)

    def of_kind(self, kind: str) -> ReasonQuerySet:
        return self.filter(kind=kind)


class Reason(models.Model):
    """The agreed taxonomy of rejection, loss and disqualification reasons."""

    kind = models.CharField(max_length=20, choices=ReasonKind.choices)
    code = models.SlugField(max_length=50)
    label = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    loss_outcome = models.CharField(
        max_length=20,
        choices=LossOutcome.choices,
        blank=True,
        help_text="Loss reasons only: whether the lead is recycled or disqualified.",
    )
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    objects = ReasonQuerySet.as_manager()

    class Meta:
        db_table = "leads_reason"  # its table since it lived in leads (docs/architecture.md)
        ordering = ["kind", "position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "code"], name="reason_unique_code_per_kind"),
            models.CheckConstraint(
                condition=(Q(kind="loss") & ~Q(loss_outcome="")) | (~Q(kind="loss") & Q(loss_outcome="")),
                name="reason_loss_outcome_only_for_losses",
                violation_error_message="A loss reason needs an outcome; other reasons have none.",
            ),
        ]

    def __str__(self) -> str:
        return self.label


# --- the agreement marketing and sales made: scoring, hand-off gate, routing --------------


class ScoringDefinition(models.Model):
    """The agreed definition of a warm lead. One row; every change bumps `version`."""

    ONE = 1  # the primary key of the one row

    threshold = models.IntegerField(
        default=60, help_text="A lead at or above this score is sales-ready (MQL)."
    )
    auto_qualify = models.BooleanField(
        default=False,
        help_text="Hand a lead to sales automatically when its score reaches the threshold "
        "and it passes the hand-off gate (not for leads sales sent back: those need a note).",
    )
    decay_half_life_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Engagement points halve every this many days. Empty: no decay.",
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "leads_scoringdefinition"  # its table since it lived in leads (docs/architecture.md)

    def __str__(self) -> str:
        return f"Scoring definition v{self.version}"

    @classmethod
    def current(cls) -> ScoringDefinition:
        definition, _ = cls.objects.get_or_create(pk=cls.ONE)
        return definition


class RuleKind(models.TextChoices):
    FIT = "fit", "Fit (who they are)"
    ENGAGEMENT = "engagement", "Engagement (what they did)"


class FitField(models.TextChoices):
    JOB_TITLE = "job_title", "Job title"
    COMPANY = "company", "Company"
    COMPANY_SIZE = "company_size", "Company size"
    COUNTRY = "country", "Country"
    SOURCE = "source", "Source"
    EMAIL_DOMAIN = "email_domain", "Email domain"
    PHONE = "phone", "Phone"
    WEBSITE = "website", "Website"


class FitOperator(models.TextChoices):
    CONTAINS = "contains", "contains any of"
    EQUALS = "equals", "equals"
    IN = "in", "is one of"
    GTE = "gte", "is at least"
    LTE = "lte", "is at most"
    IS_SET = "is_set", "is filled in"


class ScoringRule(models.Model):
    """One line of the scoring definition: a fit test on a field, or points per engagement type."""

    kind = models.CharField(max_length=20, choices=RuleKind.choices)
    label = models.CharField(max_length=120, help_text="Shown on every lead's score receipt.")
    field = models.CharField(max_length=30, choices=FitField.choices, blank=True)
    operator = models.CharField(max_length=20, choices=FitOperator.choices, blank=True)
    value = models.CharField(
        max_length=500,
        blank=True,
        help_text="For “contains any of” and “is one of”: values separated by commas.",
    )
    engagement_type = models.CharField(max_length=30, choices=EngagementType.choices, blank=True)
    points = models.IntegerField(help_text="Negative points mark a poor fit.")
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "leads_scoringrule"  # its table since it lived in leads (docs/architecture.md)
        ordering = ["kind", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="fit") & ~Q(field="") & ~Q(operator=""))
                | (Q(kind="engagement") & ~Q(engagement_type="")),
                name="scoring_rule_complete",
                violation_error_message="A fit rule needs a field and a test; an engagement rule needs a type.",
            ),
            models.CheckConstraint(
                condition=Q(points__gte=-1000) & Q(points__lte=1000),
                name="scoring_rule_points_range",
                violation_error_message="Points must be between -1000 and 1000.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.points:+d})"


class HandoffGate(models.Model):
    """What a lead needs before marketing can hand it to sales. One row."""

    required_fields = models.JSONField(default=list, blank=True)
    min_engagements = models.PositiveSmallIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "leads_handoffgate"  # its table since it lived in leads (docs/architecture.md)

    def __str__(self) -> str:
        return "Hand-off gate"

    @classmethod
    def current(cls) -> HandoffGate:
        gate, _ = cls.objects.get_or_create(
            pk=1,
            defaults={
                "required_fields": list(settings.SMARKETING_HANDOFF_REQUIRED_FIELDS),
                "min_engagements": settings.SMARKETING_HANDOFF_MIN_ENGAGEMENTS,
            },
        )
        return gate


class RoutingRule(models.Model):
    """Territory or segment routing: the first active matching rule names the sales team
    whose available reps share its MQLs round-robin."""

    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=120)
    countries = models.CharField(
        max_length=500, blank=True, help_text="Two-letter codes separated by commas; empty: any country."
    )
    min_company_size = models.PositiveIntegerField(null=True, blank=True)
    max_company_size = models.PositiveIntegerField(null=True, blank=True)
    sources = models.JSONField(default=list, blank=True, help_text="Empty: any source.")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="routing_rules")
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "leads_routingrule"  # its table since it lived in leads (docs/architecture.md)
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_company_size__isnull=True)
                | Q(max_company_size__isnull=True)
                | Q(max_company_size__gte=models.F("min_company_size")),
                name="routing_rule_size_range",
                violation_error_message="The largest company size must not be below the smallest.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def country_codes(self) -> list[str]:
        return [c.strip().upper() for c in self.countries.split(",") if c.strip()]


class AgreementChange(models.Model):
    """Audit of every change to the agreement (scoring, gate, routing): who, when, before, after."""

    area = models.CharField(max_length=30)
    summary = models.CharField(max_length=300)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        db_table = "leads_agreementchange"  # its table since it lived in leads (docs/architecture.md)
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return self.summary


class VersionStatus(models.TextChoices):
    PROPOSED = "proposed", "Waiting for confirmation"
    IN_FORCE = "in_force", "In force"
    SUPERSEDED = "superseded", "Superseded"
    WITHDRAWN = "withdrawn", "Withdrawn"


class AgreementVersion(models.Model):
    """One version of the agreement: the changes a manager proposed, why (the change note),
    who confirmed it for each side, and the agreement's terms as they read under it.

    A proposed version holds its changes without applying them; the previous version stays
    in force until the sales and the marketing manager have both confirmed, and only then
    are the changes applied, in one transaction. At most one version is proposed and one is
    in force at a time (partial unique constraints)."""

    number = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=20, choices=VersionStatus.choices, db_index=True)
    note = models.TextField(blank=True, help_text="The change note: why the agreement changes.")
    changes = models.JSONField(default=list, blank=True)
    terms = models.JSONField(default=dict, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposed_at = models.DateTimeField(default=timezone.now)
    sales_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sales_confirmed_at = models.DateTimeField(null=True, blank=True)
    marketing_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    marketing_confirmed_at = models.DateTimeField(null=True, blank=True)
    in_force_from = models.DateTimeField(null=True, blank=True)
    in_force_until = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who withdrew it.",
    )

    class Meta:
        db_table = "leads_agreementversion"  # its table since it lived in leads (docs/architecture.md)
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="proposed"),
                name="agreement_one_proposed_version",
                violation_error_message="Another version is waiting for confirmation already.",
            ),
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="in_force"),
                name="agreement_one_version_in_force",
            ),
        ]

    def __str__(self) -> str:
        return f"Version {self.number}"

    def change_list(self) -> list[dict]:
        """The changes, each with `at` as a datetime (they are stored as JSON)."""
        return [{**change, "at": datetime.datetime.fromisoformat(change["at"])} for change in self.changes]
