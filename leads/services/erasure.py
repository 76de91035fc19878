"""Erasing a person from the funnel's own tables: the lead becomes an anonymous record.

What stays is what the reports count: the lead's id, stage, dates, source, campaign,
owner, qualifier, referrer, score, amount, country and company size (the dashboard's
segment), and every event's type, stages, times, actor and reason. What goes is every
value about the person: the profile, the text of notes and event notes, the values in
event data that were the person's (an old email, a merged lead's profile) and what names
them in the rest, engagements' titles and addresses, touches' notes, what the consent's
wording says of them.
`smarketing.privacy` calls this and clears the other apps' tables; docs/privacy.md is the
account users read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.db.models import F

from leads.models import Engagement, Lead, LeadEvent, Touch
from leads.services.profile import PROFILE_FIELDS
from smarketing.core.scrub import ERASED, scrub_json, scrub_text, words_pattern

# What an erased lead's profile becomes: blank, but the country (routing and SLA
# policies read it) and the company's size (the dashboard's segment filter counts by it:
# blanking it would move the lead to "size unknown" and change every segmented figure);
# alone, neither names anybody. The email becomes a unique, invalid address.
_KEPT = ("country", "company_size")
# Event data keys whose values were the person's (leads.services.merge, .profile).
_PERSONAL_DATA = ("other_email",)
_PERSONAL_MAPS = ("filled", "changes")


def erased_email(lead_id: int) -> str:
    """The unique, invalid address an erased lead keeps (`.invalid` never resolves)."""
    return f"erased-{lead_id}@erased.invalid"


def person_lead_ids(lead_id: int) -> list[int]:
    """The leads that are one person with `lead_id`: the survivor of its merges and every
    lead merged into it, however deep (a merge pointer only ever points at a survivor,
    which may itself have been merged later)."""
    root = Lead.objects.filter(pk=lead_id).values_list("pk", "merged_into_id").first()
    if root is None:
        return []
    seen: set[int] = set()
    pk, into = root
    while into is not None and into not in seen:  # up to the survivor
        seen.add(pk)
        pk, into = Lead.objects.values_list("pk", "merged_into_id").get(pk=into)
    group, frontier = [pk], [pk]
    while frontier:  # and down to every lead merged into it
        frontier = list(Lead.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True))
        frontier = [p for p in frontier if p not in group]
        group += frontier
    return group


def person_words(lead_ids: list[int], *, own: bool = False) -> tuple[set[str], set[str]]:
    """What identifies the person of these leads in text: (emails and full names, phones).
    Old emails and phones from the profile's history count too. A first or a last name
    alone, or the company, names other people as well: they count only in the person's
    own rows (`own`: their leads' events, their notifications)."""
    words: set[str] = set()
    phones: set[str] = set()
    for first, last, email, phone, *more in Lead.objects.filter(pk__in=lead_ids).values_list(
        "first_name", "last_name", "email", "phone", "company", "job_title", "website"
    ):
        words |= {email, f"{first} {last}".strip() if first and last else ""}
        if own:
            words |= {first, last, *more}
        phones.add(phone)
    for data in LeadEvent.objects.filter(lead_id__in=lead_ids).values_list("data", flat=True):
        if not isinstance(data, dict):
            continue
        if isinstance(data.get("other_email"), str):
            words.add(data["other_email"])
        for key in _PERSONAL_MAPS:
            values = data.get(key)
            if not isinstance(values, dict):
                continue
            for name in ("email", "phone", *(("first_name", "last_name", "company") if own else ())):
                value = values.get(name)
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str) and item:
                        (phones if name == "phone" else words).add(item)
    return {w for w in words if w and "@erased.invalid" not in w}, {p for p in phones if p}


