"""What comes in from outside: CSV import jobs and their refused rows, the website
forms (inbound sources) allowed to post leads, with the idempotency records of their posts,
and employees' referrals."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from leads.models import Lead
from smarketing.org.models import Campaign, EngagementType, Source

# --- CSV imports ------------------------------------------------------------------------------


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", "Waiting for the column mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Stopped by an error"


class StoredIn(models.TextChoices):
    """Where an import's uploaded file waits for the worker (`smarketing.intake.files`)."""

    DATABASE = "database", "In the database, in chunks"
    STORAGE = "storage", "In the import storage (S3-compatible), under `stored_path`"
    DISK = "disk", "On the web server's disk at `stored_path` (uploaded before files moved out)"


class ImportKind(models.TextChoices):
    LEADS = "leads", "New leads"
    MIGRATION = "migration", "Migration from another CRM"


class MigrationSystem(models.TextChoices):
    HUBSPOT = "hubspot", "HubSpot"
    SALESFORCE = "salesforce", "Salesforce"
    SMARKETING = "smarketing", "Smarketing"


class ImportJob(models.Model):
    """One uploaded file and what its import did. Counters advance chunk by chunk in the
    same transaction as the chunk's leads, so a retried job neither loses nor double-counts."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="imports")
    created_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(max_length=255)
    # Where the uploaded file waits until the import is done or has failed: every web and
    # worker node reaches the database and the import storage; `stored_path` is the key in
    # that storage ("" in the database), or a path on disk for a job uploaded before.
    stored_in = models.CharField(max_length=10, choices=StoredIn.choices, default=StoredIn.DATABASE)
    stored_path = models.CharField(max_length=500, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=2)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, help_text="{column header: lead field}")
    default_source = models.CharField(max_length=30, choices=Source.choices, default=Source.LIST_IMPORT)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # A migration (managers only) brings each row's history as back-dated events; the
    # everyday import creates new leads (docs/migration.md).
    kind = models.CharField(max_length=10, choices=ImportKind.choices, default=ImportKind.LEADS)
    system = models.CharField(max_length=20, choices=MigrationSystem.choices, blank=True)
    # A migration's value maps, the manager's changes to the defaults:
    # {"stage": {value: stage}, "status": {…}, "deal_stage": {…}, "owner": {value: user id},
    #  "source": {value: source}, "loss_reason": {value: reason id}} (`migration.VALUE_KINDS`).
    value_maps = models.JSONField(default=dict, blank=True)
    fallback_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    disqualification_reason = models.ForeignKey(
        "agreement.Reason", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
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
        db_table = "leads_importjob"  # its table since it lived in leads (docs/architecture.md)
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


class ImportFileChunk(models.Model):
    """One piece of an uploaded file kept in the database (`StoredIn.DATABASE`), in order:
    written and read one at a time, so no node holds the whole file in memory. Removed
    with the file when the import is done or has failed (`files.file_remove`)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="file_chunks", db_index=False)
    index = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="import_file_chunk_once")]

    def __str__(self) -> str:
        return f"Chunk {self.index} of import {self.job_id}"


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
        db_table = "leads_importrow"  # its table since it lived in leads (docs/architecture.md)
        ordering = ["job", "row_number"]
        indexes = [models.Index(fields=["job", "outcome", "row_number"], name="import_row_outcome")]
        constraints = [
            models.UniqueConstraint(fields=["job", "row_number"], name="import_row_once"),
        ]

    def __str__(self) -> str:
        return f"Row {self.row_number}: {self.message}"


# --- inbound: website forms and other systems posting leads ---------------------------------


def default_form_fields() -> list[str]:
    """A website form's usual fields: a name and a company."""
    return ["first_name", "last_name", "company"]


class InboundSource(models.Model):
    """A website form (or other system) allowed to post leads and engagements with its own
    API key. The key can do nothing else; only its hash is stored."""

    name = models.CharField(max_length=100, unique=True)
    source = models.CharField(max_length=30, choices=Source.choices, default=Source.WEBSITE)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # What a post records is the source's, set by a manager: an anonymous post never decides
    # how much it scores (docs/product.md, "Where leads come from").
    engagement_type = models.CharField(
        max_length=30, choices=EngagementType.choices, default=EngagementType.FORM_SUBMIT
    )
    fields = models.JSONField(
        default=default_form_fields, blank=True, help_text="The profile fields a post may fill in."
    )
    per_email_per_day = models.PositiveSmallIntegerField(
        default=1, help_text="Engagements recorded for one email in 24 hours; more posts record nothing."
    )
    per_minute = models.PositiveIntegerField(default=60, help_text="Posts accepted per minute.")
    # The wording (or its version) of the consent question the form shows: what a post's
    # answer is recorded as agreed to. The post never says it (docs/privacy.md); blank:
    # the form asks nothing, and a post carrying an answer is refused.
    consent_wording = models.CharField(
        max_length=500,
        blank=True,
        default="",
        db_default="",  # the release before creates sources without it while an upgrade runs
        help_text="The consent wording (or its version) the form shows.",
    )
    key_prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "leads_inboundsource"  # its table since it lived in leads (docs/architecture.md)
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
        db_table = "leads_idempotencyrecord"  # its table since it lived in leads (docs/architecture.md)
        constraints = [
            models.UniqueConstraint(fields=["inbound_source", "key"], name="idempotency_key_once_per_source")
        ]

    def __str__(self) -> str:
        return f"{self.inbound_source}: {self.key}"


# --- referrals: any employee tells marketing about someone ---------------------------------------

CONTEXT_MAX = 2000  # characters of "what do they need?" (a note, not a document)


class ReferralOutcome(models.TextChoices):
    CREATED = "created", "New lead"
    ATTACHED = "attached", "Already known: added to their lead"


class Referral(models.Model):
    """One employee's tip about one person: who referred, what the customer needs, the
    contact as the employee gave it, and what became of it — a new lead (`created`) or a
    note on the lead marketing already had (`attached`, on a merge's survivor). Written
    only by `smarketing.intake.referrals.referral_submit`."""

    referrer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals", db_index=False
    )
    # No index of its own: referral_lead_time leads with it.
    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="referrals", db_index=False)
    context = models.CharField(
        max_length=CONTEXT_MAX, help_text="What the customer needs, and why the referrer thinks so."
    )
    # The contact as the referrer gave it (the email normalised); the lead keeps its own.
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=ReferralOutcome.choices)
    credited = models.BooleanField(
        default=False, help_text="The referrer is the lead's referrer (credited when it converts)."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["referrer", "-created_at", "-id"], name="referral_by_referrer"),
            models.Index(fields=["lead", "created_at"], name="referral_lead_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(context=""), name="referral_context_given"),
            models.CheckConstraint(
                condition=models.Q(outcome__in=ReferralOutcome.values), name="referral_outcome_known"
            ),
        ]

    def __str__(self) -> str:
        return f"Referral of {self.email} by {self.referrer}"

    @property
    def given_name(self) -> str:
        """The person's name as the referrer gave it."""
        return " ".join(part for part in (self.first_name, self.last_name) if part)
