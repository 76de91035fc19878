from __future__ import annotations

from django import forms

from sla.models import BreachAction
from smarketing.org.models import Campaign, Source, Team


class PercentListField(forms.CharField):
    def to_python(self, value):
        text = super().to_python(value)
        try:
            return [int(part) for part in text.replace(";", ",").split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError("Give whole percentages separated by commas, e.g. 50, 80.") from None

    def prepare_value(self, value):
        return ", ".join(str(v) for v in value) if isinstance(value, list) else value


class SlaPolicyForm(forms.Form):
    name = forms.CharField(max_length=120)
    priority = forms.IntegerField(min_value=0, initial=10, label="Priority (lower is tried first)")
    min_score = forms.IntegerField(required=False, label="Score from")
    max_score = forms.IntegerField(required=False, label="Score up to")
    sources = forms.MultipleChoiceField(
        choices=Source.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Sources (none: any)",
    )
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.all(), required=False, label="Campaign (any)")
    team = forms.ModelChoiceField(
        queryset=Team.objects.filter(kind="sales"), required=False, label="Rep's team (any)"
    )
    countries = forms.CharField(max_length=500, required=False, label="Countries (two-letter codes, commas)")
    response_hours = forms.DecimalField(
        min_value=0.01, max_digits=7, decimal_places=3, label="Respond within (business hours)"
    )
    follow_up_touches = forms.IntegerField(min_value=1, max_value=50, label="Follow-up: at least … touches")
    follow_up_days = forms.DecimalField(
        min_value=0.01, max_digits=6, decimal_places=2, label="… within (business days)"
    )
    warn_percents = PercentListField(label="Warn at (% of the time allowed)", initial="50, 80")
    on_breach = forms.ChoiceField(choices=BreachAction.choices, label="On breach")
    escalate_to_manager = forms.BooleanField(
        required=False, initial=True, label="Tell the rep's manager of a breach"
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
