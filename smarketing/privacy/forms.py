"""Forms of the privacy pages. They take what was typed; the rules (who may, a period's
bounds, a reference that must not name the person) are the services' and show next to
the field they name (`smarketing.core.pages.show_refusal_at_fields`)."""

from __future__ import annotations

from django import forms

from smarketing.privacy.retention import MONTHS_MAX
from smarketing.privacy.services import REFERENCE_MAX

CONFIRM_WORD = "ERASE"


def _months(label: str, help_text: str) -> forms.CharField:
    # Text, not a number field: the service reads it and says what is wrong in its words.
    return forms.CharField(
        label=label,
        required=False,
        max_length=10,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"min": 1, "max": MONTHS_MAX, "step": 1, "class": "short-number"}),
    )


class RetentionPolicyForm(forms.Form):
    enabled = forms.BooleanField(label="Apply the policy every night", required=False)
    inactive_months = _months(
        "Leads with marketing and no activity for (months)",
        "Leads in stage Lead with no event, engagement or touch for this long. Empty: never.",
    )
    disqualified_months = _months(
        "Disqualified leads, after (months)",
        "Counted from the disqualification. Empty: never.",
    )


class PersonExportForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "export-%s")  # the erasure's form on the same page has a reference too
        super().__init__(*args, **kwargs)

    reference = forms.CharField(
        label="The request's reference (optional)",
        required=False,
        max_length=REFERENCE_MAX,
        help_text="A ticket number, kept in the audit. Not the person's name or email.",
    )


class PersonEraseForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "erase-%s")
        super().__init__(*args, **kwargs)

    reference = forms.CharField(
        label="The request's reference",
        max_length=REFERENCE_MAX,
        help_text="A ticket number, kept in the audit. Not the person's name or email.",
        error_messages={
            "required": "Give the request's reference (e.g. your ticket number): the audit keeps it."
        },
    )
    confirm = forms.CharField(
        label=f"Type {CONFIRM_WORD} to confirm",
        max_length=20,
        error_messages={"required": f"Type {CONFIRM_WORD} to confirm: an erasure cannot be undone."},
    )

    def clean_confirm(self) -> str:
        typed = self.cleaned_data["confirm"].strip()
        if typed != CONFIRM_WORD:
            raise forms.ValidationError(
                f"Type {CONFIRM_WORD} in capitals to confirm: an erasure cannot be undone."
            )
        return typed