def _event_data(data: Any, naming) -> Any:
    """An event's data without the person: the values the program copied from their
    profile (`_PERSONAL_DATA`, `_PERSONAL_MAPS`) go whole; any other string loses what
    names them alone (`naming`: an email, a full name, a phone). The keys, and every other
    value, are the program's codes — the reports and the history read them — and stay,
    even for a person called Man at a company called Recycle ("via": "manual", a loss's
    "outcome": "recycle")."""
    if isinstance(data, dict):
        data = dict(data)
        for key in _PERSONAL_DATA:
            if key in data:
                data[key] = ERASED
        for key in _PERSONAL_MAPS:
            values = data.get(key)
            if isinstance(values, dict):
                data[key] = {
                    name: (
                        [ERASED if v not in (None, "") else v for v in value]
                        if isinstance(value, list)
                        else ERASED
                    )
                    if name in (*PROFILE_FIELDS, "email") and name not in _KEPT
                    else value
                    for name, value in values.items()
                }
    return scrub_json(data, naming, keys=False)


def _receipt(receipt: Any, pattern) -> Any:
    """A score's receipt without the engagements' titles (`Scorer.score` writes
    "Webinar: <title> on <date>"): the points and the rules stay."""
    if not isinstance(receipt, list):
        return receipt
    lines = []
    for line in receipt:
        if isinstance(line, dict) and isinstance(line.get("detail"), str):
            head, _, rest = line["detail"].partition(": ")
            if rest:
                line = {**line, "detail": f"{head} on {rest.rpartition(' on ')[2]}"}
        lines.append(line)
    return scrub_json(lines, pattern)


def _update(queryset, **values) -> int:
    """An UPDATE the model's own queryset refuses (the event log is immutable to every
    other writer): the erasure is the one that may blank what the person wrote."""
    return models.QuerySet.update(queryset, **values)


def leads_anonymise(lead_ids: list[int], *, now: dt.datetime, pattern=None) -> dict[str, int]:
    """Blank every personal value in the funnel's tables of these leads (one person, or a
    retention run's batch of people); the caller holds the transaction and has locked
    them. `pattern` (`smarketing.core.scrub.words_pattern`: any of the people's values)
    also takes them out of the score receipts and engagement ids; what names them alone
    goes from the event data that remains (`_event_data`). Returns how many rows of each
    kind changed."""
    blank = {name: "" for name in PROFILE_FIELDS if name not in _KEPT}
    naming = leads_pattern(lead_ids, own=False)  # read before the profiles are blanked
    leads = 0
    rows = Lead.objects.filter(pk__in=lead_ids, erased_at__isnull=True)
    # Each its own email (unique, and it must stay so); the consent's wording is the
    # organisation's, but an import or a colleague may have written the person into it.
    for pk, receipt, wording in rows.values_list("pk", "score_receipt", "consent_wording"):
        leads += Lead.objects.filter(pk=pk, erased_at__isnull=True).update(
            **blank,
            email=erased_email(pk),
            score_receipt=_receipt(receipt, pattern),
            consent_wording=scrub_text(wording, pattern)[
                : Lead._meta.get_field("consent_wording").max_length
            ],
            erased_at=now,
            version=F("version") + 1,
        )
    events = LeadEvent.objects.filter(lead_id__in=lead_ids)
    changed = 0
    for pk, data, note in events.values_list("pk", "data", "note").iterator(chunk_size=2000):
        cleaned = _event_data(data, naming)
        if cleaned != data or note:
            changed += _update(LeadEvent.objects.filter(pk=pk), data=cleaned, note="")
    engagements = Engagement.objects.filter(lead_id__in=lead_ids)
    titled = engagements.exclude(title="", url="").update(title="", url="")
    for pk, external_id in engagements.exclude(external_id="").values_list("pk", "external_id"):
        scrubbed = scrub_text(external_id, pattern)
        if scrubbed != external_id:
            Engagement.objects.filter(pk=pk).update(external_id=scrubbed[:200])
    touches = Touch.objects.filter(lead_id__in=lead_ids).exclude(note="").update(note="")
    return {"leads": leads, "events": changed, "engagements": titled, "touches": touches}


def leads_pattern(lead_ids: list[int], *, own: bool = True):
    """The pattern of these leads' people (`person_words`), read before they are blanked."""
    words, phones = person_words(lead_ids, own=own)
    return words_pattern(words, phones)
