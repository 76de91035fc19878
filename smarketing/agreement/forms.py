"""Forms for the agreement's pages. They parse and type the input; the rules live in the
services, whose refusal is shown next to the form with what the user typed kept."""

from __future__ import annotations

from django import forms

from smarketing.agreement.models import FitField, FitOperator, LossOutcome, ReasonKind, RuleKind
from smarketing.agreement.services import GATE_FIELDS
from smarketing.org.models import EngagementType, Source, Team

# --- the agreement (managers) ----------------------------------------------------------------


class ScoringDefinitionForm(forms.Form):
    threshold = forms.IntegerField(label="MQL threshold (points)", min_value=-1000, max_value=10000)
    auto_qualify = forms.BooleanField(
        required=False, label="Hand leads to sales automatically when they reach the threshold"
    )
    decay_half_life_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        label="Engagement points halve every … days (empty: no decay)",
    )


class ScoringRuleForm(forms.Form):
    kind = forms.ChoiceField(choices=RuleKind.choices, label="Kind")
    label = forms.CharField(max_length=120, label="Label (shown on the receipt)")
    field = forms.ChoiceField(choices=[("", "—")] + FitField.choices, required=False, label="Fit: field")
    operator = forms.ChoiceField(choices=[("", "—")] + FitOperator.choices, required=False, label="Fit: test")
    value = forms.CharField(max_length=500, required=False, label="Fit: value (commas separate several)")
    engagement_type = forms.ChoiceField(
        choices=[("", "—")] + EngagementType.choices, required=False, label="Engagement: type"
    )
    points = forms.IntegerField(min_value=-1000, max_value=1000, label="Points")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")


class HandoffGateForm(forms.Form):
    required_fields = forms.MultipleChoiceField(
        choices=[],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Profile fields a lead must have",
    )
    min_engagements = forms.IntegerField(min_value=0, max_value=20, label="At least this many engagements")

    def __init__(self, *args, **kwargs):

        super().__init__(*args, **kwargs)
        self.fields["required_fields"].choices = list(GATE_FIELDS.items())


class ReasonForm(forms.Form):
    """A reason on the agreed list: a new one (with its kind), or a change to one."""

    kind = forms.ChoiceField(choices=ReasonKind.choices, label="Kind")
    label = forms.CharField(max_length=120, label="Reason, as reps and marketers read it")
    description = forms.CharField(
        required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}), label="When it applies"
    )
    loss_outcome = forms.ChoiceField(
        choices=[("", "—"), *LossOutcome.choices],
        required=False,
        label="A lead lost for it is (loss reasons only)",
    )
    position = forms.IntegerField(min_value=0, max_value=999, initial=0, label="Order on the list")
    is_active = forms.BooleanField(required=False, initial=True, label="On the list (untick to retire it)")


class RoutingRuleForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name (recorded on each assignment)")
    position = forms.IntegerField(min_value=0, initial=0, label="Order (lower goes first)")
    countries = forms.CharField(max_length=500, required=False, label="Countries (two-letter codes, commas)")
    min_company_size = forms.IntegerField(min_value=0, required=False, label="Company size from")
    max_company_size = forms.IntegerField(min_value=0, required=False, label="Company size up to")
    sources = forms.MultipleChoiceField(
        choices=Source.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Sources (none: any)",
    )
    team = forms.ModelChoiceField(queryset=Team.objects.filter(kind="sales"), label="Sales team")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
