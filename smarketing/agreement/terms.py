"""The agreement both teams work to, in plain words, read from the live configuration.

`agreement_terms()` gathers what the agreement page shows (and the API returns): what each
stage means, the MQL definition (scoring rules, threshold, hand-off gate), sales' SLA
policies, the agreed reasons and marketing's weekly commitment. Nothing here is typed
twice: every sentence is made from the rows the product enforces. The result is plain
JSON, so a version of the agreement can store it and two versions can be compared.
"""

from __future__ import annotations

from decimal import Decimal

from smarketing.agreement import hooks
from smarketing.agreement.models import (
    FitField,
    FitOperator,
    HandoffGate,
    Reason,
    ReasonKind,
    RuleKind,
    ScoringDefinition,
    ScoringRule,
)

PROFILE_FIELDS = {
    "first_name": "first name",
    "last_name": "last name",
    "company": "company",
    "job_title": "job title",
    "phone": "phone",
    "company_size": "company size",
    "country": "country",
    "website": "website",
}


def number_text(value) -> str:
    """8.000 → "8", 1.50 → "1.5"."""
    return f"{Decimal(value).normalize():f}"


def plural(count, word: str, plural: str = "") -> str:
    return f"{number_text(count)} {word if Decimal(count) == 1 else plural or word + 's'}"


def rule_in_words(rule: ScoringRule) -> str:
    points = f"{rule.points:+d} points"
    if rule.kind == RuleKind.ENGAGEMENT:
        return f"{points} for each “{rule.get_engagement_type_display().lower()}”"
    field = dict(FitField.choices).get(rule.field, rule.field).lower()
    if rule.operator == FitOperator.IS_SET:
        return f"{points} when the {field} is filled in"
    operator = dict(FitOperator.choices).get(rule.operator, rule.operator)
    value = ", ".join(part.strip() for part in rule.value.split(",")) if "," in rule.value else rule.value
    return f"{points} when the {field} {operator} {value}"


def mql_definition() -> dict:
    definition = ScoringDefinition.current()
    gate = HandoffGate.current()
    rules = ScoringRule.objects.filter(is_active=True).order_by("kind", "position", "pk")
    required = [PROFILE_FIELDS.get(name, name.replace("_", " ")) for name in gate.required_fields]
    gate_words = (
        f"{', '.join(required) if required else 'no profile field'} filled in, and at least "
        f"{plural(gate.min_engagements, 'engagement')} logged"
    )
    return {
        "scoring_version": definition.version,
        "threshold": definition.threshold,
        "auto_qualify": definition.auto_qualify,
        "rules": [{"label": rule.label, "kind": rule.kind, "words": rule_in_words(rule)} for rule in rules],
        "gate": {"required_fields": list(gate.required_fields), "min_engagements": gate.min_engagements},
        "words": (
            f"A lead is an MQL when marketing hands it off with a score of {definition.threshold} or more "
            f"({'handed off automatically' if definition.auto_qualify else 'by a marketer'}) and it passes "
            f"the hand-off gate: {gate_words}."
        ),
    }


def reason_terms() -> dict[str, list[str]]:
    reasons = {kind: [] for kind in ReasonKind.values}
    for reason in Reason.objects.active().order_by("kind", "position", "label"):
        reasons[reason.kind].append(reason.label)
    return reasons


def stage_terms(mql: dict, sla: list[dict]) -> list[dict]:
    fastest = min((Decimal(p["response_hours"]) for p in sla), default=None)
    respond = (
        f"within the business hours its SLA policy agrees (from {plural(fastest, 'hour')})"
        if fastest is not None
        else "as the SLA agrees"
    )
    return [
        {
            "stage": "lead",
            "words": "A person marketing knows of: created by a form, an import, a referral or by hand, "
            "with a unique email. Marketing owns it.",
        },
        {"stage": "mql", "words": mql["words"] + " From the hand-off, sales owns it."},
        {
            "stage": "sql",
            "words": f"The assigned rep accepted the MQL, {respond}, and works it with logged touches.",
        },
        {
            "stage": "customer",
            "words": "The rep won the SQL, with the deal amount and close date; the revenue "
            "is credited to the lead's source, campaign and referrer.",
        },
        {
            "stage": "disqualified",
            "words": "Out of the funnel for an agreed reason; marketing can reopen it.",
        },
    ]


def agreement_terms() -> dict:
    """The whole agreement as it stands, in plain words and plain JSON."""
    mql = mql_definition()
    kept_elsewhere: dict[str, list] = {"sla_policies": [], "commitments": []}
    for sections in hooks.terms_sections():
        kept_elsewhere.update(sections)
    return {
        "stages": stage_terms(mql, kept_elsewhere["sla_policies"]),
        "mql_definition": mql,
        "sla_policies": kept_elsewhere["sla_policies"],
        "reasons": reason_terms(),
        "commitments": kept_elsewhere["commitments"],
    }
