"""A lead's contact and company profile: the one validation every way in uses (the form,
the API, imports, inbound forms, referrals), and edits to it."""

from __future__ import annotations

import logging
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, MaxLengthValidator
from django.db import transaction
from django.db.models import CharField, F
from django.utils import timezone

from leads import permissions, scoring
from leads.events import event_record
from leads.models import EventType, Lead, LeadEvent, Stage, normalize_email
from leads.services.base import as_json, check_version, denied, lock, refuse_erased, save
from smarketing.agreement.scoring import Scorer
from smarketing.core import bulk
from smarketing.core.errors import ActionError

log = logging.getLogger(__name__)

PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "company",
    "job_title",
    "company_size",
    "country",
    "website",
)


# --- the one validation of a profile ------------------------------------------------------------

# Each check below answers exactly as the model's own field would (`Lead.clean_fields`): a
# test holds the two to the same answers. They are spelled out because every way in runs
# them — an import on every row of a file of a million — and a file repeats its values.

REMEMBERED = 5000  # distinct values remembered per kind of check (bounded: memory stays flat)

_EMAIL = EmailValidator()
# Django's validator with its patterns compiled now, not looked up through lazy wrappers
# on every call.
_EMAIL.user_regex = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)
_EMAIL.domain_regex = re.compile(EmailValidator.domain_regex.pattern, EmailValidator.domain_regex.flags)
_EMAIL.literal_regex = re.compile(EmailValidator.literal_regex.pattern, EmailValidator.literal_regex.flags)
_domains_checked: dict[str, bool] = {}


def email_valid(email: str) -> bool:
    """Whether Django's `EmailValidator` accepts `email` (its `__call__`, step by step),
    each domain checked once: the emails of a file or a day share a few domains."""
    if not email or "@" not in email or len(email) > 320:
        return False
    user_part, domain_part = email.rsplit("@", 1)
    if not _EMAIL.user_regex.match(user_part):
        return False
    ok = _domains_checked.get(domain_part)
    if ok is None:
        ok = domain_part in _EMAIL.domain_allowlist or bool(_EMAIL.validate_domain_part(domain_part))
        if len(_domains_checked) >= REMEMBERED:
            _domains_checked.clear()
        _domains_checked[domain_part] = ok
    return ok


def _plain_text(model_field) -> bool:
    """A text field whose only check is its maximum length (names, phone, company, …)."""
    return (
        type(model_field) is CharField
        and not model_field.choices
        and [type(v) for v in model_field.validators] == [MaxLengthValidator]
    )


# Per profile field, in the model's order (the order its errors come in): its name, the
# field, and the longest text that needs no other check (plain text, and an email that
# `email_valid` accepted), or None.
_CHECKS = [
    (f.name, f, f.max_length if f.name == "email" or _plain_text(f) else None)
    for f in Lead._meta.concrete_fields
    if f.name in PROFILE_FIELDS or f.name == "email"
]
_ABSENT = object()
_cleaned_before: dict[tuple[str, Any], tuple[bool, Any]] = {}


def _field_clean(model_field, value: Any) -> Any:
    """`model_field.clean(value, None)`, remembered per value. Raises its ValidationError."""
    try:
        key = (model_field.name, value)
        hit = _cleaned_before.get(key)
    except TypeError:  # a value that cannot be remembered by (a list from an API client)
        return model_field.clean(value, None)
    if hit is None:
        try:
            hit = (True, model_field.clean(value, None))
        except ValidationError as exc:
            hit = (False, exc.messages)
        if len(_cleaned_before) >= REMEMBERED:
            _cleaned_before.clear()
        _cleaned_before[key] = hit
    ok, result = hit
    if not ok:
        raise ValidationError(result)
    return result


def refuse_unknown(values: dict[str, Any]) -> None:
    """Refuse names that are not part of a profile (nor the email)."""
    unknown = set(values) - {*PROFILE_FIELDS, "email"}
    if unknown:
        raise ActionError(f"Unknown field(s): {', '.join(sorted(unknown))}.")


