"""Campaigns: who may read and edit them, the one validation of a campaign's values, its
writes (`campaign_create`, `campaign_update`: audited, versioned) and the list's reads.

Marketing (marketers, marketing managers, admins) creates and edits campaigns; sales and
managers read them; an employee without a product role does not see them. The pages
(reports/views.py), the API (smarketing/org/api.py) and nothing else call these
services, so a rule here holds everywhere. What a campaign brought — its funnel, revenue,
cost per customer and ROI — is a report figure: `reports.campaigns` (docs/campaigns.md).
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet

from smarketing.core.errors import ActionError
from smarketing.core.inputs import FIRST_YEAR, LAST_YEAR
from smarketing.org import roles
from smarketing.org.models import Campaign, CampaignChange, Channel, TeamKind

NAME_MAX = 200
MONEY_MAX = Decimal("9999999999.99")  # what the columns keep (12 digits, 2 of them cents)
FIELDS = ("name", "channel", "budget", "cost", "starts_on", "ends_on", "owner")
READ_REFUSAL = "Campaigns are for marketing, sales and their managers."
EDIT_REFUSAL = "Only marketing can create or edit campaigns."


class _Keep:
    """A field an update leaves as it is (not given)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


# --- who ------------------------------------------------------------------------------------------


def can_read_campaigns(user) -> bool:
    """Marketing, sales and managers (and admins): everyone whose work is the funnel."""
    return bool(getattr(user, "is_authenticated", False) and roles.has_product_role(user))


def can_edit_campaigns(user) -> bool:
    """Marketers, marketing managers and admins (`roles.is_marketing_side`)."""
    return bool(getattr(user, "is_authenticated", False) and roles.is_marketing_side(user))


def require_editor(actor) -> None:
    if not can_edit_campaigns(actor):
        raise ActionError(EDIT_REFUSAL, code=ActionError.FORBIDDEN)


def owner_choices(*, also: int | None = None) -> QuerySet:
    """Who may own a campaign: active people on the marketing side (marketers, marketing
    managers, admins), by name; and the user `also` (a campaign's present owner)."""
    marketing = Q(is_active=True) & (
        Q(groups__name=roles.Role.MARKETER)
        | Q(groups__name=roles.Role.ADMIN)
        | Q(is_superuser=True)
        | Q(groups__name=roles.Role.MANAGER, membership__team__kind=TeamKind.MARKETING)
    )
    if also is not None:
        marketing |= Q(pk=also)
    users = get_user_model().objects
    return users.filter(pk__in=users.filter(marketing).values("pk")).order_by(
        "first_name", "last_name", "username"
    )


# --- the one validation ---------------------------------------------------------------------------


def _money(value, name: str, label: str, errors: dict) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        errors[name] = f"{label} is an amount, like 1250.50."
        return None
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        errors[name] = f"{label} is an amount, like 1250.50."
        return None
    if not amount.is_finite():
        errors[name] = f"{label} is an amount, like 1250.50."
    elif amount < 0:
        errors[name] = f"{label} cannot be negative."
    elif amount.as_tuple().exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        errors[name] = f"{label} has at most 2 decimal places (cents)."
    elif amount > MONEY_MAX:
        errors[name] = f"{label} can be at most {MONEY_MAX:,}."
    else:
        return amount.quantize(Decimal("0.01"))
    return None


def _date(value, name: str, label: str, errors: dict) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        errors[name] = f"{label} is a date, like 2026-06-15."
        return None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        errors[name] = f"{label}: choose a date between {FIRST_YEAR} and {LAST_YEAR}."
        return None
    return value


