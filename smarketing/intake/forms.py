"""Forms of the intake pages."""

from __future__ import annotations

from django import forms

from smarketing.org.models import Campaign, Source


class InboundSourceForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name (e.g. Website contact form)")
    source = forms.ChoiceField(
        choices=Source.choices, initial=Source.WEBSITE, label="Source of the leads it sends"
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.all(), required=False, label="Campaign (optional)"
    )
