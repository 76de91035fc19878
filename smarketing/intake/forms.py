"""Forms of the intake pages."""

from __future__ import annotations

from django import forms

from leads.services import PROFILE_FIELDS
from leads.services.consent import WORDING_MAX
from smarketing.intake.models import CONTEXT_MAX, default_form_fields
from smarketing.org.models import Campaign, EngagementType, Source


class InboundSourceForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name (e.g. Website contact form)")
    source = forms.ChoiceField(
        choices=Source.choices, initial=Source.WEBSITE, label="Source of the leads it sends"
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.all(), required=False, label="Campaign (optional)"
    )
    engagement_type = forms.ChoiceField(
        choices=EngagementType.choices,
        initial=EngagementType.FORM_SUBMIT,
        label="Each post records this engagement (it scores as the agreement says)",
    )
    fields = forms.MultipleChoiceField(
        choices=[(name, name.replace("_", " ").capitalize()) for name in PROFILE_FIELDS],
        initial=default_form_fields,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Profile fields a post may fill in (those fit rules read make it score)",
    )
    per_email_per_day = forms.IntegerField(
        min_value=0, max_value=100, initial=1, label="Engagements recorded per email in 24 hours"
    )
    per_minute = forms.IntegerField(
        min_value=1, max_value=10_000, initial=60, label="Posts accepted per minute"
    )
    consent_wording = forms.CharField(
        max_length=WORDING_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        # What a post's consent answer is recorded as agreed to (the page says so).
        label="Consent wording the form shows, or its version (empty: the form asks nothing)",
    )


class ReferralForm(forms.Form):
    """Any employee refers someone they met, and says what that person needs; marketing
    takes it from there (`smarketing.intake.referrals.referral_submit`)."""

    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    email = forms.EmailField()
    company = forms.CharField(max_length=200, required=False)
    context = forms.CharField(
        label="What do they need?",
        max_length=CONTEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4, "aria-describedby": "id_context-help"}),
        strip=True,
        help_text=(
            "A sentence or two for marketing: what they asked about, or what you noticed — for "
            "example “Their boiler is 20 years old and they asked about a maintenance contract.”"
        ),
        error_messages={"required": "Tell marketing what they need: a sentence is enough."},
    )
    phone = forms.CharField(max_length=40, required=False)
    job_title = forms.CharField(max_length=200, required=False)
