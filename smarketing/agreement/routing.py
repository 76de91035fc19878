"""Routing: which rep receives an MQL.

Territory and segment first: the first active `RoutingRule` the lead matches (country,
company size, source) names a sales team, and the round-robin runs among that team's
available reps. When no rule matches, or nobody in the matched team is available, the
round-robin runs among every available rep, and the recorded rule says so.

Weighted round-robin over active sales reps who are not away: the rep with the fewest
assignments per unit of weight goes next. The counter lives on the membership row and is
updated under a row lock, so two hand-offs at once never pick by the same stale count.
"""

from __future__ import annotations

from django.db.models import F, Model

from smarketing.agreement.models import RoutingRule
from smarketing.core.errors import ActionError
from smarketing.org.models import Membership, TeamKind
from smarketing.org.roles import Role

ROUND_ROBIN = "round robin"


def available_reps():
    return Membership.objects.filter(
        team__kind=TeamKind.SALES,
        is_away=False,
        user__is_active=True,
        user__groups__name=Role.SALES_REP,
    )


def rule_matches(rule: RoutingRule, lead: Model) -> bool:
    codes = rule.country_codes
    if codes and (lead.country or "").upper() not in codes:
        return False
    if rule.min_company_size is not None or rule.max_company_size is not None:
        if lead.company_size is None:
            return False
        if rule.min_company_size is not None and lead.company_size < rule.min_company_size:
            return False
        if rule.max_company_size is not None and lead.company_size > rule.max_company_size:
            return False
    return not rule.sources or lead.source in rule.sources


def route_mql(lead: Model, *, exclude=None):
    """Pick the rep for `lead`; returns (user, rule name). Call inside a transaction.
    `exclude`: a rep not to pick (the one an SLA breach takes the lead from)."""
    rule = next(
        (
            r
            for r in RoutingRule.objects.filter(is_active=True).select_related("team")
            if rule_matches(r, lead)
        ),
        None,
    )
    pool = available_reps()
    if exclude is not None:
        pool = pool.exclude(user=exclude)
    label = ROUND_ROBIN
    if rule is not None:
        if pool.filter(team=rule.team).exists():
            pool = pool.filter(team=rule.team)
            label = f"{rule.name} → {rule.team}, {ROUND_ROBIN}"
        else:
            label = f"{ROUND_ROBIN} (nobody available in {rule.team} for {rule.name})"
    candidates = list(pool.select_for_update(of=("self",)).select_related("user").order_by("id"))
    if not candidates:
        raise ActionError(
            "No sales rep is available to take this MQL (all away or none set up). "
            "Ask a sales manager to mark a rep available.",
            code=ActionError.INVALID,
        )
    chosen = min(candidates, key=lambda m: (m.assigned_count / m.weight, m.assigned_count, m.id))
    Membership.objects.filter(pk=chosen.pk).update(assigned_count=F("assigned_count") + 1)
    return chosen.user, label
