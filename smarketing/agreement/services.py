"""The hand-off gate, the agreed reasons and routing: writes by managers, each audited as an
AgreementChange. (The gate and the reasons are part of the agreement: pages and the API
propose changes to them through `smarketing.agreement.versions`, which calls these once both managers
have confirmed.)

(Scoring, the third part of the agreement, lives in `smarketing.agreement.scoring`.)
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import ngettext

from smarketing.agreement.changes import agreement_change_record, require_manager
from smarketing.agreement.models import HandoffGate, Reason, ReasonKind, RoutingRule
from smarketing.core.errors import ActionError
from smarketing.org import roles
from smarketing.org.models import Membership, Source, TeamKind

# Profile fields the gate may require, with the words the pages use.
GATE_FIELDS = {
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone",
    "company": "Company",
    "job_title": "Job title",
    "company_size": "Company size",
    "country": "Country",
    "website": "Website",
}


def _errors(exc: ValidationError) -> ActionError:
    fields = {k: list(v) for k, v in exc.message_dict.items()}
    name, messages = next(iter(fields.items()))
    label = "" if name == "__all__" else f"{name.replace('_', ' ').capitalize()}: "
    return ActionError(f"{label}{messages[0]}", fields=fields)


# --- the hand-off gate ---------------------------------------------------------------------------


@transaction.atomic
def handoff_gate_update(*, actor, required_fields: list[str], min_engagements: int) -> HandoffGate:
    require_manager(actor, "the hand-off gate")
    unknown = [f for f in required_fields if f not in GATE_FIELDS]
    if unknown:
        raise ActionError(
            f"These are not profile fields the gate can require: {', '.join(unknown)}.",
            field="required_fields",
        )
    if not isinstance(min_engagements, int) or not 0 <= min_engagements <= 20:
        raise ActionError("The minimum number of engagements is between 0 and 20.", field="min_engagements")
    gate = HandoffGate.objects.select_for_update().get(pk=HandoffGate.current().pk)
    ordered = [f for f in GATE_FIELDS if f in set(required_fields)]
    before = {"required_fields": gate.required_fields, "min_engagements": gate.min_engagements}
    after = {"required_fields": ordered, "min_engagements": min_engagements}
    if before == after:
        return gate
    gate.required_fields, gate.min_engagements = ordered, min_engagements
    gate.updated_at, gate.updated_by = timezone.now(), actor
    gate.save()
    labels = ", ".join(GATE_FIELDS[f] for f in ordered) or "no profile field"
    agreement_change_record(
        area="handoff_gate",
        actor=actor,
        summary=f"Hand-off gate: {labels}; at least {min_engagements} "
        + ngettext("engagement", "engagements", min_engagements),
        before=before,
        after=after,
    )
    return gate


# --- the agreed reasons ----------------------------------------------------------------------------

REASON_FIELDS = ("kind", "label", "description", "loss_outcome", "is_active", "position")


@transaction.atomic
def reason_save(*, actor, reason_id: int | None = None, **values: Any) -> Reason:
    """Add a reason to the agreed list, or change one (retire it with `is_active=False`:
    the leads that carry it keep it)."""
    require_manager(actor, "the agreed reasons")
    unknown = set(values) - set(REASON_FIELDS)
    if unknown:
        raise ActionError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    reason = (
        Reason() if reason_id is None else Reason.objects.select_for_update().filter(pk=reason_id).first()
    )
    if reason is None:
        raise ActionError(f"Reason {reason_id} does not exist.", code=ActionError.NOT_FOUND)
    if reason_id is not None and "kind" in values and values["kind"] != reason.kind:
        raise ActionError("A reason keeps its kind: add a new reason instead.", field="kind")
    before = _reason_dict(reason) if reason_id is not None else None
    for name, value in values.items():
        setattr(reason, name, value if value is not None else "")
    reason.label = (reason.label or "").strip()
    if reason.kind != ReasonKind.LOSS:
        reason.loss_outcome = ""
    elif not reason.loss_outcome:
        raise ActionError(
            "Say whether a lead lost for this reason is recycled or disqualified.", field="loss_outcome"
        )
    if reason_id is None:
        reason.code = _reason_code(reason.kind, reason.label)
    if (
        Reason.objects.filter(kind=reason.kind, label__iexact=reason.label, is_active=True)
        .exclude(pk=reason.pk)
        .exists()
    ):
        raise ActionError(f"“{reason.label}” is on the list already.", field="label")
    try:
        reason.full_clean()
    except ValidationError as exc:
        raise _errors(exc) from None
    if (
        reason_id is not None
        and not reason.is_active
        and not Reason.objects.active().of_kind(reason.kind).exclude(pk=reason.pk).exists()
    ):
        raise ActionError("Keep at least one active reason of each kind.", field="is_active")
    reason.save()
    after = _reason_dict(reason)
    if before != after:
        kind = f"{reason.kind} reason"
        if before is None:
            summary = f"Added {kind} “{reason.label}”"
        elif before["is_active"] and not after["is_active"]:
            summary = f"Retired {kind} “{reason.label}”"
        elif before["label"] != after["label"]:
            summary = f"Renamed {kind} “{before['label']}” to “{reason.label}”"
        else:
            summary = f"Changed {kind} “{reason.label}”"
        agreement_change_record(area="reasons", actor=actor, summary=summary, before=before, after=after)
    return reason


def _reason_dict(reason: Reason) -> dict[str, Any]:
    return {name: getattr(reason, name) for name in ("code", *REASON_FIELDS)}


def _reason_code(kind: str, label: str) -> str:
    from django.utils.text import slugify

    base = slugify(label)[:40] or "reason"
    code, counter = base, 2
    while Reason.objects.filter(kind=kind, code=code).exists():
        code, counter = f"{base}-{counter}", counter + 1
    return code


# --- routing rules -------------------------------------------------------------------------------

ROUTING_RULE_FIELDS = (
    "position",
    "name",
    "countries",
    "min_company_size",
    "max_company_size",
    "sources",
    "team",
    "is_active",
)


def _rule_dict(rule: RoutingRule | None) -> dict[str, Any] | None:
    return None if rule is None else {k: v for k, v in model_to_dict(rule).items() if k != "id"}


@transaction.atomic
def routing_rule_save(*, actor, rule_id: int | None = None, **values: Any) -> RoutingRule:
    require_manager(actor, "routing")
    rule = (
        RoutingRule()
        if rule_id is None
        else RoutingRule.objects.select_for_update().filter(pk=rule_id).first()
    )
    if rule is None:
        raise ActionError(f"Routing rule {rule_id} does not exist.", code=ActionError.NOT_FOUND)
    before = _rule_dict(rule) if rule_id else None
    unknown = set(values) - set(ROUTING_RULE_FIELDS)
    if unknown:
        raise ActionError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    for name, value in values.items():
        setattr(rule, name, value)
    codes = [c.strip().upper() for c in (rule.countries or "").split(",") if c.strip()]
    bad = [c for c in codes if len(c) != 2 or not c.isalpha()]
    if bad:
        raise ActionError(
            f"Use two-letter country codes separated by commas (not {', '.join(bad)}).", field="countries"
        )
    rule.countries = ",".join(codes)
    rule.sources = list(rule.sources or [])
    unknown_sources = [s for s in rule.sources if s not in Source.values]
    if unknown_sources:
        raise ActionError(f"Unknown source(s): {', '.join(unknown_sources)}.", field="sources")
    if rule.team_id is not None and rule.team.kind != TeamKind.SALES:
        raise ActionError("Routing sends MQLs to a sales team.", field="team")
    try:
        rule.full_clean()
    except ValidationError as exc:
        raise _errors(exc) from None
    rule.save()
    after = _rule_dict(rule)
    if before != after:
        verb = "Added" if before is None else "Changed"
        agreement_change_record(
            area="routing",
            actor=actor,
            summary=f"{verb} routing rule “{rule.name}” → {rule.team}",
            before=before,
            after=after,
        )
    return rule


@transaction.atomic
def routing_rule_delete(*, actor, rule_id: int) -> None:
    require_manager(actor, "routing")
    rule = RoutingRule.objects.select_for_update().filter(pk=rule_id).first()
    if rule is None:
        raise ActionError(f"Routing rule {rule_id} does not exist.", code=ActionError.NOT_FOUND)
    before, name = _rule_dict(rule), rule.name
    rule.delete()
    agreement_change_record(
        area="routing", actor=actor, summary=f"Removed routing rule “{name}”", before=before
    )


@transaction.atomic
def membership_update(*, actor, membership_id: int, weight: int, is_away: bool) -> Membership:
    """A rep's share of routed MQLs and whether they are away (a manager of their team)."""
    membership = (
        Membership.objects.select_for_update().select_related("user", "team").filter(pk=membership_id).first()
    )
    if membership is None:
        raise ActionError("No such team member.", code=ActionError.NOT_FOUND)
    if not roles.manages(actor, membership.user):
        raise ActionError(
            "Only the manager of this person's team can change their routing.", code=ActionError.FORBIDDEN
        )
    if not isinstance(weight, int) or not 1 <= weight <= 10:
        raise ActionError("The weight is a whole number from 1 to 10.", field="weight")
    before = {"weight": membership.weight, "is_away": membership.is_away}
    after = {"weight": weight, "is_away": bool(is_away)}
    if before == after:
        return membership
    Membership.objects.filter(pk=membership.pk).update(**after)
    who = membership.user.get_full_name() or membership.user.username
    agreement_change_record(
        area="routing",
        actor=actor,
        summary=f"{who}: {'away' if is_away else 'available'}, weight {weight}",
        before=before,
        after=after,
    )
    membership.refresh_from_db()
    return membership