def campaign_clean(values: dict, *, campaign_id: int | None = None, kept_owner_id: int | None = None) -> dict:
    """The campaign's values as they will be saved, or one `ActionError` (code `invalid`)
    naming every field that is wrong, each with its message. The only place a campaign's
    rules are written: name trimmed, non-empty and unique whatever its case; a channel of
    the list; budget and cost amounts ≥ 0 with at most 2 decimals; an end not before the
    start; an owner who is on the marketing side (a present owner `kept_owner_id` who has
    since left marketing may stay: an edit of the dates need not change the owner)."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}

    name = values.get("name")
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        errors["name"] = "Give the campaign a name."
    elif len(name) > NAME_MAX:
        errors["name"] = f"A campaign's name has at most {NAME_MAX} characters."
    elif "\x00" in name:
        errors["name"] = "A name cannot contain a NUL character."
    else:
        taken = Campaign.objects.filter(name__iexact=name)
        if campaign_id is not None:
            taken = taken.exclude(pk=campaign_id)
        if taken.exists():
            errors["name"] = f"A campaign named “{name}” already exists."
    cleaned["name"] = name

    channel = values.get("channel") or Channel.OTHER
    if channel not in Channel.values:
        errors["channel"] = "Choose a channel from the list."
    cleaned["channel"] = channel

    cleaned["budget"] = _money(values.get("budget"), "budget", "The budget", errors)
    cleaned["cost"] = _money(values.get("cost"), "cost", "The actual cost", errors) or Decimal("0.00")

    cleaned["starts_on"] = _date(values.get("starts_on"), "starts_on", "The start", errors)
    cleaned["ends_on"] = _date(values.get("ends_on"), "ends_on", "The end", errors)
    if cleaned["starts_on"] and cleaned["ends_on"] and cleaned["ends_on"] < cleaned["starts_on"]:
        errors["ends_on"] = "A campaign cannot end before it starts: choose an end on or after its start."

    owner = values.get("owner")
    if (
        owner is not None
        and owner.pk != kept_owner_id
        and not (getattr(owner, "is_active", False) and roles.is_marketing_side(owner))
    ):
        errors["owner"] = (
            "A campaign's owner is someone on the marketing side (a marketer or marketing manager)."
        )
    cleaned["owner"] = owner

    if errors:
        first = next(iter(errors.values()))
        raise ActionError(
            first if len(errors) == 1 else f"Please correct {len(errors)} fields: {first}",
            code=ActionError.INVALID,
            fields={name: [message] for name, message in errors.items()},
        )
    return cleaned


# --- the audit ------------------------------------------------------------------------------------


def _plain(name: str, value) -> Any:
    if value is None:
        return None
    if name == "owner":
        return {"id": value.pk, "username": value.get_username()}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _snapshot(campaign: Campaign) -> dict:
    return {name: getattr(campaign, name) for name in FIELDS}


def _record(campaign: Campaign, action: str, actor, before: dict | None, after: dict) -> CampaignChange:
    return CampaignChange.objects.create(
        campaign=campaign,
        action=action,
        actor=actor if getattr(actor, "pk", None) else None,
        before=None if before is None else {k: _plain(k, v) for k, v in before.items()},
        after={k: _plain(k, v) for k, v in after.items()},
    )


def _name_taken(name: str) -> ActionError:
    message = f"A campaign named “{name}” already exists."
    return ActionError(message, code=ActionError.INVALID, fields={"name": [message]})


# --- the writes -----------------------------------------------------------------------------------


@transaction.atomic
def campaign_create(
    *,
    actor,
    name: str,
    channel: str = Channel.OTHER,
    budget: Decimal | str | None = None,
    cost: Decimal | str | None = None,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    owner=None,
) -> Campaign:
    """A new campaign, by someone on the marketing side; audited."""
    require_editor(actor)
    values = campaign_clean(
        {
            "name": name,
            "channel": channel,
            "budget": budget,
            "cost": cost,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "owner": owner,
        }
    )
    try:
        with transaction.atomic():  # two people creating the same name at once: one is told
            campaign = Campaign.objects.create(**values)
    except IntegrityError:
        raise _name_taken(values["name"]) from None
    _record(campaign, CampaignChange.Action.CREATED, actor, None, values)
    return campaign


@transaction.atomic
def campaign_update(
    *,
    actor,
    campaign_id: int,
    expected_version: int | None = None,
    name: str = KEEP,
    channel: str = KEEP,
    budget: Decimal | str | None = KEEP,
    cost: Decimal | str | None = KEEP,
    starts_on: dt.date | None = KEEP,
    ends_on: dt.date | None = KEEP,
    owner=KEEP,
) -> Campaign:
    """Change the fields given (the others stay), by someone on the marketing side.

    The row is locked and the version the editor saw (`expected_version`) checked: an edit
    made on a stale copy is refused (409) and says so, never overwriting what someone else
    saved in between. A change that changes nothing writes nothing; any other is audited
    with the fields' values before and after, and moves the version on."""
    require_editor(actor)
    try:
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    except Campaign.DoesNotExist:
        raise ActionError(f"Campaign {campaign_id} does not exist.", code=ActionError.NOT_FOUND) from None
    if expected_version is not None and int(expected_version) != campaign.version:
        raise ActionError(
            "Someone changed this campaign since you opened it (version "
            f"{expected_version}, now {campaign.version}). Reload it and make your change again.",
            code=ActionError.STALE_VERSION,
            data={"current_version": campaign.version},
        )
    before = _snapshot(campaign)
    given = {
        "name": name,
        "channel": channel,
        "budget": budget,
        "cost": cost,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "owner": owner,
    }
    values = campaign_clean(
        {field: before[field] if value is KEEP else value for field, value in given.items()},
        campaign_id=campaign.pk,
        kept_owner_id=campaign.owner_id,
    )
    changed = [field for field in FIELDS if values[field] != before[field]]
    if not changed:
        return campaign
    for field in changed:
        setattr(campaign, field, values[field])
    campaign.version = F("version") + 1
    try:
        with transaction.atomic():
            campaign.save(update_fields=[*changed, "version"])
    except IntegrityError:
        raise _name_taken(values["name"]) from None
    campaign.refresh_from_db()
    _record(
        campaign,
        CampaignChange.Action.UPDATED,
        actor,
        {field: before[field] for field in changed},
        {field: values[field] for field in changed},
    )
    return campaign


# --- the reads ------------------------------------------------------------------------------------


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of `month`'s month."""
    first = month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def running_in(first: dt.date, last: dt.date) -> Q:
    """Campaigns running at some time from `first` to `last`: their dates overlap it. An
    open end runs on; an open start ran since ever; a campaign with no dates at all is
    in no month."""
    return (
        (Q(starts_on__isnull=False) | Q(ends_on__isnull=False))
        & (Q(starts_on__isnull=True) | Q(starts_on__lte=last))
        & (Q(ends_on__isnull=True) | Q(ends_on__gte=first))
    )


def campaign_list(*, q: str = "", channel: str = "", month: dt.date | None = None) -> QuerySet[Campaign]:
    """Campaigns whose name holds `q` (any case), of a `channel`, running in the `month`
    (overlapping it); newest first — by start, undated ones last — with their owner."""
    campaigns = Campaign.objects.select_related("owner")
    if q.strip():
        campaigns = campaigns.filter(name__icontains=q.strip())
    if channel:
        campaigns = campaigns.filter(channel=channel)
    if month is not None:
        campaigns = campaigns.filter(running_in(*month_bounds(month)))
    return campaigns.order_by(F("starts_on").desc(nulls_last=True), "-id")


def campaign_changes(campaign: Campaign, limit: int = 20) -> list[CampaignChange]:
    """The campaign's latest audited changes, newest first, with who made them."""
    return list(campaign.changes.select_related("actor")[:limit])
