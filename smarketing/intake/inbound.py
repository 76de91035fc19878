"""Leads and engagements arriving from outside: other systems over the API, and website
forms posting with a per-source API key.

* `engagement_ingest` records what someone did, idempotent by (origin, external id), and
  creates the lead as inbound when the email is new (first touch from the caller).
* `inbound_submit` is the website form endpoint's service: a key that belongs to one
  `InboundSource` may create leads and engagements and nothing else; an
  `Idempotency-Key` makes a retried submission return the first answer instead of
  acting twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from leads import services
from leads.models import Lead
from smarketing.core.errors import ActionError
from smarketing.intake.models import IdempotencyRecord, InboundSource
from smarketing.org import roles
from smarketing.org.models import Campaign, EngagementType, Source

KEY_PREFIX = "smk_"


def _hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


# --- the sources and their keys (marketing) --------------------------------------------------


@transaction.atomic
def inbound_source_create(
    *, actor, name: str, source: str = Source.WEBSITE, campaign: Campaign | None = None
) -> tuple[InboundSource, str]:
    """A new source and its key. The key is returned once and stored only as a hash."""
    if not roles.is_marketing_side(actor):
        raise ActionError("Only marketing can set up inbound sources.", code=ActionError.FORBIDDEN)
    name = (name or "").strip()
    if not name:
        raise ActionError("Give the source a name, for example “Website contact form”.", field="name")
    if len(name) > 100:
        raise ActionError("A name can be at most 100 characters.", field="name")
    if source not in Source.values:
        raise ActionError(f"“{source}” is not a known source.", field="source")
    if InboundSource.objects.filter(name__iexact=name).exists():
        raise ActionError(f"There is already an inbound source called “{name}”.", field="name")
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    inbound = InboundSource.objects.create(
        name=name,
        source=source,
        campaign=campaign,
        key_prefix=raw_key[:12],
        key_hash=_hash(raw_key),
        created_by=actor,
    )
    return inbound, raw_key


@transaction.atomic
def inbound_source_revoke(*, actor, source_id: int) -> InboundSource:
    if not roles.is_marketing_side(actor):
        raise ActionError("Only marketing can revoke inbound keys.", code=ActionError.FORBIDDEN)
    inbound = InboundSource.objects.select_for_update().filter(pk=source_id).first()
    if inbound is None:
        raise ActionError("No such inbound source.", code=ActionError.NOT_FOUND)
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
    *, actor, email: str, source: str, campaign: Campaign | None, via: str, profile: dict
) -> tuple[Lead, bool]:
    existing = services.lead_find_duplicate(email=email)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            lead = services.lead_create(
                actor=actor, email=email, source=source, campaign=campaign, via=via, **profile
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


def inbound_submit(
    *, inbound: InboundSource, payload: dict[str, Any], idempotency_key: str = ""
) -> tuple[int, dict[str, Any], bool]:
    """(status, body, replayed). A key seen before with the same request returns the first
    answer; with a different request it is refused."""
    key = (idempotency_key or "").strip()
    if len(key) > 200:
        raise ActionError("An Idempotency-Key can be at most 200 characters.", field="Idempotency-Key")
    digest = _request_hash(payload)
    if key:
        earlier = IdempotencyRecord.objects.filter(inbound_source=inbound, key=key).first()
        if earlier is not None:
            return _replay(earlier, digest)
    profile = {name: payload[name] for name in services.PROFILE_FIELDS if payload.get(name) not in (None, "")}
    try:
        with transaction.atomic():
            result = engagement_ingest(
                actor=None,
                email=payload["email"],
                type=payload.get("type") or EngagementType.FORM_SUBMIT,
                title=payload.get("form") or inbound.name,
                url=payload.get("page_url") or "",
                origin=f"inbound-{inbound.pk}",
                external_id=key,
                source=inbound.source,
                campaign=inbound.campaign,
                via="inbound_form",
                profile=profile,
            )
            status = 201 if result["lead_created"] or result["engagement_created"] else 200
            if key:
                IdempotencyRecord.objects.create(
                    inbound_source=inbound, key=key, request_hash=digest, status_code=status, body=result
                )
    except IntegrityError:
        # The same key raced in from a retry: ours rolled back; answer as the first did.
        earlier = IdempotencyRecord.objects.filter(inbound_source=inbound, key=key).first()
        if earlier is None:
            raise
        return _replay(earlier, digest)
    return status, result, False


def _replay(earlier: IdempotencyRecord, digest: str) -> tuple[int, dict[str, Any], bool]:
    if earlier.request_hash != digest:
        raise ActionError(
            "This Idempotency-Key was already used for a different submission. "
            "Use a new key for a new submission.",
            code=ActionError.CONFLICT,
            field="Idempotency-Key",
        )
    return earlier.status_code, earlier.body, True
