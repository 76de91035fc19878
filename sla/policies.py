"""Editing SLA policies (managers); each change is audited. Running clocks keep the
policy terms they started with; new clocks use the new ones."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from sla.models import SlaPolicy
from smarketing.agreement.changes import agreement_change_record, require_manager
from smarketing.core.errors import ActionError
from smarketing.org.models import Source, TeamKind

POLICY_FIELDS = (
    "name",
    "priority",
    "is_active",
    "min_score",
    "max_score",
    "sources",
    "campaign",
    "team",
    "countries",
    "response_hours",
    "follow_up_touches",
    "follow_up_days",
    "warn_percents",
    "on_breach",
    "escalate_to_manager",
)


def _as_dict(policy: SlaPolicy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {
        k: (f"{v.normalize():f}" if isinstance(v, Decimal) else v)  # 4 and 4.000 are one value
        for k, v in model_to_dict(policy).items()
        if k not in ("id", "updated_at")
    }


def _clean(policy: SlaPolicy) -> None:
    problems: dict[str, list[str]] = {}
    try:
        percents = sorted({int(p) for p in policy.warn_percents or []})
    except (TypeError, ValueError):
        percents = [-1]
    if any(not 1 <= p <= 99 for p in percents):
        problems["warn_percents"] = [
            "Warnings are percentages of the time allowed, from 1 to 99 (e.g. 50, 80)."
        ]
    policy.warn_percents = percents
    codes = [c.strip().upper() for c in (policy.countries or "").split(",") if c.strip()]
    if any(len(c) != 2 or not c.isalpha() for c in codes):
        problems["countries"] = ["Use two-letter country codes separated by commas."]
    policy.countries = ",".join(codes)
    unknown = [s for s in policy.sources or [] if s not in Source.values]
    if unknown:
        problems["sources"] = [f"Unknown source(s): {', '.join(unknown)}."]
    if policy.team_id is not None and policy.team.kind != TeamKind.SALES:
        problems["team"] = ["A policy applies to a sales team's reps."]
    if policy.min_score is not None and policy.max_score is not None and policy.max_score < policy.min_score:
        problems["max_score"] = ["The highest score must not be below the lowest."]
    for name in ("response_hours", "follow_up_days"):
        try:
            value = Decimal(str(getattr(policy, name)))
        except InvalidOperation:
            value = Decimal(0)
        if value <= 0:
            problems[name] = ["Give a positive number."]
    if policy.follow_up_touches is not None and int(policy.follow_up_touches) < 1:
        problems["follow_up_touches"] = ["At least one touch."]
    if not problems:
        try:
            policy.full_clean()
        except ValidationError as exc:
            problems = {k: list(v) for k, v in exc.message_dict.items()}
    if problems:
        name, messages = next(iter(problems.items()))
        label = "" if name == "__all__" else f"{name.replace('_', ' ').capitalize()}: "
        raise ActionError(f"{label}{messages[0]}", fields=problems)


@transaction.atomic
def policy_save(*, actor, policy_id: int | None = None, **values: Any) -> SlaPolicy:
    require_manager(actor, "SLA policies")
    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise ActionError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    policy = (
        SlaPolicy()
        if policy_id is None
        else SlaPolicy.objects.select_for_update().filter(pk=policy_id).first()
    )
    if policy is None:
        raise ActionError(f"SLA policy {policy_id} does not exist.", code=ActionError.NOT_FOUND)
    before = _as_dict(policy) if policy_id else None
    for name, value in values.items():
        setattr(policy, name, value)
    _clean(policy)
    policy.updated_at = timezone.now()
    policy.save()
    after = _as_dict(policy)
    if before != after:
        verb = "Added" if before is None else "Changed"
        agreement_change_record(
            area="sla", actor=actor, summary=f"{verb} SLA policy “{policy.name}”", before=before, after=after
        )
    return policy


@transaction.atomic
def policy_delete(*, actor, policy_id: int) -> None:
    require_manager(actor, "SLA policies")
    policy = SlaPolicy.objects.select_for_update().filter(pk=policy_id).first()
    if policy is None:
        raise ActionError(f"SLA policy {policy_id} does not exist.", code=ActionError.NOT_FOUND)
    if not SlaPolicy.objects.exclude(pk=policy_id).filter(is_active=True).exists():
        raise ActionError("Keep at least one active policy: deactivate or change this one instead.")
    before, name = _as_dict(policy), policy.name
    policy.delete()  # its clocks keep their deadlines (policy set to empty)
    agreement_change_record(area="sla", actor=actor, summary=f"Removed SLA policy “{name}”", before=before)


def version_operations() -> dict:
    """The changes a version of the agreement may make here (connected in `SlaConfig.ready`)."""
    return {"sla_policy_save": policy_save, "sla_policy_delete": policy_delete}
