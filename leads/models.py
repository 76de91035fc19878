"""The funnel's data: leads, their immutable event log, and what marketing and sales did.

Nothing here changes a lead's stage: every transition lives in `leads.services`.
"""

from __future__ import annotations

import datetime
import json
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import connections, models, transaction
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone

from smarketing.lookups import Values


def normalize_email(value: str) -> str:
    """The form an email is compared in: trimmed and case-folded as a whole.

    Local parts are case-sensitive in theory and never in practice; two rows for
    `Ann@Acme.com` and `ann@acme.com` would be the same person twice.
    """
    return (value or "").strip().casefold()


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone (for example Europe/Berlin).")


class Stage(models.TextChoices):
    LEAD = "lead", "Lead"
    MQL = "mql", "MQL"
    SQL = "sql", "SQL"
    CUSTOMER = "customer", "Customer"
    DISQUALIFIED = "disqualified", "Disqualified"


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
    name = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.OTHER)
    cost = models.DecimalField(max_digits=12, decimal_places=2, default=0, validators=[MinValueValidator(0)])
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)

    class Meta:
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
        ]

    def __str__(self) -> str:
        return self.name


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


class LeadQuerySet(models.QuerySet["Lead"]):
    def live(self) -> LeadQuerySet:
        """Leads that are not merely pointers to a merge survivor."""
        return self.filter(merged_into__isnull=True)

    def in_stage(self, *stages: str) -> LeadQuerySet:
        return self.filter(stage__in=stages)

    def recycled(self) -> LeadQuerySet:
        return self.live().filter(stage=Stage.LEAD, recycle_count__gt=0)

    def owned_by(self, user) -> LeadQuerySet:
        return self.filter(owner=user)

    def search(self, text: str) -> LeadQuerySet:
        """Every word must match a name, the email, the company, the campaign, or the title
        of something the lead did ("the June seminar") — case-insensitive.

        Two steps, so that rare and common words are both fast at a million leads without
        the planner having to guess how many leads several words match:

        1. A probe reads up to SEARCH_FEW + 1 candidate ids through the trigram index of
           the lead's searchable text (every word in one index scan; `_bitmap_ids`), unless
           the planner's statistics already say that the words match far more leads.
        2. If that was all of them, the search is `id IN (those ids)` and the list's
           filters, sort, keyset and count work on those few rows. If there are more, the
           planner walks down the index of the page's sort with the words as a filter and
           stops at the page's last row ("Hoffmann", 1 lead in 40: about 2,000 rows read),
           instead of collecting and sorting every match.

        Either way the words themselves are checked on `SearchText(indexed=False)`, which
        no index serves (so the planner cannot pick a bitmap over every match of a common
        word) but which has statistics of its own (migration 0016), so it estimates well."""
        words = text.split()[:SEARCH_WORDS]
        if not words:
            return self
        matches = [search_word(word) for word in words]
        conditions = [match for match, _ in matches]
        probes = [probe for _, probe in matches if probe is not None]
        # The words are checked on every row that is read, even after the probe: that
        # also tells the planner that few rows match, so it reads them by id and sorts.
        queryset = self.alias(search_text=SearchText(indexed=False)).filter(*conditions)
        everyone = Lead.objects.order_by().alias(search_text=SearchText(indexed=False)).filter(*conditions)
        if probes and _estimated_rows(everyone) <= SEARCH_PROBE_ESTIMATE:
            candidates = Lead.objects.order_by().alias(search_text=SearchText()).filter(*probes)
            ids = _bitmap_ids(candidates.values_list("pk", flat=True)[: SEARCH_FEW + 1])
            if len(ids) <= SEARCH_FEW:
                return queryset.filter(_ids_in(ids))
        return queryset


class SearchText(models.Func):
    """A lead's names, email and company in one string, fields apart by a space (a search
    word has none, so it matches within one field or not at all). Migration 0016 indexes
    UPPER() of exactly this expression with trigrams, which `icontains` on it uses.

    `indexed=False` appends an empty string: the same text in an expression the index
    does not cover (migration 0016 gives it statistics instead)."""

    template = "%(expressions)s"
    arg_joiner = " || ' ' || "
    output_field = models.TextField()

    def __init__(self, *, indexed: bool = True, **extra):
        if not indexed:
            extra["template"] = "(%(expressions)s || '')"
        super().__init__(*SEARCH_FIELDS, **extra)


