"""Leads and engagements arriving from outside: other systems over the API, and website
forms posting with a per-source API key.

* `engagement_ingest` records what someone did, idempotent by (origin, external id), and
  creates the lead as inbound when the email is new (first touch from the caller).
* `inbound_submit` is the website form endpoint's service: a key that belongs to one
  `InboundSource` may create leads and engagements and nothing else; an
  `Idempotency-Key` makes a retried submission return the first answer instead of
  acting twice. The post is anonymous, so it decides nothing that scores: the engagement
  type, the profile fields it may fill and its limits are the source's, set by a manager;
  and its answer is the same whether the person was new or known, naming no lead.
  Nor does it decide what a person agreed to: a post may carry the person's answer on
  marketing contact (`consent`), recorded with the wording the source's form shows, as
  set by a manager.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from leads import services
from leads.models import ConsentMethod, Engagement, Lead
from leads.services.consent import WORDING_MAX
from smarketing.agreement.changes import agreement_change_record, require_manager
from smarketing.core.errors import ActionError
from smarketing.intake import values as intake_values
from smarketing.intake.models import IdempotencyRecord, InboundSource, default_form_fields
from smarketing.org import roles
from smarketing.org.models import Campaign, EngagementType, Source

KEY_PREFIX = "smk_"


def _hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


# The audit's area of a change to an inbound form (the agreement's audit trail).
AUDIT_AREA = "inbound"

# --- the sources and their keys (marketing) --------------------------------------------------


@transaction.atomic
def inbound_source_create(
    *,
    actor,
    name: str,
    source: str = Source.WEBSITE,
    campaign: Campaign | None = None,
    engagement_type: str = EngagementType.FORM_SUBMIT,
    fields: list[str] | None = None,
    per_email_per_day: int = 1,
    per_minute: int = 60,
    consent_wording: str = "",
) -> tuple[InboundSource, str]:
    """A new source and its key (a manager's: what its posts record is part of how leads
    score, and what a person answered to). The key is returned once and stored only as a
    hash."""
    require_manager(actor, "inbound sources")
    name = (name or "").strip()
    if not name:
        raise ActionError("Give the source a name, for example “Website contact form”.", field="name")
    if len(name) > 100:
        raise ActionError("A name can be at most 100 characters.", field="name")
    if source not in Source.values:
        raise ActionError(f"“{source}” is not a known source.", field="source")
    if engagement_type not in EngagementType.values:
        raise ActionError(f"“{engagement_type}” is not a known engagement type.", field="engagement_type")
    fields = default_form_fields() if fields is None else list(fields)
    if unknown := sorted(set(fields) - set(services.PROFILE_FIELDS)):
        raise ActionError(f"Not profile fields: {', '.join(unknown)}.", field="fields")
    if not isinstance(per_email_per_day, int) or not 0 <= per_email_per_day <= 100:
        raise ActionError(
            "Engagements per email and day: a whole number from 0 to 100.", field="per_email_per_day"
        )
    if not isinstance(per_minute, int) or not 1 <= per_minute <= 10_000:
        raise ActionError("Posts per minute: a whole number from 1 to 10,000.", field="per_minute")
    consent_wording = _wording(consent_wording)
    if InboundSource.objects.filter(name__iexact=name).exists():
        raise ActionError(f"There is already an inbound source called “{name}”.", field="name")
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    inbound = InboundSource.objects.create(
        name=name,
        source=source,
        campaign=campaign,
        engagement_type=engagement_type,
        fields=[name for name in services.PROFILE_FIELDS if name in fields],
        per_email_per_day=per_email_per_day,
        per_minute=per_minute,
        consent_wording=consent_wording,
        key_prefix=raw_key[:12],
        key_hash=_hash(raw_key),
        created_by=actor,
    )
    agreement_change_record(
        area=AUDIT_AREA,
        actor=actor,
        summary=f"Inbound form “{name}” added",
        after={"name": name, "source": source, "consent_wording": consent_wording},
    )
    return inbound, raw_key


def _wording(value: str | None) -> str:
    wording = (value or "").strip()
    if len(wording) > WORDING_MAX:
        raise ActionError(
            f"The consent wording can be at most {WORDING_MAX} characters.", field="consent_wording"
        )
    return wording


@transaction.atomic
def inbound_source_consent_wording(*, actor, source_id: int, consent_wording: str) -> InboundSource:
    """Change the consent wording a source's form shows (a new version of the form's
    question): answers posted from now on are recorded with it; those recorded before keep
    the wording they answered."""
    require_manager(actor, "inbound sources")
    inbound = InboundSource.objects.select_for_update().filter(pk=source_id).first()
    if inbound is None:
        raise ActionError("No such inbound source.", code=ActionError.NOT_FOUND)
    wording = _wording(consent_wording)
    if wording != inbound.consent_wording:
        agreement_change_record(
            area=AUDIT_AREA,
            actor=actor,
            summary=f"Consent wording of inbound form “{inbound.name}” changed",
            before={"consent_wording": inbound.consent_wording},
            after={"consent_wording": wording},
        )
        inbound.consent_wording = wording
        inbound.save(update_fields=["consent_wording"])
    return inbound


@transaction.atomic
def inbound_source_revoke(*, actor, source_id: int) -> InboundSource:
    require_manager(actor, "inbound sources")
    inbound = InboundSource.objects.select_for_update().filter(pk=source_id).first()
    if inbound is None:
        raise ActionError("No such inbound source.", code=ActionError.NOT_FOUND)
    if inbound.is_active:
        agreement_change_record(
            area=AUDIT_AREA, actor=actor, summary=f"Key of inbound form “{inbound.name}” revoked"
        )
    inbound.is_active = False
    inbound.save(update_fields=["is_active"])
    return inbound


def inbound_authenticate(raw_key: str | None) -> InboundSource | None:
    if not raw_key or not raw_key.startswith(KEY_PREFIX):
        return None
    inbound = InboundSource.objects.filter(key_hash=_hash(raw_key.strip()), is_active=True).first()
    if inbound is not None:
        InboundSource.objects.filter(pk=inbound.pk).update(last_used_at=timezone.now())
    return inbound


# --- engagements from other systems ------------------------------------------------------------


def _lead_for(
    *,
    actor,
    email: str,
    source: str,
    campaign: Campaign | None,
    via: str,
    profile: dict,
    consent: dict | None = None,
) -> tuple[Lead, bool]:
    """The lead of `email` and whether it was created here (with `profile` and `consent`)."""
    existing = services.lead_find_duplicate(email=email)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            lead = services.lead_create(
                actor=actor,
                email=email,
                source=source,
                campaign=campaign,
                via=via,
                consent=consent or None,
                **profile,
            )
    except ActionError as exc:
        if exc.code != ActionError.DUPLICATE:
            raise
        # Created by someone else a moment ago: use theirs.
        existing = services.lead_find_duplicate(email=email)
        if existing is None:
            raise
        return existing, False
    return lead, True


@transaction.atomic
def engagement_ingest(
    *,
    actor,
    email: str,
    type: str,
    occurred_at: dt.datetime | None = None,
    title: str = "",
    url: str = "",
    origin: str = "api",
    external_id: str = "",
    source: str = Source.WEBSITE,
    campaign: Campaign | None = None,
    via: str = "api",
    profile: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record an engagement by email; create the lead (inbound) if the email is new.
    Posting the same (origin, external_id) again changes nothing and says so."""
    if actor is not None and not roles.is_marketing_side(actor):
        raise ActionError("Only marketing can record engagements.", code=ActionError.FORBIDDEN)
    if type not in EngagementType.values:
        raise ActionError(f"“{type}” is not a known engagement type.", field="type")
    lead, lead_created = _lead_for(
        actor=actor, email=email, source=source, campaign=campaign, via=via, profile=profile or {}
    )
    engagement, created = services.engagement_log(
        lead_id=lead.pk,
        actor=actor,
        type=type,
        occurred_at=occurred_at,
        title=title,
        url=url,
        origin=origin,
        external_id=external_id,
    )
    return {
        "lead": engagement.lead_id,
        "engagement": engagement.pk,
        "lead_created": lead_created,
        "engagement_created": created,
    }


