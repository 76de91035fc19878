"""A person's rights (docs/privacy.md): the audit of what was done for them, and the
retention policy with a record of each of its runs. No row here holds a personal value:
an erasure is recorded by who, when, the request's reference and how many rows it
changed, never by what was erased."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class PrivacyAction(models.TextChoices):
    EXPORT = "export", "Person's data exported"
    ERASURE = "erasure", "Person erased"
    RETENTION_POLICY = "retention_policy", "Retention policy changed"
    RETENTION_RUN = "retention_run", "Retention run"


class PrivacyAudit(models.Model):
    """One action taken on people's data: who (empty: the retention job), when, for which
    lead (kept: after an erasure it is an anonymous record), the request's reference, and
    figures (rows changed, the policy's values)."""

    action = models.CharField(max_length=20, choices=PrivacyAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(
        max_length=100, blank=True, help_text="The request's reference (a ticket number)."
    )
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="privacy_audit_newest"),
            models.Index(
                fields=["lead", "-at"], name="privacy_audit_lead", condition=models.Q(lead__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"


class RetentionPolicy(models.Model):
    """How long people's data is kept (one row). A period left empty is not applied."""

    enabled = models.BooleanField(default=False, help_text="Run the policy every night.")
    inactive_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Anonymise leads with marketing (stage Lead) with no activity for this many months.",
    )
    disqualified_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Anonymise disqualified leads this many months after disqualification.",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "retention policy"

    def __str__(self) -> str:
        return "Retention policy"

    @classmethod
    def current(cls) -> RetentionPolicy:
        return cls.objects.order_by("pk").first() or cls(pk=1)


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Stopped by an error"


class RetentionRun(models.Model):
    """One run of the retention policy: when, by whom (empty: the nightly job), the
    cut-off dates it applied and how many leads it anonymised."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    inactive_before = models.DateTimeField(null=True, blank=True)
    disqualified_before = models.DateTimeField(null=True, blank=True)
    people = models.PositiveIntegerField(
        default=0, help_text="People (leads with their merged ones) anonymised."
    )
    leads = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Retention run {self.pk} ({self.get_status_display()})"
