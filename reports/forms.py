"""The dashboard's range and filters: one form for the page, the CSV export and the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from leads.filters import Segment
from reports.dashboard import Scope, scope_for
from smarketing.core.inputs import BoundedDateField, IdChoiceField, RoundedDecimalField
from smarketing.core.weeks import monday_of, org_tz
from smarketing.org.models import Campaign, Source, Team
from smarketing.org.roles import Role

DEFAULT_WEEKS = 12
MAX_WEEKS = 104


class DashboardForm(forms.Form):
    week = BoundedDateField(required=False, label="From week", help_text="Any day in the first week.")
    week_to = BoundedDateField(required=False, label="To week", help_text="Any day in the last week.")
    team = IdChoiceField(Team.objects.order_by("name"), required=False, empty_label="All teams")
    source = forms.ChoiceField(choices=[("", "All sources"), *Source.choices], required=False)
    campaign = IdChoiceField(Campaign.objects.order_by("name"), required=False, empty_label="All campaigns")
    owner = IdChoiceField(
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.SALES_REP)
        .order_by("first_name", "last_name", "username"),
        required=False,
        label="Rep",
        empty_label="All reps",
    )
    segment = forms.ChoiceField(choices=[("", "All segments"), *Segment.CHOICES], required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].label_from_instance = lambda user: user.get_full_name() or user.username

    def clean(self):
        data = super().clean()
        this_week = monday_of(None)
        last = monday_of(data.get("week_to") or this_week)
        first = monday_of(data.get("week") or last - dt.timedelta(weeks=DEFAULT_WEEKS - 1))
        if last > this_week:
            self.add_error("week_to", "The range can't end after this week.")
        elif first > last:
            self.add_error("week", "The first week must not be after the last.")
        elif (last - first).days // 7 + 1 > MAX_WEEKS:
            self.add_error("week", f"Choose at most {MAX_WEEKS} weeks.")
        data["first"], data["last"] = first, last
        return data

    def scope(self) -> Scope:
        data = self.cleaned_data
        params = {}
        for name in ("team", "campaign", "owner"):
            if data.get(name) is not None:
                params[name] = data[name].pk
        for name in ("source", "segment"):
            if data.get(name):
                params[name] = data[name]
        return scope_for(data["first"], data["last"], params)

    def range_query(self) -> dict:
        """The range as given, for links that keep it (CSV export, funnel as of)."""
        return {key: value for key, value in self.data.items() if key in self.fields and value}


class AsOfForm(forms.Form):
    as_of = BoundedDateField(required=False, label="Funnel as of", help_text="At the end of this day.")

    def clean_as_of(self):
        today = timezone.now().astimezone(org_tz()).date()
        day = self.cleaned_data.get("as_of") or today
        if day > today:
            raise forms.ValidationError("Choose today or a day in the past.")
        return day


class GoalForm(forms.Form):
    target = RoundedDecimalField(
        label="Revenue target", min_value=Decimal("0.01"), max_digits=14, decimal_places=2
    )
    weeks = forms.IntegerField(label="Over how many weeks", min_value=1, max_value=104, initial=13)
    average_deal = RoundedDecimalField(
        label="Average deal size",
        required=False,
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        help_text="Leave empty to use the average of the deals won in the window.",
    )
    window = forms.IntegerField(
        label="Measure rates over the last … finished weeks", min_value=1, max_value=MAX_WEEKS, initial=12
    )

    def window_weeks(self) -> tuple[dt.date, dt.date]:
        """The last `window` finished ISO weeks (this week is not over: it is left out)."""
        last = monday_of(None) - dt.timedelta(weeks=1)
        return last - dt.timedelta(weeks=self.cleaned_data["window"] - 1), last