def lead_profile_validate(values: dict[str, Any]) -> dict[str, Any]:
    """The one check of profile values (and the email), for every way a lead comes in or
    changes: the form, the API, an import's rows, inbound forms, referrals, edits.

    Checks the values given, as the model's fields would, and returns them cleaned (the
    email normalised, the country upper-cased, numbers as numbers). Raises one
    ActionError naming the first problem, with every field's messages in `fields`."""
    refuse_unknown(values)
    cleaned = dict(values)
    errors: dict[str, list[str]] = {}
    if "email" in cleaned:
        cleaned["email"] = email = normalize_email(cleaned["email"])
        if email and not email_valid(email):
            errors["email"] = [str(_EMAIL.message)]
    if cleaned.get("country"):
        cleaned["country"] = country = str(cleaned["country"]).strip().upper()
        if len(country) != 2 or not country.isalpha():
            errors["country"] = ["Use a two-letter ISO country code, for example DE or US."]
    for name, model_field, limit in _CHECKS:
        raw = cleaned.get(name, _ABSENT)
        if raw is _ABSENT or (name == "email" and name in errors):
            continue
        if limit is not None and type(raw) is str and len(raw) <= limit and (raw or name != "email"):
            continue  # what clean() would accept and return unchanged
        if model_field.blank and raw in model_field.empty_values:
            continue
        try:
            cleaned[name] = _field_clean(model_field, raw)
        except ValidationError as exc:
            errors.setdefault(name, []).extend(exc.messages)
    if errors:
        name, messages = next(iter(errors.items()))
        raise ActionError(
            f"{name.replace('_', ' ').capitalize()}: {messages[0]}",
            code=ActionError.INVALID,
            fields=errors,
        )
    return cleaned


def lead_find_duplicate(*, email: str) -> Lead | None:
    """The lead that already has this email (following a merge pointer to its survivor)."""
    lead = Lead.objects.filter(email=normalize_email(email)).first()
    while lead is not None and lead.merged_into_id is not None:
        lead = lead.merged_into
    return lead


@transaction.atomic
def leads_fill_blanks(
    *, actor, fills: list[tuple[int, dict[str, Any]]]
) -> list[dict[str, Any] | ActionError]:
    """Give existing leads the profile values they lack (an import's chunk). Each item
    (lead id, values) is applied as `lead_update` would apply those of its values that
    are still blank on the locked lead: same checks, version bump, `updated` event and
    re-score, in a few statements for the whole list. Items are applied in order (two
    for one lead: the second fills what the first left blank). Returns per item the
    changes made ({field: [old, new]}; empty when nothing was blank any more) or the
    error that refused it; a refused item changes nothing."""
    locked = {lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in={i for i, _ in fills})}
    by = actor if actor is not None and actor.is_authenticated else None
    now = timezone.now()
    results: list[dict[str, Any] | ActionError] = []
    changed: dict[int, Lead] = {}
    events: list[LeadEvent] = []
    for lead_id, values in fills:
        lead = locked.get(lead_id)
        try:
            if lead is None or lead.merged_into_id is not None:
                lock(lead_id)  # raises the error lead_update gives
            if not permissions.can_edit_profile(actor, lead):
                raise denied("edit", "marketing, or the owner rep and their manager")
            not_editable = set(values) - set(PROFILE_FIELDS)
            if not_editable:
                raise ActionError(f"These fields cannot be edited: {', '.join(sorted(not_editable))}.")
            blank = {name: value for name, value in values.items() if getattr(lead, name) in (None, "")}
            cleaned = lead_profile_validate(blank)
        except ActionError as exc:
            results.append(exc)
            continue
        diff = {
            name: [as_json(getattr(lead, name)), as_json(value)]
            for name, value in cleaned.items()
            if getattr(lead, name) != value
        }
        results.append(diff)
        if not diff:
            continue
        for name in diff:
            setattr(lead, name, cleaned[name])
        lead.version += 1  # one version per change, as lead_update counts them
        changed[lead.pk] = lead
        events.append(
            LeadEvent(lead=lead, type=EventType.UPDATED, actor=by, occurred_at=now, data={"changes": diff})
        )
    if not changed:
        return results
    # The re-score `lead_update` does, for all of them: one read of their engagements.
    scorer = Scorer.load()
    scores, stale = scoring.leads_scored(list(changed.values()), scorer, now=now)
    for lead in changed.values():
        lead.score, lead.score_receipt = scores[lead.pk]
        lead.scored_version, lead.scored_at, lead.updated_at = scorer.version, now, now
    names = {name for event in events for name in event.data["changes"]}
    bulk.update_rows(
        list(changed.values()),
        [*sorted(names), "version", "updated_at", "score", "score_receipt", "scored_version", "scored_at"],
    )
    LeadEvent.objects.bulk_create(events)
    scoring.engagement_points_refresh(stale, scorer)
    for lead in changed.values():
        scoring.auto_qualify_if_due(lead, scorer)
    return results