SEARCH_FIELDS = ("first_name", "last_name", "email", "company")
SEARCH_WORDS = 5  # words after the fifth are ignored
SEARCH_CAMPAIGNS = 500
# A word in at most this many engagement titles has its leads looked up first, by id.
SEARCH_FEW_ENGAGEMENTS = 1000
# A search with at most this many candidates becomes `id IN (…)`; more walk the sort index.
SEARCH_FEW = 3000
# …and is not even tried when the planner expects five times that many matches.
SEARCH_PROBE_ESTIMATE = 5 * SEARCH_FEW
# The probe looks a long word up by a part of it only: the trigrams of its end are often
# in every row ("….example", "gmail.com") and would make the index scan read all of them.
SEARCH_PROBE_CHARS = 16


def probe_part(word: str) -> str:
    """The part of a long search word the probe looks up: the SEARCH_PROBE_CHARS
    characters with the most digits in them (digits make rare trigrams: in
    "vera.zimmermann.999047@initech53.example" the probe looks up "999047@initech53", not
    "vera.zimmermann.", which 1 lead in 750 shares), or else the word's start. Any part
    of the word finds every lead the whole word does."""
    if len(word) <= SEARCH_PROBE_CHARS:
        return word
    windows = range(len(word) - SEARCH_PROBE_CHARS + 1)
    digits = [sum(c.isdigit() for c in word[i : i + SEARCH_PROBE_CHARS]) for i in windows]
    start = digits.index(max(digits))
    return word[start : start + SEARCH_PROBE_CHARS]


def search_word(word: str) -> tuple[Q, Q | None]:
    """One search word: the condition a matching lead meets (on a queryset with the
    `search_text` alias), and the probe's condition for its candidates, or None when the
    word cannot be probed by index.

    Campaigns and engagement titles live in other tables, and an OR across a join or a
    subquery can use no index. Campaigns are few: the matching ones are looked up first and
    the lead matches by `campaign_id IN (…)`. Engagement titles are looked up the same way
    while they are few, and the lead matches by `id IN (…)`; a word in more titles than
    that matches by a correlated EXISTS, which only the walk can use."""
    match = Q(search_text__icontains=word)
    probe = Q(search_text__icontains=probe_part(word))
    campaigns = list(
        Campaign.objects.filter(name__icontains=word).values_list("id", flat=True)[:SEARCH_CAMPAIGNS]
    )
    if campaigns:
        match |= Q(campaign_id__in=campaigns)
        probe |= Q(campaign_id__in=campaigns)
    titled = Engagement.objects.filter(title__icontains=word)
    # No DISTINCT: it would read every match before the LIMIT. A lead with the same title
    # twice counts twice here, which at worst sends a word down the EXISTS branch sooner.
    did = list(titled.order_by().values_list("lead_id", flat=True)[: SEARCH_FEW_ENGAGEMENTS + 1])
    if len(did) > SEARCH_FEW_ENGAGEMENTS:
        # The redundant `<=` keeps the planner from hashing every matching engagement's
        # lead up front (it hashes only pure equalities): on the walk, a probe per row read.
        did_it = titled.filter(lead=models.OuterRef("pk"), lead__lte=models.OuterRef("pk"))
        return match | Q(models.Exists(did_it)), None
    if did:
        match |= _ids_in(did)
        probe |= _ids_in(did)
    return match, probe


def _ids_in(ids) -> Q:
    """Lead ids as a condition, sent as one array (smarketing.lookups)."""
    return Q(pk__any=Values(int(pk) for pk in ids))


def _estimated_rows(queryset) -> float:
    """How many rows PostgreSQL's planner expects `queryset` to return (0 elsewhere)."""
    if connections[queryset.db].vendor != "postgresql":
        return 0
    return json.loads(queryset.explain(format="json"))[0]["Plan"]["Plan Rows"]


