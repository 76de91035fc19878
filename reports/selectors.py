"""Report reads, rebuilt from the immutable event log."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, OuterRef, Subquery

from leads.models import Lead, LeadEvent, Stage


def _stage_at(at: dt.datetime):
    """For each lead row, the to_stage of its last stage-bearing event at or before `at`."""
    return Subquery(
        LeadEvent.objects.filter(lead=OuterRef("pk"), occurred_at__lte=at)
        .exclude(to_stage="")
        .order_by("-occurred_at", "-id")
        .values("to_stage")[:1]
    )


def leads_as_of(at: dt.datetime, leads=None):
    """Live leads (of `leads`, when given) that existed at `at`, annotated with `stage_then`."""
    base = Lead.objects.live() if leads is None else Lead.objects.live().filter(pk__in=leads.values("pk"))
    return base.filter(created_at__lte=at).annotate(stage_then=_stage_at(at)).exclude(stage_then=None)


def stage_as_of(at: dt.datetime) -> dict[int, str]:
    """Each lead's stage at `at`, from the event log alone."""
    return dict(leads_as_of(at).values_list("pk", "stage_then"))


def funnel_as_of(at: dt.datetime, leads=None) -> dict[str, int]:
    """How many leads were in each stage at `at` (every stage present, zeros included)."""
    counts = dict.fromkeys(Stage.values, 0)
    counts.update(
        leads_as_of(at, leads)
        .order_by()
        .values_list("stage_then")
        .annotate(n=Count("pk"))
        .values_list("stage_then", "n")
    )
    return counts
