"""Template tags of the agreement's pages."""

from __future__ import annotations

from django import template

from smarketing.agreement.versions import version_proposed

register = template.Library()


@register.simple_tag
def proposed_agreement_version():
    """The proposed version of the agreement, if one waits for confirmation (the agreement
    pages say so at the top: a change made there is not in force yet)."""

    return version_proposed()
