"""Every figure's leads, by the name the lead list's drill-down gives it."""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    QuerySet,
)

from reports.metrics.attribution import handed_off_lead_ids, reached_lead_ids
from reports.metrics.funnel import cohort_lead_ids, entered_lead_ids, event_lead_ids, left_lead_ids
from reports.metrics.speed import clock_lead_ids, responded_lead_ids


def drilldown_lead_ids(*, drill: str, value, first: dt.date, last: dt.date, extra: dict) -> QuerySet:
    """The leads behind a figure, by the name the lead list's drill-down gives it
    (`leads.hooks.drilldown_lead_ids`): each the `*_lead_ids` beside its count above."""
    if drill == "entered":
        return entered_lead_ids(value, first, last)
    if drill == "cohort":
        return cohort_lead_ids(value, first, last)
    if drill == "outcome":
        return event_lead_ids(value, first, last, reason=extra.get("reason"))
    if drill == "left":
        return left_lead_ids(value, first, last)
    if drill == "responded":
        return responded_lead_ids(first, last)
    if drill == "reached":
        return reached_lead_ids(value, first, last)
    if drill == "sla":
        return clock_lead_ids(value, first, last, owner=extra.get("owner"), team=extra.get("team"))
    if drill == "handed_off":
        return handed_off_lead_ids(value, first, last)
    if drill == "handed_off_agreement":
        return handed_off_lead_ids(value, first, last, by="agreement_version")
    raise ValueError(f"No drill-down called {drill!r}.")
