"""Forms for creating, editing and merging leads, and the likely-duplicate lookup that
the pages and the API share.

The forms only parse and type the input. The rules (what a valid email, country or
website is, who may write, the unique email) live in `leads.services`; their refusal is
shown next to the field with what the user typed kept, so the page and the API give the
same messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.db import connections, router
from django.db.models import Q

from .models import Campaign, Lead, Source
from .services import PROFILE_FIELDS, lead_find_duplicate

LIKELY_DUPLICATE_LIMIT = 5

# Messages the form and the API serializer share (the service's own where it has one).
EMAIL_REQUIRED = "An email address is required."
WHOLE_NUMBER = "Enter a whole number."
UNKNOWN_SOURCE = "“{value}” is not a known source."
UNKNOWN_CAMPAIGN = "That campaign does not exist."
NO_SUCH_LEAD = "No lead has that email or id."


# --- likely duplicates ------------------------------------------------------------------------


@dataclass
class LikelyDuplicate:
    lead: Lead
    reasons: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return (
            f"Lead {self.lead.pk}, {self.lead} ({self.lead.email}), has the {' and the '.join(self.reasons)}."
        )


def likely_duplicates(
    *,
    phone: str = "",
    first_name: str = "",
    last_name: str = "",
    company: str = "",
    exclude_id: int | None = None,
    limit: int = LIKELY_DUPLICATE_LIMIT,
) -> list[LikelyDuplicate]:
    """Live leads that are probably the same person: the same (non-empty) phone, or the
    same first and last name at the same company (case-insensitive). One query, at most
    `limit` rows; it filters on the `lead_phone` and `lead_company_name` columns. Each lead
    has the fields a warning shows (pk, names, email, phone, company)."""
    phone, first_name, last_name, company = (
        (value or "").strip() for value in (phone, first_name, last_name, company)
    )
    by_phone, by_name = bool(phone), bool(first_name and last_name and company)
    if not (by_phone or by_name):
        return []
    read = (
        _duplicates_sql if connections[router.db_for_read(Lead)].vendor == "postgresql" else _duplicates_orm
    )
    leads = read(phone, first_name, last_name, company, by_phone, by_name, exclude_id, limit)
    name = (first_name.casefold(), last_name.casefold(), company.casefold())
    found = []
    for lead in leads:
        reasons = []
        if by_phone and lead.phone == phone:
            reasons.append("same phone")
        if (
            by_name
            and (lead.first_name.casefold(), lead.last_name.casefold(), lead.company.casefold()) == name
        ):
            reasons.append("same name and company")
        found.append(LikelyDuplicate(lead=lead, reasons=reasons))
    return found


def _duplicates_orm(
    phone, first_name, last_name, company, by_phone, by_name, exclude_id, limit
) -> list[Lead]:
    match = Q()
    if by_phone:
        match |= Q(phone=phone)
    if by_name:
        match |= Q(company__iexact=company, last_name__iexact=last_name, first_name__iexact=first_name)
    rows = Lead.objects.live().filter(match)
    if exclude_id is not None:
        rows = rows.exclude(pk=exclude_id)
    return list(rows.order_by("-created_at", "-id").only(*DUPLICATE_COLUMNS)[:limit])


# `_duplicates_orm`'s query as the ORM writes it on PostgreSQL (the same plan: the
# `lead_phone` and `lead_company_name_ci` indexes), written once for each way a lead can
# match: building it on every create cost a millisecond of CPU, a third of an API create's.
DUPLICATE_COLUMNS = ("id", "first_name", "last_name", "email", "phone", "company")
_SAME_PHONE = '"phone" = %s'
_SAME_NAME = (
    '(UPPER("company"::text) = UPPER(%s) AND UPPER("first_name"::text) = UPPER(%s) '
    'AND UPPER("last_name"::text) = UPPER(%s))'
)
_NOT_EXCLUDED = ' AND NOT ("id" = %s)'
_DUPLICATES_SQL = {
    (by_phone, by_name, exclude): (
        f"SELECT {', '.join(DUPLICATE_COLUMNS)} FROM leads_lead "  # noqa: S608 - constants only
        f'WHERE "merged_into_id" IS NULL AND ({" OR ".join(match)}){_NOT_EXCLUDED if exclude else ""} '
        'ORDER BY "created_at" DESC, "id" DESC LIMIT %s'
    )
    for by_phone, by_name, match in (
        (True, False, [_SAME_PHONE]),
        (False, True, [_SAME_NAME]),
        (True, True, [_SAME_PHONE, _SAME_NAME]),
    )
    for exclude in (False, True)
}


def _duplicates_sql(
    phone, first_name, last_name, company, by_phone, by_name, exclude_id, limit
) -> list[Lead]:
    params = [phone] if by_phone else []
    if by_name:
        params += [company, first_name, last_name]
    if exclude_id is not None:
        params.append(exclude_id)
    using = router.db_for_read(Lead)
    with connections[using].cursor() as cursor:
        cursor.execute(_DUPLICATES_SQL[by_phone, by_name, exclude_id is not None], [*params, limit])
        return [Lead.from_db(using, DUPLICATE_COLUMNS, row) for row in cursor.fetchall()]


def duplicate_lookup(values: dict[str, Any]) -> dict[str, str]:
    """The arguments of `likely_duplicates` from a dict of profile values."""
    return {name: values.get(name) or "" for name in ("phone", "first_name", "last_name", "company")}


# --- create and edit --------------------------------------------------------------------------


def _text(name: str, **kwargs) -> forms.CharField:
    model_field = Lead._meta.get_field(name)
    return forms.CharField(
        label=str(model_field.verbose_name).capitalize(),
        max_length=model_field.max_length,
        required=False,
        **kwargs,
    )


class LeadForm(forms.Form):
    """A lead's contact and company profile; on create also its first touch.

    Pass `lead=` to edit: the first touch is not editable, and the version the user
    loaded travels in a hidden field so that a stale form is refused.
    """

    email = forms.CharField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        error_messages={"required": EMAIL_REQUIRED},
    )
    first_name = _text("first_name")
    last_name = _text("last_name")
    phone = _text("phone", widget=forms.TextInput(attrs={"type": "tel"}))
    company = _text("company")
    job_title = _text("job_title")
    company_size = forms.IntegerField(
        label="Company size (people)", required=False, error_messages={"invalid": WHOLE_NUMBER}
    )
    country = forms.CharField(
        label="Country (two-letter code, e.g. DE)",
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"size": 4}),
    )
    website = _text("website", widget=forms.URLInput)
    source = forms.ChoiceField(
        label="Source (first touch)",
        choices=Source.choices,
        initial=Source.OTHER,
        error_messages={"invalid_choice": UNKNOWN_SOURCE.replace("{value}", "%(value)s")},
    )
    campaign = forms.ModelChoiceField(
        label="Campaign (first touch)",
        queryset=Campaign.objects.order_by("-starts_on", "name"),
        required=False,
        empty_label="No campaign",
        error_messages={"invalid_choice": UNKNOWN_CAMPAIGN},
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    confirm_duplicate = forms.BooleanField(
        label="Yes, save it anyway: this is a different person",
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, data=None, *args, lead: Lead | None = None, **kwargs):
        if lead is not None and data is None:
            kwargs.setdefault(
                "initial",
                {
                    "email": lead.email,
                    "version": lead.version,
                    **{name: getattr(lead, name) for name in PROFILE_FIELDS},
                },
            )
        super().__init__(data, *args, **kwargs)
        self.lead = lead
        if lead is None:
            del self.fields["version"]
        else:
            del self.fields["source"]
            del self.fields["campaign"]

    def show_confirm(self) -> None:
        """Offer the “save anyway” checkbox, first in the form, after a likely-duplicate warning."""
        self.fields["confirm_duplicate"].widget = forms.CheckboxInput()
        self.order_fields(["confirm_duplicate"])

    def profile_values(self) -> dict[str, Any]:
        """Email and profile fields, as the services take them."""
        data = self.cleaned_data
        return {"email": data["email"], **{name: data[name] for name in PROFILE_FIELDS}}

    def duplicate_check_needed(self) -> bool:
        """Whether to look for likely duplicates before saving: not when the user confirmed,
        and on edit only when the phone, name or company changed."""
        if self.cleaned_data.get("confirm_duplicate"):
            return False
        if self.lead is None:
            return True
        return any(
            (self.cleaned_data.get(name) or "") != (getattr(self.lead, name) or "")
            for name in ("phone", "first_name", "last_name", "company")
        )


# --- merge ------------------------------------------------------------------------------------


def find_lead(text: str) -> Lead | None:
    """A lead by id (digits) or by email (normalised, following a merge to its survivor)."""
    text = (text or "").strip()
    if not text:
        return None
    if text.isdigit():
        return Lead.objects.filter(pk=int(text)).first()
    return lead_find_duplicate(email=text)


class MergeForm(forms.Form):
    """Which lead to merge with this one, and which of the two survives."""

    SURVIVOR_CHOICES = [("this", "Keep this lead"), ("other", "Keep the other lead")]

    other = forms.CharField(
        label="The other lead: its email or id",
        max_length=254,
        error_messages={"required": "Enter the other lead's email or id."},
    )
    survivor = forms.ChoiceField(
        label="Which lead survives?",
        choices=SURVIVOR_CHOICES,
        initial="this",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose which lead survives."},
    )
    note = forms.CharField(
        label="Note (why they are the same person)",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_other(self) -> Lead:
        lead = find_lead(self.cleaned_data["other"])
        if lead is None:
            raise forms.ValidationError(NO_SUCH_LEAD)
        return lead
