"""Sales' side of the agreement in plain words: each active SLA policy as a sentence, for
the agreement's terms (`smarketing.agreement.hooks.terms_sections`)."""

from __future__ import annotations

from sla.models import SlaPolicy
from smarketing.agreement.terms import number_text, plural
from smarketing.org.models import Source


def policy_in_words(policy) -> str:
    """“Hot MQLs: respond within 1 business hour, 6 touches in 5 business days …”."""
    conditions = []
    if policy.min_score is not None or policy.max_score is not None:
        if policy.max_score is None:
            conditions.append(f"score {policy.min_score}+")
        elif policy.min_score is None:
            conditions.append(f"score up to {policy.max_score}")
        else:
            conditions.append(f"score {policy.min_score}–{policy.max_score}")
    if policy.sources:
        labels = dict(Source.choices)
        conditions.append("from " + ", ".join(labels.get(s, s) for s in policy.sources))
    if policy.campaign_id:
        conditions.append(f"campaign {policy.campaign}")
    if policy.team_id:
        conditions.append(f"team {policy.team}")
    if policy.countries:
        conditions.append(f"countries {policy.countries}")
    applies = f" ({'; '.join(conditions)})" if conditions else " (every other MQL)"
    warnings = " and ".join(f"{p} %" for p in policy.warn_percents) or "no warning"
    return (
        f"{policy.name}{applies}: respond within {plural(policy.response_hours, 'business hour')}, "
        f"then {plural(policy.follow_up_touches, 'touch', 'touches')} in {plural(policy.follow_up_days, 'business day')}; "
        f"warn at {warnings}; on breach: {policy.get_on_breach_display().lower()}"
        f"{', and tell the manager' if policy.escalate_to_manager else ''}."
    )


def sla_terms() -> list[dict]:

    policies = (
        SlaPolicy.objects.filter(is_active=True).select_related("campaign", "team").order_by("priority", "pk")
    )
    return [
        {
            "name": policy.name,
            "priority": policy.priority,
            "response_hours": number_text(policy.response_hours),
            "follow_up_touches": policy.follow_up_touches,
            "follow_up_days": number_text(policy.follow_up_days),
            "on_breach": policy.on_breach,
            "words": policy_in_words(policy),
        }
        for policy in policies
    ]


def terms_sections() -> dict[str, list[dict]]:
    """The agreement's section that the SLA keeps (connected in `SlaConfig.ready`)."""
    return {"sla_policies": sla_terms()}
