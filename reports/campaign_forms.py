"""The campaign pages' forms: a campaign's values (checked by the service, which holds the
rules: `smarketing.org.campaigns.campaign_clean`), the list's search and filters, and
the range the closed loop is read for."""

from __future__ import annotations

import datetime as dt
import re

from django import forms

from smarketing.core.inputs import FIRST_YEAR, LAST_YEAR, BoundedDateField
from smarketing.core.weeks import monday_of
from smarketing.org import campaigns
from smarketing.org.models import Channel


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _money_field(label: str, help_text: str, required: bool = False) -> forms.DecimalField:
    # Not rounded: "12.345" is refused by the service (at most 2 decimals), not guessed.
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=None,
        max_digits=14,
        decimal_places=None,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )


class OwnerField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return user.get_full_name() or user.get_username()


class CampaignForm(forms.Form):
    """A campaign's values. Types only here; every rule is the service's, shown next to
    its field (`smarketing.core.pages.show_refusal_at_fields`)."""

    name = forms.CharField(label="Name", max_length=400, strip=False)
    channel = forms.ChoiceField(label="Channel", choices=Channel.choices, initial=Channel.OTHER)
    starts_on = BoundedDateField(label="Starts on", required=False, widget=DateInput())
    ends_on = BoundedDateField(label="Ends on", required=False, widget=DateInput())
    budget = _money_field("Budget (planned spend)", "Optional. What you plan to spend.")
    cost = _money_field(
        "Actual cost", "What it has cost so far: ROI and cost per customer divide by it. Empty is 0."
    )
    owner = OwnerField(queryset=None, label="Owner", required=False, empty_label="No owner")
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)

    def __init__(self, *args, campaign=None, **kwargs):
        if campaign is not None and not kwargs.get("data") and not (args and args[0] is not None):
            kwargs["initial"] = {
                "name": campaign.name,
                "channel": campaign.channel,
                "starts_on": campaign.starts_on,
                "ends_on": campaign.ends_on,
                "budget": campaign.budget,
                "cost": campaign.cost,
                "owner": campaign.owner_id,
                "version": campaign.version,
            }
        super().__init__(*args, **kwargs)
        # A past owner who left marketing stays selectable (an edit need not change it).
        self.fields["owner"].queryset = campaigns.owner_choices(also=campaign.owner_id if campaign else None)
        if campaign is None:
            del self.fields["version"]

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        return data


MONTH = re.compile(r"([0-9]{4})-([0-9]{2})\Z")


class MonthField(forms.CharField):
    """A month as `<input type="month">` sends it: 2026-06."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "2026-06"})

    def to_python(self, value):
        value = super().to_python(value).strip()
        if not value:
            return None
        match = MONTH.match(value)
        if match and FIRST_YEAR <= int(match[1]) <= LAST_YEAR and 1 <= int(match[2]) <= 12:
            return dt.date(int(match[1]), int(match[2]), 1)
        raise forms.ValidationError("Choose a month, like 2026-06.", code="invalid")


class CampaignListForm(forms.Form):
    q = forms.CharField(label="Name", required=False, max_length=200)
    channel = forms.ChoiceField(
        label="Channel", choices=[("", "Any channel"), *Channel.choices], required=False
    )
    month = MonthField(
        label="Running in", required=False, help_text="Campaigns whose dates overlap the month."
    )

    def filters(self) -> dict:
        data = self.cleaned_data
        return {"q": data.get("q") or "", "channel": data.get("channel") or "", "month": data.get("month")}


class CampaignRangeForm(forms.Form):
    """The weeks whose new leads the closed loop counts: all time when neither is given."""

    week = BoundedDateField(
        required=False, label="From week", help_text="Any day in the first week (default: its first lead's)."
    )
    week_to = BoundedDateField(
        required=False, label="To week", help_text="Any day in the last week (default: this week)."
    )

    def clean(self):
        data = super().clean()
        first, last = data.get("week"), data.get("week_to")
        if last is not None and monday_of(last) > monday_of(None):
            self.add_error("week_to", "The range can't end after this week.")
        elif first is not None and monday_of(first) > monday_of(last or None):
            self.add_error("week", "The first week must not be after the last.")
        return data
