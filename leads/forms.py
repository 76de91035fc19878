"""Forms for the sales actions. They parse and type the input; the rules live in the
services, whose refusal is shown next to the form with what the user typed kept."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from .models import (
    Campaign,
    EngagementType,
    FitField,
    FitOperator,
    LossOutcome,
    Reason,
    ReasonKind,
    RuleKind,
    Source,
    Team,
    TouchKind,
    TouchOutcome,
)
from .roles import Role, has_role, is_admin
from .routing import available_reps


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


class ReferralForm(forms.Form):
    """Any employee refers someone they met; marketing takes it from there."""

    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    email = forms.EmailField()
    company = forms.CharField(max_length=200, required=False)
    phone = forms.CharField(max_length=40, required=False)
    job_title = forms.CharField(max_length=200, required=False)


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
        from .agreement import GATE_FIELDS

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


class InboundSourceForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name (e.g. Website contact form)")
    source = forms.ChoiceField(
        choices=Source.choices, initial=Source.WEBSITE, label="Source of the leads it sends"
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.all(), required=False, label="Campaign (optional)"
    )