def _bitmap_ids(queryset) -> list:
    """Evaluate `queryset` (a LIMITed probe) with PostgreSQL allowed bitmap scans only: the
    trigram index finds the candidates and only the first few are read from the table.
    Left to itself, the planner may scan the table hoping to reach the LIMIT early, which
    for a word in 1 lead of 40 means reading 40 × SEARCH_FEW rows."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return list(queryset)
    with transaction.atomic(using=queryset.db), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
        try:
            return list(queryset)
        finally:  # for the rest of an enclosing transaction
            cursor.execute("SET LOCAL enable_seqscan = DEFAULT; SET LOCAL enable_indexscan = DEFAULT")


class Lead(models.Model):
    # Contact and company profile
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254, unique=True, help_text="Stored normalised.")
    phone = models.CharField(max_length=40, blank=True)
    company = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    company_size = models.PositiveIntegerField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code.")
    website = models.URLField(max_length=300, blank=True)

    # First touch: recorded at creation, never overwritten.
    source = models.CharField(max_length=30, choices=Source.choices, default=Source.OTHER)
    # No index of its own: lead_campaign_stage (campaign, stage) serves it (migration 0017).
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="leads", db_index=False
    )
    # Referrer and merged_into: indexed by lead_referrer and lead_merged_into, over the
    # few leads that have one (migration 0021).
    referrer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referred_leads",
        db_index=False,
    )

    # Funnel state: written only by leads.services.
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.LEAD)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    # Owner and qualified_by: no index of their own either; lead_owner_stage and
    # lead_qualified_by_stage lead with them (migration 0017).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_leads",
        db_index=False,
    )
    qualified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="qualified_leads",
        db_index=False,
    )
    qualified_at = models.DateTimeField(null=True, blank=True)
    score = models.IntegerField(default=0)
    # Which rule gave which points (see leads.scoring), and under which version of the
    # scoring definition: a background re-score finds the leads still on an older one.
    score_receipt = models.JSONField(default=list, blank=True)
    scored_version = models.PositiveIntegerField(default=0)
    agreement_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The agreement version in force when it was last handed off."
    )
    scored_at = models.DateTimeField(null=True, blank=True)
    recycle_count = models.PositiveIntegerField(default=0)
    deal_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_leads", db_index=False
    )
    # Optimistic concurrency: every write bumps it; a form or API call that read an older
    # version is refused instead of overwriting what someone else just did.
    version = models.PositiveIntegerField(default=1)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="created_leads",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["stage", "-stage_entered_at"], name="lead_stage_entered"),
            # A lead's owner, qualifier, referrer and survivor are looked up by person (or
            # lead), never as "has none": the leads without one (every new and imported
            # lead) are left out, which spares each new lead four index writes.
            models.Index(
                fields=["owner", "stage"], name="lead_owner_stage", condition=Q(owner__isnull=False)
            ),
            models.Index(
                fields=["qualified_by", "stage"],
                name="lead_qualified_by_stage",
                condition=Q(qualified_by__isnull=False),
            ),
            models.Index(fields=["referrer"], name="lead_referrer", condition=Q(referrer__isnull=False)),
            models.Index(
                fields=["merged_into"], name="lead_merged_into", condition=Q(merged_into__isnull=False)
            ),
            # With created_at, a source (and stage) filter on the newest-first list reads
            # its page in index order instead of walking past every other source.
            models.Index(fields=["source", "stage", "-created_at"], name="lead_source_stage_created"),
            models.Index(fields=["campaign", "stage"], name="lead_campaign_stage"),
            models.Index(
                fields=["recycle_count"],
                name="lead_recycled",
                condition=Q(stage="lead", recycle_count__gt=0),
            ),
            models.Index(fields=["phone"], name="lead_phone", condition=~Q(phone="")),
            models.Index(fields=["company", "last_name"], name="lead_company_name"),
            # The likely-duplicate check compares name and company case-insensitively.
            models.Index(Upper("company"), Upper("last_name"), name="lead_company_name_ci"),
            models.Index(fields=["scored_version"], name="lead_scored_version"),
            models.Index(fields=["scored_at"], name="lead_scored_at"),
            # The list's sorts by score, name and latest stage change, then id as the keyset
            # does: a page is a short index walk, even inside a large tie.
            models.Index(fields=["-score", "-id"], name="lead_score_sort"),
            models.Index(fields=["last_name", "id"], name="lead_name_sort"),
            models.Index(fields=["-stage_entered_at", "-id"], name="lead_stage_change_sort"),
            # The list's two commonest filters, a rep's leads and a stage, newest first and
            # over live leads only (as the list is): the page is the first rows of the index
            # and its count an index-only scan, instead of walking the created_at index past
            # every other rep's or stage's leads and counting on the table.
            models.Index(  # unowned leads (every imported one) are never listed by owner
                fields=["owner", "-created_at", "-id"],
                name="lead_owner_newest",
                condition=Q(merged_into__isnull=True, owner__isnull=False),
            ),
            models.Index(
                fields=["stage", "-created_at", "-id"],
                name="lead_stage_newest",
                condition=Q(merged_into__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(deal_amount__isnull=True) | Q(deal_amount__gte=0),
                name="lead_deal_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("id")), name="lead_not_merged_into_itself"
            ),
        ]
        permissions = [
            ("qualify_lead", "Can qualify a lead and hand it to sales"),
            ("respond_lead", "Can accept or reject an MQL"),
            ("close_lead", "Can win or lose an SQL"),
            ("disqualify_lead", "Can disqualify a lead"),
            ("reopen_lead", "Can reopen a disqualified lead"),
            ("reassign_lead", "Can reassign a lead to another rep"),
            ("merge_lead", "Can merge two leads"),
            ("import_leads", "Can import leads from a file"),
            ("refer_lead", "Can refer a lead"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def save(self, *args, **kwargs) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_recycled(self) -> bool:
        return self.stage == Stage.LEAD and self.recycle_count > 0


class EventType(models.TextChoices):
    CREATED = "created", "Created"
    QUALIFIED = "qualified", "Qualified (handed to sales)"
    ACCEPTED = "accepted", "Accepted by sales"
    REJECTED = "rejected", "Rejected by sales"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    DISQUALIFIED = "disqualified", "Disqualified"
    REOPENED = "reopened", "Reopened"
    REASSIGNED = "reassigned", "Reassigned"
    RETURNED = "returned", "Returned to marketing (SLA breach)"
    SNOOZED = "snoozed", "Follow-up snoozed"
    MERGED = "merged", "Merged"
    MERGED_INTO = "merged_into", "Merged into another lead"
    UPDATED = "updated", "Profile edited"


class ImmutableError(Exception):
    pass


class LeadEventQuerySet(models.QuerySet["LeadEvent"]):
    def update(self, **kwargs):  # type: ignore[override]
        raise ImmutableError("Lead events are immutable.")

    def delete(self):  # type: ignore[override]
        raise ImmutableError("Lead events are immutable.")


class LeadEvent(models.Model):
    """One immutable line of a lead's history: who moved it, when, from where to where, why."""

    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="events")
    type = models.CharField(max_length=20, choices=EventType.choices)
    from_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lead_events",
        help_text="Empty when the system acted (automatic qualification, SLA escalation).",
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    reason = models.ForeignKey(Reason, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    # For a move out of a stage: when the lead had entered that stage (the occurred_at of
    # the event that moved it in), so that time spent in a stage is one subtraction.
    stage_since = models.DateTimeField(null=True, blank=True)

    objects = LeadEventQuerySet.as_manager()

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["lead", "occurred_at"], name="event_lead_time"),
            models.Index(fields=["type", "occurred_at"], name="event_type_time"),
            models.Index(fields=["to_stage", "occurred_at"], name="event_to_stage_time"),
            models.Index(fields=["actor", "occurred_at"], name="event_actor_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} of lead {self.lead_id} at {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ImmutableError("Lead events are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError("Lead events are immutable.")


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


class Engagement(models.Model):
    """A marketing touch: something the lead consumed or did."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="engagements")
    type = models.CharField(max_length=30, choices=EngagementType.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    title = models.CharField(max_length=300, blank=True)
    url = models.URLField(max_length=500, blank=True)
    points = models.IntegerField(default=0)
    # Where it came from ("hubspot", "website", "manual") and that system's id for it:
    # ingesting the same engagement twice is harmless.
    origin = models.CharField(max_length=50, default="manual")
    external_id = models.CharField(max_length=200, blank=True)
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["lead", "-occurred_at"], name="engagement_lead_time")]
        constraints = [
            models.UniqueConstraint(
                fields=["origin", "external_id"],
                condition=~Q(external_id=""),
                name="engagement_external_id_unique_per_origin",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()}: {self.title}" if self.title else self.get_type_display()


class TouchKind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"


class TouchOutcome(models.TextChoices):
    CONNECTED = "connected", "Connected"
    LEFT_MESSAGE = "left_message", "Left a message"
    NO_ANSWER = "no_answer", "No answer"
    REPLIED = "replied", "Replied"
    MEETING_BOOKED = "meeting_booked", "Meeting booked"
    MEETING_HELD = "meeting_held", "Meeting held"
    NOT_INTERESTED = "not_interested", "Not interested"


class Touch(models.Model):
    """A sales follow-up touch on an SQL."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="touches")
    kind = models.CharField(max_length=20, choices=TouchKind.choices)
    outcome = models.CharField(max_length=30, choices=TouchOutcome.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="touches")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "touches"
        indexes = [models.Index(fields=["lead", "-occurred_at"], name="touch_lead_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_outcome_display()})"


class NotificationKind(models.TextChoices):
    MQL_ASSIGNED = "mql_assigned", "An MQL was assigned to you"
    MQL_REJECTED = "mql_rejected", "Your MQL was rejected"
    LEAD_WON = "lead_won", "Your lead was won"
    REFERRAL_CONVERTED = "referral_converted", "A lead you referred converted"
    SLA_WARNING = "sla_warning", "SLA deadline approaching"
    SLA_BREACH = "sla_breach", "SLA deadline breached"
    WEEKLY_DIGEST = "weekly_digest", "Weekly funnel digest"
    AGREEMENT = "agreement", "The agreement changed"


class Notification(models.Model):
    """An outbox row: one message to one person about one thing that happened.

    The unique key makes "never twice for one event" a property of the data; `emailed_at`
    is set in the same conditional update that claims the row for sending.
    """

    # Loose keys (no database constraint, migration 0020): an SLA run writes ~1,500
    # notifications at once, and each constraint was a checked, locking query per row.
    # No index of its own: notification_once_per_event and notification_unread begin with it.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    lead = models.ForeignKey(
        Lead,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_constraint=False,
    )
    dedupe_key = models.CharField(max_length=100)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["recipient", "-created_at"],
                name="notification_unread",
                condition=Q(read_at__isnull=True),
            ),
            models.Index(
                fields=["created_at"],
                name="notification_email_pending",
                condition=Q(emailed_at__isnull=True),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "dedupe_key"], name="notification_once_per_event"
            )
        ]

    def __str__(self) -> str:
        return self.subject


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


