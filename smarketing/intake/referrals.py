"""Referrals: any employee tells marketing about someone they met, and what that person
needs. One way in, for the page and the API: `referral_submit`.

- A person marketing does not know yet becomes a new lead through the one creation path
  (`leads.services.lead_create`: source "Employee referral", the employee its referrer).
- A person marketing already knows (the same email after normalisation, found as lead
  creation finds a duplicate: `lead_find_duplicate`, which follows a merge to its
  survivor) is not created twice and the tip is not lost: the referral is attached to
  their lead. The employee is credited as its referrer only where the lead has none yet
  (`leads.services.profile.lead_referrer_credit`: the first-touch referrer is filled in,
  never overwritten; source and campaign are never touched).
- Marketing is told once per referral, after commit (`referral_notify`): see
  `referral_recipients` for who.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet

from leads.models import Lead, Stage
from leads.services import lead_create, lead_find_duplicate, lead_profile_validate
from leads.services.profile import lead_referrer_credit
from smarketing.core.errors import ActionError
from smarketing.core.queue import on_commit_enqueue
from smarketing.intake import tasks
from smarketing.intake.models import CONTEXT_MAX, Referral, ReferralOutcome
from smarketing.notifications.models import NotificationKind
from smarketing.notifications.services import Message, notify_many
from smarketing.org.models import Source, TeamKind
from smarketing.org.roles import has_product_role, is_marketing_side

# The contact a referrer may give, besides the email (what the lead's profile calls them).
CONTACT_FIELDS = ("first_name", "last_name", "company", "phone", "job_title")
CONTEXT_REQUIRED = "Tell marketing what they need: a sentence is enough."
CONTEXT_TOO_LONG = f"Keep it to {CONTEXT_MAX:,} characters; marketing will ask for the rest."


@dataclass(frozen=True)
class Submitted:
    """What became of a referral, for the page's and the API's answer."""

    referral: Referral
    lead: Lead

    @property
    def message(self) -> str:
        """What the referrer is told."""
        name = self.referral.given_name or self.referral.email
        if self.referral.outcome == ReferralOutcome.CREATED:
            return (
                f"Thank you! {name} was referred to marketing with your note; "
                "you are credited if they become a customer."
            )
        if self.referral.credited:
            return (
                f"Thanks — {name} is already known to marketing; your note was added to their "
                "record and you are credited if they become a customer."
            )
        if self.lead.referrer_id == self.referral.referrer_id:
            return (
                f"Thanks — you had already referred {name}; your new note was added to their record "
                "and you are still credited."
            )
        if self.lead.stage == Stage.CUSTOMER:
            return (
                f"Thanks — {name} is already a customer; your note was added to their record "
                "for the people working with them."
            )
        return (
            f"Thanks — {name} is already known to marketing and credited to another colleague; "
            "marketing has your note."
        )


def context_clean(context: str | None) -> str:
    """What the customer needs: required, trimmed, at most CONTEXT_MAX characters."""
    context = (context or "").strip()
    if not context:
        raise ActionError(CONTEXT_REQUIRED, field="context")
    if len(context) > CONTEXT_MAX:
        raise ActionError(CONTEXT_TOO_LONG, field="context")
    return context


@transaction.atomic
def referral_submit(
    *,
    referrer,
    email: str,
    context: str,
    first_name: str = "",
    last_name: str = "",
    company: str = "",
    phone: str = "",
    job_title: str = "",
) -> Submitted:
    """Record one employee's referral: a new lead, or a note attached to the lead that
    already has this email (the referrer credited only where the lead has no referrer).
    Marketing is told after commit. Raises ActionError (nothing recorded) for a missing
    context or email, or a contact the lead's profile would refuse."""
    if referrer is None or not referrer.is_authenticated or not referrer.is_active:
        raise ActionError("Log in to refer someone.", code=ActionError.FORBIDDEN)
    context = context_clean(context)
    if not (email or "").strip():
        raise ActionError("An email address is required.", field="email")
    contact = {"first_name": first_name, "last_name": last_name, "company": company, "phone": phone}
    contact["job_title"] = job_title
    # The same checks as the lead's profile (and so as the lead form), whether or not a lead
    # is created: what the referral keeps is what a lead could hold.
    cleaned = lead_profile_validate({"email": email, **contact})
    email = cleaned["email"]
    lead = lead_find_duplicate(email=email)
    if lead is None:
        try:
            lead = lead_create(
                actor=referrer,
                email=email,
                source=Source.REFERRAL,
                referrer=referrer,
                via="referral",
                **contact,
            )
        except ActionError as exc:
            if exc.code != ActionError.DUPLICATE:
                raise
            # Created by someone else a moment ago: known after all.
            lead = lead_find_duplicate(email=email)
            if lead is None:  # pragma: no cover — the duplicate was found by the creation
                raise
        else:
            referral = _referral_record(
                referrer, lead, email, cleaned, context, ReferralOutcome.CREATED, True
            )
            return Submitted(referral, lead)
    referral = _referral_record(referrer, lead, email, cleaned, context, ReferralOutcome.ATTACHED, False)
    if lead_referrer_credit(lead_id=lead.pk, referrer=referrer, actor=referrer, referral_id=referral.pk):
        referral.credited = True
        referral.save(update_fields=["credited"])
    lead.refresh_from_db()
    return Submitted(referral, lead)


