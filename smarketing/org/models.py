"""The organisation and its vocabulary: teams and their members, marketing's campaigns, the
sources leads come from and the kinds of engagement marketing counts.

Every other app refers to these; they refer to nothing above them (docs/architecture.md)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from smarketing.core.validators import validate_time_zone


class Source(models.TextChoices):
    """First-touch source: how the lead first came to us."""

    WEBSITE = "website", "Website"
    ORGANIC_SEARCH = "organic_search", "Organic search"
    PAID_SEARCH = "paid_search", "Paid search"
    PAID_SOCIAL = "paid_social", "Paid social"
    SOCIAL = "social", "Social media"
    EMAIL = "email", "Email marketing"
    EVENT = "event", "Event"
    WEBINAR = "webinar", "Webinar"
    REFERRAL = "referral", "Employee referral"
    PARTNER = "partner", "Partner"
    LIST_IMPORT = "list_import", "List import"
    OTHER = "other", "Other"


class TeamKind(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=TeamKind.choices)
    time_zone = models.CharField(
        max_length=64, default=settings.SMARKETING_TIME_ZONE, validators=[validate_time_zone]
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams", blank=True
    )

    class Meta:
        db_table = "leads_team"  # its table since it lived in leads (docs/architecture.md)
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A person's place in one team. `weight` and `is_away` feed round-robin routing."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    weight = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    is_away = models.BooleanField(default=False)
    assigned_count = models.PositiveIntegerField(
        default=0, help_text="MQLs routed to this person; round-robin balances it by weight."
    )

    class Meta:
        db_table = "leads_membership"  # its table since it lived in leads (docs/architecture.md)

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class Channel(models.TextChoices):
    PAID_SEARCH = "paid_search", "Paid search"
    PAID_SOCIAL = "paid_social", "Paid social"
    EMAIL = "email", "Email"
    EVENT = "event", "Event"
    WEBINAR = "webinar", "Webinar"
    CONTENT = "content", "Content"
    PARTNER = "partner", "Partner"
    OTHER = "other", "Other"


class Campaign(models.Model):
    """A marketing campaign: leads name it as their first touch, and the closed loop sets
    what they brought against what it cost (docs/campaigns.md). Created and edited by
    marketing through `smarketing.org.campaigns` (validated, audited, versioned)."""

    name = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.OTHER)
    budget = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Planned spend.",
    )
    cost = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Actual cost: what ROI and cost per customer divide by.",
    )
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_campaigns",
        help_text="Who runs it (someone on the marketing side).",
    )
    # Optimistic concurrency: an edit names the version it was made on; a stale one is
    # refused instead of overwriting what someone else just saved.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        db_table = "leads_campaign"  # its table since it lived in leads (docs/architecture.md)
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True)
                | Q(starts_on__isnull=True)
                | Q(ends_on__gte=models.F("starts_on")),
                name="campaign_ends_after_start",
                violation_error_message="A campaign cannot end before it starts.",
            ),
            models.CheckConstraint(condition=Q(cost__gte=0), name="campaign_cost_not_negative"),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget__gte=0), name="campaign_budget_not_negative"
            ),
            # Names differ whatever their case ("June seminar" is "june Seminar"), as an
            # import's look-up of a campaign by name ignores case.
            models.UniqueConstraint(
                Lower("name"),
                name="campaign_name_unique_ci",
                violation_error_message="A campaign with this name already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignChange(models.Model):
    """The audit of every write to a campaign: who, when, what (created or updated), and
    the values before and after (JSON: only the fields that changed on an update)."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="changes")
    action = models.CharField(max_length=10, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["campaign", "-occurred_at"], name="campaignchange_campaign")]

    def __str__(self) -> str:
        return f"{self.campaign} {self.action} at {self.occurred_at:%Y-%m-%d %H:%M}"


class EngagementType(models.TextChoices):
    PAGE_VIEW = "page_view", "Web page visit"
    PRICING_PAGE = "pricing_page", "Pricing page visit"
    CONTENT_DOWNLOAD = "content_download", "Content download"
    WEBINAR_REGISTERED = "webinar_registered", "Webinar registration"
    WEBINAR_ATTENDED = "webinar_attended", "Webinar attended"
    EVENT_ATTENDED = "event_attended", "Event attended"
    EMAIL_CLICK = "email_click", "Email click"
    FORM_SUBMIT = "form_submit", "Form submitted"
    DEMO_REQUEST = "demo_request", "Demo request"
    OTHER = "other", "Other"