@transaction.atomic
def lead_update(*, lead_id: int, actor, expected_version: int | None = None, **changes: Any) -> Lead:
    """Edit the contact and company profile. First touch and stage are not editable here."""
    lead = lock(lead_id)
    if not permissions.can_edit_profile(actor, lead):
        raise denied("edit", "marketing, or the owner rep and their manager")
    refuse_erased(lead, "a profile value")
    check_version(lead, expected_version)
    not_editable = set(changes) - set(PROFILE_FIELDS) - {"email"}
    if not_editable:
        raise ActionError(f"These fields cannot be edited: {', '.join(sorted(not_editable))}.")
    cleaned = lead_profile_validate(changes)
    diff = {
        name: [as_json(getattr(lead, name)), as_json(value)]
        for name, value in cleaned.items()
        if getattr(lead, name) != value
    }
    if not diff:
        return lead
    if "email" in diff:
        other = lead_find_duplicate(email=cleaned["email"])
        if other is not None and other.pk != lead.pk:
            raise ActionError(
                f"A lead with the email {cleaned['email']} already exists (lead {other.pk}).",
                code=ActionError.DUPLICATE,
                field="email",
                data={"existing_id": other.pk},
            )
    for name in diff:
        setattr(lead, name, cleaned[name])
    lead.version = F("version") + 1
    save(lead)
    event_record(lead=lead, type=EventType.UPDATED, actor=actor, data={"changes": diff})
    return scoring.lead_rescore(lead_id=lead.pk)


@transaction.atomic
def lead_referrer_credit(*, lead_id: int, referrer, actor, referral_id: int | None = None) -> bool:
    """Credit `referrer` as the lead's referrer, for a referral of a person marketing
    already knew (`smarketing.intake.referrals`). The first-touch referrer is only ever
    filled in, never overwritten: a lead that already has a referrer keeps it, and a lead
    already won keeps the credit it was won with (none). Audited as an `updated` event
    naming the referral. Returns True when the referrer was credited."""
    lead = lock(lead_id)
    if actor is None or actor != referrer or not referrer.is_active:
        raise denied("credit a referrer on", "the colleague who referred the person, through a referral")
    if lead.referrer_id is not None or lead.stage == Stage.CUSTOMER:
        return False
    lead.referrer = referrer
    lead.version = F("version") + 1
    save(lead)
    event_record(
        lead=lead,
        type=EventType.UPDATED,
        actor=actor,
        data={"changes": {"referrer": [None, referrer.pk]}, "referral": referral_id},
        note=f"{referrer.get_full_name() or referrer.username} referred this person and is credited as referrer.",
    )
    return True
