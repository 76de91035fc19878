"""Routing: which rep receives an MQL.

Weighted round-robin over active sales reps who are not away: the rep with the fewest
assignments per unit of weight goes next. The counter lives on the membership row and is
updated under a row lock, so two hand-offs at once never pick by the same stale count.
"""

from __future__ import annotations

from django.db.models import F

from .errors import LeadActionError
from .models import Lead, Membership, TeamKind
from .roles import Role

ROUND_ROBIN = "round robin"


def available_reps():
    return Membership.objects.filter(
        team__kind=TeamKind.SALES,
        is_away=False,
        user__is_active=True,
        user__groups__name=Role.SALES_REP,
    )


def route_mql(lead: Lead):
    """Pick the rep for `lead`; returns (user, rule name). Call inside a transaction."""
    candidates = list(available_reps().select_for_update(of=("self",)).select_related("user").order_by("id"))
    if not candidates:
        raise LeadActionError(
            "No sales rep is available to take this MQL (all away or none set up). "
            "Ask a sales manager to mark a rep available.",
            code=LeadActionError.INVALID,
        )
    chosen = min(candidates, key=lambda m: (m.assigned_count / m.weight, m.assigned_count, m.id))
    Membership.objects.filter(pk=chosen.pk).update(assigned_count=F("assigned_count") + 1)
    return chosen.user, ROUND_ROBIN