# --- the website form endpoint -----------------------------------------------------------------


def _request_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


# What every post is answered: the same for a new person and a known one, naming no lead.
RECEIVED = {"received": True}


def inbound_submit(
    *,
    inbound: InboundSource,
    payload: dict[str, Any],
    idempotency_key: str = "",
    sent: set[str] | None = None,
) -> tuple[int, dict[str, Any], bool]:
    """(status, body, replayed). A key seen before with the same request returns the first
    answer; with a different request it is refused. The post fills the profile fields the
    source allows (`sent`: every name the post carried, refused unless allowed); the
    engagement it records is the source's type, at most `per_email_per_day` of them for
    one email in 24 hours. Its `consent` (`inbound_consent`) is recorded as of now with
    the source's wording: on a new lead as it is created, on a known one as its latest
    answer (`lead_consent_record`)."""
    key = (idempotency_key or "").strip()
    if len(key) > 200:
        raise ActionError("An Idempotency-Key can be at most 200 characters.", field="Idempotency-Key")
    if not_allowed := sorted(
        (set(payload) | (sent or set())) - {"email", "form", "page_url", "consent", *inbound.fields}
    ):
        allowed = ", ".join(["email", "form", "page_url", "consent", *inbound.fields])
        raise ActionError(
            f"This form does not send {', '.join(not_allowed)}: what it records is set up in Smarketing "
            f"(it may send {allowed}).",
            fields={name: ["Not sent by this form."] for name in not_allowed},
        )
    digest = _request_hash(payload)
    if key:
        earlier = IdempotencyRecord.objects.filter(inbound_source=inbound, key=key).first()
        if earlier is not None:
            return _replay(earlier, digest)
    profile = {name: payload[name] for name in inbound.fields if payload.get(name) not in (None, "")}
    # Checked before the person is looked up: a refusal cannot tell a new person from a known one.
    consent = inbound_consent(inbound, payload.get("consent"))
    origin = f"inbound-{inbound.pk}"
    try:
        with transaction.atomic():
            lead, created = _lead_for(
                actor=None,
                email=payload["email"],
                source=inbound.source,
                campaign=inbound.campaign,
                via="inbound_form",
                profile=profile,
                consent=consent,
            )
            if consent and not created and lead.erased_at is None:
                services.lead_consent_record(
                    lead_id=lead.pk,
                    actor=None,
                    method=ConsentMethod.FORM,
                    **{
                        name: consent[name]
                        for name in ("consent", "consent_at", "consent_wording", "lawful_basis")
                    },
                )
            since = timezone.now() - dt.timedelta(days=1)
            recent = Engagement.objects.filter(lead=lead, origin=origin, occurred_at__gte=since).count()
            if recent < inbound.per_email_per_day:
                services.engagement_log(
                    lead_id=lead.pk,
                    actor=None,
                    type=inbound.engagement_type,
                    title=(payload.get("form") or inbound.name)[:300],
                    url=payload.get("page_url") or "",
                    origin=origin,
                    external_id=key,
                )
            if key:
                IdempotencyRecord.objects.create(
                    inbound_source=inbound, key=key, request_hash=digest, status_code=202, body=RECEIVED
                )
    except IntegrityError:
        # The same key raced in from a retry: ours rolled back; answer as the first did.
        earlier = IdempotencyRecord.objects.filter(inbound_source=inbound, key=key).first()
        if earlier is None:
            raise
        return _replay(earlier, digest)
    return 202, RECEIVED, False