def _referral_record(referrer, lead, email, cleaned, context, outcome, credited) -> Referral:
    referral = Referral.objects.create(
        referrer=referrer,
        lead=lead,
        context=context,
        email=email,
        outcome=outcome,
        credited=credited,
        **{name: cleaned.get(name) or "" for name in CONTACT_FIELDS},
    )
    on_commit_enqueue(tasks.referral_notify, referral.pk)
    return referral


# --- who hears about a referral --------------------------------------------------------------------


def referral_recipients(referral: Referral) -> list:
    """Who in marketing is told of a referral (docs/product.md, "Referrals"):

    - the marketer who handed the lead to sales (`qualified_by`), if there is one still
      active on the marketing side: it is their lead;
    - otherwise every active member of the marketing team(s): nobody in marketing owns
      the lead yet;
    - and, while sales has the lead (MQL or SQL), its owner rep: the tip is about their work.

    Never the referrer themselves (a marketer who refers knows already)."""
    lead = referral.lead
    people = []
    marketer = lead.qualified_by
    if marketer is not None and marketer.is_active and is_marketing_side(marketer):
        people.append(marketer)
    else:
        people += list(
            get_user_model()
            .objects.filter(is_active=True, membership__team__kind=TeamKind.MARKETING)
            .order_by("pk")
        )
    if lead.stage in (Stage.MQL, Stage.SQL) and lead.owner is not None and lead.owner.is_active:
        people.append(lead.owner)
    seen: set[int] = {referral.referrer_id}
    chosen = []
    for person in people:
        if person.pk not in seen:
            seen.add(person.pk)
            chosen.append(person)
    return chosen


def referral_notify(referral_id: int) -> list[int]:
    """Tell marketing of one referral (`referral_recipients`): one notification each, once
    whatever the number of runs (the outbox is unique per recipient, kind and referral).
    Returns the ids of the notifications created."""
    referral = (
        Referral.objects.select_related("referrer", "lead__qualified_by", "lead__owner")
        .filter(pk=referral_id)
        .first()
    )
    if referral is None:
        return []
    lead, referrer = referral.lead, referral.referrer
    who = referrer.get_full_name() or referrer.username
    name = referral.given_name or referral.email
    url = f"{settings.SMARKETING_BASE_URL}/leads/{lead.pk}/"
    if referral.outcome == ReferralOutcome.CREATED:
        what, status = "A new lead was created.", "new lead"
    else:
        credit = " and credited as referrer" if referral.credited else ""
        what = f"Already known to marketing (lead {lead.pk}, {lead.get_stage_display()}): the note was added{credit}."
        status = "already known"
    company = f", {referral.company}" if referral.company else ""
    body = (
        f"{who} referred {name} <{referral.email}>{company}.\n"
        f"What they need: {referral.context}\n"
        f"{what}\n{url}"
    )
    subject = f"Referral from {who}: {name} ({status})"
    messages = [
        Message(
            person.pk, NotificationKind.REFERRAL_RECEIVED, lead.pk, f"referral:{referral.pk}", subject, body
        )
        for person in referral_recipients(referral)
    ]
    return notify_many(messages)


# --- reads -----------------------------------------------------------------------------------------------


def referrals_by(user) -> QuerySet[Referral]:
    """A person's own referrals, newest first, with the lead each one is on now (a merged
    lead's survivor, for its stage)."""
    return (
        Referral.objects.filter(referrer=user)
        .select_related("lead__merged_into")
        .order_by("-created_at", "-id")
    )


def referrals_on(lead: Lead, *, viewer) -> list[Referral]:
    """The referrals of a lead (and of the leads merged into it), oldest first, as `viewer`
    may see them: marketing, sales and managers see every one (the context is their
    work); any other employee only their own."""
    if viewer is None or not viewer.is_authenticated:
        return []
    referrals = Referral.objects.filter(Q(lead=lead) | Q(lead__merged_into=lead))
    if not has_product_role(viewer):
        referrals = referrals.filter(referrer=viewer)
    return list(referrals.select_related("referrer").order_by("created_at", "id"))
