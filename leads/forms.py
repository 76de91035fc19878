"""Forms for creating, editing and merging leads, and the likely-duplicate lookup that
the pages and the API share.

The forms only parse and type the input. The rules (what a valid email, country or
website is, who may write, the unique email) live in `leads.services`; their refusal is
shown next to the field with what the user typed kept, so the page and the API give the
same messages.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from leads.models import Consent, LawfulBasis, Lead, TouchKind, TouchOutcome
from leads.selectors import find_lead
from leads.services import PROFILE_FIELDS
from smarketing.agreement.models import Reason, ReasonKind
from smarketing.agreement.routing import available_reps
from smarketing.org.models import Campaign, EngagementType, Source
from smarketing.org.roles import Role, has_role, is_admin

# Messages the form and the API serializer share (the service's own where it has one).
EMAIL_REQUIRED = "An email address is required."
WHOLE_NUMBER = "Enter a whole number."
UNKNOWN_SOURCE = "“{value}” is not a known source."
UNKNOWN_CAMPAIGN = "That campaign does not exist."
NO_SUCH_LEAD = "No lead has that email or id."


# --- create and edit --------------------------------------------------------------------------


def _text(name: str, **kwargs) -> forms.CharField:
    model_field = Lead._meta.get_field(name)
    return forms.CharField(
        label=str(model_field.verbose_name).capitalize(),
        max_length=model_field.max_length,
        required=False,
        **kwargs,
    )


# --- consent to marketing contact --------------------------------------------------------------

# The consent fields as the service names them (`leads.services.consent_clean`).
CONSENT_INPUTS = ("consent", "consent_at", "consent_wording", "lawful_basis")


def consent_form_fields(*, required_answer: bool) -> dict[str, forms.Field]:
    """A person's answer on marketing contact, as loose text: what is a valid answer, date,
    wording and basis is `consent_clean`'s alone, which the page shows next to the field.
    (Lists and a date-time input guide the person; they check nothing.)"""
    answers = [(value, label) for value, label in Consent.choices if value]
    blank = "Choose the answer…" if required_answer else "Not recorded"
    return {
        "consent": forms.CharField(
            label="Consent to marketing contact",
            required=False,
            widget=forms.Select(choices=[("", blank), *answers]),
        ),
        "consent_at": forms.CharField(
            label="When they answered (leave empty for now)",
            required=False,
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        ),
        "consent_wording": forms.CharField(
            label="The wording, or its version, they answered (e.g. “Newsletter v3”)",
            required=False,
            widget=forms.TextInput(attrs={"maxlength": Lead._meta.get_field("consent_wording").max_length}),
        ),
        "lawful_basis": forms.CharField(
            label="Lawful basis (“Consent” when consent was given and this is left empty)",
            required=False,
            widget=forms.Select(choices=LawfulBasis.choices),
        ),
    }


def consent_values(cleaned_data: dict[str, Any]) -> dict[str, Any]:
    """What the person typed into the consent fields, for `consent_clean`."""
    return {name: cleaned_data.get(name, "") for name in CONSENT_INPUTS}


class ConsentForm(forms.Form):
    """A new answer on marketing contact, recorded by hand on the lead page."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_consent_%s")
        super().__init__(*args, **kwargs)
        self.fields.update(consent_form_fields(required_answer=True))

    def values(self) -> dict[str, Any]:
        return consent_values(self.cleaned_data)


class LeadForm(forms.Form):
    """A lead's contact and company profile; on create also its first touch and,
    optionally, the person's answer on marketing contact.

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
            self.fields.update(consent_form_fields(required_answer=False))
        else:
            del self.fields["source"]
            del self.fields["campaign"]

    def show_confirm(self) -> None:
        """Offer the “save anyway” checkbox, first in the form, after a likely-duplicate warning."""
        self.fields["confirm_duplicate"].widget = forms.CheckboxInput()
        self.order_fields(["confirm_duplicate"])

    def profile_fields(self) -> list[forms.BoundField]:
        """The form's visible fields but the consent section's (shown on its own)."""
        return [field for field in self.visible_fields() if field.name not in CONSENT_INPUTS]

    def consent_fields(self) -> list[forms.BoundField]:
        """The consent section's fields: on create only."""
        return [self[name] for name in CONSENT_INPUTS if name in self.fields]

    def consent_values(self) -> dict[str, Any]:
        """The consent section as typed, for `consent_clean` (empty on edit)."""
        return consent_values(self.cleaned_data) if self.lead is None else {}

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


class ActionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    note = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


def reason_field(kind: str, label: str) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Reason.objects.active().of_kind(kind),
        label=label,
        empty_label="Choose a reason…",
        error_messages={"required": "Choose a reason from the agreed list."},
    )


class AcceptForm(ActionForm):
    pass


class QualifyForm(ActionForm):
    """Hand-off: the note tells sales why now (required when sales sent it back before).
    A manager may pick the rep instead of routing."""

    def __init__(self, *args, lead=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["note"].label = "Note for sales (what makes it ready; required if it was sent back)"
        if user is not None and (has_role(user, Role.MANAGER) or is_admin(user)):
            reps = available_reps().select_related("user").order_by("user__first_name")
            self.fields["owner"] = forms.ChoiceField(
                label="Rep (leave to routing, or choose)",
                required=False,
                choices=[("", "Routing decides")]
                + [(m.user_id, m.user.get_full_name() or m.user.username) for m in reps],
            )
            self.order_fields(["owner", "note", "version"])


class RejectForm(ActionForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"] = reason_field(ReasonKind.REJECTION, "Why are you sending it back?")
        self.order_fields(["reason", "note", "version"])


class LoseForm(ActionForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"] = reason_field(ReasonKind.LOSS, "Why was it lost?")
        self.order_fields(["reason", "note", "version"])


class DisqualifyForm(ActionForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"] = reason_field(ReasonKind.DISQUALIFICATION, "Why is it out of the funnel?")
        self.order_fields(["reason", "note", "version"])


class WinForm(ActionForm):
    amount = forms.DecimalField(label="Deal amount", min_value=0, max_digits=14, decimal_places=2)
    closed_on = forms.DateField(label="Close date", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["closed_on"].initial = timezone.localdate()
        self.order_fields(["amount", "closed_on", "note", "version"])


class ReassignForm(ActionForm):
    def __init__(self, *args, lead=None, **kwargs):
        super().__init__(*args, **kwargs)
        reps = available_reps().exclude(user_id=getattr(lead, "owner_id", None)).select_related("user")
        self.fields["owner"] = forms.ChoiceField(
            label="New owner",
            choices=[("", "Choose a rep…")]
            + [
                (m.user_id, m.user.get_full_name() or m.user.username)
                for m in reps.order_by("user__first_name")
            ],
        )
        self.order_fields(["owner", "note", "version"])


class TouchForm(forms.Form):
    kind = forms.ChoiceField(choices=TouchKind.choices)
    outcome = forms.ChoiceField(choices=TouchOutcome.choices)
    occurred_at = forms.DateTimeField(
        required=False,
        label="When (leave empty for now)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    note = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class SnoozeForm(forms.Form):
    """The lead asked to be contacted later: move the follow-up deadline to that day."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    until = forms.DateField(label="Follow up from", widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(max_length=500, label="Why (what the lead asked)")


class EngagementForm(forms.Form):
    """Marketing logs by hand what a lead did (a booth visit, a call-in to a webinar…)."""

    type = forms.ChoiceField(choices=EngagementType.choices, label="What they did")
    title = forms.CharField(max_length=300, required=False, label="Title (e.g. the event or content)")
    url = forms.URLField(max_length=500, required=False, label="Link (optional)", assume_scheme="https")
    occurred_at = forms.DateTimeField(
        required=False,
        label="When (leave empty for now)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


ACTION_FORMS = {
    "qualify": QualifyForm,
    "accept": AcceptForm,
    "reject": RejectForm,
    "win": WinForm,
    "lose": LoseForm,
    "disqualify": DisqualifyForm,
    "reassign": ReassignForm,
    "touch": TouchForm,
    "engagement": EngagementForm,
    "snooze": SnoozeForm,
}


class NoteForm(forms.Form):
    """A note on a lead. The text's rules (not empty, at most 5,000 characters, storable)
    are the service's (`leads.services.notes`), so the page and the API give the same words."""

    body = forms.CharField(
        label="Note (mention a colleague with @username to tell them)",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 5000}),
    )