def inbound_consent(inbound: InboundSource, value: Any) -> dict[str, Any]:
    """A post's answer on marketing contact as the lead's consent columns ({}: it carries
    none): given, refused or withdrawn, or a checkbox's true/false, yes/no, on/off; by web
    form, now, to the wording the source's form shows. A source whose wording is not set
    up asks nothing, so an answer posted to it is refused: recording one would say the
    person agreed to nobody knows what."""
    answer = intake_values.consent_answer(value)
    if not answer:
        return {}
    if not inbound.consent_wording:
        raise ActionError(
            f"“{inbound.name}” records no consent answer: a manager first sets the consent wording its "
            "form shows, on the Inbound sources page in Smarketing.",
            field="consent",
        )
    return services.consent_clean(
        {"consent": answer, "consent_wording": inbound.consent_wording}, method=ConsentMethod.FORM
    )


def inbound_rate_exceeded(inbound: InboundSource) -> bool:
    """Whether this post is one more than the source's `per_minute` in the current minute
    (counted in the cache, as DRF's rate limits are)."""
    key = f"inbound-rate:{inbound.key_prefix}:{int(timezone.now().timestamp() // 60)}"
    cache.add(key, 0, timeout=90)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=90)
        count = 1
    return count > inbound.per_minute


def _replay(earlier: IdempotencyRecord, digest: str) -> tuple[int, dict[str, Any], bool]:
    if earlier.request_hash != digest:
        raise ActionError(
            "This Idempotency-Key was already used for a different submission. "
            "Use a new key for a new submission.",
            code=ActionError.CONFLICT,
            field="Idempotency-Key",
        )
    return earlier.status_code, earlier.body, True
