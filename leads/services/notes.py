"""Notes on a lead: a line of its history that moves nothing.

A note is an immutable `LeadEvent` of type `noted` (its text in `note`, whom it mentions
in `data`), so that it sits on the lead's timeline beside the stage changes, follows a
merge to the survivor as every event does, and is told to the people it mentions by the
one after-commit path of every event (`leads.event_notifications`). It has no stage: no
report, replay or transition counts it, and it does not bump the lead's version (a note
written while a rep reads the lead does not make their accept form stale).

Who may write one: anyone whose work is the funnel (a marketer, a rep, a manager, an
admin: `roles.has_product_role`), on any live lead. `@username` mentions a colleague:

- a colleague with a product role is notified (once, after commit);
- an unknown name is not an error: the note is saved and the writer is told
  "@bob is not a colleague here; nobody was notified for it";
- a person without a product role (an employee who refers leads) cannot read notes, so
  they are not notified either, and the writer is told so: the note never leaks the lead.

The page and the API show the same words (`NoteResult.messages`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from leads.events import event_record
from leads.models import EventType, Lead, LeadEvent
from leads.services.base import denied, notify_after_commit, refuse_erased
from smarketing.core.errors import ActionError
from smarketing.org import roles

NOTE_MAX = 5000
MENTIONS_MAX = 20
# `@name`, not inside a word or an email address (ann@acme.com mentions nobody); a name is
# what Django allows in a username, ending in a letter or digit (a sentence's full stop
# after "@rep." is not part of it).
MENTION = re.compile(r"(?<![\w@.+-])@([\w.@+-]*\w)")

EMPTY = "Write something: a note cannot be empty."
TOO_LONG = f"A note can be at most {NOTE_MAX:,} characters."
UNSTORABLE = "A note cannot contain a NUL character or a lone surrogate."
TOO_MANY = f"A note can mention at most {MENTIONS_MAX} colleagues."


def unknown_message(name: str) -> str:
    return f"@{name} is not a colleague here; nobody was notified for it."


def not_shown_message(name: str) -> str:
    return (
        f"@{name} has no marketing or sales role and cannot read notes on leads; "
        "they were not notified (the note is saved)."
    )


@dataclass(frozen=True)
class NoteResult:
    """The note written, and what became of its mentions."""

    event: LeadEvent
    notified: list = field(default_factory=list)  # users told (after commit)
    unknown: list[str] = field(default_factory=list)  # names that are nobody here
    not_notified: list[str] = field(default_factory=list)  # people who cannot read notes

    @property
    def messages(self) -> list[str]:
        return [unknown_message(n) for n in self.unknown] + [not_shown_message(n) for n in self.not_notified]


def note_text_clean(text: str | None) -> str:
    """A note's text as stored: trimmed, not empty, at most NOTE_MAX characters, and text
    the database stores (no NUL, no lone surrogate)."""
    text = (text or "").strip()
    if not text:
        raise ActionError(EMPTY, field="body")
    if len(text) > NOTE_MAX:
        raise ActionError(TOO_LONG, field="body")
    if "\x00" in text:
        raise ActionError(UNSTORABLE, field="body")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ActionError(UNSTORABLE, field="body") from None
    return text


def mentioned_names(text: str) -> list[str]:
    """The distinct `@names` of a text, in the order written (case kept as typed)."""
    seen: dict[str, str] = {}
    for name in MENTION.findall(text):
        seen.setdefault(name.casefold(), name)
    return list(seen.values())


def _colleagues(names: list[str]) -> dict[str, object]:
    """{name as typed: the active user it names}, matching usernames case-insensitively
    (an exact match wins where two differ only in case). One query."""
    if not names:
        return {}
    match = Q()
    for name in names:
        match |= Q(username__iexact=name)
    users = list(get_user_model().objects.filter(match, is_active=True))
    found = {}
    for name in names:
        same = [u for u in users if u.username.casefold() == name.casefold()]
        exact = [u for u in same if u.username == name]
        if exact or len(same) == 1:
            found[name] = (exact or same)[0]
    return found


@transaction.atomic
def lead_note_add(*, lead_id: int, actor, text: str) -> NoteResult:
    """Write a note on a lead and tell the colleagues it mentions (after commit).

    Refused, changing nothing: a person without a product role, a lead merged away
    (write on the survivor), an empty or too long text, more than MENTIONS_MAX mentions."""
    try:
        lead = Lead.objects.select_for_update().get(pk=lead_id)
    except Lead.DoesNotExist:
        raise ActionError(f"Lead {lead_id} does not exist.", code=ActionError.NOT_FOUND) from None
    if not roles.has_product_role(actor):
        raise denied("write a note on", "marketing, sales and their managers")
    refuse_erased(lead, "a note")
    if lead.merged_into_id is not None:
        raise ActionError(
            f"This lead was merged into lead {lead.merged_into_id}; write your note on that one.",
            code=ActionError.WRONG_STAGE,
            data={"merged_into": lead.merged_into_id},
        )
    text = note_text_clean(text)
    names = mentioned_names(text)
    if len(names) > MENTIONS_MAX:
        raise ActionError(TOO_MANY, field="body")
    found = _colleagues(names)
    notified, unknown, not_notified = [], [], []
    for name in names:
        user = found.get(name)
        if user is None:
            unknown.append(name)
        elif user.pk == actor.pk:
            continue  # writing @me reminds nobody
        elif not roles.has_product_role(user):
            not_notified.append(user.username)
        elif user not in notified:
            notified.append(user)
    event = event_record(
        lead=lead,
        type=EventType.NOTED,
        actor=actor,
        note=text,
        data={
            "mentions": [{"id": user.pk, "username": user.username} for user in notified],
            "unknown": unknown,
            "not_notified": not_notified,
        },
    )
    if notified:
        notify_after_commit(event)
    return NoteResult(event=event, notified=notified, unknown=unknown, not_notified=not_notified)
