"""What the intake app adds to pages of the funnel: a lead's referrals on its page (the
leads app does not know intake, so the lead page asks this tag)."""

from __future__ import annotations

from django import template

from smarketing.intake import referrals

register = template.Library()


@register.simple_tag(takes_context=True)
def lead_referrals(context, lead) -> list:
    """The referrals of `lead` the viewer may see (`referrals.referrals_on`)."""
    request = context.get("request")
    viewer = getattr(request, "user", None)
    return referrals.referrals_on(lead, viewer=viewer)
