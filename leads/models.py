"""The funnel's data: leads, their immutable event log, and what marketing and sales did.

Nothing here changes a lead's stage: every transition lives in `leads.services`.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db import connections, models, transaction
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone

from smarketing.agreement.models import Reason
from smarketing.core.lookups import Values
from smarketing.org.models import Campaign, EngagementType, Source


def normalize_email(value: str) -> str:
    """The form an email is compared in: trimmed and case-folded as a whole.

    Local parts are case-sensitive in theory and never in practice; two rows for
    `Ann@Acme.com` and `ann@acme.com` would be the same person twice.
    """
    return (value or "").strip().casefold()


class Stage(models.TextChoices):
    LEAD = "lead", "Lead"
    MQL = "mql", "MQL"
    SQL = "sql", "SQL"
    CUSTOMER = "customer", "Customer"
    DISQUALIFIED = "disqualified", "Disqualified"


class Consent(models.TextChoices):
    """A person's answer on marketing contact (docs/privacy.md). Blank: never asked."""

    NOT_RECORDED = "", "Not recorded"
    GIVEN = "given", "Given"
    REFUSED = "refused", "Refused"
    WITHDRAWN = "withdrawn", "Withdrawn"


# Nobody hands these to sales or is told about them automatically.
NO_CONTACT = frozenset({Consent.REFUSED, Consent.WITHDRAWN})


class ConsentMethod(models.TextChoices):
    FORM = "form", "Web form"
    IMPORT = "import", "Import"
    BY_HAND = "by_hand", "Recorded by hand"
    API = "api", "API"


class LawfulBasis(models.TextChoices):
    NOT_RECORDED = "", "Not recorded"
    CONSENT = "consent", "Consent"
    LEGITIMATE_INTEREST = "legitimate_interest", "Legitimate interest"
    CONTRACT = "contract", "Contract"


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
    """Lead ids as a condition, sent as one array (smarketing.core.lookups)."""
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
    # Which rule gave which points (see smarketing.agreement.scoring), and under which version of the
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
    # Consent to marketing contact and the lawful basis (docs/privacy.md): the latest answer
    # here, for lists and the hand-off to read; every answer recorded in ConsentRecord.
    # Defaults in the database too: code of the release before writes leads without them
    # while an upgrade migrates (docs/deploy.md, "Without downtime").
    consent = models.CharField(max_length=10, choices=Consent.choices, blank=True, default="", db_default="")
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_method = models.CharField(
        max_length=10, choices=ConsentMethod.choices, blank=True, default="", db_default=""
    )
    consent_wording = models.CharField(
        max_length=500,
        blank=True,
        default="",
        db_default="",
        help_text="The wording, or its version, the person answered.",
    )
    lawful_basis = models.CharField(
        max_length=20, choices=LawfulBasis.choices, blank=True, default="", db_default=""
    )
    # Set once, when the person was erased (smarketing.privacy): from then on an anonymous
    # record that keeps its stage, owner, source, campaign and events for the reports.
    erased_at = models.DateTimeField(null=True, blank=True)

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
            # The list's consent filter: only answered leads are in it.
            models.Index(
                fields=["consent", "-created_at", "-id"],
                name="lead_consent_newest",
                condition=Q(merged_into__isnull=True) & ~Q(consent=""),
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
        if self.erased_at is not None:
            return f"Erased person (lead {self.pk})"
        return self.full_name or self.email

    def save(self, *args, **kwargs) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def no_contact(self) -> bool:
        """The person refused or withdrew consent to marketing contact."""
        return self.consent in NO_CONTACT

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
    # A line of history that moves nothing: a note someone wrote on the lead (its text in
    # `note`, whom it mentions in `data`). No stage, no version bump, no transition.
    NOTED = "noted", "Note"


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


class ConsentRecord(models.Model):
    """One answer a person gave on marketing contact, as it was recorded: the audit of
    `Lead.consent`. Kept after an erasure (it holds no personal value: the wording is the
    organisation's own)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="consent_records")
    consent = models.CharField(max_length=10, choices=Consent.choices)
    given_at = models.DateTimeField(help_text="When the person answered.")
    method = models.CharField(max_length=10, choices=ConsentMethod.choices)
    wording = models.CharField(max_length=500, blank=True)
    lawful_basis = models.CharField(max_length=20, choices=LawfulBasis.choices, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["lead", "-recorded_at"], name="consent_lead_recorded")]

    def __str__(self) -> str:
        return f"{self.get_consent_display()} for lead {self.lead_id} at {self.given_at:%Y-%m-%d %H:%M}"
