"""Keeping nothing longer than needed: the retention policy, its preview and its runs.

Two periods, each off while empty (`RetentionPolicy`):
- *inactive*: a lead still with marketing (stage Lead) with nothing happening to it —
  no event, engagement or touch — for `inactive_months`;
- *disqualified*: a lead disqualified `disqualified_months` ago or longer.
MQLs, SQLs and customers are never touched by the policy: sales is working on them or
the organisation has a contract with them; they are erased on request only.
A lead that matches is anonymised exactly as `person_erase` does it, with every lead
merged with it, and each run is recorded (`RetentionRun`, `PrivacyAudit`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from leads.models import Engagement, Lead, LeadEvent, Stage, Touch
from leads.services.erasure import person_lead_ids
from smarketing.core.errors import ActionError
from smarketing.privacy.models import PrivacyAction, PrivacyAudit, RetentionPolicy, RetentionRun, RunStatus
from smarketing.privacy.services import people_erase, privacy_allowed

log = logging.getLogger(__name__)

MONTHS_MAX = 240
BATCH = 200  # people per transaction
PREVIEW_SHOWN = 50


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day and time `months` calendar months earlier (the month's last day when
    it is shorter: 31 March less one month is 28 or 29 February)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def cutoffs(policy: RetentionPolicy, now: dt.datetime) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(inactive before, disqualified before) for `policy` at `now`."""

    def before(months: int | None) -> dt.datetime | None:
        return months_before(now, months) if months else None

    return before(policy.inactive_months), before(policy.disqualified_months)


def retention_due(policy: RetentionPolicy, now: dt.datetime | None = None) -> QuerySet[Lead]:
    """The live, not yet erased leads the policy anonymises at `now` (none when both
    periods are off)."""
    inactive_before, disqualified_before = cutoffs(policy, now or timezone.now())
    matches = Q(pk__in=[])
    if inactive_before is not None:
        quiet = (
            ~Exists(LeadEvent.objects.filter(lead=OuterRef("pk"), occurred_at__gte=inactive_before))
            & ~Exists(Engagement.objects.filter(lead=OuterRef("pk"), occurred_at__gte=inactive_before))
            & ~Exists(Touch.objects.filter(lead=OuterRef("pk"), occurred_at__gte=inactive_before))
        )
        # A lead entered its stage with an event (created, recycled): one that entered
        # it since the cut-off is not quiet. Said here, the stage index finds the
        # candidates and only they are probed for later activity.
        matches |= (
            Q(stage=Stage.LEAD, stage_entered_at__lt=inactive_before, created_at__lt=inactive_before) & quiet
        )
    if disqualified_before is not None:
        matches |= Q(stage=Stage.DISQUALIFIED, stage_entered_at__lt=disqualified_before)
    return Lead.objects.live().filter(matches, erased_at__isnull=True).order_by("pk")


def retention_preview(policy: RetentionPolicy, now: dt.datetime | None = None) -> dict:
    """What a run would anonymise now: how many, split by rule, and the first leads."""
    now = now or timezone.now()
    due = retention_due(policy, now)
    inactive_before, disqualified_before = cutoffs(policy, now)
    counts = due.order_by().aggregate(
        total=Count("pk"),
        inactive=Count("pk", filter=Q(stage=Stage.LEAD)),
        disqualified=Count("pk", filter=Q(stage=Stage.DISQUALIFIED)),
    )  # one pass over the candidates, not one per figure
    return {
        "inactive_before": inactive_before,
        "disqualified_before": disqualified_before,
        **counts,
        "first": list(due.select_related("campaign")[:PREVIEW_SHOWN]),
    }


def _months(value, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        months = int(value)
    except (TypeError, ValueError):
        raise ActionError(f"“{value}” is not a number of months.", field=field) from None
    if isinstance(value, bool) or not 1 <= months <= MONTHS_MAX or str(months) != str(value).strip():
        raise ActionError(
            f"Give a whole number of months from 1 to {MONTHS_MAX}, or leave it empty.", field=field
        )
    return months


@transaction.atomic
def retention_policy_set(
    *, actor, enabled: bool, inactive_months=None, disqualified_months=None
) -> RetentionPolicy:
    """Change the policy (managers); audited with its values before and after."""
    privacy_allowed(actor, "change the retention policy")
    inactive, disqualified = (
        _months(inactive_months, "inactive_months"),
        _months(disqualified_months, "disqualified_months"),
    )
    if enabled and inactive is None and disqualified is None:
        raise ActionError("Set at least one period before switching the policy on.", field="enabled")
    policy = RetentionPolicy.objects.select_for_update().filter(pk=1).first() or RetentionPolicy(pk=1)
    before = _values(policy)
    policy.enabled, policy.inactive_months, policy.disqualified_months = bool(enabled), inactive, disqualified
    policy.updated_by, policy.updated_at = actor, timezone.now()
    policy.save()
    if _values(policy) != before:
        PrivacyAudit.objects.create(
            action=PrivacyAction.RETENTION_POLICY,
            actor=actor,
            detail={"before": before, "after": _values(policy)},
        )
    return policy


def _values(policy: RetentionPolicy) -> dict:
    return {
        "enabled": policy.enabled,
        "inactive_months": policy.inactive_months,
        "disqualified_months": policy.disqualified_months,
    }


def retention_run(*, actor=None, now: dt.datetime | None = None) -> RetentionRun:
    """Apply the policy now: the people it names anonymised, BATCH at a time, each batch
    in its own transaction (a run stopped half way leaves whole people done and the rest
    for the next run). `actor` None: the nightly job, which runs only an enabled policy."""
    privacy_allowed(actor, "run the retention policy")
    policy = RetentionPolicy.current()
    if actor is None and not policy.enabled:
        raise ActionError("The retention policy is off.")
    now = now or timezone.now()
    inactive_before, disqualified_before = cutoffs(policy, now)
    if inactive_before is None and disqualified_before is None:
        raise ActionError("The retention policy has no period set.", field="inactive_months")
    run = RetentionRun.objects.create(
        started_at=now,
        started_by=actor,
        inactive_before=inactive_before,
        disqualified_before=disqualified_before,
    )
    try:
        last = 0
        while True:
            with transaction.atomic():
                firsts = list(
                    retention_due(policy, now).filter(pk__gt=last).values_list("pk", flat=True)[:BATCH]
                )
                if not firsts:
                    break
                last = firsts[-1]
                people = [person_lead_ids(pk) for pk in firsts]
                ids = sorted({pk for person in people for pk in person})
                list(Lead.objects.select_for_update().filter(pk__in=ids).values_list("pk"))
                counts = people_erase(ids, now=timezone.now())
                RetentionRun.objects.filter(pk=run.pk).update(
                    people=run.people + len(people), leads=run.leads + counts["leads"]
                )
                run.people += len(people)
                run.leads += counts["leads"]
    except Exception as exc:
        log.exception("Retention run %s stopped", run.pk)
        run.status, run.error, run.finished_at = RunStatus.FAILED, str(exc)[:2000], timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        _audit(run, actor, policy)
        raise
    run.status, run.finished_at = RunStatus.DONE, timezone.now()
    run.save(update_fields=["status", "finished_at"])
    _audit(run, actor, policy)
    return run


def _audit(run: RetentionRun, actor, policy: RetentionPolicy) -> None:
    PrivacyAudit.objects.create(
        action=PrivacyAction.RETENTION_RUN,
        actor=actor,
        detail={
            "run": run.pk,
            "status": run.status,
            "people": run.people,
            "leads": run.leads,
            **_values(policy),
        },
    )
