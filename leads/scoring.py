"""Applying the scoring definition (`smarketing.agreement.scoring`) to the funnel's leads:
re-scoring one lead, the background re-score of every lead after the definition changes,
and the automatic hand-off at the threshold."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from leads import tasks
from leads.models import NO_CONTACT, Engagement, Lead, Stage
from smarketing.agreement.models import (
    ScoringDefinition,
)
from smarketing.agreement.scoring import Scorer
from smarketing.core.queue import enqueue, on_commit_enqueue

log = logging.getLogger(__name__)

RESCORE_BATCH = 500


# --- applying the definition -----------------------------------------------------------------


def leads_scored(
    leads: list[Lead], scorer: Scorer, *, now: dt.datetime
) -> tuple[dict[int, tuple[int, list[dict[str, Any]]]], dict[str, list[int]]]:
    """What `scorer` gives each lead, from its profile and its engagements (read in one
    query for all of them): {lead id: (score, receipt)}; and, per engagement type, the
    leads whose engagements of that type show points the definition no longer gives (see
    `engagement_points_refresh`). Writes nothing: every re-score (one lead after an edit,
    an import's chunk of updates, the background batches) goes through here."""
    engagements: dict[int, list[Engagement]] = {lead.pk: [] for lead in leads}
    for engagement in Engagement.objects.filter(lead_id__in=list(engagements)).order_by(
        "lead_id", "occurred_at", "id"
    ):
        engagements[engagement.lead_id].append(engagement)
    scores: dict[int, tuple[int, list[dict[str, Any]]]] = {}
    stale: dict[str, list[int]] = {}
    for lead in leads:
        scores[lead.pk] = scorer.score(lead, engagements[lead.pk], now=now)
        for kind in {e.type for e in engagements[lead.pk] if e.points != scorer.engagement_points(e.type)}:
            stale.setdefault(kind, []).append(lead.pk)
    return scores, stale


def engagement_points_refresh(stale: dict[str, list[int]], scorer: Scorer) -> None:
    """Each engagement shows what its type is worth under the current definition."""
    for kind, lead_ids in stale.items():
        Engagement.objects.filter(lead_id__in=lead_ids, type=kind).update(
            points=scorer.engagement_points(kind)
        )


def lead_rescore(*, lead_id: int, scorer: Scorer | None = None) -> Lead:
    """Recompute one lead's score and receipt from its profile and engagements.

    A derived value, not a transition: written with one UPDATE and no version bump, so a
    form someone has open is not made stale by a score change. Queues automatic
    qualification after commit when the definition asks for it.
    """
    scorer = scorer or Scorer.load()
    lead = Lead.objects.get(pk=lead_id)
    now = timezone.now()
    scores, stale = leads_scored([lead], scorer, now=now)
    lead.score, lead.score_receipt = scores[lead.pk]
    lead.scored_version, lead.scored_at = scorer.version, now
    Lead.objects.filter(pk=lead_id).update(
        score=lead.score, score_receipt=lead.score_receipt, scored_version=scorer.version, scored_at=now
    )
    engagement_points_refresh(stale, scorer)
    auto_qualify_if_due(lead, scorer)
    return lead


def due_for_auto_qualify(lead: Lead, definition: ScoringDefinition) -> bool:
    """On: at or above the threshold, still with marketing, never sent back by sales
    (those need a marketer's note on what changed), not a merge pointer, not a person who
    refused or withdrew consent to marketing contact, not an erased one."""
    return (
        definition.auto_qualify
        and lead.stage == Stage.LEAD
        and lead.merged_into_id is None
        and lead.recycle_count == 0
        and lead.consent not in NO_CONTACT
        and lead.erased_at is None
        and lead.score >= definition.threshold
    )


def auto_qualify_if_due(lead: Lead, scorer: Scorer) -> None:
    """Queue the automatic hand-off (after commit) when the definition asks for it."""
    if auto_qualify_due(lead, scorer):
        auto_qualify_queue(lead.pk)


def auto_qualify_due(lead: Lead, scorer: Scorer) -> bool:
    """Whether the definition hands this lead to sales now (`due_for_auto_qualify`)."""
    return due_for_auto_qualify(lead, scorer.definition)


def auto_qualify_queue(lead_id: int) -> None:
    """The automatic hand-off of this lead, queued after commit."""
    on_commit_enqueue(tasks.lead_auto_qualify, lead_id)


def _pending(scorer: Scorer, now: dt.datetime):
    """Leads whose stored score is out of date: scored under an older definition, or (with
    decay on) scored more than a day ago, so their engagement points have faded since."""
    live = Lead.objects.live()
    stale_version = live.filter(scored_version__lt=scorer.version)
    if not scorer.definition.decay_half_life_days:
        return stale_version
    return stale_version, live.filter(scored_at__lt=now - DECAY_RESCORE_AFTER)


DECAY_RESCORE_AFTER = dt.timedelta(days=1)


def leads_rescore_batch(*, version: int, batch_size: int = RESCORE_BATCH) -> int:
    """Re-score up to `batch_size` out-of-date leads (see `_pending`). Returns how many were
    done; the task re-queues itself while this is non-zero. Each lead is written with a
    conditional UPDATE, so two workers on the same batch do no harm."""
    scorer = Scorer.load()
    if scorer.version != version:
        return 0  # the definition moved on; the job for the newer version does the work
    now = timezone.now()
    pending = _pending(scorer, now)
    querysets = pending if isinstance(pending, tuple) else (pending,)
    ids: list[int] = []
    for queryset in querysets:
        ids += list(
            queryset.exclude(id__in=ids).order_by("id").values_list("id", flat=True)[: batch_size - len(ids)]
        )
        if len(ids) >= batch_size:
            break
    if not ids:
        return 0
    leads = list(Lead.objects.filter(id__in=ids))
    scores, stale = leads_scored(leads, scorer, now=now)
    for lead in leads:
        score, receipt = scores[lead.pk]
        with transaction.atomic():
            updated = Lead.objects.filter(
                pk=lead.pk, scored_version=lead.scored_version, scored_at=lead.scored_at
            ).update(score=score, score_receipt=receipt, scored_version=version, scored_at=now)
            if updated:
                lead.score = score
                auto_qualify_if_due(lead, scorer)
    engagement_points_refresh(stale, scorer)
    return len(ids)


def rescore_start_if_needed() -> int:
    """Queue a re-score when any lead is out of date. Returns how many are (up to a batch)."""
    scorer = Scorer.load()
    pending = _pending(scorer, timezone.now())
    querysets = pending if isinstance(pending, tuple) else (pending,)
    waiting = sum(qs[:RESCORE_BATCH].count() for qs in querysets)
    if waiting:
        _queue_rescore(scorer.version)
    return waiting


def scoring_progress() -> dict[str, int]:
    """How far the re-score under the current definition has got (for the progress bar)."""
    scorer = Scorer.load()
    live = Lead.objects.live()
    total = live.count()
    pending = live.filter(scored_version__lt=scorer.version).count()
    done = total - pending
    return {
        "version": scorer.version,
        "total": total,
        "pending": pending,
        "done": done,
        "percent": round(100 * done / total) if total else 100,
    }


def _queue_rescore(version: int) -> None:
    enqueue(tasks.leads_rescore, version)


def rescore_after_commit(*, version: int) -> None:
    """The scoring definition moved on (`smarketing.agreement.hooks.scoring_changed`):
    re-score the leads on an older version once the change has committed."""
    transaction.on_commit(lambda: _queue_rescore(version))