class DeferredTask(models.Model):
    """A task that could not be sent because the broker was down: kept here, sent again by
    the beat job `leads.tasks.deferred_tasks_send` once the broker is back (see
    `smarketing.queue`). Only task names and ids: no personal data."""

    name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name}{tuple(self.args)}"


# --- CSV imports ------------------------------------------------------------------------------


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", "Waiting for the column mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Stopped by an error"


class ImportJob(models.Model):
    """One uploaded file and what its import did. Counters advance chunk by chunk in the
    same transaction as the chunk's leads, so a retried job neither loses nor double-counts."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="imports")
    created_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(max_length=255)
    stored_path = models.CharField(max_length=500)
    file_size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=2)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, help_text="{column header: lead field}")
    default_source = models.CharField(max_length=30, choices=Source.choices, default=Source.LIST_IMPORT)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=ImportStatus.choices, default=ImportStatus.MAPPING)
    rows_estimate = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    last_row = models.PositiveIntegerField(default=1, help_text="Spreadsheet row number last committed.")
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life: queued, claimed, or a chunk committed."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="import_by_user")]

    def __str__(self) -> str:
        return f"Import of {self.file_name}"

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.rows_estimate:
            return 0
        return min(99, round(100 * self.rows_done / self.rows_estimate))


class RowOutcome(models.TextChoices):
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped as duplicate"


class ImportRow(models.Model):
    """A row that was not created: why, and its cells as uploaded (to fix and re-import)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rows")
    row_number = models.PositiveIntegerField()
    outcome = models.CharField(max_length=10, choices=RowOutcome.choices)
    message = models.CharField(max_length=500)
    email = models.CharField(max_length=254, blank=True)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    values = models.JSONField(default=dict)

    class Meta:
        ordering = ["job", "row_number"]
        indexes = [models.Index(fields=["job", "outcome", "row_number"], name="import_row_outcome")]
        constraints = [
            models.UniqueConstraint(fields=["job", "row_number"], name="import_row_once"),
        ]

    def __str__(self) -> str:
        return f"Row {self.row_number}: {self.message}"


# --- inbound: website forms and other systems posting leads ---------------------------------


class InboundSource(models.Model):
    """A website form (or other system) allowed to post leads and engagements with its own
    API key. The key can do nothing else; only its hash is stored."""

    name = models.CharField(max_length=100, unique=True)
    source = models.CharField(max_length=30, choices=Source.choices, default=Source.WEBSITE)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    key_prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class IdempotencyRecord(models.Model):
    """The response given to one Idempotency-Key, replayed if the same request comes again."""

    inbound_source = models.ForeignKey(InboundSource, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["inbound_source", "key"], name="idempotency_key_once_per_source")
        ]

    def __str__(self) -> str:
        return f"{self.inbound_source}: {self.key}"
