"""Consent to marketing contact: the one check of an answer, and recording one.

A lead's columns hold its latest answer (for lists and the automatic hand-off to read);
each answer is also a `ConsentRecord`, the audit. New leads bring theirs through
`leads_prepare` (a form, the API, an import, an inbound form); a later answer comes through
`lead_consent_record`. docs/privacy.md says what each value means.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leads.models import Consent, ConsentMethod, ConsentRecord, LawfulBasis, Lead
from leads.permissions import can_edit_profile
from leads.services.base import denied, lock, save
from smarketing.core import bulk
from smarketing.core.errors import ActionError

# A lead's consent columns, in the order `consent_clean` returns them.
CONSENT_FIELDS = ("consent", "consent_at", "consent_method", "consent_wording", "lawful_basis")
WORDING_MAX = ConsentRecord._meta.get_field("wording").max_length
# How far ahead of this server's clock an answer's time may be (another machine's clock).
CLOCK_SKEW = dt.timedelta(minutes=5)


# Each answer's codes, and its labels and codes case-folded: an import checks thousands.
_LOOKUPS = {
    choices: (
        frozenset(choices.values),
        {
            **{str(label).casefold(): code for code, label in choices.choices},
            **{c.casefold(): c for c in choices.values},
        },
        ", ".join(f"“{code}”" for code in choices.values if code),
    )
    for choices in (Consent, ConsentMethod, LawfulBasis)
}
SHOWN = 60  # characters of a refused value repeated in its message


def shown(text: str) -> str:
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def _choice(value: Any, choices: type, field: str, what: str) -> str:
    codes, folded, allowed = _LOOKUPS[choices]
    text = "" if value is None else str(value).strip()
    if text in codes:
        return text
    code = folded.get(text.casefold())
    if code is not None:
        return code
    raise ActionError(f"“{shown(text)}” is not a {what}: use one of {allowed}.", field=field)


def _moment(value: Any, *, now: dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        text = str(value or "").strip()
        try:
            moment = parse_datetime(text) or (dt.datetime.fromisoformat(text) if text else None)
        except ValueError:
            moment = None
        if moment is None:
            raise ActionError(
                f"“{shown(text)}” is not a date and time: write it as 2026-03-01 or 2026-03-01T14:30.",
                field="consent_at",
            )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if moment > now + CLOCK_SKEW:
        raise ActionError("The answer cannot have been given in the future.", field="consent_at")
    if moment.year < 1990:
        raise ActionError("The answer's date is before 1990: check the year.", field="consent_at")
    return moment


def consent_clean(values: dict[str, Any], *, method: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """An answer as the lead's consent columns, checked; {} when `values` records none.

    `values`: consent (given, refused, withdrawn, or their labels), consent_at (when; now
    if left out), consent_wording (the wording or its version, required with an answer),
    lawful_basis (optional; "consent" when consent was given and it is left out).
    `method` is how it came: the form, the API or the import, never the caller's choice."""
    now = now or timezone.now()
    status = _choice(values.get("consent"), Consent, "consent", "consent answer")
    basis = _choice(values.get("lawful_basis"), LawfulBasis, "lawful_basis", "lawful basis")
    if not status:
        if any(str(values.get(name) or "").strip() for name in ("consent_at", "consent_wording")):
            raise ActionError("Say whether consent was given, refused or withdrawn.", field="consent")
        return {"lawful_basis": basis} if basis else {}
    wording = str(values.get("consent_wording") or "").strip()
    if not wording:
        raise ActionError(
            "Say what the person answered to: the wording, or its version (e.g. “Newsletter v3”).",
            field="consent_wording",
        )
    if len(wording) > WORDING_MAX:
        raise ActionError(f"The wording is longer than {WORDING_MAX} characters.", field="consent_wording")
    given_at = values.get("consent_at")
    return {
        "consent": status,
        "consent_at": _moment(given_at, now=now) if given_at not in (None, "") else now,
        "consent_method": _choice(method, ConsentMethod, "consent_method", "consent method"),
        "consent_wording": wording,
        "lawful_basis": basis or (LawfulBasis.CONSENT if status == Consent.GIVEN else ""),
    }


def consent_records_for(lead_ids: list[int], rows: list[dict[str, Any]], *, by_id: int | None) -> None:
    """The audit line of each new lead that came with an answer (`leads_prepare` rows):
    nothing at all when none did (a new lead's one statement stays one), one INSERT for
    one, COPY for an import's chunk."""
    records = [
        {
            "lead_id": lead_id,
            "consent": row["consent"],
            "given_at": row["consent_at"],
            "method": row["consent_method"],
            "wording": row["consent_wording"],
            "lawful_basis": row["lawful_basis"],
        }
        for lead_id, row in zip(lead_ids, rows, strict=True)
        if row.get("consent")
    ]
    if len(records) == 1:
        ConsentRecord.objects.create(**records[0], recorded_by_id=by_id)
    elif records:
        same = {**bulk.defaults(ConsentRecord), "recorded_by_id": by_id, "recorded_at": timezone.now()}
        for name in ("id", *records[0]):
            same.pop(name)
        bulk.insert_rows(ConsentRecord, records, same)


@transaction.atomic
def lead_consent_record(*, lead_id: int, actor, method: str = ConsentMethod.BY_HAND, **values: Any) -> Lead:
    """Record a person's answer on marketing contact. The latest answer (by when it was
    given) is the lead's; an older one is kept in the audit only. Whoever may edit the
    lead's profile may record it."""
    lead = lock(lead_id)
    if lead.erased_at is not None:
        raise ActionError(
            "This person was erased: nothing new is recorded about them.", code=ActionError.WRONG_STAGE
        )
    if actor is not None and not can_edit_profile(actor, lead):
        raise denied("record consent for", "marketing, or the owner rep and their manager")
    cleaned = consent_clean(values, method=method)
    if not cleaned.get("consent"):
        raise ActionError("Say whether consent was given, refused or withdrawn.", field="consent")
    ConsentRecord.objects.create(
        lead=lead,
        consent=cleaned["consent"],
        given_at=cleaned["consent_at"],
        method=cleaned["consent_method"],
        wording=cleaned["consent_wording"],
        lawful_basis=cleaned["lawful_basis"],
        recorded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    if lead.consent_at is None or cleaned["consent_at"] >= lead.consent_at:
        if not values.get("lawful_basis") and cleaned["consent"] != Consent.GIVEN:
            # A refusal or withdrawal ends consent as a basis, not another basis recorded.
            kept = lead.lawful_basis if lead.lawful_basis != LawfulBasis.CONSENT else ""
            cleaned["lawful_basis"] = kept
        for name, value in cleaned.items():
            setattr(lead, name, value)
        lead.version = F("version") + 1
        save(lead)
    return lead


def no_contact_ids(lead_ids) -> set[int]:
    """Of `lead_ids`, the leads whose person refused or withdrew consent."""
    return set(
        Lead.objects.filter(
            pk__in=list(lead_ids), consent__in=[Consent.REFUSED, Consent.WITHDRAWN]
        ).values_list("pk", flat=True)
    )
